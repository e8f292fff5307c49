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
