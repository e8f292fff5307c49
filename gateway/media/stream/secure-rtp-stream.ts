import { SrtpContext, SrtpError, type SrtpSuite } from '../srtp/index.js';
import type { RtpSocketPair } from '../rtp/index.js';

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
  packetIn?(): void;
  packetOut?(): void;
  authFailure?(): void;
  replayDrop?(): void;
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

  constructor(
    private readonly socket: RtpSocketPair,
    params: StreamParams,
    private readonly events: StreamEvents = {},
  ) {
    this.update(params);
    socket.onPacket((packet, _source, rtcp) => (rtcp ? this.receiveRtcp(packet) : this.receiveRtp(packet)));
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
    this.socket.send(this.outbound ? this.outbound.protect(packet) : packet, target.address, target.port);
    this.events.packetOut?.();
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
    this.listeners.length = 0;
    this.rtcpListeners.length = 0;
    void this.socket.close();
  }

  private receiveRtp(packet: Buffer): void {
    const plain = this.unprotect(packet, (ctx, p) => ctx.unprotect(p));
    if (!plain) return;
    this.events.packetIn?.();
    if (this.params.direction === 'sendonly' || this.params.direction === 'inactive') return;
    for (const listener of this.listeners) listener(plain);
  }

  private receiveRtcp(packet: Buffer): void {
    // Authenticated RTCP also proves the peer is alive while it sends no RTP (hold, silence).
    const plain = this.unprotect(packet, (ctx, p) => ctx.unprotectRtcp(p));
    if (plain) for (const listener of this.rtcpListeners) listener(plain);
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
