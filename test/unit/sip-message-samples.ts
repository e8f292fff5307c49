/** Typical messages shared by the SIP message tests, the fuzzer and the parse benchmark. */
import { readFileSync } from 'node:fs';

const TORTURE = new URL('../fixtures/rfc4475/', import.meta.url);

/** An RFC 4475 message, its §2 notation expanded into wire bytes (see test/fixtures/rfc4475/README.md). */
export function loadTorture(name: string): Buffer {
  const text = readFileSync(new URL(`${name}.txt`, TORTURE), 'utf8').replace(
    /<repeat count=(\d+)>([\s\S]*?)<\/repeat>/g,
    (_m, count: string, body: string) => body.repeat(Number(count)),
  );
  const parts: Buffer[] = [];
  let pos = 0;
  for (const m of text.matchAll(/<hex>([\s\S]*?)<\/hex>/g)) {
    parts.push(Buffer.from(text.slice(pos, m.index).replace(/\n/g, '\r\n'), 'utf8'));
    parts.push(Buffer.from(m[1]!.replace(/\s/g, ''), 'hex'));
    pos = m.index + m[0].length;
  }
  parts.push(Buffer.from(text.slice(pos).replace(/\n/g, '\r\n'), 'utf8'));
  return Buffer.concat(parts);
}

/** The RFC 4475 §3.1.1 messages, all of which parse. */
export const VALID_TORTURE = ['wsinv', 'intmeth', 'esc01', 'escnull', 'esc02', 'lwsdisp', 'longreq', 'dblreq', 'semiuri', 'transports', 'mpart01', 'unreason', 'noreason'];

const crlf = (lines: string[]): string => lines.join('\r\n');

export const SDP_OFFER = crlf([
  'v=0',
  'o=room 2890844526 2890844526 IN IP4 192.0.2.10',
  's=-',
  'c=IN IP4 192.0.2.10',
  't=0 0',
  'm=audio 49170 RTP/SAVP 0 8 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:32',
  'm=video 51372 RTP/SAVP 96',
  'a=rtpmap:96 H264/90000',
  'a=fmtp:96 profile-level-id=42e01f;packetization-mode=1',
  '',
]);

export const INVITE = crlf([
  'INVITE sip:8823412@gw.example.com SIP/2.0',
  'Via: SIP/2.0/TLS 192.0.2.10:5061;branch=z9hG4bK776asdhds;rport',
  'Max-Forwards: 70',
  'From: "Board Room" <sips:room@corp.example.com>;tag=1928301774',
  'To: <sip:8823412@gw.example.com>',
  'Call-ID: a84b4c76e66710@192.0.2.10',
  'CSeq: 314159 INVITE',
  'Contact: <sip:room@192.0.2.10:5061;transport=tls>',
  'Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE',
  'Supported: timer, replaces',
  'User-Agent: RoomSystem/9.1',
  'Content-Type: application/sdp',
  `Content-Length: ${Buffer.byteLength(SDP_OFFER)}`,
  '',
  SDP_OFFER,
]);

export const OK_200 = crlf([
  'SIP/2.0 200 OK',
  'Via: SIP/2.0/TLS 192.0.2.10:5061;branch=z9hG4bK776asdhds;rport=5061;received=192.0.2.10',
  'From: "Board Room" <sips:room@corp.example.com>;tag=1928301774',
  'To: <sip:8823412@gw.example.com>;tag=a6c85cf',
  'Call-ID: a84b4c76e66710@192.0.2.10',
  'CSeq: 314159 INVITE',
  'Contact: <sip:gw@198.51.100.1:5061;transport=tls>',
  'Content-Length: 0',
  '',
  '',
]);

export const OPTIONS = crlf([
  'OPTIONS sip:gw.example.com SIP/2.0',
  'v: SIP/2.0/UDP 198.51.100.7;branch=z9hG4bKnashds8',
  'f: <sip:trunk@carrier.example.net>;tag=88',
  't: <sip:gw.example.com>',
  'i: opt-1@198.51.100.7',
  'CSeq: 7 OPTIONS',
  'l: 0',
  '',
  '',
]);

export const ALL = [INVITE, OK_200, OPTIONS];
