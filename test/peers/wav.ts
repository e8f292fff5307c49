// PCM WAV reading/writing and tone detection, for checking the audio a peer received.
// baresip's sndfile module writes 16-bit PCM, mono, at the codec's rate (8000 Hz for PCMU/PCMA).
import { readFileSync } from 'node:fs';

export interface Wav {
  readonly sampleRate: number;
  readonly channels: number;
  readonly bitsPerSample: number;
  /** Mono mixdown (mean of the channels), scaled to [-1, 1). */
  readonly samples: Float32Array;
}

const WAVE_FORMAT_PCM = 1;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

export function parseWav(data: Buffer): Wav {
  if (data.length < 12 || data.toString('ascii', 0, 4) !== 'RIFF' || data.toString('ascii', 8, 12) !== 'WAVE') {
    throw new Error('not a RIFF/WAVE file');
  }
  let format: { channels: number; sampleRate: number; bitsPerSample: number } | undefined;
  let offset = 12;
  while (offset + 8 <= data.length) {
    const id = data.toString('ascii', offset, offset + 4);
    const size = data.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ') {
      const tag = data.readUInt16LE(body);
      if (tag !== WAVE_FORMAT_PCM && tag !== WAVE_FORMAT_EXTENSIBLE) throw new Error(`unsupported WAV format tag ${tag}`);
      format = {
        channels: data.readUInt16LE(body + 2),
        sampleRate: data.readUInt32LE(body + 4),
        bitsPerSample: data.readUInt16LE(body + 14),
      };
      if (format.bitsPerSample !== 16) throw new Error(`unsupported WAV sample size ${format.bitsPerSample} bits`);
    } else if (id === 'data') {
      if (!format) throw new Error('WAV data chunk before fmt chunk');
      // A writer killed before closing the file leaves the size field unset: take what is there.
      const end = size === 0 || body + size > data.length ? data.length : body + size;
      const frameBytes = 2 * format.channels;
      const frames = Math.floor((end - body) / frameBytes);
      const samples = new Float32Array(frames);
      for (let frame = 0; frame < frames; frame++) {
        let sum = 0;
        for (let channel = 0; channel < format.channels; channel++) {
          sum += data.readInt16LE(body + frame * frameBytes + 2 * channel);
        }
        samples[frame] = sum / format.channels / 32768;
      }
      return { ...format, samples };
    }
    offset = body + size + (size % 2);
  }
  throw new Error('WAV file has no data chunk');
}

export function readWav(path: string): Wav {
  return parseWav(readFileSync(path));
}

/** 16-bit PCM WAV of `samples` (in [-1, 1]) repeated on every channel. */
export function encodeWav(samples: Float32Array, sampleRate: number, channels = 1): Buffer {
  const dataBytes = samples.length * channels * 2;
  const out = Buffer.alloc(44 + dataBytes);
  out.write('RIFF', 0, 'ascii');
  out.writeUInt32LE(36 + dataBytes, 4);
  out.write('WAVE', 8, 'ascii');
  out.write('fmt ', 12, 'ascii');
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(WAVE_FORMAT_PCM, 20);
  out.writeUInt16LE(channels, 22);
  out.writeUInt32LE(sampleRate, 24);
  out.writeUInt32LE(sampleRate * channels * 2, 28);
  out.writeUInt16LE(channels * 2, 32);
  out.writeUInt16LE(16, 34);
  out.write('data', 36, 'ascii');
  out.writeUInt32LE(dataBytes, 40);
  samples.forEach((sample, index) => {
    const value = Math.max(-32768, Math.min(32767, Math.round(sample * 32768)));
    for (let channel = 0; channel < channels; channel++) out.writeInt16LE(value, 44 + (index * channels + channel) * 2);
  });
  return out;
}

/** A sine of `hz` at `amplitude` (of full scale), `seconds` long. */
export function sine(hz: number, seconds: number, sampleRate: number, amplitude = 0.5): Float32Array {
  const samples = new Float32Array(Math.round(seconds * sampleRate));
  for (let i = 0; i < samples.length; i++) samples[i] = amplitude * Math.sin((2 * Math.PI * hz * i) / sampleRate);
  return samples;
}

/** Deterministic white noise in [-amplitude, amplitude) from `seed` (mulberry32). */
export function noise(length: number, amplitude: number, seed: number): Float32Array {
  let state = seed | 0;
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    out[i] = amplitude * (2 * (((t ^ (t >>> 14)) >>> 0) / 4294967296) - 1);
  }
  return out;
}

/**
 * A speech-like test clip: "syllables" of 250 ms, each a chirp between two pitches in 200-800 Hz drawn from `seed`
 * under a sin² envelope (peak 0.4), over a noise floor of 0.05. Different seeds give unrelated clips; findClip
 * tells them apart as it would two prompts.
 */
export function chirpClip(seconds: number, sampleRate: number, seed: number): Float32Array {
  const syllable = Math.round(sampleRate / 4);
  const clip = noise(Math.round(seconds * sampleRate), 0.05, seed);
  const pitches = noise(2 * Math.ceil(clip.length / syllable), 1, seed + 1000);
  let phase = 0;
  for (let i = 0; i < clip.length; i++) {
    const index = Math.floor(i / syllable);
    const within = (i % syllable) / syllable;
    const from = 500 + 300 * (pitches[2 * index] ?? 0);
    const to = 500 + 300 * (pitches[2 * index + 1] ?? 0);
    phase += (2 * Math.PI * (from + (to - from) * within)) / sampleRate;
    clip[i] = (clip[i] ?? 0) + 0.4 * Math.sin(Math.PI * within) ** 2 * Math.sin(phase);
  }
  return clip;
}

/**
 * Power at `hz` over samples[start, end) with a Hann window, scaled so that a full-window sine of
 * amplitude A reads about A²/4 (the window's coherent gain is 1/2); only ratios and thresholds matter.
 */
export function goertzelPower(samples: Float32Array, sampleRate: number, hz: number, start = 0, end = samples.length): number {
  const n = end - start;
  if (n <= 0) return 0;
  const omega = (2 * Math.PI * hz) / sampleRate;
  const coeff = 2 * Math.cos(omega);
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const window = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n);
    const s0 = (samples[start + i] ?? 0) * window + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
  return power / ((n / 2) * (n / 2));
}

export interface ToneCheckOptions {
  readonly windowMs?: number;
  /** Frequencies that must each be this much weaker than `hz` (those within 50 Hz of it are left out). */
  readonly probeHz?: readonly number[];
  readonly ratio?: number;
  /** Windows with an RMS below this (of full scale) count as silent. */
  readonly silenceRms?: number;
}

export interface ToneCheck {
  /** Per window: whether `hz` dominated it. */
  readonly windows: readonly boolean[];
  readonly dominantWindows: number;
  /** Longest run of consecutive dominant windows, in seconds. */
  readonly longestRunSeconds: number;
}

export const DEFAULT_PROBE_HZ: readonly number[] = [300, 600, 880, 1000, 1500];

/** Splits the signal into windows and reports where `hz` dominates the probe frequencies and is not silence. */
export function dominantToneCheck(samples: Float32Array, sampleRate: number, hz: number, options: ToneCheckOptions = {}): ToneCheck {
  const windowMs = options.windowMs ?? 100;
  const ratio = options.ratio ?? 10;
  const silenceRms = options.silenceRms ?? 0.003;
  const probes = (options.probeHz ?? DEFAULT_PROBE_HZ).filter((probe) => Math.abs(probe - hz) > 50);
  const windowLength = Math.max(1, Math.round((sampleRate * windowMs) / 1000));
  const windows: boolean[] = [];
  let run = 0;
  let longestRun = 0;
  for (let start = 0; start + windowLength <= samples.length; start += windowLength) {
    const end = start + windowLength;
    let energy = 0;
    for (let i = start; i < end; i++) energy += (samples[i] ?? 0) ** 2;
    const rms = Math.sqrt(energy / windowLength);
    const target = goertzelPower(samples, sampleRate, hz, start, end);
    const dominant = rms >= silenceRms && probes.every((probe) => target >= ratio * goertzelPower(samples, sampleRate, probe, start, end));
    windows.push(dominant);
    run = dominant ? run + 1 : 0;
    longestRun = Math.max(longestRun, run);
  }
  return {
    windows,
    dominantWindows: windows.filter(Boolean).length,
    longestRunSeconds: (longestRun * windowLength) / sampleRate,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// G.711 (ITU-T G.711 segment coding), written here independently of the gateway's codec so that the audio peers
// send (files sipp streams) and the round trips of these tests do not depend on the code under test. Its codes
// agree with the gateway's for every int16 input (checked once by hand, not by a test, to keep them apart).

// Upper end of each segment: µ-law on the 14-bit biased magnitude, A-law on the 13-bit magnitude.
const SEGMENT_ENDS_MULAW = [0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff, 0x1fff];
const SEGMENT_ENDS_ALAW = [0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff];

function segmentOf(value: number, ends: readonly number[]): number {
  const segment = ends.findIndex((end) => value <= end);
  return segment < 0 ? ends.length : segment;
}

/** One int16 sample to a µ-law byte. */
export function linearToMulaw(sample: number): number {
  const clamped = Math.max(-32768, Math.min(32767, Math.round(sample)));
  // Sign and 14-bit magnitude (the same decisions for x and -x), clipped, plus the bias of 33.
  const mask = clamped < 0 ? 0x7f : 0xff;
  const value = Math.min(Math.abs(clamped) >> 2, 0x1fdf) + 0x21;
  const segment = segmentOf(value, SEGMENT_ENDS_MULAW);
  if (segment >= 8) return 0x7f ^ mask;
  return ((segment << 4) | ((value >> (segment + 1)) & 0x0f)) ^ mask;
}

export function mulawToLinear(code: number): number {
  const value = ~code & 0xff;
  const magnitude = ((((value & 0x0f) << 3) + 0x84) << ((value & 0x70) >> 4)) - 0x84;
  return value & 0x80 ? -magnitude : magnitude;
}

/** One int16 sample to an A-law byte (even bits inverted, as sent on the wire). */
export function linearToAlaw(sample: number): number {
  let value = Math.max(-32768, Math.min(32767, Math.round(sample))) >> 3; // 13-bit
  let mask = 0xd5;
  if (value < 0) {
    mask = 0x55;
    value = -value - 1;
  }
  const segment = segmentOf(value, SEGMENT_ENDS_ALAW);
  if (segment >= 8) return 0x7f ^ mask;
  const mantissa = segment < 2 ? (value >> 1) & 0x0f : (value >> segment) & 0x0f;
  return ((segment << 4) | mantissa) ^ mask;
}

export function alawToLinear(code: number): number {
  const value = code ^ 0x55;
  const segment = (value & 0x70) >> 4;
  let magnitude = (value & 0x0f) << 4;
  if (segment === 0) magnitude += 8;
  else magnitude = (magnitude + 0x108) << (segment - 1);
  return value & 0x80 ? magnitude : -magnitude;
}

export type G711Law = 'pcmu' | 'pcma';

/** Samples in [-1, 1) (or int16 when `int16` is true) to G.711 bytes. */
export function g711Encode(samples: ArrayLike<number>, law: G711Law, int16 = false): Buffer {
  const encode = law === 'pcmu' ? linearToMulaw : linearToAlaw;
  const out = Buffer.alloc(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = encode(int16 ? (samples[i] ?? 0) : (samples[i] ?? 0) * 32768);
  return out;
}

/** G.711 bytes to samples in [-1, 1). */
export function g711Decode(codes: Uint8Array, law: G711Law): Float32Array {
  const decode = law === 'pcmu' ? mulawToLinear : alawToLinear;
  const out = new Float32Array(codes.length);
  for (let i = 0; i < codes.length; i++) out[i] = decode(codes[i] ?? 0) / 32768;
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Finding a known clip (a spoken prompt) in received audio.

export interface ClipMatch {
  /** Where the clip starts in the haystack, in samples, at the best match; -1 when the haystack is too short. */
  readonly offsetSamples: number;
  /** The same in seconds (offsetSamples / sampleRate); -1 when the haystack is too short. */
  readonly offsetS: number;
  /**
   * Normalised cross-correlation (Pearson's r between the clip and the haystack window) at the best offset:
   * 1 for an exact copy at any gain, about 0.99 after a G.711 round trip, near 0 for unrelated audio; 0 when the
   * haystack is shorter than the clip or either is silent.
   */
  readonly correlation: number;
}

/** In-place iterative radix-2 complex FFT (`inverse` omits the 1/n scaling). */
function fft(re: Float64Array, im: Float64Array, inverse: boolean): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j]!, re[i]!];
      [im[i], im[j]] = [im[j]!, im[i]!];
    }
  }
  for (let size = 2; size <= n; size <<= 1) {
    const half = size >> 1;
    const angle = ((inverse ? 2 : -2) * Math.PI) / size;
    const stepRe = Math.cos(angle);
    const stepIm = Math.sin(angle);
    for (let start = 0; start < n; start += size) {
      let wRe = 1;
      let wIm = 0;
      for (let k = 0; k < half; k++) {
        const a = start + k;
        const b = a + half;
        const tRe = re[b]! * wRe - im[b]! * wIm;
        const tIm = re[b]! * wIm + im[b]! * wRe;
        re[b] = re[a]! - tRe;
        im[b] = im[a]! - tIm;
        re[a] = re[a]! + tRe;
        im[a] = im[a]! + tIm;
        const nextRe = wRe * stepRe - wIm * stepIm;
        wIm = wRe * stepIm + wIm * stepRe;
        wRe = nextRe;
      }
    }
  }
}

/**
 * Finds where `needle` (a known clip, e.g. a prompt) best occurs in `haystack` (e.g. a peer's received audio),
 * both at `sampleRate`, by normalised cross-correlation at every offset: the dot products come from one FFT
 * (both real signals packed into one complex transform) and one inverse, the window energies from prefix sums.
 * Int16 or float samples; gain does not matter. A 60 s haystack with a 5 s needle at 8 kHz takes about 0.3 s.
 */
export function findClip(haystack: ArrayLike<number>, needle: ArrayLike<number>, sampleRate: number): ClipMatch {
  const h = haystack.length;
  const m = needle.length;
  const none: ClipMatch = { offsetSamples: -1, offsetS: -1, correlation: 0 };
  if (m === 0 || h < m) return none;

  let needleMean = 0;
  for (let i = 0; i < m; i++) needleMean += needle[i] ?? 0;
  needleMean /= m;
  let needleEnergy = 0;
  for (let i = 0; i < m; i++) needleEnergy += ((needle[i] ?? 0) - needleMean) ** 2;
  if (needleEnergy === 0) return { ...none, offsetSamples: 0, offsetS: 0 };

  // x = haystack + i·(needle − mean): X = FFT(x); H = (X[k] + conj X[-k])/2, N = (X[k] − conj X[-k])/2i.
  let n = 1;
  while (n < h) n <<= 1;
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  for (let i = 0; i < h; i++) re[i] = haystack[i] ?? 0;
  for (let i = 0; i < m; i++) im[i] = (needle[i] ?? 0) - needleMean;
  fft(re, im, false);
  // Cross-spectrum H·conj(N), built for k and n−k together (their inputs are shared).
  const outRe = new Float64Array(n);
  const outIm = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const j = (n - k) & (n - 1);
    const hRe = (re[k]! + re[j]!) / 2;
    const hIm = (im[k]! - im[j]!) / 2;
    const nRe = (im[k]! + im[j]!) / 2;
    const nIm = (re[j]! - re[k]!) / 2;
    outRe[k] = hRe * nRe + hIm * nIm;
    outIm[k] = hIm * nRe - hRe * nIm;
  }
  fft(outRe, outIm, true);

  // Window sums of the haystack and of its square, for the mean-removed window energy at each offset.
  const sum = new Float64Array(h + 1);
  const squares = new Float64Array(h + 1);
  for (let i = 0; i < h; i++) {
    const value = haystack[i] ?? 0;
    sum[i + 1] = sum[i]! + value;
    squares[i + 1] = squares[i]! + value * value;
  }
  // Windows 60 dB below the haystack's average are silence (their energy is mostly rounding): no match there.
  const floor = 1e-6 * ((squares[h]! - (sum[h]! * sum[h]!) / h) * m) / h;
  if (!(floor > 0)) return none;
  let best = 0;
  let bestOffset = 0;
  for (let offset = 0; offset + m <= h; offset++) {
    const windowSum = sum[offset + m]! - sum[offset]!;
    const windowEnergy = squares[offset + m]! - squares[offset]! - (windowSum * windowSum) / m;
    if (windowEnergy <= floor) continue;
    const correlation = outRe[offset]! / n / Math.sqrt(windowEnergy * needleEnergy);
    if (correlation > best) {
      best = correlation;
      bestOffset = offset;
    }
  }
  return { offsetSamples: bestOffset, offsetS: bestOffset / sampleRate, correlation: Math.min(1, best) };
}
