import { randomBytes } from 'node:crypto';
import { SrtpContext, SrtpError, type SrtpSuite } from '../srtp/index.js';
import { parseRtpHeader, type RtpSocketPair } from '../rtp/index.js';
import {
  ReceptionStatistics,
  buildReceptionReport,
  parseReceptionReports,
  roundTripSeconds,
  toNtp,
  wallClockSeconds,
  type ReportBlock,
} from '../rtcp/index.js';

export type StreamDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

/** The payload format a stream carries, with the payload type negotiated for it. */
export interface StreamCodec {
  payloadType: number;
  name: string;
  clockRate: number;
  channels: number;
  fmtp?: string;
}

/** What one negotiated stream needs (the SDP layer's answered stream has this shape). */
export interface StreamParams {
  kind: 'audio' | 'video';
  codec: StreamCodec;
  /** RFC 4733 telephone-event, when both sides agreed to it. */
  telephoneEvent?: StreamCodec;
  /** Our direction: whether we may send and expect to receive. */
  direction: StreamDirection;
  remote: { address?: string; rtpPort: number; rtcpAddress?: string; rtcpPort: number };
  rtcpMux: boolean;
  srtp?: { suite: SrtpSuite; remoteKey: MasterKey; localKey: MasterKey };
}

interface MasterKey {
  key: Buffer;
  salt: Buffer;
  equals(other: MasterKey): boolean;
}

/** How the peer receives what we send, from a report block of its RTCP SR or RR. */
export interface PeerReception {
  /** Fraction of our packets lost since the peer's previous report, 0 to 1. */
  lossRatio: number;
  jitterS: number;
  /** Only when the peer echoed one of our sender reports (LSR/DLSR). */
  roundTripS?: number;
}

/** Per-packet outcomes worth counting; the owner maps them to metrics with its own labels. */
export interface StreamEvents {
  /** An RTP packet that authenticated; `bytes` is its size on the wire (SRTP tag included). */
  packetIn?(bytes: number): void;
  /** An RTP packet sent; `bytes` as on the wire. */
  packetOut?(bytes: number): void;
  authFailure?(): void;
  replayDrop?(): void;
  report?(reception: PeerReception): void;
}

export interface StreamOptions {
  /** Mean interval between our RTCP reports, randomised 0.5–1.5× (RFC 3550 §6.2); default 5000. */
  reportIntervalMs?: number;
}

const DEFAULT_REPORT_INTERVAL_MS = 5000;
/** Sources we keep reception statistics for; a peer cycling SSRCs cannot grow this. */
const MAX_RECEIVED_SOURCES = 4;

/** What we sent under our current SSRC, for the sender info of our SR. */
interface SentStream {
  ssrc: number;
  packets: number;
  octets: number;
  /** The last packet's RTP timestamp and when it was sent, to extrapolate the SR's timestamp. */
  rtpTimestamp: number;
  sentAtS: number;
}

/** One media stream of a leg, as the call layer and targets see it: plain RTP in and out. */
export interface MediaStream {
  readonly kind: 'audio' | 'video';
  readonly codec: StreamCodec;
  readonly telephoneEvent: StreamCodec | undefined;
  /** Date.now() of the last packet that authenticated (RTP or RTCP), 0 before any. */
  readonly lastReceivedAt: number;
  onRtp(listener: (packet: Buffer) => void): void;
  sendRtp(packet: Buffer): void;
  /** Compound RTCP packets from the peer, authenticated and decrypted. */
  onRtcp(listener: (packet: Buffer) => void): void;
  sendRtcp(packet: Buffer): void;
  close(): void;
}

/**
 * An RTP stream on one socket pair, SRTP-protected in both directions when negotiated: what the
 * peer sends is authenticated and decrypted with its key, what we send is encrypted with ours.
 */
export class SecureRtpStream implements MediaStream {
  lastReceivedAt = 0;
  private params!: StreamParams;
  private inbound: SrtpContext | undefined;
  private outbound: SrtpContext | undefined;
  private readonly listeners: ((packet: Buffer) => void)[] = [];
  private readonly rtcpListeners: ((packet: Buffer) => void)[] = [];
  private sent: SentStream | undefined;
  private readonly received = new Map<number, ReceptionStatistics>();
  /** Our SSRC in receiver reports until we send RTP; RFC 7022: a random CNAME per stream. */
  private readonly receiverSsrc = randomBytes(4).readUInt32BE(0);
  private readonly cname = randomBytes(12).toString('base64');
  private readonly reportIntervalMs: number;
  private reportTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly socket: RtpSocketPair,
    params: StreamParams,
    private readonly events: StreamEvents = {},
    options: StreamOptions = {},
  ) {
    this.update(params);
    this.reportIntervalMs = options.reportIntervalMs ?? DEFAULT_REPORT_INTERVAL_MS;
    socket.onPacket((packet, _source, rtcp) => (rtcp ? this.receiveRtcp(packet) : this.receiveRtp(packet)));
    this.scheduleReport();
  }

  get kind(): 'audio' | 'video' {
    return this.params.kind;
  }

  get codec(): StreamCodec {
    return this.params.codec;
  }

  get telephoneEvent(): StreamCodec | undefined {
    return this.params.telephoneEvent;
  }

  /** Applies a new offer/answer round (hold, resume, new address, new keys). */
  update(params: StreamParams): void {
    const previous = this.params?.srtp;
    const next = params.srtp;
    // Replay and rollover state belong to a key: keep the contexts while the keys stay the same.
    if (!next) {
      this.inbound = this.outbound = undefined;
    } else if (!previous || previous.suite !== next.suite || !previous.remoteKey.equals(next.remoteKey)) {
      this.inbound = new SrtpContext(next.suite, next.remoteKey.key, next.remoteKey.salt);
    }
    if (next && (!previous || previous.suite !== next.suite || !previous.localKey.equals(next.localKey))) {
      this.outbound = new SrtpContext(next.suite, next.localKey.key, next.localKey.salt);
    }
    // Jitter is kept in clock units: a codec with another clock starts the statistics afresh.
    if (this.params && this.params.codec.clockRate !== params.codec.clockRate) this.received.clear();
    this.params = params;
  }

  onRtp(listener: (packet: Buffer) => void): void {
    this.listeners.push(listener);
  }

  sendRtp(packet: Buffer): void {
    const { direction, remote } = this.params;
    if (direction === 'recvonly' || direction === 'inactive') return;
    // Symmetric RTP: answer where the peer's packets come from, which survives NAT.
    const target = this.socket.latchedSource ?? (remote.address ? { address: remote.address, port: remote.rtpPort } : undefined);
    if (!target) return;
    const wire = this.outbound ? this.outbound.protect(packet) : packet;
    this.socket.send(wire, target.address, target.port);
    this.countSent(packet);
    this.events.packetOut?.(wire.length);
  }

  onRtcp(listener: (packet: Buffer) => void): void {
    this.rtcpListeners.push(listener);
  }

  sendRtcp(packet: Buffer): void {
    const { remote, rtcpMux } = this.params;
    const protectedPacket = this.outbound ? this.outbound.protectRtcp(packet) : packet;
    if (rtcpMux) {
      const target = this.socket.latchedSource ?? (remote.address ? { address: remote.address, port: remote.rtpPort } : undefined);
      if (target) this.socket.send(protectedPacket, target.address, target.port);
      return;
    }
    const address = remote.rtcpAddress ?? remote.address;
    const target = this.socket.latchedRtcpSource ?? (address ? { address, port: remote.rtcpPort } : undefined);
    if (target) this.socket.sendRtcp(protectedPacket, target.address, target.port);
  }

  close(): void {
    clearTimeout(this.reportTimer);
    this.reportTimer = undefined;
    this.listeners.length = 0;
    this.rtcpListeners.length = 0;
    void this.socket.close();
  }

  private receiveRtp(packet: Buffer): void {
    const plain = this.unprotect(packet, (ctx, p) => ctx.unprotect(p));
    if (!plain) return;
    this.events.packetIn?.(packet.length);
    this.countReceived(plain);
    if (this.params.direction === 'sendonly' || this.params.direction === 'inactive') return;
    for (const listener of this.listeners) listener(plain);
  }

  private receiveRtcp(packet: Buffer): void {
    // Authenticated RTCP also proves the peer is alive while it sends no RTP (hold, silence).
    const plain = this.unprotect(packet, (ctx, p) => ctx.unprotectRtcp(p));
    if (!plain) return;
    for (const listener of this.rtcpListeners) listener(plain);
    this.readReports(plain);
  }

  private countSent(packet: Buffer): void {
    const header = parseRtpHeader(packet);
    const padding = header.padding ? packet.readUInt8(packet.length - 1) : 0;
    if (this.sent?.ssrc !== header.ssrc) this.sent = { ssrc: header.ssrc, packets: 0, octets: 0, rtpTimestamp: 0, sentAtS: 0 };
    this.sent.packets++;
    this.sent.octets += Math.max(0, packet.length - header.headerLength - padding);
    this.sent.rtpTimestamp = header.timestamp;
    this.sent.sentAtS = wallClockSeconds();
  }

  private countReceived(packet: Buffer): void {
    const ssrc = packet.readUInt32BE(8);
    let source = this.received.get(ssrc);
    if (!source) {
      if (this.received.size >= MAX_RECEIVED_SOURCES) this.received.delete(this.received.keys().next().value!);
      source = new ReceptionStatistics(ssrc);
      this.received.set(ssrc, source);
    }
    source.packetReceived(packet.readUInt16BE(2), packet.readUInt32BE(4), wallClockSeconds() * this.params.codec.clockRate);
  }

  /** The peer's SRs feed our next blocks' LSR/DLSR; its blocks about our SSRC become report events. */
  private readReports(packet: Buffer): void {
    const now = wallClockSeconds();
    for (const report of parseReceptionReports(packet)) {
      if (report.senderInfo) this.received.get(report.senderSsrc)?.senderReportReceived(report.senderInfo, now);
      for (const block of report.blocks) if (this.sent && block.ssrc === this.sent.ssrc) this.emitReport(block, now);
    }
  }

  private emitReport(block: ReportBlock, arrivalS: number): void {
    const reception: PeerReception = { lossRatio: block.fractionLost / 256, jitterS: block.jitter / this.params.codec.clockRate };
    const roundTripS = roundTripSeconds(block, arrivalS);
    if (roundTripS !== undefined) reception.roundTripS = roundTripS;
    this.events.report?.(reception);
  }

  private scheduleReport(): void {
    this.reportTimer = setTimeout(() => {
      this.sendReport();
      this.scheduleReport();
    }, this.reportIntervalMs * (0.5 + Math.random()));
    this.reportTimer.unref();
  }

  private sendReport(): void {
    if (!this.sent && this.received.size === 0) return;
    const now = wallClockSeconds();
    const blocks = [...this.received.values()].filter((source) => source.heardSinceReport).map((source) => source.reportBlock(now));
    const { sent, cname } = this;
    if (!sent) {
      this.sendRtcp(buildReceptionReport({ ssrc: this.receiverSsrc, cname, blocks }));
      return;
    }
    const elapsedUnits = Math.round((now - sent.sentAtS) * this.params.codec.clockRate);
    const senderInfo = {
      ...toNtp(now),
      rtpTimestamp: (sent.rtpTimestamp + elapsedUnits) >>> 0,
      packetCount: sent.packets,
      octetCount: sent.octets,
    };
    this.sendRtcp(buildReceptionReport({ ssrc: sent.ssrc, cname, senderInfo, blocks }));
  }

  private unprotect(packet: Buffer, open: (ctx: SrtpContext, packet: Buffer) => Buffer): Buffer | undefined {
    if (!this.inbound) {
      this.lastReceivedAt = Date.now();
      return packet;
    }
    try {
      const plain = open(this.inbound, packet);
      this.lastReceivedAt = Date.now();
      return plain;
    } catch (err) {
      if (!(err instanceof SrtpError)) throw err;
      // Too short to carry a tag is not a forgery: e.g. libre's clear RTCP APP "PING" keepalives.
      if (err.code === 'replay' || err.code === 'too-old') this.events.replayDrop?.();
      else if (err.code === 'auth') this.events.authFailure?.();
      return undefined;
    }
  }
}
