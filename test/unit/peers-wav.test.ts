import { describe, expect, it } from 'vitest';
import { dominantToneCheck, encodeWav, goertzelPower, parseWav, sine } from '../peers/wav.js';

describe('wav', () => {
  it('round-trips 16-bit PCM, mixing channels down to mono', () => {
    const tone = sine(440, 0.5, 8000, 0.5);
    const wav = parseWav(encodeWav(tone, 8000, 2));
    expect(wav.sampleRate).toBe(8000);
    expect(wav.channels).toBe(2);
    expect(wav.bitsPerSample).toBe(16);
    expect(wav.samples.length).toBe(tone.length);
    wav.samples.forEach((sample, i) => expect(Math.abs(sample - (tone[i] ?? 0))).toBeLessThan(1 / 16384));
  });

  it('reads the data a writer left when the size field was never finalised', () => {
    const file = encodeWav(sine(440, 0.1, 8000), 8000);
    file.writeUInt32LE(0, 40);
    expect(parseWav(file).samples.length).toBe(800);
  });

  it('rejects files that are not PCM WAV', () => {
    expect(() => parseWav(Buffer.from('not a wav file at all'))).toThrow(/RIFF/);
  });
});

describe('goertzel', () => {
  it('measures a sine of amplitude A at about A²/4 and ignores other frequencies', () => {
    const tone = sine(440, 0.1, 8000, 0.8);
    expect(goertzelPower(tone, 8000, 440)).toBeCloseTo(0.16, 2);
    expect(goertzelPower(tone, 8000, 1000)).toBeLessThan(1e-6);
  });
});

describe('dominantToneCheck', () => {
  const rate = 48000;
  const concat = (...parts: Float32Array[]): Float32Array => {
    const out = new Float32Array(parts.reduce((n, part) => n + part.length, 0));
    let offset = 0;
    for (const part of parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  };

  it('finds the longest run of the tone, not counting silence or another tone', () => {
    const signal = concat(sine(440, 1, rate), new Float32Array(rate / 2), sine(440, 2, rate), sine(1000, 1, rate));
    const check = dominantToneCheck(signal, rate, 440);
    expect(check.windows.length).toBe(45);
    expect(check.longestRunSeconds).toBeCloseTo(2, 5);
    expect(check.dominantWindows).toBe(30);
  });

  it('does not call a tone dominant when a probe frequency is as strong', () => {
    const a = sine(440, 1, rate, 0.3);
    const b = sine(880, 1, rate, 0.3);
    const mixed = a.map((value, i) => value + (b[i] ?? 0));
    expect(dominantToneCheck(mixed, rate, 440).longestRunSeconds).toBe(0);
  });

  it('does not count faint noise as the tone', () => {
    expect(dominantToneCheck(sine(440, 1, rate, 0.001), rate, 440).longestRunSeconds).toBe(0);
  });
});
