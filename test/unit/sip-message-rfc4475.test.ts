/**
 * RFC 4475 §3.1.1 (valid) and §3.1.2 (invalid) torture messages against the parser.
 * Fixtures are in the RFC's notation; see test/fixtures/rfc4475/README.md.
 */
import { describe, expect, it } from 'vitest';
import {
  SipParseError,
  callId,
  cseqHeader,
  fromHeader,
  parseMessage,
  parseNameAddr,
  toHeader,
  topVia,
  type SipMessage,
  type SipRequest,
  type SipResponse,
} from '../../gateway/sip/message/index.js';
import { loadTorture } from './sip-message-samples.js';

const request = (name: string): SipRequest => {
  const msg = parseMessage(loadTorture(name));
  expect(msg.type).toBe('request');
  return msg as SipRequest;
};
const response = (name: string): SipResponse => {
  const msg: SipMessage = parseMessage(loadTorture(name));
  expect(msg.type).toBe('response');
  return msg as SipResponse;
};

describe('RFC 4475 §3.1.1 valid messages parse', () => {
  it('3.1.1.1 wsinv: folding, escapes in quotes, LWS everywhere, compact and long names', () => {
    const msg = request('wsinv');
    expect(msg.method).toBe('INVITE');
    expect([...msg.uri.params]).toEqual([['unknownparam', null]]);
    expect(toHeader(msg).params.get('tag')).toBe('1918181833n');
    expect(fromHeader(msg).displayName).toBe('J Rosenberg \\"');
    expect(fromHeader(msg).params.get('tag')).toBe('98asjd8');
    expect(msg.headers.get('Max-Forwards')).toBe('0068');
    expect(cseqHeader(msg)).toEqual({ seq: 9, method: 'INVITE' });
    expect(msg.headers.get('Subject')).toBe('');
    expect(msg.headers.get('NewFangledHeader')).toBe('newfangled value continued newfangled value');
    expect(msg.headers.get('UnknownHeaderWithUnusualValue')).toBe(';;,,;;,;');
    const vias = msg.headers.getList('Via');
    expect(msg.headers.getLines('Via')).toHaveLength(2);
    expect(vias).toHaveLength(3);
    expect(topVia(msg)).toMatchObject({ protocol: 'SIP/2.0', transport: 'UDP', host: '192.0.2.2' });
    expect(topVia(msg).params.get('branch')).toBe('390skdjuw');
    expect(parseNameAddr(msg.headers.get('Route')!).uri.params.get('unknown-no-value')).toBeNull();
    const contact = parseNameAddr(msg.headers.get('Contact')!);
    expect(contact.displayName).toBe('Quoted string ""');
    expect([...contact.params]).toEqual([['newparam', 'newvalue'], ['secondparam', null], ['q', '0.33']]);
    expect(msg.body.length).toBe(150);
  });

  it('3.1.1.2 intmeth: the whole token and word alphabets, NUL in a quoted-pair, UTF-8', () => {
    const msg = request('intmeth');
    expect(msg.method).toBe("!interesting-Method0123456789_*+`.%indeed'~");
    expect(msg.uri.user).toBe("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
    expect(msg.uri.password).toBe("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
    expect(toHeader(msg).displayName).toBe('BEL:\u0007 NUL:\u0000 DEL:\u007f');
    const from = fromHeader(msg);
    expect(from.displayName).toBe("token1~` token2'+_ token3*%!.-");
    expect(from.params.get("fromparam''~+*_!.-%")).toBe('"работающий"');
    expect(from.params.get('tag')).toBe("_token~1'+`*%!-.");
    expect(callId(msg)).toBe('intmeth.word%ZK-!.*_+\'@word`~)(><:\\/"][?}{');
    expect(cseqHeader(msg).method).toBe(msg.method);
    expect(msg.headers.get("extensionHeader-!.%*+_`'~")).toBe('\ufeff大停電');
  });

  it('3.1.1.3 esc01: escaped characters in URIs resolve', () => {
    const msg = request('esc01');
    expect(msg.uri.user).toBe('sips:user@example.com');
    expect(toHeader(msg).uri.user).toBe('user');
    expect(fromHeader(msg).uri.user).toBe('I have spaces');
    const contact = parseNameAddr(msg.headers.get('m')!);
    expect(contact.uri.user).toBe('caller');
    expect([...contact.uri.params]).toEqual([['lr', null], ['name', 'value%41']]);
  });

  it('3.1.1.4 escnull: escaped NULs in URIs', () => {
    const msg = request('escnull');
    expect(toHeader(msg).uri.user).toBe('null-\u0000-null');
    expect(msg.headers.getList('Contact').map((c) => parseNameAddr(c).uri.user)).toEqual(['\u0000', '\u0000\u0000']);
  });

  it('3.1.1.5 esc02: % is no escape in methods and header names', () => {
    const msg = request('esc02');
    expect(msg.method).toBe('RE%47IST%45R');
    expect(toHeader(msg).displayName).toBe('%Z%45');
    expect(msg.headers.getLines('Contact')).toHaveLength(2);
    expect(msg.headers.get('C%6Fntact')).toBe('<sip:alias2@host2.example.com>');
  });

  it('3.1.1.6 lwsdisp: no LWS between display name and <', () => {
    expect(fromHeader(request('lwsdisp')).displayName).toBe('caller');
  });

  it('3.1.1.7 longreq: long values and 34 Via lines in mixed spellings', () => {
    const msg = request('longreq');
    expect(msg.headers.getLines('Via')).toHaveLength(34);
    expect(topVia(msg).host).toBe('sip33.example.com');
    expect(toHeader(msg).uri.port).toBe(6000);
    expect(fromHeader(msg).params.get('tag')).toBe(`12${'982'.repeat(50)}424`);
    expect(msg.body.length).toBe(150);
  });

  it('3.1.1.8 dblreq: only the first message of a datagram counts', () => {
    const msg = request('dblreq');
    expect(msg.method).toBe('REGISTER');
    expect(msg.body.length).toBe(0);
  });

  it('3.1.1.9 semiuri: ; in the user part', () => {
    const msg = request('semiuri');
    expect(msg.uri.user).toBe('user;par=u@example.net');
    expect(msg.uri.params.size).toBe(0);
    expect(msg.headers.getList('Accept')).toHaveLength(6);
  });

  it('3.1.1.10 transports: any transport token in Via', () => {
    const msg = request('transports');
    expect(msg.headers.getList('Via').map((v) => topVia({ ...msg, headers: msg.headers.clone().set('Via', v) }).transport)).toEqual([
      'UDP', 'SCTP', 'TLS', 'UNKNOWN', 'TCP',
    ]);
  });

  it('3.1.1.11 mpart01: a binary body with NUL and CR bytes is framed by Content-Length', () => {
    const msg = request('mpart01');
    expect(msg.body.length).toBe(553);
    expect(msg.body.includes(Buffer.from([0x00]))).toBe(true);
    expect(msg.body.subarray(-22).toString()).toBe('--7a9cbec02ceef655--\r\n');
  });

  it('3.1.1.12 unreason: UTF-8 reason phrase', () => {
    expect(response('unreason').reason).toBe('= 2**3 * 5**2 но сто девяносто девять - простое');
  });

  it('3.1.1.13 noreason: empty reason phrase', () => {
    expect(response('noreason')).toMatchObject({ status: 100, reason: '' });
  });
});

/**
 * What the parser does with each §3.1.2 message. `answer` is the status of the ready-made response
 * on the error (undefined: nothing can or should be sent back, the message is dropped).
 */
const INVALID: { name: string; why: RegExp; status: number; answer?: number }[] = [
  // Top Via has empty parameters: no Via to answer along, so dropped.
  { name: 'badinv01', why: /Via: .*empty parameter name/, status: 400 },
  // Datagram shorter than Content-Length.
  { name: 'clerr', why: /body shorter than Content-Length/, status: 400, answer: 400 },
  { name: 'ncl', why: /malformed Content-Length/, status: 400, answer: 400 },
  // CSeq beyond 2**31 (Max-Forwards and Expires are also out of range there).
  { name: 'scalar02', why: /CSeq: .*below 2\*\*31/, status: 400, answer: 400 },
  // A response: never answered.
  { name: 'scalarlg', why: /CSeq: .*below 2\*\*31/, status: 400 },
  { name: 'quotbal', why: /To: .*unterminated quoted string/, status: 400, answer: 400 },
  { name: 'ltgtruri', why: /Request-URI: malformed URI/, status: 400, answer: 400 },
  { name: 'lwsruri', why: /request line is not/, status: 400, answer: 400 },
  { name: 'lwsstart', why: /request line is not/, status: 400, answer: 400 },
  { name: 'trws', why: /request line is not/, status: 400, answer: 400 },
  { name: 'escruri', why: /Request-URI must not have headers/, status: 400, answer: 400 },
  // Only semantically invalid (non-GMT Date); RFC 3261 §20.17 allows GMT only, so 400.
  { name: 'baddate', why: /malformed Date/, status: 400, answer: 400 },
  { name: 'regbadct', why: /Contact: .*must be enclosed in <>/, status: 400, answer: 400 },
  { name: 'badaspec', why: /To: malformed URI/, status: 400, answer: 400 },
  { name: 'baddn', why: /From: malformed URI/, status: 400, answer: 400 },
  { name: 'badvers', why: /SIP version not supported/, status: 505, answer: 505 },
  { name: 'mismatch01', why: /CSeq method does not match/, status: 400, answer: 400 },
  // The RFC prefers 501 for the unknown method; the mismatch alone already earns the 400 it allows.
  { name: 'mismatch02', why: /CSeq method does not match/, status: 400, answer: 400 },
  // A response with a status code out of range: dropped.
  { name: 'bigcode', why: /malformed status line/, status: 400 },
];

describe('RFC 4475 §3.1.2 invalid messages are rejected', () => {
  for (const { name, why, status, answer } of INVALID) {
    it(`${name}: ${answer === undefined ? 'dropped' : `answered ${answer}`}`, () => {
      let error: unknown;
      try {
        parseMessage(loadTorture(name));
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(SipParseError);
      const parseError = error as SipParseError;
      expect(parseError.message).toMatch(why);
      expect(parseError.status).toBe(status);
      expect(parseError.response?.status).toBe(answer);
      if (parseError.response) {
        // The answer goes back along the request's Via with its Call-ID and CSeq.
        const loaded = loadTorture(name).toString('latin1');
        expect(loaded).toContain(parseError.response.headers.get('Via')!);
        expect(callId(parseError.response)).toMatch(new RegExp(`^${name}\\.`));
        expect(parseError.response.headers.get('To')).toMatch(/;tag=[\w-]+$/);
      }
    });
  }
});
