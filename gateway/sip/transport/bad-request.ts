import { randomBytes } from 'node:crypto';
import { SipHeaders, SipParseError, canonicalHeaderName } from '../message/types.js';
import type { SipResponse } from '../message/types.js';

const REASONS: Record<SipParseError['status'], string> = {
  400: 'Bad Request',
  413: 'Request Entity Too Large',
  414: 'Request-URI Too Long',
  505: 'Version Not Supported',
};

/** The headers a stateless error response copies from the request (RFC 3261 §8.2.6.2). */
const NEEDED = ['Via', 'From', 'To', 'Call-ID', 'CSeq'] as const;

const MAX_DETAIL = 100;

/**
 * A response to a request the parser rejected, formed from a lenient scrape of its header lines,
 * or `undefined` when no response can be formed: responses, ACKs, and anything lacking the
 * request line or one of the headers needed to route and match a response are dropped.
 */
export function errorResponseFor(data: Buffer, error: unknown): SipResponse | undefined {
  const status = error instanceof SipParseError ? error.status : 400;
  const headEnd = data.indexOf('\r\n\r\n');
  const lines = unfold(data.subarray(0, headEnd < 0 ? data.length : headEnd).toString('latin1'));

  const requestLine = lines[0]?.split(' ');
  if (requestLine?.length !== 3 || requestLine.some((part) => part === '')) return undefined;
  if (requestLine[0]!.toUpperCase().startsWith('SIP/') || requestLine[0] === 'ACK') return undefined;

  const found = new Map<string, string[]>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = canonicalHeaderName(line.slice(0, colon).trim());
    if (!(NEEDED as readonly string[]).includes(name)) continue;
    const value = line.slice(colon + 1).trim();
    if (value === '') continue;
    found.set(name, [...(found.get(name) ?? []), value]);
  }
  if (NEEDED.some((name) => !found.has(name))) return undefined;
  if (/\bACK\s*$/i.test(found.get('CSeq')![0]!)) return undefined;

  const headers = new SipHeaders();
  for (const name of NEEDED) {
    const values = name === 'Via' ? found.get(name)! : found.get(name)!.slice(0, 1);
    for (const value of values) {
      // §8.2.6.2: a response that does not come from a dialog carries a To tag of the UAS's own.
      const tagged = name === 'To' && !/;\s*tag\s*=/i.test(value) ? `${value};tag=${randomBytes(6).toString('hex')}` : value;
      headers.append(name, tagged);
    }
  }
  headers.append('Content-Length', '0');

  const detail = error instanceof Error ? error.message.replace(/[^\x20-\x7e]/g, '?').slice(0, MAX_DETAIL) : '';
  return {
    type: 'response',
    status,
    reason: detail === '' ? REASONS[status] : `${REASONS[status]} - ${detail}`,
    headers,
    body: Buffer.alloc(0),
  };
}

/** Header lines with RFC 3261 §7.3.1 continuation lines joined to the line they continue. */
function unfold(head: string): string[] {
  const lines: string[] = [];
  for (const line of head.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && lines.length > 0) lines[lines.length - 1] += ' ' + line.trim();
    else lines.push(line);
  }
  return lines;
}
