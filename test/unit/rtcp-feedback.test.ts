import { describe, expect, it } from 'vitest';
import { buildNack, buildPli, parseRtcpFeedback, type RtcpFeedback } from '../../gateway/media/rtcp/index.js';
import { rtcp, words } from '../support/rtcp-packets.js';
import { seededRandom } from '../support/seeded-random.js';

const SENDER = 0x11223344;
const MEDIA = 0xa1b2c3d4;

const pli = (sender: number, media: number) => rtcp(206, 1, words(sender, media));
/** FIR (RFC 5104 §4.3.1): media SSRC field 0, one FCI per target (SSRC, sequence number, 3 reserved bytes). */
const fir = (sender: number, targets: number[]) => rtcp(206, 4, words(sender, 0, ...targets.flatMap((ssrc, i) => [ssrc, (i + 1) << 24])));
const nack = (sender: number, media: number, entries: [pid: number, blp: number][]) =>
  rtcp(205, 1, words(sender, media, ...entries.map(([pid, blp]) => ((pid << 16) | blp) >>> 0)));
/** Receiver report with one report block. */
const receiverReport = (sender: number, about: number) => rtcp(201, 1, words(sender, about, 0x00000010, 0x0001e240, 12, 0, 0));
const senderReport = (sender: number) => rtcp(200, 0, words(sender, 0xe1e2e3e4, 0x55667788, 90000, 50, 8000));
/** SDES with one CNAME chunk, padded to a word. */
const sdes = (ssrc: number) => rtcp(202, 1, Buffer.concat([words(ssrc), Buffer.from([1, 5, ...Buffer.from('sipgw'), 0, 0, 0, 0, 0])]));
/** Transport-wide congestion control feedback (RTPFB FMT 15): feedback the forwarder does not act on. */
const twcc = (sender: number, media: number) => rtcp(205, 15, words(sender, media, 0x00010002, 0x00000000));
/** REMB (PSFB FMT 15, application layer feedback). */
const remb = (sender: number) => rtcp(206, 15, words(sender, 0, 0x52454d42, 0x01030d40, MEDIA));

/** PID and BLP of each FCI entry of a generic NACK we built. */
function nackEntries(packet: Buffer): [number, number][] {
  const entries: [number, number][] = [];
  for (let at = 12; at + 4 <= packet.length; at += 4) entries.push([packet.readUInt16BE(at), packet.readUInt16BE(at + 2)]);
  return entries;
}

describe('parseRtcpFeedback', () => {
  it('reads a picture loss indication with the SSRC of the media it is about', () => {
    expect(parseRtcpFeedback(pli(SENDER, MEDIA))).toEqual([{ type: 'pli', mediaSsrc: MEDIA }]);
  });

  it("reads a full intra request's targets from its FCI entries, not from the media SSRC field", () => {
    expect(parseRtcpFeedback(fir(SENDER, [MEDIA]))).toEqual([{ type: 'fir', mediaSsrc: MEDIA }]);
    expect(parseRtcpFeedback(fir(SENDER, [MEDIA, 0x0badf00d]))).toEqual([
      { type: 'fir', mediaSsrc: MEDIA },
      { type: 'fir', mediaSsrc: 0x0badf00d },
    ]);
  });

  it('expands a generic NACK: each PID and every sequence number its bitmask names', () => {
    // BLP bit i (from the least significant) names PID + i + 1.
    const feedback = parseRtcpFeedback(nack(SENDER, MEDIA, [[1000, 0b1000_0000_0000_0101], [2000, 0]]));
    expect(feedback).toEqual([{ type: 'nack', mediaSsrc: MEDIA, sequenceNumbers: [1000, 1001, 1003, 1016, 2000] }]);
  });

  it('wraps the sequence numbers a bitmask names past 0xffff', () => {
    const feedback = parseRtcpFeedback(nack(SENDER, MEDIA, [[0xfffe, 0b111]]));
    expect(feedback).toEqual([{ type: 'nack', mediaSsrc: MEDIA, sequenceNumbers: [0xfffe, 0xffff, 0, 1] }]);
  });

  it('finds the feedback in compound packets and skips reports, SDES and feedback it does not act on', () => {
    expect(parseRtcpFeedback(Buffer.concat([receiverReport(SENDER, MEDIA), pli(SENDER, MEDIA)]))).toEqual([{ type: 'pli', mediaSsrc: MEDIA }]);
    const compound = Buffer.concat([
      senderReport(SENDER),
      sdes(SENDER),
      twcc(SENDER, MEDIA),
      nack(SENDER, MEDIA, [[42, 0b10]]),
      remb(SENDER),
      fir(SENDER, [0x77]),
      pli(SENDER, 0x99),
    ]);
    expect(parseRtcpFeedback(compound)).toEqual([
      { type: 'nack', mediaSsrc: MEDIA, sequenceNumbers: [42, 44] },
      { type: 'fir', mediaSsrc: 0x77 },
      { type: 'pli', mediaSsrc: 0x99 },
    ]);
    expect(parseRtcpFeedback(Buffer.concat([receiverReport(SENDER, MEDIA), sdes(SENDER)]))).toEqual([]);
  });

  it('returns only the packets that are whole when a compound packet is cut short anywhere', () => {
    const parts = [receiverReport(SENDER, MEDIA), pli(SENDER, 1), nack(SENDER, 2, [[7, 1], [900, 0]]), fir(SENDER, [3]), pli(SENDER, 4)];
    const compound = Buffer.concat(parts);
    const ends = parts.map((_, i) => parts.slice(0, i + 1).reduce((sum, p) => sum + p.length, 0));
    for (let length = 0; length <= compound.length; length++) {
      const wholeParts = parts.filter((_, i) => ends[i]! <= length);
      const expected = parseRtcpFeedback(Buffer.concat(wholeParts));
      expect(parseRtcpFeedback(compound.subarray(0, length)), `cut at ${length} bytes`).toEqual(expected);
    }
    expect(parseRtcpFeedback(compound)).toHaveLength(4);
  });

  it('ignores feedback too short to name its media, and anything that is not RTCP version 2', () => {
    expect(parseRtcpFeedback(Buffer.alloc(0))).toEqual([]);
    expect(parseRtcpFeedback(Buffer.from([0x81, 206, 0, 0]))).toEqual([]);
    expect(parseRtcpFeedback(rtcp(206, 1, words(SENDER)))).toEqual([]);
    expect(parseRtcpFeedback(rtcp(205, 1, words(SENDER)))).toEqual([]);
    expect(parseRtcpFeedback(rtcp(206, 4, words(SENDER, 0)))).toEqual([]);
    const versionOne = pli(SENDER, MEDIA);
    versionOne.writeUInt8(0x41, 0);
    expect(parseRtcpFeedback(versionOne)).toEqual([]);
    // A length field pointing past the end of the datagram.
    const overlong = pli(SENDER, MEDIA);
    overlong.writeUInt16BE(200, 2);
    expect(parseRtcpFeedback(overlong)).toEqual([]);
  });

  it('never throws on random bytes, and whatever it returns is well formed', () => {
    const random = seededRandom(4585);
    const byte = () => Math.floor(random() * 256);
    const problems: string[] = [];
    let found = 0;
    for (let i = 0; i < 5000; i++) {
      const input = Buffer.from(Array.from({ length: Math.floor(random() * 80) }, byte));
      // Half of them look like RTCP feedback at first glance, so the parser gets past its first checks.
      if (i % 2 === 0 && input.length >= 4) {
        input.writeUInt8(0x80 | [1, 4][i % 4 === 0 ? 0 : 1]!, 0);
        input.writeUInt8([205, 206][byte() % 2]!, 1);
        input.writeUInt16BE(byte() % 24, 2);
      }
      let feedback: RtcpFeedback[] = [];
      try {
        feedback = parseRtcpFeedback(input);
      } catch (err) {
        problems.push(`threw ${String(err)} on ${input.toString('hex')}`);
      }
      found += feedback.length;
      for (const item of feedback) {
        const ssrcOk = Number.isInteger(item.mediaSsrc) && item.mediaSsrc >= 0 && item.mediaSsrc <= 0xffffffff;
        const sequencesOk = item.type !== 'nack' || item.sequenceNumbers.every((s) => Number.isInteger(s) && s >= 0 && s <= 0xffff);
        if (!['pli', 'fir', 'nack'].includes(item.type) || !ssrcOk || !sequencesOk) problems.push(`${JSON.stringify(item)} from ${input.toString('hex')}`);
      }
    }
    expect(problems.slice(0, 3)).toEqual([]);
    // The inputs did reach the feedback branches.
    expect(found).toBeGreaterThan(100);
  });
});

describe('buildPli', () => {
  it('builds a 12-byte PLI that parses back to the media SSRC', () => {
    const packet = buildPli(SENDER, MEDIA);
    expect(packet).toEqual(pli(SENDER, MEDIA));
    expect(parseRtcpFeedback(packet)).toEqual([{ type: 'pli', mediaSsrc: MEDIA }]);
  });
});

describe('buildNack', () => {
  it('packs numbers within 16 of a PID into its bitmask', () => {
    const packet = buildNack(SENDER, MEDIA, [100, 101, 103, 116]);
    expect(packet.readUInt32BE(4)).toBe(SENDER);
    expect(packet.readUInt32BE(8)).toBe(MEDIA);
    expect(nackEntries(packet)).toEqual([[100, 0b1000_0000_0000_0101]]);
    expect(packet.readUInt16BE(2)).toBe(packet.length / 4 - 1);
  });

  it('starts a new entry for a number more than 16 past the PID', () => {
    expect(nackEntries(buildNack(SENDER, MEDIA, [100, 117]))).toEqual([
      [100, 0],
      [117, 0],
    ]);
    expect(nackEntries(buildNack(SENDER, MEDIA, [5, 300, 21, 6]))).toEqual([
      [5, 0b1000_0000_0000_0001],
      [300, 0],
    ]);
  });

  it('packs numbers across the sequence number wrap into the entry of the PID before it', () => {
    // 0xfffe + 1, + 2, + 3 are 0xffff, 0 and 1: all within the 16 its bitmask covers.
    expect(nackEntries(buildNack(SENDER, MEDIA, [0xfffe, 0xffff, 0, 1]))).toEqual([[0xfffe, 0b111]]);
  });

  it('names each number once however often it was asked for', () => {
    expect(nackEntries(buildNack(SENDER, MEDIA, [9, 9, 10, 9]))).toEqual([[9, 0b1]]);
  });

  it('round-trips through parseRtcpFeedback, across the sequence number wrap too', () => {
    const cases = [[1], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], [500, 520, 540, 541], [0xfffd, 0xffff, 0, 2], [65535, 0]];
    for (const sequenceNumbers of cases) {
      const [feedback] = parseRtcpFeedback(buildNack(SENDER, MEDIA, sequenceNumbers));
      expect(feedback?.type).toBe('nack');
      expect(feedback?.mediaSsrc).toBe(MEDIA);
      const parsed = feedback?.type === 'nack' ? feedback.sequenceNumbers : [];
      expect([...parsed].sort((a, b) => a - b)).toEqual([...sequenceNumbers].sort((a, b) => a - b));
      expect(new Set(parsed).size).toBe(parsed.length);
    }
  });

  it('keeps numbers given past 0xffff to their 16 bits', () => {
    const [feedback] = parseRtcpFeedback(buildNack(SENDER, MEDIA, [0x10005]));
    expect(feedback).toEqual({ type: 'nack', mediaSsrc: MEDIA, sequenceNumbers: [5] });
  });
});
