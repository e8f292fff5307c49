/**
 * The SIP message model (RFC 3261 §7). Protocol-only: nothing here knows about calls or rooms.
 *
 * Headers are kept as an ordered list of (canonical name, raw value) so that a message
 * re-serializes faithfully; typed views (Via, name-addr, CSeq, …) are parsed on demand by
 * the functions in `headers.ts`.
 */

export type SipMethod =
  | 'INVITE'
  | 'ACK'
  | 'BYE'
  | 'CANCEL'
  | 'OPTIONS'
  | 'REGISTER'
  | 'INFO'
  | 'UPDATE'
  | 'PRACK'
  | 'SUBSCRIBE'
  | 'NOTIFY'
  | 'REFER'
  | 'MESSAGE'
  | 'PUBLISH'
  // Extension methods are legal (RFC 3261 §25.1 `extension-method = token`).
  | (string & {});

export interface SipUri {
  scheme: 'sip' | 'sips' | 'tel';
  user?: string;
  password?: string;
  /** Host name, IPv4 literal or IPv6 literal without brackets. */
  host: string;
  port?: number;
  /** URI parameters (`;transport=tls;lr`); a parameter without value maps to `null`. */
  params: Map<string, string | null>;
  /** URI headers (`?subject=x`), rarely used. */
  headers: Map<string, string>;
}

export class SipHeaders implements Iterable<[string, string]> {
  private readonly entries: [string, string][] = [];

  /** Append a header line; `name` is canonicalised (compact forms expanded). */
  append(name: string, value: string): this {
    this.entries.push([canonicalHeaderName(name), value]);
    return this;
  }

  /** Replace every line of `name` with one line. */
  set(name: string, value: string): this {
    const canon = canonicalHeaderName(name);
    const at = this.entries.findIndex(([n]) => n === canon);
    this.delete(canon);
    if (at < 0 || at > this.entries.length) this.entries.push([canon, value]);
    else this.entries.splice(at, 0, [canon, value]);
    return this;
  }

  /** Insert a header line before all other lines of the same name (e.g. a new top Via). */
  prepend(name: string, value: string): this {
    const canon = canonicalHeaderName(name);
    const at = this.entries.findIndex(([n]) => n === canon);
    this.entries.splice(at < 0 ? this.entries.length : at, 0, [canon, value]);
    return this;
  }

  delete(name: string): this {
    const canon = canonicalHeaderName(name);
    for (let i = this.entries.length - 1; i >= 0; i--) {
      if (this.entries[i]![0] === canon) this.entries.splice(i, 1);
    }
    return this;
  }

  has(name: string): boolean {
    const canon = canonicalHeaderName(name);
    return this.entries.some(([n]) => n === canon);
  }

  /** The raw value of the first line of `name`. */
  get(name: string): string | undefined {
    const canon = canonicalHeaderName(name);
    return this.entries.find(([n]) => n === canon)?.[1];
  }

  /** Raw values of every line of `name`, in order (lines are not split on commas). */
  getLines(name: string): string[] {
    const canon = canonicalHeaderName(name);
    return this.entries.filter(([n]) => n === canon).map(([, v]) => v);
  }

  /**
   * Every value of a list header (`Via`, `Route`, `Allow`, …): each line split on the commas
   * that separate values, honouring quoted strings and `<…>` URIs.
   */
  getList(name: string): string[] {
    return this.getLines(name).flatMap(splitHeaderList);
  }

  clone(): SipHeaders {
    const copy = new SipHeaders();
    for (const [n, v] of this.entries) copy.entries.push([n, v]);
    return copy;
  }

  [Symbol.iterator](): Iterator<[string, string]> {
    return this.entries[Symbol.iterator]();
  }
}

export interface SipRequest {
  type: 'request';
  method: SipMethod;
  uri: SipUri;
  headers: SipHeaders;
  body: Buffer;
}

export interface SipResponse {
  type: 'response';
  status: number;
  reason: string;
  headers: SipHeaders;
  body: Buffer;
}

export type SipMessage = SipRequest | SipResponse;

/** Thrown by the parser, and only by the parser, for input that is not a valid SIP message. */
export class SipParseError extends Error {
  override readonly name = 'SipParseError';
  constructor(
    message: string,
    /** What an answering server should send, when a response can be formed at all. */
    readonly status: 400 | 413 | 414 | 416 | 505 = 400,
    /**
     * The ready-made answer (this status, with the request's Via, From, To, Call-ID and CSeq), when
     * the input was a request other than ACK whose Via, From, To, Call-ID and CSeq could be read;
     * absent when nothing should be sent back (the input is then dropped).
     */
    readonly response?: SipResponse,
  ) {
    super(message);
  }
}

/** RFC 3261 §7.3.3 compact forms, plus those of later RFCs that room systems send. */
const COMPACT: Record<string, string> = {
  i: 'Call-ID',
  m: 'Contact',
  e: 'Content-Encoding',
  l: 'Content-Length',
  c: 'Content-Type',
  f: 'From',
  s: 'Subject',
  k: 'Supported',
  t: 'To',
  v: 'Via',
  o: 'Event',
  r: 'Refer-To',
  b: 'Referred-By',
  u: 'Allow-Events',
  x: 'Session-Expires',
  a: 'Accept-Contact',
  j: 'Reject-Contact',
  d: 'Request-Disposition',
  y: 'Identity',
};

/** Header names whose conventional spelling is not plain Title-Case. */
const SPECIAL: Record<string, string> = {
  'call-id': 'Call-ID',
  cseq: 'CSeq',
  'www-authenticate': 'WWW-Authenticate',
  'mime-version': 'MIME-Version',
  'min-se': 'Min-SE',
  'rseq': 'RSeq',
  'rack': 'RAck',
  'p-asserted-identity': 'P-Asserted-Identity',
};

const canonCache = new Map<string, string>();

/** `via`, `VIA` and `v` all become `Via`: header names compare case-insensitively (§7.3.1). */
export function canonicalHeaderName(name: string): string {
  const cached = canonCache.get(name);
  if (cached !== undefined) return cached;
  const lower = name.toLowerCase();
  const canon =
    COMPACT[lower] ??
    SPECIAL[lower] ??
    lower.replace(/(^|-)([a-z])/g, (_m, dash: string, ch: string) => dash + ch.toUpperCase());
  if (canonCache.size < 1024) canonCache.set(name, canon);
  return canon;
}

/** Split a header value on top-level commas (not inside quotes or angle brackets). */
export function splitHeaderList(value: string): string[] {
  const out: string[] = [];
  let depthAngle = 0;
  let inQuote = false;
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (inQuote) {
      if (ch === '\\') i++;
      else if (ch === '"') inQuote = false;
    } else if (ch === '"') inQuote = true;
    else if (ch === '<') depthAngle++;
    else if (ch === '>') depthAngle = Math.max(0, depthAngle - 1);
    else if (ch === ',' && depthAngle === 0) {
      const part = value.slice(start, i).trim();
      if (part) out.push(part);
      start = i + 1;
    }
  }
  const last = value.slice(start).trim();
  if (last) out.push(last);
  return out;
}
