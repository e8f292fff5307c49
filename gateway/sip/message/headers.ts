/** Typed views of the headers the SIP core reads: Via, name-addr (From/To/Contact/Route), CSeq. */
import { Cursor, HOST, formatParams, isToken, parseDigits, parseGenericParams } from './lex.js';
import { SipParseError, splitHeaderList, type SipMessage, type SipUri } from './types.js';
import { formatUri, parseUri } from './uri.js';
import { isIPv6 } from 'node:net';

export interface Via {
  /** `SIP/2.0` */
  protocol: string;
  /** Upper-cased: UDP, TCP, TLS, WS, WSS, … */
  transport: string;
  host: string;
  port?: number;
  /** Names lower-cased; quoted values keep their quotes; a flag (`;rport`) maps to null. */
  params: Map<string, string | null>;
}

export interface NameAddr {
  displayName?: string;
  uri: SipUri;
  /** Header parameters such as tag, expires, q; same conventions as Via params. */
  params: Map<string, string | null>;
}

function hostAndPort(cur: Cursor): { host: string; port?: number } {
  let host: string;
  if (cur.eat(0x5b /* [ */)) {
    const close = cur.s.indexOf(']', cur.i);
    if (close < 0) cur.fail('unterminated IPv6 reference');
    host = cur.s.slice(cur.i, close);
    if (!isIPv6(host)) cur.fail('bad IPv6 address');
    cur.i = close + 1;
  } else {
    host = cur.run(HOST);
    if (!host) cur.fail('missing host');
  }
  const save = cur.i;
  cur.skipWs();
  if (!cur.eat(0x3a /* : */)) {
    cur.i = save;
    return { host };
  }
  cur.skipWs();
  let end = cur.i;
  while (end < cur.s.length && cur.s.charCodeAt(end) >= 0x30 && cur.s.charCodeAt(end) <= 0x39) end++;
  const port = parseDigits(cur.s.slice(cur.i, end), 5);
  if (!(port <= 65535)) cur.fail('bad port');
  cur.i = end;
  return { host, port };
}

/** One via-parm (not a comma list): `SIP / 2.0 / UDP host:port;params`, LWS allowed as §25 allows. */
export function parseVia(value: string): Via {
  const cur = new Cursor(value, 'Via');
  cur.skipWs();
  const name = cur.token();
  cur.skipWs();
  cur.expect(0x2f, '/');
  cur.skipWs();
  const version = cur.token();
  cur.skipWs();
  cur.expect(0x2f, '/');
  cur.skipWs();
  const transport = cur.token();
  if (!name || !version || !transport) cur.fail('bad sent-protocol');
  if (!cur.skipWs()) cur.fail('expected whitespace before sent-by');
  const { host, port } = hostAndPort(cur);
  const via: Via = { protocol: `${name}/${version}`.toUpperCase(), transport: transport.toUpperCase(), host, params: new Map() };
  if (port !== undefined) via.port = port;
  parseGenericParams(cur, via.params);
  cur.skipWs();
  if (!cur.done) cur.fail('unexpected text');
  return via;
}

export function formatVia(via: Via): string {
  const host = via.host.includes(':') ? `[${via.host}]` : via.host;
  const port = via.port === undefined ? '' : `:${via.port}`;
  return `${via.protocol}/${via.transport} ${host}${port}${formatParams(via.params)}`;
}

/** `[display-name] <uri> *(;param)` or a bare addr-spec `uri *(;param)` (RFC 3261 §20.10). */
export function parseNameAddr(value: string): NameAddr {
  const cur = new Cursor(value, 'name-addr');
  cur.skipWs();
  let displayName: string | undefined;
  if (cur.peek() === 0x22 /* " */) {
    displayName = cur.quoted();
    cur.skipWs();
    if (cur.peek() !== 0x3c) cur.fail('expected <uri> after display name');
  } else if (cur.peek() !== 0x3c) {
    // Either `token *(LWS token)` before `<`, or an addr-spec; only the next `<` tells.
    const start = cur.i;
    while (cur.token()) cur.skipWs();
    if (cur.peek() === 0x3c) displayName = cur.s.slice(start, cur.i).trim().replace(/[ \t]+/g, ' ');
    else cur.i = start;
  }
  let uri: SipUri;
  if (cur.eat(0x3c /* < */)) {
    const close = cur.s.indexOf('>', cur.i);
    if (close < 0) cur.fail('unterminated <uri>');
    uri = parseUri(cur.s.slice(cur.i, close));
    cur.i = close + 1;
  } else {
    const start = cur.i;
    while (cur.i < cur.s.length) {
      const c = cur.s.charCodeAt(cur.i);
      if (c === 0x3b || c === 0x20 || c === 0x09 || c === 0x2c) break;
      cur.i++;
    }
    uri = parseUri(cur.s.slice(start, cur.i));
    // §20: a URI with headers, `;` or `,` must be in <>; a `?` here is such an unenclosed header.
    if (uri.headers.size > 0) cur.fail('a URI with headers must be enclosed in <>');
  }
  const na: NameAddr = { uri, params: new Map() };
  if (displayName !== undefined) na.displayName = displayName;
  parseGenericParams(cur, na.params);
  cur.skipWs();
  if (!cur.done) cur.fail('unexpected text');
  return na;
}

function quoteDisplayName(name: string): string {
  // CR and LF cannot be escaped in a quoted-string (§25.1); dropping them keeps the header one line.
  return '"' + name.replace(/[\r\n]/g, ' ').replace(/(["\\])/g, '\\$1') + '"';
}

export function formatNameAddr(na: NameAddr): string {
  const display = na.displayName === undefined ? '' : quoteDisplayName(na.displayName) + ' ';
  return `${display}<${formatUri(na.uri)}>${formatParams(na.params)}`;
}

/** CSeq: a sequence number below 2**31 (§8.1.1.5) and a method token. */
export function parseCSeq(value: string): { seq: number; method: string } {
  const cur = new Cursor(value, 'CSeq');
  cur.skipWs();
  const start = cur.i;
  while (cur.i < cur.s.length && cur.s.charCodeAt(cur.i) >= 0x30 && cur.s.charCodeAt(cur.i) <= 0x39) cur.i++;
  // Leading zeros are legal (RFC 4475 wsinv), so strip them before the length check.
  const digits = cur.s.slice(start, cur.i).replace(/^0+(?=\d)/, '');
  const seq = parseDigits(digits, 10);
  if (!(seq < 2 ** 31)) cur.fail('sequence number missing or not below 2**31');
  if (!cur.skipWs()) cur.fail('expected whitespace before method');
  const method = cur.token();
  cur.skipWs();
  if (!isToken(method) || !cur.done) cur.fail('bad method');
  return { seq, method };
}

function required(msg: SipMessage, name: string): string {
  const value = msg.headers.get(name);
  if (value === undefined) throw new SipParseError(`missing ${name} header`);
  return value;
}

export function topVia(msg: SipMessage): Via {
  const first = splitHeaderList(required(msg, 'Via'))[0];
  if (first === undefined) throw new SipParseError('empty Via header');
  return parseVia(first);
}

export function fromHeader(msg: SipMessage): NameAddr {
  return parseNameAddr(required(msg, 'From'));
}

export function toHeader(msg: SipMessage): NameAddr {
  return parseNameAddr(required(msg, 'To'));
}

export function cseqHeader(msg: SipMessage): { seq: number; method: string } {
  return parseCSeq(required(msg, 'CSeq'));
}

/** Call-ID = word [ "@" word ]: anything visible, no whitespace. */
export function callId(msg: SipMessage): string {
  const value = required(msg, 'Call-ID').trim();
  if (!value) throw new SipParseError('empty Call-ID header');
  for (let k = 0; k < value.length; k++) {
    const c = value.charCodeAt(k);
    if (c <= 0x20 || c === 0x7f) throw new SipParseError('malformed Call-ID header');
  }
  return value;
}
