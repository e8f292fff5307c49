import { describe, expect, it } from 'vitest';
import {
  alawToLinear,
  chirpClip,
  dominantToneCheck,
  encodeWav,
  findClip,
  g711Decode,
  g711Encode,
  goertzelPower,
  linearToAlaw,
  linearToMulaw,
  mulawToLinear,
  noise,
  parseWav,
  sine,
} from '../peers/wav.js';

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

describe('G.711', () => {
  it('round-trips a tone within one quantisation step (µ-law and A-law)', () => {
    const tone = sine(440, 0.1, 8000, 0.5);
    for (const law of ['pcmu', 'pcma'] as const) {
      const back = g711Decode(g711Encode(tone, law), law);
      tone.forEach((sample, i) => expect(Math.abs(sample - (back[i] ?? 0))).toBeLessThan(0.016));
    }
  });

  it('codes the reference points of G.711', () => {
    expect(linearToMulaw(0)).toBe(0xff);
    expect(linearToMulaw(32767)).toBe(0x80);
    expect(linearToMulaw(-32768)).toBe(0x00);
    expect(mulawToLinear(0xff)).toBe(0);
    expect(mulawToLinear(0x80)).toBe(32124);
    expect(linearToAlaw(0)).toBe(0xd5);
    expect(linearToAlaw(32767)).toBe(0xaa);
    expect(linearToAlaw(-32768)).toBe(0x2a);
    expect(alawToLinear(0xd5)).toBe(8);
    expect(alawToLinear(0xaa)).toBe(32256);
    for (let code = 0; code < 256; code++) {
      expect(linearToMulaw(mulawToLinear(code))).toBe(code === 0x7f ? 0xff : code); // -0 codes as +0
      expect(linearToAlaw(alawToLinear(code))).toBe(code);
    }
  });
});

describe('findClip', () => {
  const rate = 8000;
  const clip = chirpClip(5, rate, 1);

  function haystackWith(at: number, gain: number, law: 'pcmu' | 'pcma'): Float32Array {
    const haystack = noise(60 * rate, 0.05, 7);
    for (let i = 0; i < clip.length; i++) haystack[at + i] = (haystack[at + i] ?? 0) + gain * (clip[i] ?? 0);
    return g711Decode(g711Encode(haystack, law), law);
  }

  it('finds a clip in 60 s of noise after a G.711 round trip, to the sample', () => {
    const at = Math.round(37.3 * rate) + 3;
    const match = findClip(haystackWith(at, 0.5, 'pcmu'), clip, rate);
    expect(match.offsetSamples).toBe(at);
    expect(match.offsetS).toBeCloseTo(at / rate, 6);
    // The noise keeps it below 1: r = sqrt(S / (S + N)) is about 0.95 for this clip and noise.
    expect(match.correlation).toBeGreaterThan(0.9);
  });

  it('does not care about gain or sample type (int16 haystack, float needle)', () => {
    const at = 12 * rate;
    const received = haystackWith(at, 0.2, 'pcma');
    const int16 = Int16Array.from(received, (sample) => Math.round(sample * 32767));
    const match = findClip(int16, clip, rate);
    expect(match.offsetSamples).toBe(at);
    expect(match.correlation).toBeGreaterThan(0.7); // weaker against the same noise: about 0.77
  });

  it('reports a low correlation when the clip is not there', () => {
    const other = chirpClip(5, rate, 2);
    const received = haystackWith(20 * rate, 0.5, 'pcmu');
    expect(findClip(received, other, rate).correlation).toBeLessThan(0.3);
    expect(findClip(g711Decode(g711Encode(noise(60 * rate, 0.3, 9), 'pcmu'), 'pcmu'), clip, rate).correlation).toBeLessThan(0.1);
  });

  it('gives correlation 0 for a haystack shorter than the clip or silent', () => {
    expect(findClip(clip.subarray(0, 100), clip, rate)).toEqual({ offsetSamples: -1, offsetS: -1, correlation: 0 });
    expect(findClip(new Float32Array(10 * rate), clip, rate).correlation).toBe(0);
  });

  it('ignores silent stretches of the haystack (a window of digital zeros is no match)', () => {
    const haystack = new Float32Array(20 * rate);
    haystack.set(clip, 8 * rate);
    const match = findClip(haystack, clip, rate);
    expect(match.offsetSamples).toBe(8 * rate);
    expect(match.correlation).toBeCloseTo(1, 6);
  });

  it('searches 60 s for a 5 s clip in well under two seconds', () => {
    const started = performance.now();
    findClip(haystackWith(rate, 0.5, 'pcmu'), clip, rate);
    expect(performance.now() - started).toBeLessThan(2000);
  });
});
