/** A bound RTP/RTCP UDP port pair for one media stream, with symmetric-RTP latching (RFC 4961). */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { isRtcp, parseRtpHeader } from './header.js';
import type { PortAllocator } from './port-allocator.js';
import { RtpError } from './rtp-error.js';

export interface RtpSocketPairOptions {
  allocator: PortAllocator;
  bindAddress: string;
  /** Kernel receive buffer per socket; the OS may cap it. Video bursts need more than the default. */
  receiveBufferBytes?: number;
}

export type PacketListener = (packet: Buffer, source: RemoteInfo, isRtcp: boolean) => void;

export interface RtpCounters {
  packetsIn: number;
  bytesIn: number;
  packetsOut: number;
  bytesOut: number;
  /** Well-formed packets from a source other than the latched one. */
  foreignDropped: number;
  malformedDropped: number;
  sendErrors: number;
}

export interface SourceAddress {
  address: string;
  port: number;
}

const DEFAULT_RECEIVE_BUFFER_BYTES = 1024 * 1024;

function bindSocket(address: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket({ type: isIPv6(address) ? 'udp6' : 'udp4' });
    const onError = (error: Error): void => {
      socket.close();
      reject(error);
    };
    socket.once('error', onError);
    socket.bind({ address, port, exclusive: true }, () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

async function bindPair(address: string, rtpPort: number): Promise<[Socket, Socket] | undefined> {
  const rtp = await bindSocket(address, rtpPort).catch(() => undefined);
  if (!rtp) return undefined;
  const rtcp = await bindSocket(address, rtpPort + 1).catch(() => undefined);
  if (!rtcp) {
    rtp.close();
    return undefined;
  }
  return [rtp, rtcp];
}

export class RtpSocketPair {
  readonly counters: RtpCounters = {
    packetsIn: 0,
    bytesIn: 0,
    packetsOut: 0,
    bytesOut: 0,
    foreignDropped: 0,
    malformedDropped: 0,
    sendErrors: 0,
  };
  private readonly listeners: PacketListener[] = [];
  private readonly latched: { rtp?: SourceAddress; rtcp?: SourceAddress } = {};
  private closed = false;

  private constructor(
    private readonly allocator: PortAllocator,
    readonly bindAddress: string,
    readonly rtpPort: number,
    private readonly rtpSocket: Socket,
    private readonly rtcpSocket: Socket,
  ) {
    for (const [socket, channel] of [
      [rtpSocket, 'rtp'],
      [rtcpSocket, 'rtcp'],
    ] as const) {
      socket.on('message', (packet, source) => this.receive(packet, source, channel));
      // ICMP errors surface here; they must never become an uncaught 'error' event.
      socket.on('error', () => this.counters.sendErrors++);
    }
  }

  /** Binds the next free pair of the allocator's range, skipping ports something else holds. */
  static async open(options: RtpSocketPairOptions): Promise<RtpSocketPair> {
    const { allocator, bindAddress } = options;
    for (let attempt = 0; attempt < allocator.capacity; attempt++) {
      const port = allocator.reserve();
      const sockets = await bindPair(bindAddress, port);
      if (!sockets) {
        allocator.release(port);
        continue;
      }
      for (const socket of sockets) {
        try {
          socket.setRecvBufferSize(options.receiveBufferBytes ?? DEFAULT_RECEIVE_BUFFER_BYTES);
        } catch {
          // The OS refused the size; the default buffer still works, only with less headroom.
        }
      }
      return new RtpSocketPair(allocator, bindAddress, port, ...sockets);
    }
    throw new RtpError(`no bindable RTP port pair in ${allocator.min}-${allocator.max} on ${bindAddress}`);
  }

  get rtcpPort(): number {
    return this.rtpPort + 1;
  }

  /** The peer's RTP source once latched: later RTP from anywhere else is dropped. */
  get latchedSource(): SourceAddress | undefined {
    return this.latched.rtp;
  }

  get latchedRtcpSource(): SourceAddress | undefined {
    return this.latched.rtcp;
  }

  onPacket(listener: PacketListener): void {
    this.listeners.push(listener);
  }

  /** Sends from the RTP port (also RTCP when muxed). Dropped silently once closed. */
  send(packet: Buffer, address: string, port: number): void {
    this.transmit(this.rtpSocket, packet, address, port);
  }

  sendRtcp(packet: Buffer, address: string, port: number): void {
    this.transmit(this.rtcpSocket, packet, address, port);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([this.rtpSocket, this.rtcpSocket].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    this.allocator.release(this.rtpPort);
  }

  private transmit(socket: Socket, packet: Buffer, address: string, port: number): void {
    if (this.closed) return;
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      this.counters.sendErrors++;
      return;
    }
    this.counters.packetsOut++;
    this.counters.bytesOut += packet.length;
    socket.send(packet, port, address, (error) => {
      if (error) this.counters.sendErrors++;
    });
  }

  private receive(packet: Buffer, source: RemoteInfo, channel: 'rtp' | 'rtcp'): void {
    const rtcp = isRtcp(packet);
    if (!this.isWellFormed(packet, rtcp, channel)) {
      this.counters.malformedDropped++;
      return;
    }
    const latched = this.latched[channel];
    if (!latched) {
      this.latched[channel] = { address: source.address, port: source.port };
    } else if (latched.address !== source.address || latched.port !== source.port) {
      this.counters.foreignDropped++;
      return;
    }
    this.counters.packetsIn++;
    this.counters.bytesIn += packet.length;
    for (const listener of this.listeners) listener(packet, source, rtcp);
  }

  private isWellFormed(packet: Buffer, rtcp: boolean, channel: 'rtp' | 'rtcp'): boolean {
    if (rtcp) return true;
    if (channel === 'rtcp') return false;
    try {
      parseRtpHeader(packet);
      return true;
    } catch {
      return false;
    }
  }
}
