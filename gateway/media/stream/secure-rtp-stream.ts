import { randomBytes } from 'node:crypto';
import { SrtpContext, SrtpError, type SrtpSuite } from '../srtp/index.js';
import { parseRtpHeader, RtpRewriter, type RtpSocketPair } from '../rtp/index.js';
import {
  ReceptionStatistics,
  buildReceptionReport,
  parseReceptionReports,
  peerReception,
  toNtp,
  wallClockSeconds,
  type PeerReception,
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

/** What we sent, for the sender info of our SR. */
interface SentStream {
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
  /**
   * RTP from any of our sources (prompts, the meeting's mix, …), each with its own SSRC and numbering:
   * the peer receives them as one stream, with the stream's SSRC and continuous sequence numbers and
   * timestamps, as from an SBC. `packet` is left as it was.
   */
  sendRtp(packet: Buffer): void;
  /** Compound RTCP packets from the peer, authenticated and decrypted. */
  onRtcp(listener: (packet: Buffer) => void): void;
  /** Sent with the stream's SSRC as the sender of every packet in it. */
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
  /** Our SSRC on all we send: RTP whoever produced it, our reports, feedback. RFC 7022: a random CNAME per stream. */
  private readonly ssrc = randomBytes(4).readUInt32BE(0);
  private readonly cname = randomBytes(12).toString('base64');
  /**
   * Receivers cope badly with a change of sender: baresip 1.0 flushes its jitter buffer on a new SSRC only once
   * it has started playing out (not after a prompt cut short by the first digit), and libre 1.1's buffer then
   * refuses every packet numbered below the old sender's last as late: silence for the rest of the call.
   */
  private readonly rewriter: RtpRewriter;
  private readonly reportIntervalMs: number;
  private reportTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly socket: RtpSocketPair,
    params: StreamParams,
    private readonly events: StreamEvents = {},
    options: StreamOptions = {},
  ) {
    this.rewriter = new RtpRewriter(this.ssrc, params.codec.clockRate);
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
    this.rewriter.clockRate = params.codec.clockRate;
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
    const wire = this.outbound ? this.protectAsOurs(this.outbound, packet) : this.rewriter.rewrite(packet);
    if (!wire) return;
    this.socket.send(wire, target.address, target.port);
    this.countSent(packet, wire);
    this.events.packetOut?.(wire.length);
  }

  onRtcp(listener: (packet: Buffer) => void): void {
    this.rtcpListeners.push(listener);
  }

  sendRtcp(packet: Buffer): void {
    const { remote, rtcpMux } = this.params;
    const ours = fromSender(packet, this.ssrc);
    const protectedPacket = this.outbound ? this.outbound.protectRtcp(ours) : ours;
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

  /**
   * The packet with our SSRC and numbering, encrypted. protect() writes a new buffer, so the caller's packet is
   * rewritten only until then and put back as it was: no second copy, and receivers sharing it see no change.
   * Undefined for a packet that would reuse an SRTP index (a late packet numbered into one already sent):
   * sending it would reuse keystream.
   */
  private protectAsOurs(outbound: SrtpContext, packet: Buffer): Buffer | undefined {
    const sequence = packet.readUInt16BE(2);
    const timestamp = packet.readUInt32BE(4);
    const ssrc = packet.readUInt32BE(8);
    try {
      return outbound.protect(this.rewriter.rewriteInPlace(packet));
    } catch (err) {
      if (err instanceof SrtpError && (err.code === 'replay' || err.code === 'too-old')) return undefined;
      throw err;
    } finally {
      packet.writeUInt16BE(sequence, 2);
      packet.writeUInt32BE(timestamp, 4);
      packet.writeUInt32BE(ssrc, 8);
    }
  }

  /** Payload octets from `packet`; the timestamp as sent, from `wire` (RTP headers travel in clear, SRTP too). */
  private countSent(packet: Buffer, wire: Buffer): void {
    const header = parseRtpHeader(packet);
    const padding = header.padding ? packet.readUInt8(packet.length - 1) : 0;
    this.sent ??= { packets: 0, octets: 0, rtpTimestamp: 0, sentAtS: 0 };
    this.sent.packets++;
    this.sent.octets += Math.max(0, packet.length - header.headerLength - padding);
    this.sent.rtpTimestamp = wire.readUInt32BE(4);
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
      for (const block of report.blocks) {
        if (this.sent && block.ssrc === this.ssrc) this.events.report?.(peerReception(block, this.params.codec.clockRate, now));
      }
    }
  }

  private scheduleReport(): void {
    this.reportTimer = setTimeout(() => {
      // Re-armed first: a failed report must not end the reports of a live stream.
      this.scheduleReport();
      this.sendReport();
    }, this.reportIntervalMs * (0.5 + Math.random()));
    this.reportTimer.unref();
  }

  private sendReport(): void {
    if (!this.sent && this.received.size === 0) return;
    const now = wallClockSeconds();
    const blocks = [...this.received.values()].filter((source) => source.heardSinceReport).map((source) => source.reportBlock(now));
    const { sent, ssrc, cname } = this;
    if (!sent) {
      this.sendRtcp(buildReceptionReport({ ssrc, cname, blocks }));
      return;
    }
    const elapsedUnits = Math.round((now - sent.sentAtS) * this.params.codec.clockRate);
    const senderInfo = {
      ...toNtp(now),
      rtpTimestamp: (sent.rtpTimestamp + elapsedUnits) >>> 0,
      packetCount: sent.packets,
      octetCount: sent.octets,
    };
    this.sendRtcp(buildReceptionReport({ ssrc, cname, senderInfo, blocks }));
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

/**
 * A copy of a compound RTCP packet sent as `ssrc`: every RTCP packet names its sender in the word after
 * its header (RFC 3550 §6.4-6.7, RFC 4585 §6.1), e.g. a PLI the fabric asks for on behalf of a track.
 */
function fromSender(compound: Buffer, ssrc: number): Buffer {
  const out = Buffer.from(compound);
  for (let at = 0; at + 8 <= out.length; at += 4 + 4 * out.readUInt16BE(at + 2)) {
    if (out.readUInt16BE(at + 2) > 0) out.writeUInt32BE(ssrc, at + 4);
  }
  return out;
}
