import { describe, expect, it } from 'vitest';
import {
  SipHeaders,
  SipParseError,
  createResponse,
  formatNameAddr,
  formatUri,
  formatVia,
  parseCSeq,
  parseMessage,
  parseNameAddr,
  parseUri,
  parseVia,
  reasonPhrase,
  toHeader,
  type SipRequest,
} from '../../gateway/sip/message/index.js';
import { INVITE } from './sip-message-samples.js';

function statusOf(fn: () => unknown): number {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SipParseError);
    return (err as SipParseError).status;
  }
  return 0;
}

describe('parseUri / formatUri', () => {
  it('reads user, password, host, port, params and headers', () => {
    const uri = parseUri('sips:alice:secret@Atlanta.example.com:5061;transport=TLS;lr;maddr=239.255.255.1?subject=project%20x&priority=urgent');
    expect(uri).toMatchObject({ scheme: 'sips', user: 'alice', password: 'secret', host: 'Atlanta.example.com', port: 5061 });
    expect([...uri.params]).toEqual([['transport', 'TLS'], ['lr', null], ['maddr', '239.255.255.1']]);
    expect([...uri.headers]).toEqual([['subject', 'project x'], ['priority', 'urgent']]);
    expect(formatUri(uri)).toBe('sips:alice:secret@Atlanta.example.com:5061;transport=TLS;lr;maddr=239.255.255.1?subject=project%20x&priority=urgent');
  });

  it('reads IPv4, bracketed IPv6 and host-only URIs', () => {
    const v4 = parseUri('sip:192.0.2.4');
    expect([v4.host, v4.user, v4.port]).toEqual(['192.0.2.4', undefined, undefined]);
    const v6 = parseUri('sip:bob@[2001:db8::10]:5070;transport=tcp');
    expect(v6).toMatchObject({ host: '2001:db8::10', port: 5070 });
    expect(formatUri(v6)).toBe('sip:bob@[2001:db8::10]:5070;transport=tcp');
    expect(parseUri('SIP:gw.example.com').scheme).toBe('sip');
  });

  it('resolves escapes and writes them back for reserved characters', () => {
    const uri = parseUri('sip:sips%3Auser%40example.com@example.net');
    expect(uri.user).toBe('sips:user@example.com');
    expect(formatUri(uri)).toBe('sip:sips%3Auser%40example.com@example.net');
    expect(parseUri('sip:null-%00-null@example.com').user).toBe('null-\u0000-null');
    expect(parseUri('sip:user;par=u%40example.net@example.com').user).toBe('user;par=u@example.net');
    const escapedParams = parseUri('sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31');
    expect([...escapedParams.params]).toEqual([['lr', null], ['name', 'value%41']]);
  });

  it('reads tel URIs with the number as host', () => {
    const tel = parseUri('tel:+1-201-555-0123;ext=1234;phone-context=example.com');
    expect(tel).toMatchObject({ scheme: 'tel', host: '+1-201-555-0123' });
    expect(tel.params.get('ext')).toBe('1234');
    expect(formatUri(tel)).toBe('tel:+1-201-555-0123;ext=1234;phone-context=example.com');
  });

  it('rejects malformed URIs, and unknown schemes with 416', () => {
    for (const bad of ['', 'sip:', 'sip:@host', 'sip:a b@host', 'sip:host:99999', 'sip:host:', 'sip:[::1', 'sip:[zz::1]', 'sip:user@host;=x',
      'sip:%4', 'sip:%zz@host', '<sip:host>', 'sip:host>', 'tel:', 'tel:12ab!', 'sip:-host', 'sip:host?x']) {
      expect(statusOf(() => parseUri(bad)), bad).toBe(400);
    }
    expect(statusOf(() => parseUri('http://www.example.com/'))).toBe(416);
    expect(statusOf(() => parseUri('nobodyKnowsThisScheme:totallyopaquecontent'))).toBe(416);
  });
});

describe('Via', () => {
  it('parses with LWS around separators and normalises case', () => {
    const via = parseVia('SIP  /   2.0  /udp     192.0.2.2 : 5062 ;rport;  branch = z9hG4bKkdju ;received=[2001:db8::9]');
    expect(via).toMatchObject({ protocol: 'SIP/2.0', transport: 'UDP', host: '192.0.2.2', port: 5062 });
    expect([...via.params]).toEqual([['rport', null], ['branch', 'z9hG4bKkdju'], ['received', '[2001:db8::9]']]);
    expect(formatVia(via)).toBe('SIP/2.0/UDP 192.0.2.2:5062;rport;branch=z9hG4bKkdju;received=[2001:db8::9]');
    expect(formatVia(parseVia('SIP/2.0/WSS [2001:db8::1]:443;branch=z9hG4bK1'))).toBe('SIP/2.0/WSS [2001:db8::1]:443;branch=z9hG4bK1');
  });

  it('rejects malformed values', () => {
    for (const bad of ['SIP/2.0/UDP', 'SIP/2.0 UDP host', 'SIP/2.0/UDP host;', 'SIP/2.0/UDP host;;', 'SIP/2.0/UDP host, SIP/2.0/UDP other', 'SIP/2.0/UDP host:0x1', 'SIP/2.0/UDPhost']) {
      expect(statusOf(() => parseVia(bad)), bad).toBe(400);
    }
  });
});

describe('name-addr', () => {
  it('parses quoted, token and absent display names, and bare addr-specs', () => {
    const quoted = parseNameAddr('"J Rosenberg \\\\\\"" <sip:jdrosen@example.com> ; tag = 98asjd8');
    expect(quoted.displayName).toBe('J Rosenberg \\"');
    expect(quoted.params.get('tag')).toBe('98asjd8');
    expect(parseNameAddr('caller<sip:caller@example.com>;tag=323').displayName).toBe('caller');
    expect(parseNameAddr("token1~` token2'+_   token3*%!.- <sip:mundane@example.com>").displayName).toBe("token1~` token2'+_ token3*%!.-");
    const bare = parseNameAddr('sip:user@example.com;tag=1');
    expect(bare.displayName).toBeUndefined();
    expect(bare.uri.params.size).toBe(0);
    expect(bare.params.get('tag')).toBe('1');
    const withUriParams = parseNameAddr('<sip:user@example.com;transport=tls>;expires=60;+sip.instance="<urn:uuid:1>"');
    expect(withUriParams.uri.params.get('transport')).toBe('tls');
    expect(withUriParams.params.get('+sip.instance')).toBe('"<urn:uuid:1>"');
  });

  it('formats with quoting and escaping, never emitting a line break', () => {
    const na = parseNameAddr('"Say \\"hi\\"" <sip:a@example.com>;tag=x');
    expect(formatNameAddr(na)).toBe('"Say \\"hi\\"" <sip:a@example.com>;tag=x');
    expect(parseNameAddr(formatNameAddr(na))).toEqual(na);
    expect(formatNameAddr({ displayName: 'evil\r\nX: y', uri: parseUri('sip:a@b'), params: new Map() })).toBe('"evil  X: y" <sip:a@b>');
  });

  it('rejects the RFC 4475 shapes of bad name-addrs', () => {
    for (const bad of ['"Watson, Thomas" < sip:t.watson@example.org >', 'Bell, Alexander <sip:a.g.bell@example.com>;tag=43',
      '"Mr. J. User <sip:j.user@example.com>', 'sip:user@example.com?Route=%3Csip:sip.example.com%3E', '"Joe" <sip:joe@example.org>;;;;',
      '<sip:a@example.com', '<sip:a@example.com> junk']) {
      expect(statusOf(() => parseNameAddr(bad)), bad).toBe(400);
    }
  });
});

describe('CSeq', () => {
  it('parses number and method, leading zeros and LWS included', () => {
    expect(parseCSeq('0009   INVITE')).toEqual({ seq: 9, method: 'INVITE' });
    expect(parseCSeq('2147483647 NEWMETHOD')).toEqual({ seq: 2147483647, method: 'NEWMETHOD' });
  });
  it('rejects overlarge or malformed values', () => {
    for (const bad of ['2147483648 INVITE', '36893488147419103232 INVITE', 'INVITE', '1', '1INVITE', '-1 INVITE', '1 INV(TE', '1 INVITE x']) {
      expect(statusOf(() => parseCSeq(bad)), bad).toBe(400);
    }
  });
});

describe('accessors', () => {
  it('throw SipParseError when the header is missing', () => {
    const msg = parseMessage(Buffer.from(INVITE));
    msg.headers.delete('To');
    expect(statusOf(() => toHeader(msg))).toBe(400);
  });
});

describe('createResponse', () => {
  it('copies Via (all), From, To, Call-ID and CSeq and adds the To tag', () => {
    const req = parseMessage(Buffer.from(INVITE)) as SipRequest;
    req.headers.append('Via', 'SIP/2.0/TCP proxy.example.com;branch=z9hG4bK2');
    const res = createResponse(req, 486, undefined, 'abc');
    expect(res).toMatchObject({ type: 'response', status: 486, reason: 'Busy Here' });
    expect(res.body.length).toBe(0);
    expect([...res.headers].map(([n]) => n)).toEqual(['Via', 'Via', 'From', 'To', 'Call-ID', 'CSeq']);
    expect(res.headers.get('To')).toBe('<sip:8823412@gw.example.com>;tag=abc');
    expect(res.headers.get('From')).toBe(req.headers.get('From'));
  });

  it('tags every response but 100 to a request without a To tag (§8.2.6.2), each with a fresh tag', () => {
    const req = parseMessage(Buffer.from(INVITE)) as SipRequest;
    expect(toHeader(createResponse(req, 100)).params.has('tag')).toBe(false);
    const tags = [403, 403, 200].map((status) => toHeader(createResponse(req, status)).params.get('tag'));
    for (const tag of tags) expect(tag).toMatch(/^[0-9a-f]{16}$/);
    expect(new Set(tags).size).toBe(3);
  });

  it('keeps an existing To tag and a custom reason', () => {
    const headers = new SipHeaders().append('To', '<sip:b@example.com>;tag=old');
    const req: SipRequest = { type: 'request', method: 'BYE', uri: parseUri('sip:b@example.com'), headers, body: Buffer.alloc(0) };
    const res = createResponse(req, 200, 'Fine', 'new');
    expect(res.reason).toBe('Fine');
    expect(res.headers.get('To')).toBe('<sip:b@example.com>;tag=old');
  });
});

describe('reasonPhrase', () => {
  it('gives standard phrases and class fallbacks', () => {
    expect(reasonPhrase(100)).toBe('Trying');
    expect(reasonPhrase(488)).toBe('Not Acceptable Here');
    expect(reasonPhrase(503)).toBe('Service Unavailable');
    expect(reasonPhrase(499)).toBe('Bad Request');
  });
});
