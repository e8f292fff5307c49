/** Wire form of a message (RFC 3261 §7): CRLF line ends, Content-Length always from the body. */
import { isToken } from './lex.js';
import type { SipMessage } from './types.js';
import { formatUri } from './uri.js';

function hasLineBreak(s: string): boolean {
  return s.includes('\n') || s.includes('\r');
}

/** Throws RangeError when the message could not be sent as given (a line break in a value would inject headers). */
export function serializeMessage(msg: SipMessage): Buffer {
  let head: string;
  if (msg.type === 'request') {
    if (!isToken(msg.method)) throw new RangeError('SIP method is not a token');
    head = `${msg.method} ${formatUri(msg.uri)} SIP/2.0\r\n`;
  } else {
    if (!Number.isInteger(msg.status) || msg.status < 100 || msg.status > 699) throw new RangeError('SIP status out of range');
    if (hasLineBreak(msg.reason)) throw new RangeError('reason phrase contains a line break');
    head = `SIP/2.0 ${msg.status} ${msg.reason}\r\n`;
  }
  for (const [name, value] of msg.headers) {
    if (name === 'Content-Length') continue;
    if (hasLineBreak(value) || !isToken(name)) throw new RangeError(`header ${isToken(name) ? name : '(invalid name)'} cannot be serialized`);
    head += `${name}: ${value}\r\n`;
  }
  head += `Content-Length: ${msg.body.length}\r\n\r\n`;
  const headLength = Buffer.byteLength(head, 'utf8');
  const out = Buffer.allocUnsafe(headLength + msg.body.length);
  out.write(head, 0, 'utf8');
  msg.body.copy(out, headLength);
  return out;
}
