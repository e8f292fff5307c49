import { createHash } from 'node:crypto';
import { Encoder } from '@evan/opus';
import { describe, expect, it } from 'vitest';
import {
  G722Decoder,
  G722Encoder,
  OPUS_FRAME_SAMPLES,
  Resampler,
  alawDecode,
  alawEncode,
  createAudioCodec,
  mulawDecode,
  mulawEncode,
  toneClip,
  type AudioCodec,
} from '../../gateway/media/codecs/index.js';
import { dominantToneCheck, goertzelPower } from '../peers/wav.js';

function tone(hz: number, rate: number, seconds: number, amplitude = 0.5): Int16Array {
  const pcm = new Int16Array(Math.round(rate * seconds));
  for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round(amplitude * 32767 * Math.sin((2 * Math.PI * hz * i) / rate));
  return pcm;
}

function floats(pcm: Int16Array): Float32Array {
  return Float32Array.from(pcm, (sample) => sample / 32768);
}

function concat(parts: readonly Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Encodes then decodes `pcm` in frames of `frame` samples through two instances (as two ends of a call would). */
function roundTrip(codecSpec: { name: string; clockRate: number; channels?: number }, pcm: Int16Array, frame: number): Int16Array {
  const sender = createAudioCodec(codecSpec)!;
  const receiver = createAudioCodec(codecSpec)!;
  const parts: Int16Array[] = [];
  for (let at = 0; at + frame <= pcm.length; at += frame) parts.push(receiver.decode(sender.encode(pcm.subarray(at, at + frame))));
  return concat(parts);
}

/** Best SNR (dB) of `decoded` against `original` over delays 0..maxDelay, skipping the first `skip` samples. */
function alignedSnr(original: Int16Array, decoded: Int16Array, maxDelay: number, skip: number, minDelay = 0): { snr: number; delay: number } {
  let best = { snr: -Infinity, delay: 0 };
  for (let delay = minDelay; delay <= maxDelay; delay++) {
    let signal = 0;
    let noise = 0;
    for (let i = skip; i + delay < decoded.length; i++) {
      signal += original[i]! ** 2;
      noise += (decoded[i + delay]! - original[i]!) ** 2;
    }
    const snr = 10 * Math.log10(signal / noise);
    if (snr > best.snr) best = { snr, delay };
  }
  return best;
}

/** Level of `hz` in `pcm` relative to a full-window sine of amplitude 0.5 of full scale, in dB. */
function toneDb(pcm: Int16Array, rate: number, hz: number, start = 0): number {
  return 10 * Math.log10(goertzelPower(floats(pcm), rate, hz, start) / (0.5 ** 2 / 4));
}

function expectDominant(pcm: Int16Array, rate: number, hz: number, probeHz: readonly number[]): void {
  const check = dominantToneCheck(floats(pcm), rate, hz, { probeHz });
  // The first window may hold a codec's start-up transient.
  expect(check.dominantWindows).toBeGreaterThanOrEqual(check.windows.length - 1);
  expect(check.windows.length).toBeGreaterThan(3);
}

describe('G.711', () => {
  it('encodes and decodes µ-law code points (zero, negative zero, both extremes)', () => {
    expect([...mulawEncode(Int16Array.of(0, -1, 32767, -32768, 32124, -32124))]).toEqual([0xff, 0x7f, 0x80, 0x00, 0x80, 0x00]);
    expect([...mulawDecode(Uint8Array.of(0xff, 0x7f, 0x80, 0x00, 0xfe, 0xef))]).toEqual([0, 0, 32124, -32124, 8, 132]);
  });

  it('encodes and decodes A-law code points, even bits inverted (zero, both extremes)', () => {
    expect([...alawEncode(Int16Array.of(0, -1, 32767, -32768))]).toEqual([0xd5, 0x55, 0xaa, 0x2a]);
    expect([...alawDecode(Uint8Array.of(0xd5, 0x55, 0xaa, 0x2a, 0xc5))]).toEqual([8, -8, 32256, -32256, 264]);
  });

  it('maps every code to a value that encodes back to the same code (µ-law negative zero aside)', () => {
    const codes = Uint8Array.from({ length: 256 }, (_, code) => code);
    const mulaw = mulawEncode(mulawDecode(codes));
    codes.forEach((code) => expect(mulaw[code]).toBe(code === 0x7f ? 0xff : code));
    expect([...alawEncode(alawDecode(codes))]).toEqual([...codes]);
  });

  it('keeps every int16 value within half a quantisation step, and is monotonic', () => {
    const all = Int16Array.from({ length: 65536 }, (_, i) => i - 32768);
    for (const [encode, decode] of [[mulawEncode, mulawDecode], [alawEncode, alawDecode]] as const) {
      const decoded = decode(encode(all));
      let outOfBound = 0;
      let reversals = 0;
      for (let i = 0; i < all.length; i++) {
        const x = all[i]!;
        // Steps double per segment: 1/16 of the magnitude bounds half a step, plus the clip at the top.
        if (Math.abs(decoded[i]! - x) > Math.max(16, Math.abs(x) / 16) + (Math.abs(x) > 32124 ? 650 : 0)) outOfBound++;
        if (i > 0 && decoded[i]! < decoded[i - 1]!) reversals++;
      }
      expect([outOfBound, reversals]).toEqual([0, 0]);
    }
  });

  it('round-trips a tone with its frequency and about 35 dB SNR', () => {
    for (const name of ['PCMU', 'PCMA']) {
      const input = tone(1000, 8000, 0.5, 0.3);
      const output = roundTrip({ name, clockRate: 8000 }, input, 160);
      expect(alignedSnr(input, output, 0, 0).snr).toBeGreaterThan(33);
      expectDominant(output, 8000, 1000, [300, 600, 1500, 2000, 3000]);
    }
  });
});

describe('G.722', () => {
  it('round-trips 440 Hz and 1 kHz with well over 15 dB SNR once its QMF delay of 22 samples is aligned', () => {
    for (const hz of [440, 1000]) {
      const input = tone(hz, 16000, 1, 0.3);
      const output = roundTrip({ name: 'G722', clockRate: 8000 }, input, 320);
      expect(output.length).toBe(input.length);
      expect(alignedSnr(input, output, 22, 1600, 22).snr).toBeGreaterThan(30);
      expectDominant(output, 16000, hz, [300, 600, 880, 1000, 1500, 3000, 6000].filter((probe) => probe !== hz));
    }
  });

  it('delays by 22 samples (the QMF pair), measured on a chirp', () => {
    const input = new Int16Array(16000);
    for (let i = 0; i < input.length; i++) input[i] = Math.round(9000 * Math.sin(2 * Math.PI * ((100 * i) / 16000 + 3000 * (i / 16000) ** 2)));
    const { snr, delay } = alignedSnr(input, roundTrip({ name: 'G722', clockRate: 8000 }, input, 320), 60, 1600);
    expect(delay).toBe(22);
    expect(snr).toBeGreaterThan(15);
  });

  it('codes the upper band: a 6 kHz tone survives with more than 15 dB SNR', () => {
    const input = tone(6000, 16000, 1, 0.3);
    const output = roundTrip({ name: 'G722', clockRate: 8000 }, input, 320);
    expect(alignedSnr(input, output, 22, 1600, 22).snr).toBeGreaterThan(15);
    expectDominant(output, 16000, 6000, [1000, 2000, 3000, 5000, 7000]);
  });

  it('produces the bitstream of an independent implementation (libspandsp) for a chirp with noise', () => {
    // The same signal went through spandsp's g722_encode/g722_decode at 64 kbit/s; these are the
    // SHA-256 of its octets and of its decoded samples. Odd-sized calls exercise the pairing carry.
    const n = 16000;
    const input = new Int16Array(n);
    let seed = 12345;
    for (let i = 0; i < n; i++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      const noise = ((seed >>> 16) % 4001) - 2000;
      const chirp = Math.sin(2 * Math.PI * ((200 * i) / 16000 + 3700 * (i / 16000) ** 2));
      input[i] = Math.round(9000 * chirp + 4000 * Math.sin((2 * Math.PI * 6100 * i) / 16000) + noise);
    }
    const encoder = new G722Encoder();
    const octets: Buffer[] = [];
    for (let at = 0; at < n; at += 321) octets.push(encoder.encode(input.subarray(at, at + 321)));
    const bitstream = Buffer.concat(octets);
    expect(bitstream.length).toBe(n / 2);
    expect(createHash('sha256').update(bitstream).digest('hex')).toBe('28cc7fbf5046ad5bd33d888ae0ebd3d8be08d22cc4f1f66ee439306bf58259cc');
    const decoded = new G722Decoder().decode(bitstream);
    expect(createHash('sha256').update(decoded).digest('hex')).toBe('80cb883a6a4d918dfee9e6423499b63dafbbb908ee1683bfa1fd18a97dd75f3a');
  });

  it('decodes any octets (garbage included) to two samples each, without throwing', () => {
    const decoder = new G722Decoder();
    let seed = 7;
    for (let packet = 0; packet < 200; packet++) {
      const payload = Uint8Array.from({ length: 1 + (packet % 200) }, () => (seed = (Math.imul(seed, 69069) + 1) >>> 0) >>> 24);
      expect(decoder.decode(payload).length).toBe(2 * payload.length);
    }
    // And keeps decoding real audio afterwards.
    const input = tone(1000, 16000, 0.5, 0.3);
    const output = decoder.decode(new G722Encoder().encode(input));
    expectDominant(output.subarray(1600), 16000, 1000, [440, 1500, 3000]);
  });
});

describe('Opus', () => {
  it('round-trips 440 Hz in 20 ms frames', () => {
    const input = tone(440, 48000, 1, 0.3);
    const output = roundTrip({ name: 'opus', clockRate: 48000, channels: 2 }, input, OPUS_FRAME_SAMPLES);
    expect(output.length).toBe(input.length);
    expectDominant(output, 48000, 440, [300, 600, 880, 1000, 1500]);
    expect(Math.abs(toneDb(output, 48000, 440, 4800) - toneDb(input, 48000, 440, 4800))).toBeLessThan(1.5);
  });

  it('decodes a stereo stream to mono', () => {
    const stereo = new Encoder({ channels: 2, sample_rate: 48000 });
    const frame = tone(1000, 48000, OPUS_FRAME_SAMPLES / 48000, 0.3);
    const interleaved = new Int16Array(2 * frame.length);
    frame.forEach((sample, i) => {
      interleaved[2 * i] = sample;
      interleaved[2 * i + 1] = sample;
    });
    const codec = createAudioCodec({ name: 'OPUS', clockRate: 48000, channels: 2 })!;
    const frames: Int16Array[] = [];
    for (let i = 0; i < 30; i++) frames.push(codec.decode(stereo.encode(interleaved)));
    expect(frames.every((decoded) => decoded.length === OPUS_FRAME_SAMPLES)).toBe(true);
    expectDominant(concat(frames), 48000, 1000, [440, 1500, 3000]);
  });

  it('turns garbage into one frame of silence each, counts it, and keeps decoding', () => {
    const codec = createAudioCodec({ name: 'opus', clockRate: 48000, channels: 2 })!;
    const invalid = [new Uint8Array(0), Uint8Array.of(0xff, 0xff, 0xff), Uint8Array.of(0x03, 0xff), new Uint8Array(2000).fill(0xab)];
    for (const payload of invalid) expect(codec.decode(payload)).toEqual(new Int16Array(OPUS_FRAME_SAMPLES));
    expect(codec.decodeErrors).toBe(invalid.length);
    let seed = 99;
    for (let packet = 0; packet < 500; packet++) {
      const payload = Uint8Array.from({ length: packet % 300 }, () => (seed = (Math.imul(seed, 69069) + 1) >>> 0) >>> 24);
      expect(() => codec.decode(payload)).not.toThrow();
    }
    const sender = createAudioCodec({ name: 'opus', clockRate: 48000 })!;
    const input = tone(1000, 48000, 0.5, 0.3);
    const frames: Int16Array[] = [];
    for (let at = 0; at < input.length; at += OPUS_FRAME_SAMPLES) frames.push(codec.decode(sender.encode(input.subarray(at, at + OPUS_FRAME_SAMPLES))));
    expectDominant(concat(frames).subarray(4800), 48000, 1000, [440, 1500, 3000]);
  });
});

describe('createAudioCodec', () => {
  const describeCodec = (codec: AudioCodec | undefined) => codec && [codec.name, codec.sampleRate, codec.rtpClockRate];

  it('maps rtpmap entries case-insensitively, with G.722 at 16 kHz on an 8 kHz RTP clock', () => {
    expect(describeCodec(createAudioCodec({ name: 'pcmu', clockRate: 8000 }))).toEqual(['PCMU', 8000, 8000]);
    expect(describeCodec(createAudioCodec({ name: 'PCMA', clockRate: 8000, channels: 1 }))).toEqual(['PCMA', 8000, 8000]);
    expect(describeCodec(createAudioCodec({ name: 'G722', clockRate: 8000 }))).toEqual(['G722', 16000, 8000]);
    expect(describeCodec(createAudioCodec({ name: 'Opus', clockRate: 48000, channels: 2 }))).toEqual(['opus', 48000, 48000]);
  });

  it('refuses what it cannot transcode', () => {
    expect(createAudioCodec({ name: 'telephone-event', clockRate: 8000 })).toBeUndefined();
    expect(createAudioCodec({ name: 'PCMU', clockRate: 16000 })).toBeUndefined();
    expect(createAudioCodec({ name: 'PCMU', clockRate: 8000, channels: 2 })).toBeUndefined();
    expect(createAudioCodec({ name: 'opus', clockRate: 16000 })).toBeUndefined();
  });

  it('gives each instance its own state', () => {
    const input = tone(1000, 16000, 0.02, 0.3);
    const first = createAudioCodec({ name: 'G722', clockRate: 8000 })!;
    const second = createAudioCodec({ name: 'G722', clockRate: 8000 })!;
    first.encode(input);
    expect(first.encode(input)).not.toEqual(second.encode(input));
  });
});

describe('Resampler', () => {
  function resample(from: number, to: number, pcm: Int16Array, block: number): Int16Array {
    const resampler = new Resampler(from, to);
    const parts: Int16Array[] = [];
    for (let at = 0; at < pcm.length; at += block) parts.push(resampler.process(pcm.subarray(at, at + block)));
    return concat(parts);
  }

  it('48 kHz → 8 kHz keeps 880 Hz at its level and removes 6 kHz (above 4 kHz) by more than 55 dB', () => {
    const kept = resample(48000, 8000, tone(880, 48000, 0.5), 960);
    expect(kept.length).toBe(4000);
    expect(Math.abs(toneDb(kept, 8000, 880, 400))).toBeLessThan(0.2);
    // 6 kHz would fold to 2 kHz at 8 kHz.
    const removed = resample(48000, 8000, tone(6000, 48000, 0.5), 960);
    expect(toneDb(removed, 8000, 2000, 400)).toBeLessThan(-55);
    expect(toneDb(resample(48000, 8000, tone(4400, 48000, 0.5), 960), 8000, 3600, 400)).toBeLessThan(-30);
  });

  it('48 kHz → 16 kHz keeps 6 kHz and removes 10 kHz', () => {
    const kept = resample(48000, 16000, tone(6000, 48000, 0.5), 960);
    expect(kept.length).toBe(8000);
    expect(Math.abs(toneDb(kept, 16000, 6000, 800))).toBeLessThan(0.2);
    expect(toneDb(resample(48000, 16000, tone(10000, 48000, 0.5), 960), 16000, 6000, 800)).toBeLessThan(-55);
  });

  it('8 kHz and 16 kHz → 48 kHz keep the tone and leave no images', () => {
    for (const rate of [8000, 16000]) {
      const up = resample(rate, 48000, tone(440, rate, 0.5), rate / 50);
      expect(up.length).toBe(24000);
      expect(Math.abs(toneDb(up, 48000, 440, 4800))).toBeLessThan(0.2);
      expect(toneDb(up, 48000, rate - 440, 4800)).toBeLessThan(-55);
      expect(toneDb(up, 48000, rate + 440, 4800)).toBeLessThan(-55);
    }
  });

  it('carries its state across calls: any block size gives the same output as one call', () => {
    const input = tone(700, 48000, 0.2);
    for (const [from, to, block] of [[48000, 8000, 960], [48000, 16000, 7], [8000, 48000, 160], [16000, 48000, 33]] as const) {
      const source = from === 48000 ? input : tone(700, from, 0.2);
      expect(resample(from, to, source, block)).toEqual(resample(from, to, source, source.length));
    }
  });

  it('copies at equal rates and refuses unusable ratios', () => {
    expect(new Resampler(8000, 8000).process(Int16Array.of(1, -2, 3))).toEqual(Int16Array.of(1, -2, 3));
    expect(() => new Resampler(44100, 48000)).toThrow(RangeError);
    expect(() => new Resampler(0, 8000)).toThrow(RangeError);
  });
});

describe('toneClip', () => {
  it('plays each segment at its frequency, pauses in silence, and fades in and out without clicks', () => {
    const clip = toneClip(8000, [{ hz: 660, ms: 120 }, { hz: 0, ms: 40 }, { hz: 880, ms: 120 }], 0.25);
    expect(clip.length).toBe(2240);
    const first = floats(clip.subarray(0, 960));
    const second = floats(clip.subarray(1280));
    expect(goertzelPower(first, 8000, 660)).toBeGreaterThan(100 * goertzelPower(first, 8000, 880));
    expect(goertzelPower(second, 8000, 880)).toBeGreaterThan(100 * goertzelPower(second, 8000, 660));
    expect(clip.subarray(960, 1280).every((sample) => sample === 0)).toBe(true);
    expect(Math.max(...clip.map(Math.abs))).toBeGreaterThan(0.24 * 32767);
    expect(Math.max(...clip.map(Math.abs))).toBeLessThanOrEqual(Math.ceil(0.25 * 32767));
    // Edges start near zero, and no step exceeds the steepest slope of the sine itself.
    for (const edge of [clip[0]!, clip[959]!, clip[1280]!, clip[clip.length - 1]!]) expect(Math.abs(edge)).toBeLessThan(100);
    const slope = 0.25 * 32767 * ((2 * Math.PI * 880) / 8000);
    for (let i = 1; i < clip.length; i++) expect(Math.abs(clip[i]! - clip[i - 1]!)).toBeLessThanOrEqual(slope + 1);
  });
});
