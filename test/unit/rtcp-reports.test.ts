import { describe, expect, it } from 'vitest';
import {
  ReceptionStatistics,
  buildReceptionReport,
  compactNtp,
  parseReceptionReports,
  parseRtcpFeedback,
  roundTripSeconds,
  toNtp,
  type ReportBlock,
} from '../../gateway/media/rtcp/index.js';
import { rtcp, words } from '../support/rtcp-packets.js';
import { seededRandom } from '../support/seeded-random.js';

const US = 0x11223344;
const PEER = 0xa1b2c3d4;

/**
 * RFC 3550 §6.4.1 block layout: SSRC; fraction lost (8 bits) and cumulative lost (24 bits, signed);
 * extended highest sequence; jitter; LSR; DLSR.
 */
const blockWords = (ssrc: number, fraction: number, cumulative: number, highest: number, jitter: number, lsr: number, dlsr: number) => [
  ssrc,
  ((fraction << 24) | (cumulative & 0xffffff)) >>> 0,
  highest,
  jitter,
  lsr,
  dlsr,
];

const SENDER_INFO = [0xe1e2e3e4, 0x55667788, 90000, 50, 8000];
const senderReport = (blocks: number[][]) => rtcp(200, blocks.length, words(PEER, ...SENDER_INFO, ...blocks.flat()));
const receiverReport = (blocks: number[][]) => rtcp(201, blocks.length, words(PEER, ...blocks.flat()));
const sdes = rtcp(202, 1, Buffer.concat([words(PEER), Buffer.from([1, 5, ...Buffer.from('peer1'), 0])]));
const pli = rtcp(206, 1, words(PEER, US));

const ABOUT_US = blockWords(US, 64, 1000, 0x0002_0010, 160, 0x1234_5678, 0x0001_8000);
const ABOUT_OTHER = blockWords(0x55555555, 0, -3, 7, 0, 0, 0);

describe('parseReceptionReports', () => {
  it('reads an SR with sender info and two blocks, a negative cumulative loss included', () => {
    expect(parseReceptionReports(senderReport([ABOUT_US, ABOUT_OTHER]))).toEqual([
      {
        senderSsrc: PEER,
        senderInfo: { ntpSeconds: 0xe1e2e3e4, ntpFraction: 0x55667788, rtpTimestamp: 90000, packetCount: 50, octetCount: 8000 },
        blocks: [
          {
            ssrc: US,
            fractionLost: 64,
            cumulativeLost: 1000,
            highestSequence: 0x0002_0010,
            jitter: 160,
            lastSenderReport: 0x1234_5678,
            delaySinceLastSenderReport: 0x0001_8000,
          },
          { ssrc: 0x55555555, fractionLost: 0, cumulativeLost: -3, highestSequence: 7, jitter: 0, lastSenderReport: 0, delaySinceLastSenderReport: 0 },
        ],
      },
    ]);
  });

  it('finds the RR of a compound packet among SDES and feedback, and an RR without blocks', () => {
    const reports = parseReceptionReports(Buffer.concat([receiverReport([ABOUT_US]), sdes, pli, receiverReport([])]));
    expect(reports.map((r) => [r.senderSsrc, r.senderInfo, r.blocks.map((b) => b.ssrc)])).toEqual([
      [PEER, undefined, [US]],
      [PEER, undefined, []],
    ]);
  });

  it('keeps the reports before a truncated or foreign packet and never throws', () => {
    const good = receiverReport([ABOUT_US]);
    const truncated = senderReport([ABOUT_US]).subarray(0, 40);
    expect(parseReceptionReports(Buffer.concat([good, truncated]))).toHaveLength(1);
    const notVersion2 = Buffer.from(receiverReport([ABOUT_US]));
    notVersion2.writeUInt8(0x41, 0);
    expect(parseReceptionReports(Buffer.concat([good, notVersion2]))).toHaveLength(1);
    expect(parseReceptionReports(Buffer.alloc(0))).toEqual([]);
    expect(parseReceptionReports(Buffer.from([0x80, 201, 0]))).toEqual([]);
  });

  it('reads only the blocks the length holds when the count claims more', () => {
    const lying = receiverReport([ABOUT_US]);
    lying.writeUInt8(0x80 | 31, 0);
    expect(parseReceptionReports(lying)[0]!.blocks.map((b) => b.ssrc)).toEqual([US]);
    // An SR whose length leaves no room for the sender info is skipped, not read past its end.
    const shortSr = rtcp(200, 0, words(PEER, 1, 2));
    expect(parseReceptionReports(Buffer.concat([shortSr, receiverReport([ABOUT_US])])).map((r) => r.senderInfo)).toEqual([undefined]);
  });

  it('survives random bytes and random corruptions of a real report', () => {
    const random = seededRandom(3550);
    const valid = Buffer.concat([senderReport([ABOUT_US, ABOUT_OTHER]), sdes]);
    for (let i = 0; i < 2000; i++) {
      const garbage = Buffer.from(Array.from({ length: 2 + Math.floor(random() * 120) }, () => Math.floor(random() * 256)));
      // Half of them look like an SR or RR at first sight, so the parser goes past the header.
      if (i % 2) garbage.set([0x80 | (garbage[0]! & 0x1f), 200 + (i % 4 === 1 ? 0 : 1)]);
      const corrupted = Buffer.from(valid);
      for (let flips = 0; flips < 4; flips++) corrupted[Math.floor(random() * corrupted.length)] = Math.floor(random() * 256);
      // A throw fails the test; every block read must lie inside the input.
      for (const input of [garbage, corrupted, valid.subarray(0, Math.floor(random() * valid.length))]) {
        const blocks = parseReceptionReports(input).reduce((n, report) => n + report.blocks.length, 0);
        if (blocks * 24 > input.length) throw new Error(`${blocks} blocks read from ${input.length} bytes`);
      }
    }
  });
});

describe('buildReceptionReport', () => {
  const block: ReportBlock = {
    ssrc: PEER,
    fractionLost: 25,
    cumulativeLost: -2,
    highestSequence: 0x0001_0005,
    jitter: 42,
    lastSenderReport: 0xabcd_ef01,
    delaySinceLastSenderReport: 65536,
  };
  const senderInfo = { ntpSeconds: 0xec00_0000, ntpFraction: 0x8000_0000, rtpTimestamp: 12345, packetCount: 10, octetCount: 1600 };

  it('writes an SR that reads back the same, followed by an SDES CNAME', () => {
    const packet = buildReceptionReport({ ssrc: US, cname: 'abcdefghijklmnop', senderInfo, blocks: [block] });
    // SR: 8 header + 20 sender info + 24 block; SDES: 8 + CNAME item (2 + 16) + 2 null octets.
    expect(packet.length).toBe(52 + 28);
    expect(packet.readUInt8(0)).toBe(0x81);
    expect(packet.readUInt16BE(2)).toBe(52 / 4 - 1);
    expect(parseReceptionReports(packet)).toEqual([{ senderSsrc: US, senderInfo, blocks: [block] }]);
    const sdesAt = 52;
    expect([packet.readUInt8(sdesAt), packet.readUInt8(sdesAt + 1), packet.readUInt16BE(sdesAt + 2), packet.readUInt32BE(sdesAt + 4)]).toEqual([
      0x81, 202, 28 / 4 - 1, US,
    ]);
    expect([packet.readUInt8(sdesAt + 8), packet.readUInt8(sdesAt + 9)]).toEqual([1, 16]);
    expect(packet.subarray(sdesAt + 10, sdesAt + 26).toString()).toBe('abcdefghijklmnop');
    expect(packet.subarray(sdesAt + 26)).toEqual(Buffer.alloc(2));
    // The feedback parser, which reads the same compound packets, finds nothing to act on in it.
    expect(parseRtcpFeedback(packet)).toEqual([]);
  });

  it('writes an RR when we sent nothing, and pads every CNAME length to a word with at least one null octet', () => {
    for (let length = 1; length <= 12; length++) {
      const packet = buildReceptionReport({ ssrc: US, cname: 'x'.repeat(length), blocks: [] });
      expect(packet.readUInt8(1)).toBe(201);
      expect(packet.readUInt8(0) & 0x1f).toBe(0);
      const sdesLength = packet.length - 8;
      expect(sdesLength % 4).toBe(0);
      expect(4 * (packet.readUInt16BE(8 + 2) + 1)).toBe(sdesLength);
      expect(packet.readUInt8(packet.length - 1)).toBe(0);
      expect(sdesLength - 8 - 2 - length).toBeGreaterThanOrEqual(1);
      expect(sdesLength - 8 - 2 - length).toBeLessThanOrEqual(4);
    }
  });

  it('saturates a cumulative loss beyond 24 bits instead of wrapping it', () => {
    const packet = buildReceptionReport({ ssrc: US, cname: 'c', blocks: [{ ...block, cumulativeLost: 2 ** 25 }, { ...block, cumulativeLost: -(2 ** 25) }] });
    expect(parseReceptionReports(packet)[0]!.blocks.map((b) => b.cumulativeLost)).toEqual([0x7fffff, -0x800000]);
  });
});

describe('NTP and round-trip arithmetic', () => {
  it('converts wall-clock time to NTP and its middle 32 bits', () => {
    // 1970-01-01 is 2 208 988 800 s after the NTP epoch.
    expect(toNtp(0)).toEqual({ ntpSeconds: 2_208_988_800, ntpFraction: 0 });
    expect(toNtp(1.5)).toEqual({ ntpSeconds: 2_208_988_801, ntpFraction: 0x8000_0000 });
    expect(compactNtp(0x0001_2345, 0x6789_abcd)).toBe(0x2345_6789);
  });

  const at = (unixS: number) => {
    const { ntpSeconds, ntpFraction } = toNtp(unixS);
    return compactNtp(ntpSeconds, ntpFraction);
  };
  const blockWith = (lastSenderReport: number, delaySinceLastSenderReport: number): ReportBlock => ({
    ssrc: US,
    fractionLost: 0,
    cumulativeLost: 0,
    highestSequence: 0,
    jitter: 0,
    lastSenderReport,
    delaySinceLastSenderReport,
  });

  it('computes A − LSR − DLSR', () => {
    // Our SR left at t = 1000 s; the peer held it 0.25 s; its report arrives at t = 1000.4 s.
    const rtt = roundTripSeconds(blockWith(at(1_000_000_000), 0.25 * 65536), 1_000_000_000.4);
    expect(rtt).toBeCloseTo(0.15, 3);
  });

  it('computes across the wrap of the compact NTP timestamp', () => {
    // 65536 s after an NTP second divisible by 65536 the middle 32 bits wrap to 0.
    const wrapAt = (Math.ceil((1_700_000_000 + 2_208_988_800) / 65536) * 65536 - 2_208_988_800);
    const lsr = at(wrapAt - 0.5);
    expect(lsr).toBeGreaterThan(0xffff_0000);
    expect(roundTripSeconds(blockWith(lsr, 0.25 * 65536), wrapAt + 0.1)).toBeCloseTo(0.35, 3);
  });

  it('gives nothing without an SR of ours, for a negative result or an absurd one', () => {
    expect(roundTripSeconds(blockWith(0, 0), 1_000_000_000)).toBeUndefined();
    expect(roundTripSeconds(blockWith(at(1_000_000_000), 2 * 65536), 1_000_000_001)).toBeUndefined();
    expect(roundTripSeconds(blockWith(at(1_000_000_000), 0), 1_000_000_100)).toBeUndefined();
  });
});

/** Feeds packets (sequence number, RTP timestamp, arrival in clock units) to fresh statistics. */
function receive(packets: [sequence: number, timestamp: number, arrival: number][]): ReceptionStatistics {
  const statistics = new ReceptionStatistics(PEER);
  for (const [sequence, timestamp, arrival] of packets) statistics.packetReceived(sequence, timestamp, arrival);
  return statistics;
}

/** 20 ms packets at 8 kHz, each arriving exactly on time. */
const steady = (sequences: number[]) => sequences.map((s, i): [number, number, number] => [s, 160 * i, 1_000_000 + 160 * i]);

describe('ReceptionStatistics', () => {
  it('reports no loss and no jitter for a steady stream', () => {
    const block = receive(steady([100, 101, 102, 103, 104])).reportBlock(0);
    expect(block).toMatchObject({ ssrc: PEER, fractionLost: 0, cumulativeLost: 0, highestSequence: 104, jitter: 0, lastSenderReport: 0, delaySinceLastSenderReport: 0 });
  });

  it('counts a gap as loss: cumulative, and as a fraction of each interval', () => {
    const statistics = receive(steady([1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12])); // 5 lost: 1 of 12 expected
    expect(statistics.reportBlock(0)).toMatchObject({ fractionLost: Math.floor(256 / 12), cumulativeLost: 1, highestSequence: 12 });
    for (const sequence of [13, 15, 17, 19]) statistics.packetReceived(sequence, 0, 0); // 3 lost of the next 7
    expect(statistics.reportBlock(0)).toMatchObject({ fractionLost: Math.floor((3 * 256) / 7), cumulativeLost: 4, highestSequence: 19 });
    expect(statistics.heardSinceReport).toBe(false);
    expect(statistics.reportBlock(0)).toMatchObject({ fractionLost: 0, cumulativeLost: 4 });
  });

  it('extends the highest sequence number across the 16-bit wrap', () => {
    const block = receive(steady([65533, 65534, 65535, 0, 2, 3])).reportBlock(0);
    expect(block).toMatchObject({ highestSequence: 0x0001_0003, cumulativeLost: 1 });
  });

  it('counts a reordered packet as received and keeps the highest', () => {
    const block = receive(steady([10, 11, 13, 12, 14])).reportBlock(0);
    expect(block).toMatchObject({ highestSequence: 14, cumulativeLost: 0, fractionLost: 0 });
    const acrossWrap = receive(steady([65534, 0, 65535, 1])).reportBlock(0);
    expect(acrossWrap).toMatchObject({ highestSequence: 0x0001_0001, cumulativeLost: 0 });
  });

  it('lets duplicates make the cumulative loss negative and the fraction zero (RFC 3550 §6.4.1)', () => {
    const block = receive(steady([1, 2, 3, 3, 3, 4])).reportBlock(0);
    expect(block).toMatchObject({ highestSequence: 4, cumulativeLost: -2, fractionLost: 0 });
  });

  it('ignores one packet after a large jump, and restarts on two in sequence', () => {
    const statistics = receive(steady([1, 2, 3, 30000]));
    expect(statistics.reportBlock(0)).toMatchObject({ highestSequence: 3, cumulativeLost: 0 });
    statistics.packetReceived(30001, 0, 0);
    statistics.packetReceived(30002, 0, 0);
    expect(statistics.reportBlock(0)).toMatchObject({ highestSequence: 30002, cumulativeLost: 0 });
  });

  it('estimates interarrival jitter as RFC 3550 §A.8 does', () => {
    // Packets every 160 units arriving alternately 80 early and 80 late: |D| is 160 for every pair.
    const packets = Array.from({ length: 400 }, (_, i): [number, number, number] => [i, 160 * i, 160 * i + (i % 2 ? 80 : -80)]);
    expect(receive(packets).reportBlock(0).jitter).toBe(159); // converges on 160 from below
    // One packet 320 units late in a steady stream: |D| is 320 into it and 320 out of it.
    const late = steady([0, 1, 2, 3]);
    late[2]![2] += 320;
    expect(receive(late).reportBlock(0).jitter).toBe(Math.floor(320 / 16 + (320 - 320 / 16) / 16));
  });

  it('reads transit across the 32-bit RTP timestamp wrap and skips packets of one frame', () => {
    const start = 2 ** 32 - 320;
    const packets = [0, 1, 2, 3, 4].map((i): [number, number, number] => [i, (start + 160 * i) >>> 0, 5000 + 160 * i]);
    expect(receive(packets).reportBlock(0).jitter).toBe(0);
    // A video frame's packets share a timestamp and arrive spread out: that is not jitter.
    const frames = [0, 1, 2, 3, 4, 5].map((i): [number, number, number] => [i, 3000 * Math.floor(i / 3), 3000 * Math.floor(i / 3) + 100 * (i % 3)]);
    expect(receive(frames).reportBlock(0).jitter).toBe(0);
  });

  it('fills LSR and DLSR from the source\'s last SR', () => {
    const statistics = receive(steady([1, 2]));
    statistics.senderReportReceived({ ntpSeconds: 0x0001_2345, ntpFraction: 0x6789_0000, rtpTimestamp: 0, packetCount: 0, octetCount: 0 }, 500);
    expect(statistics.reportBlock(501.5)).toMatchObject({ lastSenderReport: 0x2345_6789, delaySinceLastSenderReport: 1.5 * 65536 });
  });
});
