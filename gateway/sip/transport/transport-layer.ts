import { createSocket } from 'node:dgram';
import type { RemoteInfo, Socket as UdpSocket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { connect as tcpConnect, createServer as createTcpServer, isIPv4, isIPv6 } from 'node:net';
import type { Server, Socket } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer, TLSSocket } from 'node:tls';
import { SipParseError, parseMessage, serializeMessage } from '../message/index.js';
import type { ParseLimits, SipMessage, SipResponse } from '../message/index.js';
import { stampReceived } from './received.js';
import { StreamConnection } from './stream-connection.js';
import { clientTlsOptions, serverTlsOptions, tlsVersionLabel } from './tls-policy.js';
import type { TlsClientConfig, TlsListenerConfig, TlsVersionLabel } from './tls-policy.js';
import type {
  InboundMessage,
  MessageSender,
  SendTarget,
  TlsInfo,
  TransportAddress,
  TransportProtocol,
} from './types.js';

type StreamProtocol = Exclude<TransportProtocol, 'udp'>;

export interface TransportLayerOptions {
  /** Stream connections with no traffic (keep-alives count) for this long are closed. Default 120 s. */
  idleTimeoutMs?: number;
  /** Open TCP/TLS connections, inbound (handshaking included) and outbound together. Default 1024. */
  maxConnections?: number;
  /** Output queued for a peer that does not read before its connection is cut. Default 1 MiB. */
  maxQueuedBytes?: number;
  /** Outbound TCP connect plus TLS handshake. Default 10 s. */
  connectTimeoutMs?: number;
  /** Parser limits for datagrams and stream framing; the parser's defaults when absent. */
  parseLimits?: ParseLimits;
  /** Outbound TLS connections (trunks, requests to a TLS Contact). */
  tlsClient?: TlsClientConfig;
}

export interface ListenConfig {
  /** Local address to bind every listener to. */
  bind: string;
  /** 0 picks a free port; `null` or absent leaves that listener off. */
  udpPort?: number | null;
  tcpPort?: number | null;
  tlsPort?: number | null;
  /** Required when `tlsPort` is set. */
  tls?: TlsListenerConfig;
  /** Host for Via/Contact (`localAddress`); `bind` when absent, so set it when binding a wildcard. */
  advertise?: string;
}

/** Ports actually bound; `null` for a listener that was not started. */
export interface BoundPorts {
  udp: number | null;
  tcp: number | null;
  tls: number | null;
}

export interface TrafficEvent {
  transport: TransportProtocol;
  direction: 'in' | 'out';
  message: SipMessage;
  bytes: number;
}

export interface ParseErrorEvent {
  transport: TransportProtocol;
  source: TransportAddress;
  reason: string;
  /** Whether an error response went back to the source. */
  answered: boolean;
}

export interface TlsHandshakeEvent {
  result: 'ok' | 'failed';
  version: TlsVersionLabel;
  /** `server`: a peer connected to a TLS listener; `client`: the gateway connected out. */
  side: 'server' | 'client';
}

export interface ConnectionEvent {
  state: 'open' | 'closed';
  connectionId: string;
  remote: TransportAddress;
}

export interface TransportEvents {
  message: [InboundMessage];
  parseError: [ParseErrorEvent];
  traffic: [TrafficEvent];
  tlsHandshake: [TlsHandshakeEvent];
  connection: [ConnectionEvent];
}

const DEFAULTS = {
  idleTimeoutMs: 120_000,
  maxConnections: 1024,
  maxQueuedBytes: 1024 * 1024,
  connectTimeoutMs: 10_000,
};

/**
 * SIP over UDP, TCP and TLS (RFC 3261 §18): listeners, connection management and reuse, and
 * the received/rport bookkeeping. Parsed messages come out as `message` events; everything a
 * peer sends that is not SIP ends as a `parseError` event, a 400 where one can be formed, or a
 * closed connection.
 *
 * UDP requests larger than the path MTU are sent as they are, not moved to TCP as §18.1.1 asks:
 * the gateway's peers (trunks, room systems) reach it over TLS or on networks that reassemble.
 */
export class SipTransportLayer extends EventEmitter<TransportEvents> implements MessageSender {
  private readonly options: typeof DEFAULTS & Pick<TransportLayerOptions, 'parseLimits' | 'tlsClient'>;
  private udp: UdpSocket | undefined;
  private readonly servers: Server[] = [];
  private bound: BoundPorts = { udp: null, tcp: null, tls: null };
  private advertise = '';
  private started = false;
  private closing = false;
  private nextConnection = 1;
  /** Every TCP socket, inbound or outbound, from accept/connect until it closes. */
  private readonly sockets = new Set<Socket>();
  private readonly connections = new Map<string, StreamConnection>();
  /** Open connections by `transport|address|port` of the peer, for reuse. */
  private readonly byRemote = new Map<string, StreamConnection>();
  private readonly connecting = new Map<string, Promise<StreamConnection>>();

  constructor(options: TransportLayerOptions = {}) {
    super();
    this.options = {
      idleTimeoutMs: options.idleTimeoutMs ?? DEFAULTS.idleTimeoutMs,
      maxConnections: options.maxConnections ?? DEFAULTS.maxConnections,
      maxQueuedBytes: options.maxQueuedBytes ?? DEFAULTS.maxQueuedBytes,
      connectTimeoutMs: options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
      parseLimits: options.parseLimits,
      tlsClient: options.tlsClient,
    };
  }

  async listen(config: ListenConfig): Promise<BoundPorts> {
    if (this.started) throw new Error('SIP transport layer is already listening');
    if (config.tlsPort != null && config.tls === undefined) {
      throw new Error('a SIP TLS listener needs a key and certificate (tls.key, tls.cert)');
    }
    this.started = true;
    this.advertise = config.advertise ?? config.bind;
    try {
      if (config.udpPort != null) this.bound.udp = await this.listenUdp(config.bind, config.udpPort);
      if (config.tcpPort != null) {
        const server = createTcpServer();
        this.bound.tcp = await this.listenStream(server, config.bind, config.tcpPort, (socket) =>
          this.accept(socket, 'tcp'),
        );
      }
      if (config.tlsPort != null && config.tls !== undefined) {
        const server = createTlsServer(serverTlsOptions(config.tls));
        server.on('secureConnection', (socket) => {
          this.emit('tlsHandshake', { result: 'ok', version: tlsVersionLabel(socket), side: 'server' });
          this.accept(socket, 'tls');
        });
        server.on('tlsClientError', (_err, socket) => {
          this.emit('tlsHandshake', { result: 'failed', version: 'unknown', side: 'server' });
          socket.destroy();
        });
        this.bound.tls = await this.listenStream(server, config.bind, config.tlsPort);
      }
    } catch (err) {
      await this.close();
      throw err;
    }
    return { ...this.bound };
  }

  async send(message: SipMessage, target: SendTarget): Promise<void> {
    const data = serializeMessage(message);
    if (target.transport === 'udp') await this.sendDatagram(data, target);
    else await (await this.streamTo(target, target.transport)).write(data);
    this.emit('traffic', { transport: target.transport, direction: 'out', message, bytes: data.length });
  }

  isReliable(transport: TransportProtocol): boolean {
    return transport !== 'udp';
  }

  localAddress(transport: TransportProtocol): TransportAddress {
    const port = this.bound[transport];
    if (port === null) throw new Error(`SIP over ${transport} is not listening`);
    return { transport, address: this.advertise, port };
  }

  /** Closes every listener and connection; the layer cannot listen again afterwards. */
  async close(): Promise<void> {
    this.closing = true;
    for (const connection of this.connections.values()) connection.close();
    for (const socket of this.sockets) socket.destroy();
    const udp = this.udp;
    this.udp = undefined;
    await Promise.all([
      ...this.servers.splice(0).map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
      udp && new Promise<void>((resolve) => udp.close(() => resolve())),
    ]);
  }

  private async listenUdp(bind: string, port: number): Promise<number> {
    const udp = createSocket({ type: isIPv6(bind) ? 'udp6' : 'udp4' });
    this.udp = udp;
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(port, bind, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    // Send failures reach the send callback; nothing else a peer does may take the socket down.
    udp.on('error', () => undefined);
    udp.on('message', (data, rinfo) => this.receiveDatagram(data, rinfo));
    return udp.address().port;
  }

  /** `accepted` sees each admitted raw socket; TLS listeners accept on `secureConnection` instead. */
  private async listenStream(
    server: Server,
    bind: string,
    port: number,
    accepted?: (socket: Socket) => void,
  ): Promise<number> {
    this.servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, bind, () => {
        server.off('error', reject);
        resolve();
      });
    });
    // Accept failures (EMFILE and the like) must not end the process; the listener carries on.
    server.on('error', () => undefined);
    // Raw sockets, so that handshaking TLS peers count against the limit and close() reaches them.
    server.on('connection', (socket: Socket) => {
      if (!this.admit(socket)) socket.destroy();
      else accepted?.(socket);
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('listener has no port');
    return address.port;
  }

  private admit(socket: Socket): boolean {
    if (this.closing || this.sockets.size >= this.options.maxConnections) return false;
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    return true;
  }

  private receiveDatagram(data: Buffer, rinfo: RemoteInfo): void {
    // A datagram of bare CRLFs is a keep-alive (RFC 5626 §3.5.1 allows it on UDP too).
    if (data.every((byte) => byte === 0x0d || byte === 0x0a)) return;
    const source: TransportAddress = { transport: 'udp', address: plainAddress(rinfo.address), port: rinfo.port };
    this.receive(data, source, this.localAddress('udp'), undefined);
  }

  private accept(socket: Socket, transport: StreamProtocol): void {
    const { remoteAddress, remotePort } = socket;
    if (this.closing || remoteAddress === undefined || remotePort === undefined) {
      socket.destroy();
      return;
    }
    this.register(socket, { transport, address: plainAddress(remoteAddress), port: remotePort });
  }

  private register(socket: Socket, remote: TransportAddress): StreamConnection {
    const transport = remote.transport;
    const connection = new StreamConnection(
      socket,
      {
        id: `${transport}-${this.nextConnection++}`,
        remote,
        local: { transport, address: plainAddress(socket.localAddress ?? ''), port: socket.localPort ?? 0 },
        tls: socket instanceof TLSSocket ? tlsInfo(socket) : undefined,
        idleTimeoutMs: this.options.idleTimeoutMs,
        maxQueuedBytes: this.options.maxQueuedBytes,
        parseLimits: this.options.parseLimits,
      },
      {
        message: (conn, data) => this.receive(data, conn.remote, conn.local, conn),
        framingError: (conn, err) =>
          this.emit('parseError', { transport, source: conn.remote, reason: errorText(err), answered: false }),
        closed: (conn) => this.forget(conn),
      },
    );
    this.connections.set(connection.id, connection);
    this.byRemote.set(remoteKey(remote), connection);
    this.emit('connection', { state: 'open', connectionId: connection.id, remote });
    return connection;
  }

  private forget(connection: StreamConnection): void {
    this.connections.delete(connection.id);
    for (const [key, conn] of this.byRemote) if (conn === connection) this.byRemote.delete(key);
    this.emit('connection', { state: 'closed', connectionId: connection.id, remote: connection.remote });
  }

  private receive(
    data: Buffer,
    source: TransportAddress,
    local: TransportAddress,
    connection: StreamConnection | undefined,
  ): void {
    let message: SipMessage;
    try {
      message = parseMessage(data, this.options.parseLimits);
      if (message.type === 'request') stampReceived(message, source);
    } catch (err) {
      const response = explainedAnswer(err);
      this.emit('parseError', { transport: source.transport, source, reason: errorText(err), answered: !!response });
      if (response) this.send(response, { ...source, connectionId: connection?.id }).catch(() => undefined);
      return;
    }
    this.emit('traffic', { transport: source.transport, direction: 'in', message, bytes: data.length });
    this.emit('message', {
      message,
      source,
      local,
      ...(connection ? { connectionId: connection.id } : {}),
      ...(connection?.tls ? { tls: connection.tls } : {}),
    });
  }

  private sendDatagram(data: Buffer, target: TransportAddress): Promise<void> {
    const udp = this.udp;
    if (!udp) return Promise.reject(new Error('SIP over UDP is not listening'));
    return new Promise((resolve, reject) => {
      udp.send(data, target.port, target.address, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** §18.2.2 and RFC 5923-style reuse: the named connection, else any open one to the peer, else a new one. */
  private streamTo(target: SendTarget, transport: StreamProtocol): Promise<StreamConnection> {
    const named = target.connectionId === undefined ? undefined : this.connections.get(target.connectionId);
    if (named?.isOpen && named.remote.transport === transport) return Promise.resolve(named);
    const key = remoteKey(target);
    const reusable = this.byRemote.get(key);
    if (reusable?.isOpen) return Promise.resolve(reusable);
    let pending = this.connecting.get(key);
    if (!pending) {
      pending = this.connect(target, transport).finally(() => this.connecting.delete(key));
      this.connecting.set(key, pending);
    }
    return pending;
  }

  private async connect(target: TransportAddress, transport: StreamProtocol): Promise<StreamConnection> {
    if (this.closing) throw new Error('SIP transport layer is closed');
    const socket =
      transport === 'tls'
        ? tlsConnect(clientTlsOptions(this.options.tlsClient ?? {}, target.address, target.port))
        : tcpConnect({ host: target.address, port: target.port });
    if (!this.admit(socket)) {
      socket.destroy();
      throw new Error(`too many SIP connections (${this.options.maxConnections})`);
    }
    let tcpConnected = false;
    socket.once('connect', () => (tcpConnected = true));
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      // Stays attached: an error between settling and register() must not go unhandled.
      const fail = (err: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        if (transport === 'tls' && tcpConnected) {
          this.emit('tlsHandshake', { result: 'failed', version: 'unknown', side: 'client' });
        }
        reject(err);
      };
      const timer = setTimeout(
        () => fail(new Error(`connecting to ${transport}:${target.address}:${target.port} timed out`)),
        this.options.connectTimeoutMs,
      );
      socket.on('error', fail);
      socket.once(transport === 'tls' ? 'secureConnect' : 'connect', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve();
      });
    });
    if (socket instanceof TLSSocket) {
      this.emit('tlsHandshake', { result: 'ok', version: tlsVersionLabel(socket), side: 'client' });
    }
    const connection = this.register(socket, {
      transport,
      address: plainAddress(socket.remoteAddress ?? target.address),
      port: socket.remotePort ?? target.port,
    });
    // Also findable under the name it was asked for (a host name, or an unmapped address).
    this.byRemote.set(remoteKey(target), connection);
    return connection;
  }
}

const MAX_REASON_DETAIL = 100;

/**
 * The parser's ready-made answer to a bad request (absent when none can be formed: a response,
 * an ACK, no readable Via), with what was wrong appended to the reason phrase.
 */
function explainedAnswer(err: unknown): SipResponse | undefined {
  if (!(err instanceof SipParseError) || err.response === undefined) return undefined;
  const detail = err.message.replace(/[^\x20-\x7e]/g, '?').slice(0, MAX_REASON_DETAIL);
  return { ...err.response, reason: `${err.response.reason} (${detail})` };
}

function tlsInfo(socket: TLSSocket): TlsInfo {
  const subject = socket.getPeerCertificate()?.subject?.CN;
  const certificate = socket.getPeerX509Certificate();
  return {
    version: socket.getProtocol() ?? 'unknown',
    cipher: socket.getCipher()?.name ?? 'unknown',
    peerVerified: socket.authorized,
    ...(typeof subject === 'string' ? { peerSubject: subject } : {}),
    ...(certificate ? { peerCertificate: certificate } : {}),
  };
}

function remoteKey(address: TransportAddress): string {
  return `${address.transport}|${plainAddress(address.address).toLowerCase()}|${address.port}`;
}

/** `::ffff:192.0.2.1` (an IPv4 peer on a dual-stack socket) is just `192.0.2.1`. */
function plainAddress(address: string): string {
  return address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
