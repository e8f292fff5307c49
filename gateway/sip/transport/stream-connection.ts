import type { Socket } from 'node:net';
import { StreamFramer } from '../message/index.js';
import type { ParseLimits } from '../message/index.js';
import type { TlsInfo, TransportAddress } from './types.js';

export interface StreamConnectionHandlers {
  message(connection: StreamConnection, data: Buffer): void;
  /** The byte stream cannot be framed any more; the connection is being closed. */
  framingError(connection: StreamConnection, error: unknown): void;
  closed(connection: StreamConnection): void;
}

export interface StreamConnectionOptions {
  id: string;
  remote: TransportAddress;
  local: TransportAddress;
  tls?: TlsInfo;
  idleTimeoutMs: number;
  /** A peer that stops reading is cut off once this much output is queued for it. */
  maxQueuedBytes: number;
  parseLimits?: ParseLimits;
}

const CRLF = Buffer.from('\r\n');

/**
 * One TCP or TLS connection carrying SIP: frames the byte stream into messages, answers
 * RFC 5626 §4.4.1 CRLFCRLF pings, and closes itself after a quiet spell.
 */
export class StreamConnection {
  readonly id: string;
  readonly remote: TransportAddress;
  readonly local: TransportAddress;
  readonly tls: TlsInfo | undefined;
  private readonly framer: StreamFramer;
  private readonly maxQueuedBytes: number;
  private open = true;

  constructor(
    private readonly socket: Socket,
    options: StreamConnectionOptions,
    private readonly handlers: StreamConnectionHandlers,
  ) {
    this.id = options.id;
    this.remote = options.remote;
    this.local = options.local;
    this.tls = options.tls;
    this.maxQueuedBytes = options.maxQueuedBytes;
    this.framer = new StreamFramer(options.parseLimits);

    // Node's socket timeout counts reads and writes, so keep-alives and traffic both reset it.
    socket.setTimeout(options.idleTimeoutMs, () => this.close());
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    // Resets, half-open peers and TLS alerts all end here; the 'close' that follows cleans up.
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.markClosed());
  }

  get isOpen(): boolean {
    return this.open && !this.socket.destroyed && this.socket.writable;
  }

  write(data: Buffer): Promise<void> {
    if (!this.isOpen) return Promise.reject(new Error(`connection ${this.id} is closed`));
    if (this.socket.writableLength + data.length > this.maxQueuedBytes) {
      this.close();
      return Promise.reject(new Error(`connection ${this.id} closed: peer is not reading`));
    }
    return new Promise((resolve, reject) => {
      this.socket.write(data, (err) => (err ? reject(err) : resolve()));
    });
  }

  close(): void {
    this.socket.destroy();
    this.markClosed();
  }

  private receive(chunk: Buffer): void {
    let items;
    try {
      items = this.framer.push(chunk);
    } catch (err) {
      this.handlers.framingError(this, err);
      this.close();
      return;
    }
    for (const item of items) {
      if (!this.open) return;
      if (item.type === 'message') this.handlers.message(this, item.data);
      else if (item.ping) this.socket.write(CRLF);
    }
  }

  private markClosed(): void {
    if (!this.open) return;
    this.open = false;
    this.handlers.closed(this);
  }
}
