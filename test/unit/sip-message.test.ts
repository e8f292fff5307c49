import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PARSE_LIMITS,
  SipParseError,
  callId,
  cseqHeader,
  fromHeader,
  parseMessage,
  serializeMessage,
  toHeader,
  topVia,
  type SipMessage,
  type SipRequest,
} from '../../gateway/sip/message/index.js';
import { INVITE, OK_200, OPTIONS, SDP_OFFER } from './sip-message-samples.js';

const buf = (s: string): Buffer => Buffer.from(s, 'utf8');
const lines = (...l: string[]): Buffer => buf(l.join('\r\n'));

function parseError(data: Buffer): SipParseError {
  try {
    parseMessage(data);
  } catch (err) {
    expect(err).toBeInstanceOf(SipParseError);
    return err as SipParseError;
  }
  throw new Error('expected a SipParseError');
}

function request(data: Buffer | string): SipRequest {
  const msg = parseMessage(typeof data === 'string' ? buf(data) : data);
  if (msg.type !== 'request') throw new Error('expected a request');
  return msg;
}

const BASE = [
  'Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1',
  'From: <sip:a@example.com>;tag=1',
  'To: <sip:b@example.com>',
  'Call-ID: c1@example.com',
];
const optionsWith = (...extra: string[]): Buffer =>
  lines('OPTIONS sip:b@example.com SIP/2.0', ...BASE, 'CSeq: 1 OPTIONS', ...extra, '', '');

describe('parseMessage', () => {
  it('parses an INVITE with SDP', () => {
    const msg = request(INVITE);
    expect(msg.method).toBe('INVITE');
    expect(msg.uri).toMatchObject({ scheme: 'sip', user: '8823412', host: 'gw.example.com' });
    expect(msg.body.toString()).toBe(SDP_OFFER);
    expect(msg.headers.get('content-type')).toBe('application/sdp');
    expect(msg.headers.getList('Allow')).toEqual(['INVITE', 'ACK', 'CANCEL', 'BYE', 'OPTIONS', 'INFO', 'UPDATE']);
    expect(topVia(msg)).toMatchObject({ protocol: 'SIP/2.0', transport: 'TLS', host: '192.0.2.10', port: 5061 });
    expect(fromHeader(msg).displayName).toBe('Board Room');
    expect(fromHeader(msg).params.get('tag')).toBe('1928301774');
    expect(toHeader(msg).uri.user).toBe('8823412');
    expect(cseqHeader(msg)).toEqual({ seq: 314159, method: 'INVITE' });
    expect(callId(msg)).toBe('a84b4c76e66710@192.0.2.10');
  });

  it('parses a response with its status and reason', () => {
    const msg = parseMessage(buf(OK_200));
    expect(msg).toMatchObject({ type: 'response', status: 200, reason: 'OK' });
    expect(topVia(msg).params.get('received')).toBe('192.0.2.10');
    expect(parseMessage(buf(OK_200.replace('200 OK', '183 ')))).toMatchObject({ status: 183, reason: '' });
  });

  it('expands compact header names', () => {
    const msg = request(OPTIONS);
    expect(msg.headers.get('Via')).toBe('SIP/2.0/UDP 198.51.100.7;branch=z9hG4bKnashds8');
    expect(callId(msg)).toBe('opt-1@198.51.100.7');
    expect(msg.headers.get('Content-Length')).toBe('0');
    expect([...msg.headers].map(([n]) => n)).toEqual(['Via', 'From', 'To', 'Call-ID', 'CSeq', 'Content-Length']);
  });

  it('unfolds continuation lines into one SP', () => {
    const msg = request(optionsWith('Subject: first', ' \t second', '\tthird'));
    expect(msg.headers.get('Subject')).toBe('first second third');
  });

  it('keeps repeated header lines and splits comma lists', () => {
    const msg = request(
      lines(
        'OPTIONS sip:b@example.com SIP/2.0',
        'Via: SIP/2.0/UDP p1.example.com;branch=z9hG4bK2, SIP/2.0/UDP p2.example.com;branch=z9hG4bK3',
        'Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1',
        ...BASE.slice(1),
        'CSeq: 1 OPTIONS',
        'Contact: "A, B" <sip:a@x.example.com>, <sip:b@y.example.com;lr>',
        '',
        '',
      ),
    );
    expect(msg.headers.getLines('Via')).toHaveLength(2);
    expect(msg.headers.getList('Via')).toHaveLength(3);
    expect(topVia(msg).host).toBe('p1.example.com');
    expect(msg.headers.getList('Contact')).toEqual(['"A, B" <sip:a@x.example.com>', '<sip:b@y.example.com;lr>']);
  });

  it('accepts leading CRLFs and bare-LF line ends', () => {
    expect(request(`\r\n\r\n${OPTIONS}`).method).toBe('OPTIONS');
    expect(request(OPTIONS.replace(/\r\n/g, '\n')).method).toBe('OPTIONS');
  });

  it('treats the rest of a datagram as the body when Content-Length is absent', () => {
    const msg = request(Buffer.concat([optionsWith(), buf('hello')]));
    expect(msg.body.toString()).toBe('hello');
  });

  it('truncates a datagram body to Content-Length and rejects a shorter body', () => {
    expect(request(Buffer.concat([optionsWith('Content-Length: 3'), buf('hello')])).body.toString()).toBe('hel');
    expect(parseError(Buffer.concat([optionsWith('Content-Length: 30'), buf('hello')])).status).toBe(400);
  });

  it('rejects malformed and duplicate Content-Length', () => {
    expect(parseError(optionsWith('Content-Length: -1')).message).toMatch(/Content-Length/);
    expect(parseError(optionsWith('Content-Length: 0', 'l: 0')).message).toMatch(/more than one Content-Length/);
  });

  it('names the missing mandatory header and answers 400', () => {
    for (const [i, name] of [[1, 'From'], [2, 'To'], [3, 'Call-ID']] as const) {
      const without = BASE.filter((_, k) => k !== i);
      const err = parseError(lines('OPTIONS sip:b@example.com SIP/2.0', ...without, 'CSeq: 1 OPTIONS', '', ''));
      expect(err.message).toContain(`missing ${name}`);
      expect(err.status).toBe(400);
    }
    const noCSeq = parseError(lines('OPTIONS sip:b@example.com SIP/2.0', ...BASE, '', ''));
    expect(noCSeq.message).toContain('missing CSeq');
    expect(noCSeq.response).toBeUndefined();
  });

  it('rejects a CSeq method that differs from the request method, with a ready 400', () => {
    const err = parseError(lines('OPTIONS sip:b@example.com SIP/2.0', ...BASE, 'CSeq: 1 INVITE', '', ''));
    expect(err.message).toMatch(/CSeq method/);
    expect(err.response).toMatchObject({ type: 'response', status: 400, reason: 'Bad Request' });
    const response = err.response!;
    expect(response.headers.get('Via')).toBe(BASE[0]!.slice(5));
    expect(response.headers.get('CSeq')).toBe('1 INVITE');
    expect(toHeader(response).params.get('tag')).toMatch(/^[0-9a-f]{16}$/);
  });

  it('never prepares an answer to ACK', () => {
    const err = parseError(lines('ACK sip:b@example.com SIP/2.0', ...BASE, 'CSeq: 1 INVITE', '', ''));
    expect(err.response).toBeUndefined();
  });

  it('answers other SIP versions with 505', () => {
    const err = parseError(lines('OPTIONS sip:b@example.com SIP/3.0', ...BASE, 'CSeq: 1 OPTIONS', '', ''));
    expect(err.status).toBe(505);
    expect(err.response?.status).toBe(505);
    expect(parseError(buf(OK_200.replace('SIP/2.0 200', 'SIP/1.0 200'))).status).toBe(505);
  });

  it('answers an unknown Request-URI scheme with 416 and headers in it with 400', () => {
    expect(parseError(lines('OPTIONS http://example.com/ SIP/2.0', ...BASE, 'CSeq: 1 OPTIONS', '', '')).status).toBe(416);
    expect(parseError(lines('OPTIONS sip:b@example.com?x=y SIP/2.0', ...BASE, 'CSeq: 1 OPTIONS', '', '')).status).toBe(400);
  });

  it('rejects malformed start lines', () => {
    for (const start of ['OPTIONS  sip:b@example.com SIP/2.0', 'OPTIONS sip:b@example.com', 'OPT(ONS sip:b@example.com SIP/2.0', ' OPTIONS sip:b@example.com SIP/2.0']) {
      expect(parseError(lines(start, ...BASE, 'CSeq: 1 OPTIONS', '', '')).status).toBe(400);
    }
    for (const status of ['SIP/2.0 2000 OK', 'SIP/2.0 99 Odd', 'SIP/2.0 20 OK', 'SIP/2.0 700 No', 'SIP/2.0']) {
      expect(parseError(buf(OK_200.replace('SIP/2.0 200 OK', status))).status).toBe(400);
    }
  });

  it('rejects a header line without colon, a leading continuation, and no blank line', () => {
    expect(parseError(optionsWith('NoColonHere')).message).toMatch(/header line/);
    expect(parseError(lines('OPTIONS sip:b@example.com SIP/2.0', ' folded', ...BASE, 'CSeq: 1 OPTIONS', '', '')).message).toMatch(/continuation/);
    expect(parseError(lines('OPTIONS sip:b@example.com SIP/2.0', ...BASE)).message).toMatch(/blank line/);
    expect(parseError(buf('\r\n\r\n')).message).toMatch(/empty/);
  });

  it('rejects out-of-range CSeq and Max-Forwards', () => {
    expect(parseError(lines('OPTIONS sip:b@example.com SIP/2.0', ...BASE, 'CSeq: 2147483648 OPTIONS', '', '')).message).toMatch(/CSeq/);
    expect(request(optionsWith('Max-Forwards: 0070')).headers.get('Max-Forwards')).toBe('0070');
    expect(parseError(optionsWith('Max-Forwards: 256')).message).toMatch(/Max-Forwards/);
  });

  it('enforces size limits with 413 and 414', () => {
    const limits = { ...DEFAULT_PARSE_LIMITS, maxMessageBytes: 1000, maxHeaders: 8, maxHeaderLineBytes: 200, maxBodyBytes: 10 };
    const tooLarge = (data: Buffer): number => {
      try {
        parseMessage(data, limits);
      } catch (err) {
        expect(err).toBeInstanceOf(SipParseError);
        return (err as SipParseError).status;
      }
      return 0;
    };
    expect(tooLarge(Buffer.concat([optionsWith(), Buffer.alloc(1000)]))).toBe(413);
    expect(tooLarge(optionsWith('A: 1', 'B: 2', 'C: 3'))).toBe(0);
    expect(tooLarge(optionsWith('A: 1', 'B: 2', 'C: 3', 'D: 4'))).toBe(413);
    expect(tooLarge(optionsWith(`Subject: ${'x'.repeat(201)}`))).toBe(413);
    expect(tooLarge(optionsWith('Subject: x', ` ${'y'.repeat(199)}`))).toBe(413);
    expect(tooLarge(Buffer.concat([optionsWith(), buf('x'.repeat(11))]))).toBe(413);
    expect(tooLarge(optionsWith('Content-Length: 11'))).toBe(413);
    expect(tooLarge(lines(`OPTIONS sip:${'b'.repeat(200)}@example.com SIP/2.0`, ...BASE, 'CSeq: 1 OPTIONS', '', ''))).toBe(414);
    expect(tooLarge(optionsWith('Content-Length: 0'))).toBe(0);
  });

  it('keeps UTF-8 in header values', () => {
    const msg = request(lines('OPTIONS sip:b@example.com SIP/2.0', ...BASE.slice(0, 1), 'From: "Zürich Raum" <sip:a@example.com>;tag=1', ...BASE.slice(2), 'CSeq: 1 OPTIONS', '', ''));
    expect(fromHeader(msg).displayName).toBe('Zürich Raum');
  });
});

describe('serializeMessage', () => {
  it('round-trips a parsed message', () => {
    for (const text of [INVITE, OK_200]) {
      const once = serializeMessage(parseMessage(buf(text)));
      expect(once.toString()).toBe(text);
      expect(serializeMessage(parseMessage(once)).equals(once)).toBe(true);
    }
  });

  it('writes Content-Length from the body, replacing any given one, and long header names', () => {
    const msg = request(OPTIONS);
    msg.body = buf('abc');
    const text = serializeMessage(msg).toString();
    expect(text).toContain('\r\nContent-Length: 3\r\n\r\nabc');
    expect(text.match(/Content-Length/g)).toHaveLength(1);
    expect(text).toMatch(/^OPTIONS sip:gw.example.com SIP\/2.0\r\nVia: /);
  });

  it('refuses values that would inject header lines', () => {
    const msg: SipMessage = request(OPTIONS);
    msg.headers.set('Subject', 'hi\r\nX-Injected: 1');
    expect(() => serializeMessage(msg)).toThrow(RangeError);
  });
});
