/** The SIP message parser (RFC 3261 §7, §25), hardened for attacker input (RFC 4475). */
import { callId, parseCSeq, parseNameAddr, parseVia, topVia } from './headers.js';
import { isToken, parseDigits } from './lex.js';
import { generateTag, responseFromHeaders } from './response.js';
import { SipHeaders, SipParseError, splitHeaderList, type SipMessage, type SipResponse } from './types.js';
import { parseUri } from './uri.js';

export interface ParseLimits {
  maxMessageBytes: number;
  maxHeaders: number;
  /** Longest header line (after unfolding) or start line, in characters. */
  maxHeaderLineBytes: number;
  maxBodyBytes: number;
}

export const DEFAULT_PARSE_LIMITS: ParseLimits = Object.freeze({
  maxMessageBytes: 64 * 1024,
  maxHeaders: 128,
  maxHeaderLineBytes: 8 * 1024,
  maxBodyBytes: 32 * 1024,
});

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const HTAB = 0x09;

/**
 * Where the head ends: `headEnd` is the LF closing the last header line, `bodyStart` follows the
 * blank line. Bare LF line ends are accepted as well as CRLF (robustness, RFC 3261 §7.5 sends CRLF).
 */
export function findHeadEnd(data: Buffer, from: number): { headEnd: number; bodyStart: number } | undefined {
  let i = data.indexOf(LF, from);
  while (i >= 0) {
    const next = data[i + 1];
    if (next === LF) return { headEnd: i, bodyStart: i + 2 };
    if (next === CR && data[i + 2] === LF) return { headEnd: i, bodyStart: i + 3 };
    i = data.indexOf(LF, i + 1);
  }
  return undefined;
}

/** Trim SP and HTAB only (String.prototype.trim would also eat other Unicode spaces). */
function trimLws(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && (s.charCodeAt(a) === SP || s.charCodeAt(a) === HTAB)) a++;
  while (b > a && (s.charCodeAt(b - 1) === SP || s.charCodeAt(b - 1) === HTAB)) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

function tooLarge(what: string): never {
  throw new SipParseError(`message too large: ${what}`, 413);
}

/** Split the head into the start line and unfolded header lines (§7.3.1). */
function readHead(head: string, limits: ParseLimits): { startLine: string; headers: SipHeaders } {
  const lines = head.split('\n');
  const headers = new SipHeaders();
  let name: string | undefined;
  let value = '';
  let count = 0;
  for (let k = 1; k < lines.length; k++) {
    let line = lines[k]!;
    if (line.charCodeAt(line.length - 1) === CR) line = line.slice(0, -1);
    // A CR that does not end a line would let a forwarded header split in two downstream.
    if (line.includes('\r')) throw new SipParseError('malformed message: CR inside a header line');
    const first = line.charCodeAt(0);
    if (first === SP || first === HTAB) {
      if (name === undefined) throw new SipParseError('malformed message: continuation line before any header');
      // Folding: the line break and leading whitespace become one SP.
      value += ' ' + trimLws(line);
      if (value.length > limits.maxHeaderLineBytes) tooLarge('header line');
      continue;
    }
    if (line.length > limits.maxHeaderLineBytes) tooLarge('header line');
    if (name !== undefined) headers.append(name, trimLws(value));
    const colon = line.indexOf(':');
    name = trimLws(line.slice(0, Math.max(colon, 0)));
    if (colon < 0 || !isToken(name)) throw new SipParseError('malformed message: header line without a valid name and colon');
    value = line.slice(colon + 1);
    if (++count > limits.maxHeaders) tooLarge('too many headers');
  }
  if (name !== undefined) headers.append(name, trimLws(value));
  let startLine = lines[0]!;
  if (startLine.charCodeAt(startLine.length - 1) === CR) startLine = startLine.slice(0, -1);
  if (startLine.includes('\r')) throw new SipParseError('malformed message: CR inside the start line');
  return { startLine, headers };
}

const SINGLE_VALUED = ['From', 'To', 'Call-ID', 'CSeq', 'Content-Length', 'Max-Forwards'];
const MANDATORY = ['Via', 'From', 'To', 'Call-ID', 'CSeq'];
/** rfc1123-date, always GMT (§20.17). */
const SIP_DATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;

type Fail = (reason: string, status?: 400 | 413 | 414 | 416 | 505) => never;

/** Run a header parser; its errors become `fail` errors so they carry the answer. */
function check<T>(fail: Fail, what: string, parse: () => T, keep416 = false): T {
  try {
    return parse();
  } catch (err) {
    // 416 is about the Request-URI only; a header's unknown URI scheme is just a bad header.
    if (err instanceof SipParseError) fail(`${what}: ${err.message}`, keep416 && err.status === 416 ? 416 : 400);
    throw err;
  }
}

function checkHeaders(headers: SipHeaders, msg: SipMessage, fail: Fail): void {
  for (const name of MANDATORY) if (!headers.has(name)) fail(`missing ${name} header`);
  for (const name of SINGLE_VALUED) if (headers.getLines(name).length > 1) fail(`more than one ${name} header`);
  check(fail, 'Via', () => topVia(msg));
  check(fail, 'From', () => parseNameAddr(headers.get('From')!));
  check(fail, 'To', () => parseNameAddr(headers.get('To')!));
  check(fail, 'Call-ID', () => callId(msg));
  const cseq = check(fail, 'CSeq', () => parseCSeq(headers.get('CSeq')!));
  if (msg.type === 'request' && cseq.method !== msg.method) fail('CSeq method does not match the request method');
  const contacts = headers.getList('Contact');
  if (!(contacts.length === 1 && contacts[0] === '*')) {
    for (const contact of contacts) check(fail, 'Contact', () => parseNameAddr(contact));
  }
  const maxForwards = headers.get('Max-Forwards');
  if (maxForwards !== undefined && !(parseDigits(trimLws(maxForwards).replace(/^0+(?=\d)/, ''), 3) <= 255)) {
    fail('malformed Max-Forwards header');
  }
  const date = headers.get('Date');
  if (date !== undefined && !SIP_DATE.test(date)) fail('malformed Date header');
}

function parseRequestLine(line: string, fail: Fail): { method: string; uriText: string } {
  const parts = line.split(' ');
  if (parts.length !== 3 || !isToken(parts[0]!)) fail('request line is not "Method SP Request-URI SP SIP-Version"');
  const version = parts[2]!;
  if (version.toUpperCase() !== 'SIP/2.0') {
    if (/^SIP\/\d{1,4}\.\d{1,4}$/i.test(version)) fail('SIP version not supported', 505);
    fail('malformed SIP version');
  }
  return { method: parts[0]!, uriText: parts[1]! };
}

function parseStatusLine(line: string): { status: number; reason: string } {
  const sp = line.indexOf(' ');
  const code = sp < 0 ? NaN : parseDigits(line.slice(sp + 1, sp + 4), 3);
  const after = line.charCodeAt(sp + 4);
  if (!(code >= 100 && code <= 699) || !(Number.isNaN(after) || after === SP)) {
    throw new SipParseError('malformed status line');
  }
  if (line.slice(0, sp).toUpperCase() !== 'SIP/2.0') throw new SipParseError('SIP version not supported', 505);
  return { status: code, reason: line.slice(sp + 5) };
}

function parseBody(data: Buffer, bodyStart: number, headers: SipHeaders, limits: ParseLimits, fail: Fail): Buffer {
  const available = data.length - bodyStart;
  const declared = headers.get('Content-Length');
  if (declared === undefined) {
    // A datagram without Content-Length: the rest of it is the body (§18.3).
    if (available > limits.maxBodyBytes) fail('body too large', 413);
    return data.subarray(bodyStart);
  }
  const length = parseDigits(trimLws(declared).replace(/^0+(?=\d)/, ''), 9);
  if (Number.isNaN(length)) fail('malformed Content-Length header');
  if (length > limits.maxBodyBytes) fail('body too large', 413);
  if (length > available) fail('body shorter than Content-Length');
  // Bytes past Content-Length in a datagram are discarded (§18.3).
  return data.subarray(bodyStart, bodyStart + length);
}

function parse(data: Buffer, limits: ParseLimits): SipMessage {
  if (data.length > limits.maxMessageBytes) tooLarge('over the size limit');
  let start = 0;
  while (data[start] === CR || data[start] === LF) start++;
  if (start >= data.length) throw new SipParseError('malformed message: empty');
  const end = findHeadEnd(data, start);
  if (end === undefined) throw new SipParseError('malformed message: no blank line after the headers');
  const { startLine, headers } = readHead(data.toString('utf8', start, end.headEnd), limits);

  const isResponse = startLine.length >= 4 && startLine.slice(0, 4).toUpperCase() === 'SIP/';
  const methodEnd = startLine.indexOf(' ');
  const method = isResponse || methodEnd < 0 ? undefined : startLine.slice(0, methodEnd);
  if (startLine.length > limits.maxHeaderLineBytes) {
    throw new SipParseError(isResponse ? 'message too large: status line' : 'Request-URI too long', isResponse ? 413 : 414);
  }
  const fail: Fail = (reason, status = 400) => {
    throw new SipParseError(`malformed message: ${reason}`, status, answerFor(method, headers, status));
  };
  const body = parseBody(data, end.bodyStart, headers, limits, fail);

  let msg: SipMessage;
  if (isResponse) {
    const { status, reason } = parseStatusLine(startLine);
    msg = { type: 'response', status, reason, headers, body };
  } else {
    const { uriText } = parseRequestLine(startLine, fail);
    const uri = check(fail, 'Request-URI', () => parseUri(uriText), true);
    if (uri.headers.size > 0) fail('Request-URI must not have headers');
    msg = { type: 'request', method: method!, uri, headers, body };
  }
  checkHeaders(headers, msg, fail);
  return msg;
}

/** The answer to a bad request, when one can be formed: never to ACK, and only with a readable Via. */
function answerFor(method: string | undefined, headers: SipHeaders, status: number): SipResponse | undefined {
  if (method === undefined || method === 'ACK' || !isToken(method)) return undefined;
  for (const name of MANDATORY) if (!headers.has(name)) return undefined;
  const first = splitHeaderList(headers.get('Via')!)[0];
  if (first === undefined) return undefined;
  try {
    parseVia(first);
  } catch {
    return undefined;
  }
  return responseFromHeaders(headers, status, undefined, generateTag());
}

/** Parse one complete message (a UDP datagram or one framed message from a stream). Throws SipParseError only. */
export function parseMessage(data: Buffer, limits: ParseLimits = DEFAULT_PARSE_LIMITS): SipMessage {
  try {
    return parse(data, limits);
  } catch (err) {
    if (err instanceof SipParseError) throw err;
    // Defence in depth: whatever slipped through is still only a bad message.
    throw new SipParseError('malformed message');
  }
}
