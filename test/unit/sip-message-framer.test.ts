import { describe, expect, it } from 'vitest';
import { DEFAULT_PARSE_LIMITS, SipParseError, StreamFramer, parseMessage, type FramedItem } from '../../gateway/sip/message/index.js';
import { INVITE, OK_200, OPTIONS } from './sip-message-samples.js';

const buf = (s: string): Buffer => Buffer.from(s, 'utf8');
const messages = (items: FramedItem[]): string[] => items.flatMap((i) => (i.type === 'message' ? [i.data.toString()] : []));

function framingError(framer: StreamFramer, data: Buffer): SipParseError {
  try {
    framer.push(data);
  } catch (err) {
    expect(err).toBeInstanceOf(SipParseError);
    return err as SipParseError;
  }
  throw new Error('expected a SipParseError');
}

describe('StreamFramer', () => {
  it('cuts pipelined messages by Content-Length', () => {
    const items = new StreamFramer().push(buf(INVITE + OK_200 + OPTIONS));
    expect(messages(items)).toEqual([INVITE, OK_200, OPTIONS]);
    expect(parseMessage(items[0]!.type === 'message' ? items[0]!.data : Buffer.alloc(0)).type).toBe('request');
  });

  it('waits for the rest of a message split at any byte', () => {
    const data = buf(INVITE);
    for (let cut = 1; cut < data.length; cut += 7) {
      const framer = new StreamFramer();
      expect(framer.push(data.subarray(0, cut))).toEqual([]);
      expect(messages(framer.push(data.subarray(cut)))).toEqual([INVITE]);
    }
  });

  it('delivers byte-by-byte input intact', () => {
    const framer = new StreamFramer();
    const data = buf(OK_200 + INVITE);
    const out: FramedItem[] = [];
    for (const byte of data) out.push(...framer.push(Buffer.from([byte])));
    expect(messages(out)).toEqual([OK_200, INVITE]);
  });

  it('reports CRLFCRLF as a ping, split or not, and a lone CRLF as a pong (RFC 5626)', () => {
    const framer = new StreamFramer();
    expect(framer.push(buf('\r\n\r\n'))).toEqual([{ type: 'keepalive', ping: true }]);
    expect(framer.push(buf('\r\n'))).toEqual([]);
    expect(framer.push(buf('\r\n'))).toEqual([{ type: 'keepalive', ping: true }]);
    expect(framer.push(buf('\r\n\r'))).toEqual([]);
    expect(framer.push(buf('\n'))).toEqual([{ type: 'keepalive', ping: true }]);
    expect(framer.push(buf('\r\n'))).toEqual([]);
    const afterPong = framer.push(buf(OPTIONS));
    expect(afterPong[0]).toEqual({ type: 'keepalive', ping: false });
    expect(messages(afterPong)).toEqual([OPTIONS]);
    const mixed = framer.push(buf(`\r\n\r\n${OPTIONS}\r\n\r\n`));
    expect(mixed.map((i) => i.type)).toEqual(['keepalive', 'message', 'keepalive']);
  });

  it('accepts compact and folded Content-Length', () => {
    const body = 'hello';
    const compact = `MESSAGE sip:a@b SIP/2.0\r\nl: 5\r\n\r\n${body}`;
    const folded = `MESSAGE sip:a@b SIP/2.0\r\nContent-Length:\r\n 5\r\n\r\n${body}`;
    expect(messages(new StreamFramer().push(buf(compact + folded)))).toEqual([compact, folded]);
  });

  it('fails for good on a missing or bad Content-Length', () => {
    const framer = new StreamFramer();
    expect(framingError(framer, buf('OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n\r\n')).message).toMatch(/Content-Length is mandatory/);
    expect(() => framer.push(buf(OPTIONS))).toThrow(SipParseError);
    expect(framingError(new StreamFramer(), buf('OPTIONS sip:a@b SIP/2.0\r\nContent-Length: -4\r\n\r\n')).status).toBe(400);
    expect(framingError(new StreamFramer(), buf('OPTIONS sip:a@b SIP/2.0\r\nl: 1\r\nl: 1\r\n\r\n')).status).toBe(400);
  });

  it('refuses oversized messages with 413 before buffering them', () => {
    const limits = { ...DEFAULT_PARSE_LIMITS, maxMessageBytes: 2000, maxBodyBytes: 500 };
    expect(framingError(new StreamFramer(limits), buf('OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 501\r\n\r\n')).status).toBe(413);
    const endless = new StreamFramer(limits);
    endless.push(buf('OPTIONS sip:a@b SIP/2.0\r\n'));
    expect(framingError(endless, buf(`X-Pad: ${'x'.repeat(2000)}\r\n`)).status).toBe(413);
  });
});
