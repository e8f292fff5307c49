import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { PROMPT_NAMES, PROMPT_TEXTS, PROMPT_VOICE, encodePcm16Wav, loadPrompts, parsePcm16Wav } from '../../gateway/prompts/index.js';

const PROMPTS_DIR = fileURLToPath(new URL('../../gateway/prompts/', import.meta.url));

function rms(pcm: Int16Array): number {
  let energy = 0;
  for (const sample of pcm) energy += sample * sample;
  return Math.sqrt(energy / pcm.length);
}

function peak(pcm: Int16Array): number {
  return pcm.reduce((max, sample) => Math.max(max, Math.abs(sample)), 0);
}

describe('loadPrompts', () => {
  const prompts = loadPrompts();

  it.each(PROMPT_NAMES)('loads %s: 8 kHz, 0.8-8 s, audible, peak below full scale', (name) => {
    const file = parsePcm16Wav(readFileSync(path.join(PROMPTS_DIR, `${name}.wav`)));
    expect(file).toMatchObject({ sampleRate: 8000, channels: 1 });
    const pcm = prompts.get(name);
    expect(pcm).toEqual(file.samples);
    const seconds = pcm.length / 8000;
    expect(seconds).toBeGreaterThan(0.8);
    expect(seconds).toBeLessThan(8);
    expect(rms(pcm)).toBeGreaterThan(1000);
    expect(peak(pcm)).toBeLessThan(32767);
    expect(peak(pcm)).toBeGreaterThan(16000);
  });

  it('resamples to 48 kHz once and keeps the result', () => {
    const wideband = prompts.at48k('welcome');
    expect(wideband.length).toBe(prompts.get('welcome').length * 6);
    expect(rms(wideband)).toBeGreaterThan(0.8 * rms(prompts.get('welcome')));
    expect(prompts.at48k('welcome')).toBe(wideband);
  });

  it('has a manifest naming exactly the WAV files present, with the catalogue texts', () => {
    const manifest = JSON.parse(readFileSync(path.join(PROMPTS_DIR, 'prompts.json'), 'utf8')) as Record<string, unknown>;
    const wavs = readdirSync(PROMPTS_DIR).filter((file) => file.endsWith('.wav')).map((file) => file.slice(0, -4));
    expect(Object.keys(manifest).sort()).toEqual(wavs.sort());
    expect(Object.keys(manifest).sort()).toEqual([...PROMPT_NAMES].sort());
    for (const name of PROMPT_NAMES) expect(manifest[name]).toEqual({ text: PROMPT_TEXTS[name], voice: PROMPT_VOICE });
  });
});

describe('loadPrompts with a bad file', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  /** A prompts folder whose `goodbye.wav` is `bad` and every other file is a valid tone. */
  function folderWith(bad: Buffer): string {
    dir = mkdtempSync(path.join(tmpdir(), 'sipgw-prompts-test-'));
    const tone = Int16Array.from({ length: 8000 }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 8000)));
    for (const name of PROMPT_NAMES) writeFileSync(path.join(dir, `${name}.wav`), name === 'goodbye' ? bad : encodePcm16Wav(tone, 8000));
    return dir;
  }

  it('names the file whose header is corrupt', () => {
    const corrupt = encodePcm16Wav(new Int16Array(800), 8000);
    corrupt.write('RIFX', 0, 'ascii');
    const folder = folderWith(corrupt);
    expect(() => loadPrompts(folder)).toThrow(`prompt ${path.join(folder, 'goodbye.wav')}: not a RIFF/WAVE file`);
  });

  it('refuses a prompt at the wrong rate, or not PCM', () => {
    expect(() => loadPrompts(folderWith(encodePcm16Wav(new Int16Array(800), 16000)))).toThrow(/goodbye\.wav: 1 channel\(s\) at 16000 Hz, expected mono at 8000 Hz/);
    const float = encodePcm16Wav(new Int16Array(800), 8000);
    float.writeUInt16LE(3, 20);
    expect(() => loadPrompts(folderWith(float))).toThrow(/goodbye\.wav: WAV format tag 3, expected 1 \(PCM\)/);
  });

  it('names a missing file', () => {
    const folder = folderWith(Buffer.alloc(0));
    rmSync(path.join(folder, 'goodbye.wav'));
    expect(() => loadPrompts(folder)).toThrow(/goodbye\.wav: ENOENT/);
  });
});
