import { describe, expect, it } from 'vitest';
import { startsKeyframe } from '../../gateway/media/rtp/index.js';
import { seededRandom } from '../support/seeded-random.js';

const bytes = (...values: number[]) => Buffer.from(values);

// NAL unit headers (F=0, NRI=3 or 2, type): what a camera's encoder emits.
const NAL = { nonIdr: 0x41, idr: 0x65, sei: 0x06, sps: 0x67, pps: 0x68, aud: 0x09 } as const;
const SPS_BODY = [0x42, 0xe0, 0x1f, 0x8d, 0x68, 0x05, 0x00, 0x5b, 0xa1];
const PPS_BODY = [0xce, 0x3c, 0x80];

/** STAP-A (RFC 6184 §5.7.1): aggregation NAL header, then each NAL unit behind its 16-bit size. */
function stapA(...units: number[][]): Buffer {
  const parts = units.flatMap((unit) => [(unit.length >> 8) & 0xff, unit.length & 0xff, ...unit]);
  return bytes(0x78, ...parts);
}

/** FU-A (RFC 6184 §5.8): indicator keeps F/NRI with type 28, header has S, E and the fragmented NAL's type. */
function fuA(nal: number, position: 'start' | 'middle' | 'end'): Buffer {
  const flags = position === 'start' ? 0x80 : position === 'end' ? 0x40 : 0;
  return bytes((nal & 0xe0) | 28, flags | (nal & 0x1f), 0x88, 0x84, 0x21, 0xa0);
}

// A VP8 frame header (RFC 6386 §9.1): bit 0 of the first byte is 0 on a key frame; key frames then carry
// the start code 9d 01 2a and the dimensions.
const VP8_KEY = [0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01];
const VP8_DELTA = [0x31, 0x0b, 0x00, 0x12, 0x34];

describe('startsKeyframe (H.264, RFC 6184)', () => {
  it('takes a single IDR or SPS NAL unit as a keyframe start, other NAL units not', () => {
    expect(startsKeyframe('H264', bytes(NAL.idr, 0x88, 0x84, 0x00))).toBe(true);
    expect(startsKeyframe('H264', bytes(NAL.sps, ...SPS_BODY))).toBe(true);
    expect(startsKeyframe('H264', bytes(NAL.nonIdr, 0x9a, 0x02, 0x03))).toBe(false);
    expect(startsKeyframe('H264', bytes(NAL.pps, ...PPS_BODY))).toBe(false);
    expect(startsKeyframe('H264', bytes(NAL.sei, 0x05, 0x10))).toBe(false);
    expect(startsKeyframe('H264', bytes(NAL.aud, 0xf0))).toBe(false);
  });

  it('finds an SPS or IDR anywhere in a STAP-A, and nothing in one without', () => {
    expect(startsKeyframe('H264', stapA([NAL.sps, ...SPS_BODY], [NAL.pps, ...PPS_BODY]))).toBe(true);
    expect(startsKeyframe('H264', stapA([NAL.sei, 0x05, 0x10], [NAL.pps, ...PPS_BODY], [NAL.idr, 0x88, 0x84]))).toBe(true);
    expect(startsKeyframe('H264', stapA([NAL.sei, 0x05, 0x10], [NAL.nonIdr, 0x9a, 0x02]))).toBe(false);
  });

  it('takes the first FU-A fragment of an IDR as a keyframe start, not its middle or end, nor a non-IDR start', () => {
    expect(startsKeyframe('H264', fuA(NAL.idr, 'start'))).toBe(true);
    expect(startsKeyframe('H264', fuA(NAL.idr, 'middle'))).toBe(false);
    expect(startsKeyframe('H264', fuA(NAL.idr, 'end'))).toBe(false);
    expect(startsKeyframe('H264', fuA(NAL.nonIdr, 'start'))).toBe(false);
  });

  it('reads the codec name in any case', () => {
    expect(startsKeyframe('h264', bytes(NAL.idr, 0x88))).toBe(true);
    expect(startsKeyframe('H264', bytes(NAL.idr, 0x88))).toBe(true);
  });

  it('is false for empty, one-byte and cut-off payloads', () => {
    expect(startsKeyframe('H264', bytes())).toBe(false);
    expect(startsKeyframe('H264', bytes(NAL.nonIdr))).toBe(false);
    // A FU-A whose header byte is missing, a STAP-A that ends inside a size field, one whose size overruns.
    expect(startsKeyframe('H264', bytes(0x7c))).toBe(false);
    expect(startsKeyframe('H264', bytes(0x78, 0x00))).toBe(false);
    expect(startsKeyframe('H264', bytes(0x78, 0x00, 0x03, NAL.nonIdr, 0x9a, 0x02, 0x00))).toBe(false);
    expect(startsKeyframe('H264', bytes(0x78, 0xff, 0xff, NAL.pps, 0x01))).toBe(false);
  });
});

describe('startsKeyframe (VP8, RFC 7741)', () => {
  it('takes the start of partition 0 of a key frame, with the short descriptor', () => {
    expect(startsKeyframe('VP8', bytes(0x10, ...VP8_KEY))).toBe(true);
    expect(startsKeyframe('VP8', bytes(0x10, ...VP8_DELTA))).toBe(false);
  });

  it('skips the extended descriptor: 7- and 15-bit picture IDs, TL0PICIDX and TID/KEYIDX', () => {
    // X=1, S=1; then I/L/T/K flags and the fields they announce.
    expect(startsKeyframe('VP8', bytes(0x90, 0x80, 0x12, ...VP8_KEY))).toBe(true);
    expect(startsKeyframe('VP8', bytes(0x90, 0x80, 0x92, 0x34, ...VP8_KEY))).toBe(true);
    expect(startsKeyframe('VP8', bytes(0x90, 0xe0, 0x92, 0x34, 0x05, 0x40, ...VP8_KEY))).toBe(true);
    expect(startsKeyframe('VP8', bytes(0x90, 0x10, 0x20, ...VP8_KEY))).toBe(true);
    expect(startsKeyframe('VP8', bytes(0x90, 0x80, 0x12, ...VP8_DELTA))).toBe(false);
    expect(startsKeyframe('VP8', bytes(0x90, 0xe0, 0x92, 0x34, 0x05, 0x40, ...VP8_DELTA))).toBe(false);
    // A 15-bit picture ID whose second byte has bit 0 clear must not be read as the frame header.
    expect(startsKeyframe('VP8', bytes(0x90, 0x80, 0x80, 0x00, ...VP8_DELTA))).toBe(false);
  });

  it('is false for a packet that does not start partition 0 (S=0 or PID≠0)', () => {
    expect(startsKeyframe('VP8', bytes(0x00, ...VP8_KEY))).toBe(false);
    expect(startsKeyframe('VP8', bytes(0x11, ...VP8_KEY))).toBe(false);
    expect(startsKeyframe('vp8', bytes(0x10, ...VP8_KEY))).toBe(true);
  });

  it('is false for empty payloads and descriptors with no frame header behind them', () => {
    expect(startsKeyframe('VP8', bytes())).toBe(false);
    expect(startsKeyframe('VP8', bytes(0x10))).toBe(false);
    expect(startsKeyframe('VP8', bytes(0x90))).toBe(false);
    expect(startsKeyframe('VP8', bytes(0x90, 0x80))).toBe(false);
    expect(startsKeyframe('VP8', bytes(0x90, 0x80, 0x92))).toBe(false);
    expect(startsKeyframe('VP8', bytes(0x90, 0xf0, 0x92, 0x34, 0x05))).toBe(false);
  });
});

describe('startsKeyframe (anything else)', () => {
  it('is false for codecs it does not know', () => {
    expect(startsKeyframe('opus', bytes(0x10, ...VP8_KEY))).toBe(false);
    expect(startsKeyframe('H265', bytes(NAL.idr, 0x88))).toBe(false);
  });

  it('never throws on random payloads', () => {
    const random = seededRandom(6184);
    const failures: string[] = [];
    let keyframes = 0;
    for (let i = 0; i < 4000; i++) {
      const payload = Buffer.from(Array.from({ length: Math.floor(random() * 40) }, () => Math.floor(random() * 256)));
      for (const codec of ['H264', 'VP8']) {
        try {
          if (startsKeyframe(codec, payload)) keyframes++;
        } catch (err) {
          failures.push(`${codec} ${payload.toString('hex')}: ${String(err)}`);
        }
      }
    }
    expect(failures.slice(0, 3)).toEqual([]);
    // Random bytes do hit the keyframe paths now and then: the inputs reached the parsers.
    expect(keyframes).toBeGreaterThan(0);
  });
});
