import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Resampler } from '../media/index.js';
import { PROMPT_NAMES, PROMPT_SAMPLE_RATE, type PromptName } from './catalogue.js';
import { parsePcm16Wav, type Pcm16Wav } from './wav.js';

/** The IVR's spoken prompts, loaded once. The arrays are shared between calls: never modify them. */
export interface Prompts {
  /** As recorded: 8 kHz mono, for a phone leg's PromptPlayer. */
  get(name: PromptName): Int16Array;
  /** At 48 kHz, for MeetingAudio.playClip; resampled on first use and kept. */
  at48k(name: PromptName): Int16Array;
}

/**
 * Reads every prompt from `dir` (default: gateway/prompts in the package) and checks each is
 * PCM, mono, 16-bit, 8 kHz, so a bad file stops the gateway at start, not a caller mid-call.
 */
export function loadPrompts(dir: string = packagePromptsDir()): Prompts {
  const recorded = new Map(PROMPT_NAMES.map((name) => [name, readPrompt(path.join(dir, `${name}.wav`))]));
  const wideband = new Map<PromptName, Int16Array>();
  const get = (name: PromptName): Int16Array => recorded.get(name)!;
  return {
    get,
    at48k(name) {
      let pcm = wideband.get(name);
      if (!pcm) {
        pcm = new Resampler(PROMPT_SAMPLE_RATE, 48000).process(get(name));
        wideband.set(name, pcm);
      }
      return pcm;
    },
  };
}

function readPrompt(file: string): Int16Array {
  let wav: Pcm16Wav;
  try {
    wav = parsePcm16Wav(readFileSync(file));
  } catch (err) {
    throw new Error(`prompt ${file}: ${(err as Error).message}`, { cause: err });
  }
  if (wav.channels !== 1 || wav.sampleRate !== PROMPT_SAMPLE_RATE) {
    throw new Error(`prompt ${file}: ${wav.channels} channel(s) at ${wav.sampleRate} Hz, expected mono at ${PROMPT_SAMPLE_RATE} Hz`);
  }
  return wav.samples;
}

/**
 * gateway/prompts under the package root, found by walking up from this module: the WAV files
 * are not compiled into dist/, so the same path serves source (tsx) and build.
 */
function packagePromptsDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)} to find the prompts from`);
    dir = parent;
  }
  return path.join(dir, 'gateway', 'prompts');
}
