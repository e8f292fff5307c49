/** SIP, SIPS (RFC 3261 §19.1) and tel (RFC 3966) URIs. */
import { isIPv6 } from 'node:net';
import { HOST, PARAM, PASSWORD, TEL_NUMBER, URI_HEADER, USER, inClass, parseDigits } from './lex.js';
import { SipParseError, type SipUri } from './types.js';

function fail(reason: string, status: 400 | 416 = 400): never {
  throw new SipParseError(`malformed URI: ${reason}`, status);
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

/**
 * Check `s` against a character class and resolve `%XX` escapes. Each escaped octet becomes one
 * character U+0000–U+00FF, so formatting writes back exactly the octets that were received.
 */
function unescape(s: string, allowed: Uint8Array, part: string): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25 /* % */) {
      const hi = hexValue(s.charCodeAt(i + 1));
      const lo = hexValue(s.charCodeAt(i + 2));
      if (hi < 0 || lo < 0) fail(`bad escape in ${part}`);
      out += s.slice(from, i) + String.fromCharCode(hi * 16 + lo);
      i += 2;
      from = i + 1;
    } else if (!inClass(allowed, c)) fail(`character not allowed in ${part}`);
  }
  return from === 0 ? s : out + s.slice(from);
}

const HEX = '0123456789ABCDEF';

function escape(s: string, allowed: Uint8Array): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (inClass(allowed, c)) continue;
    out += s.slice(from, i);
    from = i + 1;
    const octets = c < 0x100 ? [c] : Buffer.from(s.slice(i, i + 1), 'utf8');
    for (const o of octets) out += '%' + HEX[o >> 4]! + HEX[o & 15]!;
  }
  return from === 0 ? s : out + s.slice(from);
}

/** `;name[=value]` parameters from `start` up to `?` or the end; returns where they stopped. */
function parseUriParams(text: string, start: number, params: Map<string, string | null>): number {
  let i = start;
  while (text.charCodeAt(i) === 0x3b /* ; */) {
    let end = i + 1;
    while (end < text.length && text[end] !== ';' && text[end] !== '?') end++;
    const segment = text.slice(i + 1, end);
    const eq = segment.indexOf('=');
    const name = unescape(eq < 0 ? segment : segment.slice(0, eq), PARAM, 'parameter');
    if (!name) fail('empty parameter name');
    let value: string | null = null;
    if (eq >= 0) {
      value = unescape(segment.slice(eq + 1), PARAM, 'parameter');
      if (!value) fail('empty parameter value');
    }
    params.set(name.toLowerCase(), value);
    i = end;
  }
  return i;
}

function parseHost(text: string, start: number): { host: string; end: number } {
  if (text.charCodeAt(start) === 0x5b /* [ */) {
    const close = text.indexOf(']', start);
    if (close < 0) fail('unterminated IPv6 reference');
    const host = text.slice(start + 1, close);
    if (!isIPv6(host)) fail('bad IPv6 address');
    return { host, end: close + 1 };
  }
  let end = start;
  while (end < text.length && inClass(HOST, text.charCodeAt(end))) end++;
  if (end === start) fail('missing host');
  const first = text.charCodeAt(start);
  if (first === 0x2d /* - */ || first === 0x2e /* . */) fail('bad host name');
  return { host: text.slice(start, end), end };
}

function parseSipUri(scheme: 'sip' | 'sips', text: string, start: number): SipUri {
  const uri: SipUri = { scheme, host: '', params: new Map(), headers: new Map() };
  let i = start;
  const at = text.indexOf('@', start);
  if (at >= 0) {
    const userinfo = text.slice(start, at);
    const colon = userinfo.indexOf(':');
    uri.user = unescape(colon < 0 ? userinfo : userinfo.slice(0, colon), USER, 'user');
    if (!uri.user) fail('empty user');
    if (colon >= 0) uri.password = unescape(userinfo.slice(colon + 1), PASSWORD, 'password');
    i = at + 1;
  }
  const { host, end } = parseHost(text, i);
  uri.host = host;
  i = end;
  if (text.charCodeAt(i) === 0x3a /* : */) {
    let portEnd = i + 1;
    while (portEnd < text.length && text.charCodeAt(portEnd) >= 0x30 && text.charCodeAt(portEnd) <= 0x39) portEnd++;
    const port = parseDigits(text.slice(i + 1, portEnd), 5);
    if (!(port <= 65535)) fail('bad port');
    uri.port = port;
    i = portEnd;
  }
  i = parseUriParams(text, i, uri.params);
  if (text.charCodeAt(i) === 0x3f /* ? */) {
    for (const pair of text.slice(i + 1).split('&')) {
      const eq = pair.indexOf('=');
      if (eq <= 0) fail('bad header in URI');
      uri.headers.set(unescape(pair.slice(0, eq), URI_HEADER, 'header'), unescape(pair.slice(eq + 1), URI_HEADER, 'header'));
    }
    i = text.length;
  }
  if (i !== text.length) fail('unexpected character');
  return uri;
}

/** tel URIs: the number goes in `host` (global `+…` or local), parameters in `params`. */
function parseTelUri(text: string, start: number): SipUri {
  let end = start;
  while (end < text.length && text[end] !== ';') end++;
  const number = text.slice(start, end);
  if (!number) fail('empty telephone number');
  for (let k = 0; k < number.length; k++) {
    const c = number.charCodeAt(k);
    if (!inClass(TEL_NUMBER, c)) fail('character not allowed in telephone number');
  }
  const uri: SipUri = { scheme: 'tel', host: number, params: new Map(), headers: new Map() };
  if (parseUriParams(text, end, uri.params) !== text.length) fail('unexpected character');
  return uri;
}

/** scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
function isSchemeName(s: string): boolean {
  for (let k = 0; k < s.length; k++) {
    const c = s.charCodeAt(k);
    const alpha = (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a;
    if (!alpha && (k === 0 || !((c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e))) return false;
  }
  return s.length > 0;
}

/** Parse a URI; an unknown but well-formed scheme throws with status 416 (RFC 3261 §8.2.2.1). */
export function parseUri(text: string): SipUri {
  const colon = text.indexOf(':');
  if (colon <= 0) fail('no scheme');
  const scheme = text.slice(0, colon).toLowerCase();
  if (scheme === 'sip' || scheme === 'sips') return parseSipUri(scheme, text, colon + 1);
  if (scheme === 'tel') return parseTelUri(text, colon + 1);
  if (isSchemeName(scheme)) fail('unsupported scheme', 416);
  return fail('bad scheme');
}

function formatUriParams(params: Map<string, string | null>): string {
  let out = '';
  for (const [name, value] of params) {
    out += ';' + escape(name, PARAM);
    if (value !== null) out += '=' + escape(value, PARAM);
  }
  return out;
}

export function formatUri(uri: SipUri): string {
  if (uri.scheme === 'tel') return `tel:${escape(uri.host, TEL_NUMBER)}${formatUriParams(uri.params)}`;
  let out = uri.scheme + ':';
  if (uri.user !== undefined) {
    out += escape(uri.user, USER);
    if (uri.password !== undefined) out += ':' + escape(uri.password, PASSWORD);
    out += '@';
  }
  out += uri.host.includes(':') ? `[${uri.host}]` : uri.host;
  if (uri.port !== undefined) out += ':' + uri.port;
  out += formatUriParams(uri.params);
  let sep = '?';
  for (const [name, value] of uri.headers) {
    out += sep + escape(name, URI_HEADER) + '=' + escape(value, URI_HEADER);
    sep = '&';
  }
  return out;
}

