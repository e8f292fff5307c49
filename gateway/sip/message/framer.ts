/** Content-Length framing of SIP over TCP/TLS (RFC 3261 §18.3) with RFC 5626 §4.4.1 keepalives. */
import { parseDigits } from './lex.js';
import { DEFAULT_PARSE_LIMITS, findHeadEnd, type ParseLimits } from './parser.js';
import { SipParseError } from './types.js';

export type FramedItem =
  | { type: 'message'; data: Buffer }
  | {
      type: 'keepalive';
      /** CRLFCRLF ping: answer with CRLF (RFC 5626 §4.4.1); false for a CRLF pong (reported once the next byte arrives). */
      ping: boolean;
    };

const CR = 0x0d;
const LF = 0x0a;

/** The Content-Length of a head (compact `l` too, folding honoured); throws when absent or bad. */
function contentLength(head: string): number {
  let value: string | undefined;
  let inContentLength = false;
  const lines = head.split('\n');
  for (let k = 1; k < lines.length; k++) {
    const line = lines[k]!;
    const first = line.charCodeAt(0);
    if (first === 0x20 || first === 0x09) {
      if (inContentLength) value += ' ' + line;
      continue;
    }
    const colon = line.indexOf(':');
    const name = line.slice(0, Math.max(colon, 0)).trim().toLowerCase();
    inContentLength = name === 'content-length' || name === 'l';
    if (!inContentLength) continue;
    if (value !== undefined) throw new SipParseError('framing: more than one Content-Length header');
    value = line.slice(colon + 1);
  }
  if (value === undefined) throw new SipParseError('framing: Content-Length is mandatory on stream transports');
  const length = parseDigits(value.trim().replace(/^0+(?=\d)/, ''), 9);
  if (Number.isNaN(length)) throw new SipParseError('framing: malformed Content-Length header');
  return length;
}

/**
 * Cuts a byte stream into messages. Keeps at most one message (plus what arrived after it) in
 * memory; once push() has thrown, every later push() throws too: the caller closes the connection.
 */
export class StreamFramer {
  private store = Buffer.alloc(0);
  private start = 0;
  private end = 0;
  /** Where to resume looking for the end of the head. */
  private scanFrom = 0;
  /** Total length of the message being collected, once its head is known. */
  private messageLength = -1;
  private failure: SipParseError | undefined;

  constructor(private readonly limits: ParseLimits = DEFAULT_PARSE_LIMITS) {}

  /** Returns the items completed by `chunk`; throws SipParseError when the stream cannot be framed. */
  push(chunk: Buffer): FramedItem[] {
    if (this.failure) throw this.failure;
    this.append(chunk);
    const items: FramedItem[] = [];
    try {
      for (let item = this.next(); item; item = this.next()) items.push(item);
    } catch (err) {
      this.failure = err instanceof SipParseError ? err : new SipParseError('framing failed');
      throw this.failure;
    }
    return items;
  }

  private append(chunk: Buffer): void {
    const length = this.end - this.start;
    if (this.end + chunk.length > this.store.length) {
      const needed = length + chunk.length;
      const target = needed <= this.store.length ? this.store : Buffer.allocUnsafe(Math.max(needed, this.store.length * 2, 4096));
      this.store.copy(target, 0, this.start, this.end);
      this.store = target;
      this.start = 0;
      this.end = length;
    }
    chunk.copy(this.store, this.end);
    this.end += chunk.length;
  }

  private consume(n: number): void {
    this.start += n;
    if (this.start === this.end) this.start = this.end = 0;
  }

  private byte(offset: number): number | undefined {
    return this.start + offset < this.end ? this.store[this.start + offset] : undefined;
  }

  private next(): FramedItem | undefined {
    for (;;) {
      const length = this.end - this.start;
      if (length === 0) return undefined;
      if (this.messageLength < 0) {
        const b0 = this.byte(0);
        if (b0 === CR || b0 === LF) {
          const keepalive = this.keepalive();
          if (keepalive === 'wait') return undefined;
          if (keepalive) return keepalive;
          continue;
        }
        const view = this.store.subarray(this.start, this.end);
        const found = findHeadEnd(view, this.scanFrom);
        if (found === undefined) {
          if (length > this.limits.maxMessageBytes) throw new SipParseError('framing: head too large', 413);
          this.scanFrom = Math.max(0, length - 2);
          return undefined;
        }
        const body = contentLength(view.toString('latin1', 0, found.headEnd));
        if (body > this.limits.maxBodyBytes || found.bodyStart + body > this.limits.maxMessageBytes) {
          throw new SipParseError('framing: message too large', 413);
        }
        this.messageLength = found.bodyStart + body;
        this.scanFrom = 0;
      }
      if (length < this.messageLength) return undefined;
      const data = Buffer.from(this.store.subarray(this.start, this.start + this.messageLength));
      this.consume(this.messageLength);
      this.messageLength = -1;
      return { type: 'message', data };
    }
  }

  /** Line ends between messages: CRLFCRLF is a ping, a lone CRLF a pong, other stray CR/LF are skipped (§7.5). */
  private keepalive(): FramedItem | 'wait' | undefined {
    const [b0, b1, b2, b3] = [this.byte(0), this.byte(1), this.byte(2), this.byte(3)];
    if (b0 === CR && b1 === undefined) return 'wait';
    if (b0 === CR && b1 === LF) {
      if (b2 === CR && b3 === LF) {
        this.consume(4);
        return { type: 'keepalive', ping: true };
      }
      // CRLF at the end of what has arrived may be the first half of a ping: a server must not
      // miss pings, so a lone pong is reported only once the next byte shows it is not one.
      if (b2 === undefined || (b2 === CR && b3 === undefined)) return 'wait';
      this.consume(2);
      return { type: 'keepalive', ping: false };
    }
    this.consume(1);
    return undefined;
  }
}
