/**
 * Generates the IVR prompts (gateway/prompts/*.wav and prompts.json) from the texts in
 * gateway/prompts/catalogue.ts with espeak-ng. Run `npm run prompts` after changing a text and
 * commit the output: neither CI nor the gateway needs espeak-ng.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Resampler } from '../gateway/media/index.js';
import { PROMPT_NAMES, PROMPT_SAMPLE_RATE, PROMPT_TEXTS, PROMPT_VOICE, encodePcm16Wav, parsePcm16Wav } from '../gateway/prompts/index.js';

const OUT_DIR = fileURLToPath(new URL('../gateway/prompts/', import.meta.url));
const WORDS_PER_MINUTE = 150;
/** Peak level of every prompt: −3 dBFS leaves headroom for G.711 and for the meeting mix. */
const PEAK = Math.round(32767 * 10 ** (-3 / 20));
/**
 * espeak-ng speaks at 22050 Hz; 8000/22050 = 160/441 is beyond the Resampler's largest factor,
 * so that step goes through 16800 Hz (×16/21, then ×10/21).
 */
const RESAMPLING_STEPS: Record<number, readonly number[]> = { 22050: [16800, PROMPT_SAMPLE_RATE] };

function speak(text: string, workDir: string): { sampleRate: number; samples: Int16Array } {
  const file = path.join(workDir, 'speech.wav');
  execFileSync('espeak-ng', ['-v', PROMPT_VOICE, '-s', String(WORDS_PER_MINUTE), '-w', file, text]);
  const wav = parsePcm16Wav(readFileSync(file));
  if (wav.channels !== 1) throw new Error(`espeak-ng wrote ${wav.channels} channels, expected mono`);
  return wav;
}

function to8k(samples: Int16Array, sampleRate: number): Int16Array {
  let rate = sampleRate;
  let pcm = samples;
  for (const next of RESAMPLING_STEPS[sampleRate] ?? [PROMPT_SAMPLE_RATE]) {
    pcm = new Resampler(rate, next).process(pcm);
    rate = next;
  }
  return pcm;
}

function normalise(pcm: Int16Array): Int16Array {
  const peak = pcm.reduce((max, sample) => Math.max(max, Math.abs(sample)), 0);
  if (peak === 0) throw new Error('espeak-ng produced silence');
  const gain = PEAK / peak;
  return Int16Array.from(pcm, (sample) => Math.round(sample * gain));
}

const workDir = mkdtempSync(path.join(tmpdir(), 'sipgw-prompts-'));
try {
  const manifest: Record<string, { text: string; voice: string }> = {};
  for (const name of PROMPT_NAMES) {
    const text = PROMPT_TEXTS[name];
    const speech = speak(text, workDir);
    const pcm = normalise(to8k(speech.samples, speech.sampleRate));
    writeFileSync(path.join(OUT_DIR, `${name}.wav`), encodePcm16Wav(pcm, PROMPT_SAMPLE_RATE));
    manifest[name] = { text, voice: PROMPT_VOICE };
    console.log(`${name}.wav: ${(pcm.length / PROMPT_SAMPLE_RATE).toFixed(2)} s`);
  }
  writeFileSync(path.join(OUT_DIR, 'prompts.json'), `${JSON.stringify(manifest, null, 2)}\n`);
} finally {
  rmSync(workDir, { recursive: true, force: true });
}
