import { RTCP_HEADER_BYTES, rtcpPacket, rtcpPackets } from './compound.js';

/** RTCP sender and receiver reports (RFC 3550 §6.4) and the reception statistics behind them (Appendix A). */

/** One reception report block: how the reporter receives the source `ssrc`. */
export interface ReportBlock {
  ssrc: number;
  /** Packets lost since the previous report, as a fraction of those expected, in 1/256. */
  fractionLost: number;
  /** Expected minus received since the start; negative when duplicates outnumber losses. */
  cumulativeLost: number;
  /** Highest sequence number received, extended with the count of wraps in the upper 16 bits. */
  highestSequence: number;
  /** Interarrival jitter in RTP timestamp units. */
  jitter: number;
  /** Middle 32 bits of the NTP timestamp of the source's last sender report; 0 if none. */
  lastSenderReport: number;
  /** Time since that sender report was received, in 1/65536 s; 0 if none. */
  delaySinceLastSenderReport: number;
}

/** What a sender report says about the sender's own stream. */
export interface SenderInfo {
  /** NTP timestamp: whole seconds since 1900 (modulo 2^32) and fraction in 1/2^32 s. */
  ntpSeconds: number;
  ntpFraction: number;
  /** The RTP timestamp matching the NTP timestamp. */
  rtpTimestamp: number;
  packetCount: number;
  /** Payload octets sent, headers and padding excluded. */
  octetCount: number;
}

/** One SR (with `senderInfo`) or RR from a compound packet. */
export interface ReceptionReport {
  senderSsrc: number;
  senderInfo?: SenderInfo;
  blocks: ReportBlock[];
}

const SR = 200;
const RR = 201;
const SDES = 202;
const SDES_CNAME = 1;
const SENDER_INFO_BYTES = 20;
const BLOCK_BYTES = 24;
const MAX_BLOCKS = 31;
const MAX_CNAME_BYTES = 255;
const NTP_UNIX_OFFSET_S = 2_208_988_800;
const TWO_POW_32 = 2 ** 32;
/** A round trip longer than this comes from a broken LSR/DLSR, not a real path. */
const MAX_ROUND_TRIP_S = 10;

/** Wall-clock seconds since 1970, monotonic within the process and finer than Date.now(). */
export function wallClockSeconds(): number {
  return (performance.timeOrigin + performance.now()) / 1000;
}

/** The 64-bit NTP timestamp of a wall-clock time. */
export function toNtp(unixSeconds: number): { ntpSeconds: number; ntpFraction: number } {
  const ntp = unixSeconds + NTP_UNIX_OFFSET_S;
  const whole = Math.floor(ntp);
  return { ntpSeconds: whole % TWO_POW_32, ntpFraction: Math.min(TWO_POW_32 - 1, Math.floor((ntp - whole) * TWO_POW_32)) };
}

/** The middle 32 bits of an NTP timestamp, the unit of LSR and of round-trip arithmetic (1/65536 s). */
export function compactNtp(ntpSeconds: number, ntpFraction: number): number {
  return (((ntpSeconds & 0xffff) << 16) | (ntpFraction >>> 16)) >>> 0;
}

/**
 * The SR and RR packets in a compound RTCP packet; other packet types are skipped. Stops at the
 * first packet that is not version 2 or runs past the end, keeping what came before; never throws.
 */
export function parseReceptionReports(packet: Buffer): ReceptionReport[] {
  const reports: ReceptionReport[] = [];
  for (const { countOrFormat, type, start, end } of rtcpPackets(packet)) {
    const bodyAt = start + RTCP_HEADER_BYTES + (type === SR ? SENDER_INFO_BYTES : 0);
    if ((type !== SR && type !== RR) || bodyAt > end) continue;
    const report: ReceptionReport = { senderSsrc: packet.readUInt32BE(start + 4), blocks: [] };
    if (type === SR) report.senderInfo = readSenderInfo(packet, start + RTCP_HEADER_BYTES);
    // The count may claim more blocks than the length holds: read only those that fit.
    const count = Math.min(countOrFormat, Math.floor((end - bodyAt) / BLOCK_BYTES));
    for (let i = 0; i < count; i++) report.blocks.push(readBlock(packet, bodyAt + i * BLOCK_BYTES));
    reports.push(report);
  }
  return reports;
}

function readSenderInfo(packet: Buffer, at: number): SenderInfo {
  return {
    ntpSeconds: packet.readUInt32BE(at),
    ntpFraction: packet.readUInt32BE(at + 4),
    rtpTimestamp: packet.readUInt32BE(at + 8),
    packetCount: packet.readUInt32BE(at + 12),
    octetCount: packet.readUInt32BE(at + 16),
  };
}

function readBlock(packet: Buffer, at: number): ReportBlock {
  return {
    ssrc: packet.readUInt32BE(at),
    fractionLost: packet.readUInt8(at + 4),
    cumulativeLost: packet.readIntBE(at + 5, 3),
    highestSequence: packet.readUInt32BE(at + 8),
    jitter: packet.readUInt32BE(at + 12),
    lastSenderReport: packet.readUInt32BE(at + 16),
    delaySinceLastSenderReport: packet.readUInt32BE(at + 20),
  };
}

/**
 * A compound packet: an SR when `senderInfo` is given (we sent RTP), else an RR, followed by an SDES
 * with our CNAME, as every compound RTCP packet must carry (RFC 3550 §6.1). At most 31 blocks.
 */
export function buildReceptionReport(report: { ssrc: number; cname: string; senderInfo?: SenderInfo; blocks: readonly ReportBlock[] }): Buffer {
  const { ssrc, senderInfo } = report;
  const blocks = report.blocks.slice(0, MAX_BLOCKS);
  const reportPacket = rtcpPacket(senderInfo ? SR : RR, blocks.length, ssrc, (senderInfo ? SENDER_INFO_BYTES : 0) + blocks.length * BLOCK_BYTES);
  let at = RTCP_HEADER_BYTES;
  if (senderInfo) {
    for (const value of [senderInfo.ntpSeconds, senderInfo.ntpFraction, senderInfo.rtpTimestamp, senderInfo.packetCount, senderInfo.octetCount]) {
      reportPacket.writeUInt32BE(value >>> 0, at);
      at += 4;
    }
  }
  for (const block of blocks) {
    writeBlock(reportPacket, at, block);
    at += BLOCK_BYTES;
  }
  return Buffer.concat([reportPacket, buildSdesCname(ssrc, report.cname)]);
}

function writeBlock(packet: Buffer, at: number, block: ReportBlock): void {
  packet.writeUInt32BE(block.ssrc >>> 0, at);
  packet.writeUInt8(clamp(block.fractionLost, 0, 255), at + 4);
  // A 24-bit signed field: losses beyond it saturate rather than wrap (RFC 3550 §A.3).
  packet.writeIntBE(clamp(block.cumulativeLost, -0x800000, 0x7fffff), at + 5, 3);
  packet.writeUInt32BE(block.highestSequence >>> 0, at + 8);
  packet.writeUInt32BE(clamp(block.jitter, 0, TWO_POW_32 - 1), at + 12);
  packet.writeUInt32BE(block.lastSenderReport >>> 0, at + 16);
  packet.writeUInt32BE(clamp(block.delaySinceLastSenderReport, 0, TWO_POW_32 - 1), at + 20);
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Math.round(value)));
}

/** SDES with one chunk: our SSRC, the CNAME item, and the null octets that end the item list on a word boundary. */
function buildSdesCname(ssrc: number, cname: string): Buffer {
  const text = Buffer.from(cname, 'utf8').subarray(0, MAX_CNAME_BYTES);
  const itemsBytes = 2 + text.length;
  const packet = rtcpPacket(SDES, 1, ssrc, 4 * Math.floor(itemsBytes / 4 + 1));
  packet.writeUInt8(SDES_CNAME, RTCP_HEADER_BYTES);
  packet.writeUInt8(text.length, RTCP_HEADER_BYTES + 1);
  text.copy(packet, RTCP_HEADER_BYTES + 2);
  return packet;
}

/** How the peer receives what we send, from a report block of its RTCP SR or RR. */
export interface PeerReception {
  /** Fraction of our packets lost since the peer's previous report, 0 to 1. */
  lossRatio: number;
  jitterS: number;
  /** Only when the peer echoed one of our sender reports (LSR/DLSR). */
  roundTripS?: number;
}

/**
 * A report block about our stream in seconds and ratios: jitter comes in units of our `clockRate`;
 * with `arrivalUnixS`, when the block arrived, the round trip too where the block allows it.
 */
export function peerReception(block: ReportBlock, clockRate: number, arrivalUnixS?: number): PeerReception {
  const reception: PeerReception = { lossRatio: block.fractionLost / 256, jitterS: block.jitter / clockRate };
  const roundTripS = arrivalUnixS === undefined ? undefined : roundTripSeconds(block, arrivalUnixS);
  if (roundTripS !== undefined) reception.roundTripS = roundTripS;
  return reception;
}

/**
 * Round-trip time from a report block about our stream, received at `arrivalUnixS` (RFC 3550
 * §6.4.1: A - LSR - DLSR). Undefined when the peer has had no SR of ours (LSR 0) or when the result
 * is negative or absurd, as a wrong clock or a broken peer gives.
 */
export function roundTripSeconds(block: ReportBlock, arrivalUnixS: number): number | undefined {
  if (block.lastSenderReport === 0) return undefined;
  const { ntpSeconds, ntpFraction } = toNtp(arrivalUnixS);
  const units = (compactNtp(ntpSeconds, ntpFraction) - block.lastSenderReport - block.delaySinceLastSenderReport) | 0;
  const seconds = units / 65536;
  return seconds < 0 || seconds > MAX_ROUND_TRIP_S ? undefined : seconds;
}

const SEQUENCE_MODULO = 0x10000;
/** RFC 3550 §A.1: a forward jump up to this is loss; a step back up to MAX_MISORDER is a late packet. */
const MAX_DROPOUT = 3000;
const MAX_MISORDER = 100;

/**
 * What we received from one source (one SSRC), for the report blocks we send about it: the
 * extended highest sequence number, losses (RFC 3550 §A.3), interarrival jitter (§A.8) and the
 * timing of the source's last SR. The probation of §A.1 is left out: packets reach this only after
 * SRTP authentication or address latching, so a stray source cannot start one.
 */
export class ReceptionStatistics {
  private started = false;
  private baseSequence = 0;
  private maxSequence = 0;
  private cycles = 0;
  /** The sequence number after a large jump: the next packet carrying it means the source restarted. */
  private badSequence = -1;
  private received = 0;
  private expectedPrior = 0;
  private receivedPrior = 0;
  private jitter = 0;
  /** The last packet the jitter estimate used, if any since the start. */
  private timed = false;
  private lastTimestamp = 0;
  private lastArrival = 0;
  private lastSenderReport = 0;
  private senderReportArrivalS = 0;

  constructor(readonly ssrc: number) {}

  /** Whether a packet arrived since the last report block (RFC 3550 §6.4: only those sources are reported). */
  get heardSinceReport(): boolean {
    return this.received !== this.receivedPrior;
  }

  /** One RTP packet from the source; `arrival` is its arrival time in RTP clock units. */
  packetReceived(sequenceNumber: number, rtpTimestamp: number, arrival: number): void {
    const sequence = sequenceNumber & 0xffff;
    if (!this.started) {
      this.restart(sequence);
      this.started = true;
    }
    const delta = (sequence - this.maxSequence) & 0xffff;
    let advanced = false;
    if (delta < MAX_DROPOUT) {
      if (sequence < this.maxSequence) this.cycles += SEQUENCE_MODULO;
      advanced = delta !== 0 || this.received === 0;
      this.maxSequence = sequence;
    } else if (delta <= SEQUENCE_MODULO - MAX_MISORDER) {
      if (sequence !== this.badSequence) {
        this.badSequence = (sequence + 1) & 0xffff;
        return;
      }
      // Two packets in sequence after a jump: the source restarted its numbering.
      this.restart(sequence);
      advanced = true;
    }
    this.received++;
    if (advanced) this.updateJitter(rtpTimestamp >>> 0, arrival);
  }

  /** The source's SR, received at `arrivalUnixS`, for the LSR and DLSR fields of our next block. */
  senderReportReceived(info: SenderInfo, arrivalUnixS: number): void {
    this.lastSenderReport = compactNtp(info.ntpSeconds, info.ntpFraction);
    this.senderReportArrivalS = arrivalUnixS;
  }

  /** The report block as of `nowUnixS`; the next one's fraction lost counts from here. */
  reportBlock(nowUnixS: number): ReportBlock {
    const extendedMax = this.cycles + this.maxSequence;
    const expected = this.started ? extendedMax - this.baseSequence + 1 : 0;
    const expectedInterval = expected - this.expectedPrior;
    const receivedInterval = this.received - this.receivedPrior;
    const lostInterval = expectedInterval - receivedInterval;
    this.expectedPrior = expected;
    this.receivedPrior = this.received;
    return {
      ssrc: this.ssrc,
      fractionLost: expectedInterval === 0 || lostInterval <= 0 ? 0 : Math.floor((lostInterval * 256) / expectedInterval),
      cumulativeLost: expected - this.received,
      highestSequence: extendedMax >>> 0,
      jitter: Math.floor(this.jitter),
      lastSenderReport: this.lastSenderReport,
      delaySinceLastSenderReport:
        this.lastSenderReport === 0 ? 0 : Math.max(0, Math.floor((nowUnixS - this.senderReportArrivalS) * 65536)),
    };
  }

  private restart(sequence: number): void {
    this.baseSequence = sequence;
    this.maxSequence = sequence;
    this.badSequence = -1;
    this.cycles = 0;
    this.received = 0;
    this.expectedPrior = 0;
    this.receivedPrior = 0;
    this.timed = false;
  }

  /**
   * RFC 3550 §A.8, on packets that advance the sequence and start a new frame: the packets of one
   * video frame or one DTMF event share a timestamp while they are spread over time.
   */
  private updateJitter(rtpTimestamp: number, arrival: number): void {
    if (this.timed && rtpTimestamp === this.lastTimestamp) return;
    if (this.timed) {
      // The change in transit time; `| 0` reads the timestamp step across its 32-bit wrap.
      const change = arrival - this.lastArrival - ((rtpTimestamp - this.lastTimestamp) | 0);
      this.jitter += (Math.abs(change) - this.jitter) / 16;
    }
    this.timed = true;
    this.lastTimestamp = rtpTimestamp;
    this.lastArrival = arrival;
  }
}
