import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseRtpHeader, RtpPacketWriter, RtpRewriter } from '../../gateway/media/rtp/index.js';

const OUT_SSRC = 0xcafe0001;
const VIDEO_CLOCK = 90000;

function rtp(fields: { ssrc: number; sequence: number; timestamp: number; payloadType?: number; marker?: boolean; payload?: number[] }): Buffer {
  const packet = Buffer.alloc(12);
  packet.writeUInt8(0x80, 0);
  packet.writeUInt8((fields.marker ? 0x80 : 0) | (fields.payloadType ?? 97), 1);
  packet.writeUInt16BE(fields.sequence & 0xffff, 2);
  packet.writeUInt32BE(fields.timestamp >>> 0, 4);
  packet.writeUInt32BE(fields.ssrc >>> 0, 8);
  return Buffer.concat([packet, Buffer.from(fields.payload ?? [0x41, 0x9a, 0x02])]);
}

/** Packets of one source at 30 frames a second (3000 ticks of 90 kHz apart). */
function stream(ssrc: number, firstSequence: number, firstTimestamp: number, count: number): Buffer[] {
  return Array.from({ length: count }, (_, i) => rtp({ ssrc, sequence: firstSequence + i, timestamp: firstTimestamp + 3000 * i }));
}

const seqDiff = (later: number, earlier: number): number => (later - earlier) & 0xffff;
const tsDiff = (later: number, earlier: number): number => (later - earlier) >>> 0;

describe('RtpRewriter', () => {
  beforeEach(() => {
    // The timestamp gap at a switch follows the wall clock: pin it.
    vi.useFakeTimers({ toFake: ['performance'] });
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('carries the first source with our SSRC and its own numbering', () => {
    const rewriter = new RtpRewriter(OUT_SSRC, VIDEO_CLOCK);
    const out = stream(0x1111, 500, 123456, 3).map((p) => parseRtpHeader(rewriter.rewrite(p, 97)));
    expect(out.map((h) => h.ssrc)).toEqual([OUT_SSRC, OUT_SSRC, OUT_SSRC]);
    expect(out.map((h) => h.sequenceNumber)).toEqual([500, 501, 502]);
    expect(out.map((h) => h.timestamp)).toEqual([123456, 126456, 129456]);
    expect(rewriter.currentSource).toBe(0x1111);
  });

  it('continues sequence numbers without gap or repeat at a source switch, and moves the timestamp on by the time elapsed', () => {
    const rewriter = new RtpRewriter(OUT_SSRC, VIDEO_CLOCK);
    const fromA = stream(0xaaaa, 4000, 1_000_000, 5).map((p) => parseRtpHeader(rewriter.rewrite(p, 97)));
    vi.advanceTimersByTime(40);
    const fromB = stream(0xbbbb, 60007, 4_000_000_000, 5).map((p) => parseRtpHeader(rewriter.rewrite(p, 97)));

    const all = [...fromA, ...fromB];
    for (let i = 1; i < all.length; i++) expect(seqDiff(all[i]!.sequenceNumber, all[i - 1]!.sequenceNumber)).toBe(1);
    expect(new Set(all.map((h) => h.ssrc))).toEqual(new Set([OUT_SSRC]));
    // 40 ms at 90 kHz between A's last packet and B's first.
    expect(tsDiff(fromB[0]!.timestamp, fromA[4]!.timestamp)).toBe(3600);
    // Within B the spacing B sent is kept.
    for (let i = 1; i < fromB.length; i++) expect(tsDiff(fromB[i]!.timestamp, fromB[i - 1]!.timestamp)).toBe(3000);
    expect(rewriter.currentSource).toBe(0xbbbb);
  });

  it('moves the timestamp forward even when the new source starts in the same instant', () => {
    const rewriter = new RtpRewriter(OUT_SSRC, VIDEO_CLOCK);
    const last = parseRtpHeader(rewriter.rewrite(rtp({ ssrc: 1, sequence: 10, timestamp: 5000 }), 97));
    const next = parseRtpHeader(rewriter.rewrite(rtp({ ssrc: 2, sequence: 10, timestamp: 5000 }), 97));
    expect(seqDiff(next.sequenceNumber, last.sequenceNumber)).toBe(1);
    expect(tsDiff(next.timestamp, last.timestamp)).toBeGreaterThan(0);
    expect(tsDiff(next.timestamp, last.timestamp)).toBeLessThan(0x80000000);
  });

  it('switching back to an earlier source keeps the stream continuous', () => {
    const rewriter = new RtpRewriter(OUT_SSRC, 8000);
    const out = [
      ...stream(0xa, 100, 0, 3),
      ...stream(0xb, 60000, 9999, 3),
      ...stream(0xa, 103, 9000, 3),
    ].map((p) => {
      vi.advanceTimersByTime(20);
      return parseRtpHeader(rewriter.rewrite(p, 0));
    });
    for (let i = 1; i < out.length; i++) {
      expect(seqDiff(out[i]!.sequenceNumber, out[i - 1]!.sequenceNumber)).toBe(1);
      expect(tsDiff(out[i]!.timestamp, out[i - 1]!.timestamp)).toBeGreaterThan(0);
      expect(tsDiff(out[i]!.timestamp, out[i - 1]!.timestamp)).toBeLessThan(0x80000000);
    }
  });

  it('leaves the original packet as it was', () => {
    const rewriter = new RtpRewriter(OUT_SSRC, VIDEO_CLOCK);
    rewriter.rewrite(rtp({ ssrc: 1, sequence: 1, timestamp: 1 }), 97);
    const original = rtp({ ssrc: 0x22222222, sequence: 9, timestamp: 777, payloadType: 99, marker: true });
    const copy = Buffer.from(original);
    const out = rewriter.rewrite(original, 102);
    expect(original).toEqual(copy);
    expect(out).not.toBe(original);
  });

  it('rewrites the payload type, keeping the marker bit and the payload', () => {
    const rewriter = new RtpRewriter(OUT_SSRC, VIDEO_CLOCK);
    const payload = [0x65, 0x88, 0x84, 0x00, 0x33];
    const marked = rewriter.rewrite(rtp({ ssrc: 1, sequence: 1, timestamp: 0, payloadType: 97, marker: true, payload }), 102);
    const unmarked = rewriter.rewrite(rtp({ ssrc: 1, sequence: 2, timestamp: 0, payloadType: 97, marker: false, payload }), 102);
    expect(parseRtpHeader(marked)).toMatchObject({ payloadType: 102, marker: true, version: 2 });
    expect(parseRtpHeader(unmarked)).toMatchObject({ payloadType: 102, marker: false });
    expect([...marked.subarray(12)]).toEqual(payload);
  });

  it('gives a late or retransmitted packet the place it had, and does not let it pull the stream back', () => {
    const rewriter = new RtpRewriter(OUT_SSRC, VIDEO_CLOCK);
    stream(0xa, 900, 0, 3).forEach((p) => rewriter.rewrite(p, 97));
    vi.advanceTimersByTime(20);
    const b = stream(0xb, 30, 50_000, 6);
    const inOrder = [b[0]!, b[1]!, b[2]!, b[4]!].map((p) => parseRtpHeader(rewriter.rewrite(p, 97)));
    // b[3] arrives late, b[1] is resent.
    const late = parseRtpHeader(rewriter.rewrite(b[3]!, 97));
    const resent = parseRtpHeader(rewriter.rewrite(b[1]!, 97));
    const after = parseRtpHeader(rewriter.rewrite(b[5]!, 97));

    expect(late.sequenceNumber).toBe((inOrder[2]!.sequenceNumber + 1) & 0xffff);
    expect(late.timestamp).toBe((inOrder[2]!.timestamp + 3000) >>> 0);
    expect(resent.sequenceNumber).toBe(inOrder[1]!.sequenceNumber);
    expect(resent.timestamp).toBe(inOrder[1]!.timestamp);
    expect(after.sequenceNumber).toBe((inOrder[3]!.sequenceNumber + 1) & 0xffff);

    // The next switch continues after the newest packet, not after the late one.
    vi.advanceTimersByTime(20);
    const c = parseRtpHeader(rewriter.rewrite(rtp({ ssrc: 0xc, sequence: 1, timestamp: 1 }), 97));
    expect(c.sequenceNumber).toBe((after.sequenceNumber + 1) & 0xffff);
    expect(tsDiff(c.timestamp, after.timestamp)).toBe(1800);
  });

  it("maps a sequence number it sent back to the current source's (for NACKs)", () => {
    const rewriter = new RtpRewriter(OUT_SSRC, VIDEO_CLOCK);
    stream(0xa, 65530, 0, 4).forEach((p) => rewriter.rewrite(p, 97));
    const fromB = stream(0xb, 12345, 0, 20);
    const sent = fromB.map((p) => parseRtpHeader(rewriter.rewrite(p, 97)).sequenceNumber);
    sent.forEach((outgoing, i) => expect(rewriter.sourceSequence(outgoing)).toBe(12345 + i));
  });

  it('continues after a first source whose random initial sequence number lies in the upper half (≥ 0x8000)', () => {
    // Senders pick their initial sequence number at random (RFC 3550 §5.1): half of them start here.
    const rewriter = new RtpRewriter(OUT_SSRC, VIDEO_CLOCK);
    vi.advanceTimersByTime(60_000);
    const fromA = stream(0xaaaa, 40000, 1_000_000, 5).map((p) => parseRtpHeader(rewriter.rewrite(p, 97)));
    vi.advanceTimersByTime(40);
    const fromB = parseRtpHeader(rewriter.rewrite(rtp({ ssrc: 0xbbbb, sequence: 7, timestamp: 5 }), 97));
    expect(fromB.sequenceNumber).toBe(40005);
    expect(tsDiff(fromB.timestamp, fromA[4]!.timestamp)).toBe(3600);
  });

  it('wraps sequence numbers at 0xffff and timestamps at 2^32', () => {
    const rewriter = new RtpRewriter(OUT_SSRC, VIDEO_CLOCK);
    // A runs up to just below the wrap; B's numbering is far away, so its offsets wrap.
    const count = 0xfffe - 0x4000;
    const firstTimestamp = (0xffffe000 - 3000 * (count - 1)) >>> 0;
    let lastOfA = parseRtpHeader(rewriter.rewrite(rtp({ ssrc: 0xa, sequence: 0x4000, timestamp: firstTimestamp }), 97));
    for (let i = 1; i < count; i++) {
      lastOfA = parseRtpHeader(rewriter.rewrite(rtp({ ssrc: 0xa, sequence: 0x4000 + i, timestamp: firstTimestamp + 3000 * i }), 97));
    }
    expect(lastOfA).toMatchObject({ sequenceNumber: 0xfffd, timestamp: 0xffffe000 });
    vi.advanceTimersByTime(100);
    const fromB = stream(0xb, 0x1234, 0x10, 4).map((p) => parseRtpHeader(rewriter.rewrite(p, 97)));
    expect(fromB.map((h) => h.sequenceNumber)).toEqual([0xfffe, 0xffff, 0, 1]);
    expect(fromB[0]!.timestamp).toBe((0xffffe000 + 9000) >>> 0);
    expect(fromB[1]!.timestamp).toBe((fromB[0]!.timestamp + 3000) >>> 0);
    expect(rewriter.sourceSequence(0)).toBe(0x1236);
    expect(rewriter.sourceSequence(0xfffe)).toBe(0x1234);
  });
});

describe('RtpPacketWriter', () => {
  it('writes RTP version 2 with our SSRC and payload type, the marker on the first packet only', () => {
    const writer = new RtpPacketWriter(0x01020304, 0);
    const payload = Uint8Array.from({ length: 160 }, (_, i) => i);
    const packets = [writer.write(payload, 160), writer.write(payload, 160), writer.write(payload, 160)];
    const headers = packets.map((p) => parseRtpHeader(p));
    expect(headers.map((h) => h.marker)).toEqual([true, false, false]);
    for (const header of headers) expect(header).toMatchObject({ version: 2, payloadType: 0, ssrc: 0x01020304, headerLength: 12, padding: false, extension: false, csrcCount: 0 });
    for (const packet of packets) expect([...packet.subarray(12)]).toEqual([...payload]);
  });

  it('counts skipped time into the next timestamp and marks that packet as a new talkspurt', () => {
    const writer = new RtpPacketWriter(7, 0);
    const first = parseRtpHeader(writer.write(new Uint8Array(160), 160));
    writer.skip(4000);
    const [resumed, next] = [writer.write(new Uint8Array(160), 160), writer.write(new Uint8Array(160), 160)].map((p) => parseRtpHeader(p));
    expect(resumed!.timestamp).toBe((first.timestamp + 160 + 4000) >>> 0);
    expect(resumed!.sequenceNumber).toBe((first.sequenceNumber + 1) & 0xffff);
    expect([resumed!.marker, next!.marker]).toEqual([true, false]);
  });

  it('counts sequence numbers by one and timestamps by each frame’s duration, across the wrap', () => {
    const writer = new RtpPacketWriter(7, 111);
    let previousDuration = 960;
    let previous = parseRtpHeader(writer.write(new Uint8Array(3), previousDuration));
    const wrongSteps: string[] = [];
    let wrappedSequence = false;
    let wrappedTimestamp = false;
    // Enough packets for the 16-bit sequence number to wrap from wherever it started; the huge
    // durations make the 32-bit timestamp wrap too.
    for (let i = 0; i < 0x10001; i++) {
      const duration = i % 2 === 0 ? 0x7fff0000 : 960;
      const header = parseRtpHeader(writer.write(new Uint8Array(3), duration));
      if (header.sequenceNumber !== ((previous.sequenceNumber + 1) & 0xffff)) wrongSteps.push(`seq ${previous.sequenceNumber} → ${header.sequenceNumber}`);
      if (header.timestamp !== ((previous.timestamp + previousDuration) >>> 0)) wrongSteps.push(`ts ${previous.timestamp} → ${header.timestamp}`);
      if (header.marker) wrongSteps.push(`marker on packet ${i + 1}`);
      wrappedSequence ||= header.sequenceNumber < previous.sequenceNumber;
      wrappedTimestamp ||= header.timestamp < previous.timestamp;
      previous = header;
      previousDuration = duration;
    }
    expect(wrongSteps.slice(0, 5)).toEqual([]);
    expect(wrappedSequence).toBe(true);
    expect(wrappedTimestamp).toBe(true);
  });
});
