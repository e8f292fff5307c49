import { describe, expect, it } from 'vitest';
import { parseOffer, SdpError } from '../../gateway/sdp/index.js';

const crlf = (lines: string[]): string => lines.join('\r\n') + '\r\n';

// baresip 1.0 with mediaenc=srtp-mand
const BARESIP_OFFER = crlf([
  'v=0',
  'o=- 1427227327 2470785437 IN IP4 192.168.1.20',
  's=-',
  'c=IN IP4 192.168.1.20',
  't=0 0',
  'm=audio 10670 RTP/SAVP 0 101',
  'b=AS:64',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-15',
  'a=sendrecv',
  'a=label:1',
  'a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:MrUBH9LUxjzzdZ/4705+TDdPINp3tnRnXYCA0OFA',
  'a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:7vtYfYRXmMvYFyaz7YO0AETs+TWJVaqcsyxUOt2z',
  'a=ptime:20',
]);

describe('parseOffer', () => {
  it('reads a baresip SDES offer', () => {
    const offer = parseOffer(BARESIP_OFFER);
    expect(offer.origin).toEqual({ username: '-', sessionId: '1427227327', sessionVersion: 2470785437, address: '192.168.1.20' });
    expect(offer.offersDtls).toBe(false);
    const [audio] = offer.media;
    expect(audio).toMatchObject({
      kind: 'audio',
      port: 10670,
      protocol: 'RTP/SAVP',
      connectionAddress: '192.168.1.20',
      rtcpPort: 10671,
      rtcpMux: false,
      direction: 'sendrecv',
      onHold: false,
      ptime: 20,
    });
    expect(audio?.codecs.map((c) => [c.payloadType, c.name, c.clockRate])).toEqual([
      [0, 'PCMU', 8000],
      [101, 'telephone-event', 8000],
    ]);
    expect(audio?.crypto.map((c) => [c.tag, c.suite, c.unacceptable])).toEqual([
      [1, 'AES_CM_128_HMAC_SHA1_80', undefined],
      [2, 'AES_CM_128_HMAC_SHA1_32', undefined],
    ]);
    expect(audio?.crypto[0]?.key?.toInline()).toBe('MrUBH9LUxjzzdZ/4705+TDdPINp3tnRnXYCA0OFA');
  });

  it('knows static payload types without a=rtpmap and prefers media-level c=', () => {
    const offer = parseOffer(
      crlf(['v=0', 'o=- 1 1 IN IP4 10.0.0.1', 's=-', 'c=IN IP4 10.0.0.1', 't=0 0', 'm=audio 4000 RTP/AVP 8 9', 'c=IN IP4 10.0.0.2', 'a=rtcp:4005 IN IP4 10.0.0.3']),
    );
    const [audio] = offer.media;
    expect(audio?.codecs.map((c) => c.name)).toEqual(['PCMA', 'G722']);
    expect(audio?.connectionAddress).toBe('10.0.0.2');
    expect(audio?.rtcpPort).toBe(4005);
    expect(audio?.rtcpAddress).toBe('10.0.0.3');
  });

  it('keeps all-digit fields as text', () => {
    const offer = parseOffer(
      crlf(['v=0', 'o=- 98765432109876543210 1 IN IP4 10.0.0.1', 's=-', 'c=IN IP4 10.0.0.1', 't=0 0', 'm=video 4000 RTP/AVP 96', 'a=rtpmap:96 H264/90000', 'a=fmtp:96 15']),
    );
    expect(offer.origin.sessionId).toBe('98765432109876543210');
    expect(offer.media[0]?.formats).toEqual(['96']);
    expect(offer.media[0]?.codecs[0]?.fmtp).toBe('15');
  });

  it('exposes DTLS-SRTP attributes', () => {
    const offer = parseOffer(
      crlf([
        'v=0',
        'o=- 1 1 IN IP4 10.0.0.1',
        's=-',
        'c=IN IP4 10.0.0.1',
        't=0 0',
        'a=fingerprint:sha-256 AB:CD:EF',
        'm=audio 4000 UDP/TLS/RTP/SAVP 0',
        'a=setup:actpass',
      ]),
    );
    expect(offer.offersDtls).toBe(true);
    expect(offer.media[0]?.dtls).toEqual({ fingerprint: { hashFunction: 'sha-256', value: 'AB:CD:EF' }, setup: 'actpass' });
  });

  it('does not take BFCP connection setup for DTLS', () => {
    const offer = parseOffer(
      crlf(['v=0', 'o=- 1 1 IN IP4 10.0.0.1', 's=-', 'c=IN IP4 10.0.0.1', 't=0 0', 'm=application 5000 TCP/TLS/BFCP *', 'a=setup:actpass']),
    );
    expect(offer.offersDtls).toBe(false);
  });

  it('judges each crypto line', () => {
    const offer = parseOffer(
      crlf([
        'v=0',
        'o=- 1 1 IN IP4 10.0.0.1',
        's=-',
        'c=IN IP4 10.0.0.1',
        't=0 0',
        'm=audio 4000 RTP/SAVP 0',
        'a=crypto:1 AEAD_AES_256_GCM inline:MrUBH9LUxjzzdZ/4705+TDdPINp3tnRnXYCA0OFA',
        'a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:MrUBH9LUxjzzdZ/4705+TDdPINp3tnRnXYCA0OFA|2^20|1:4',
        'a=crypto:3 AES_CM_128_HMAC_SHA1_80 inline:MrUBH9LUxjzzdZ/4705+TDdPINp3tnRnXYCA0OFA UNENCRYPTED_SRTP',
        'a=crypto:4 NULL_HMAC_SHA1_80 inline:MrUBH9LUxjzzdZ/4705+TDdPINp3tnRnXYCA0OFA',
        'a=crypto:5 AES_CM_128_HMAC_SHA1_80 inline:not*base64',
        'a=crypto:6 AES_CM_128_HMAC_SHA1_80 inline:7vtYfYRXmMvYFyaz7YO0AETs+TWJVaqcsyxUOt2z|2^31 WSH=64',
      ]),
    );
    const crypto = offer.media[0]?.crypto ?? [];
    expect(crypto.map((c) => c.unacceptable)).toEqual([
      'wrong key length for AEAD_AES_256_GCM',
      'MKI not supported',
      'session parameter UNENCRYPTED_SRTP not supported',
      'suite NULL_HMAC_SHA1_80 not supported',
      'key is not base64',
      undefined,
    ]);
    expect(crypto[5]?.lifetime).toBe(2 ** 31);
  });

  it('treats sendonly and c=0.0.0.0 as hold', () => {
    const base = ['v=0', 'o=- 1 2 IN IP4 10.0.0.1', 's=-', 't=0 0'];
    const sendonly = parseOffer(crlf([...base, 'c=IN IP4 10.0.0.1', 'm=audio 4000 RTP/AVP 0', 'a=sendonly']));
    const zero = parseOffer(crlf([...base, 'c=IN IP4 0.0.0.0', 'm=audio 4000 RTP/AVP 0']));
    expect(sendonly.media[0]?.onHold).toBe(true);
    expect(zero.media[0]?.onHold).toBe(true);
  });

  it.each([
    ['empty body', ''],
    ['not SDP', 'hello world'],
    ['no version line', 'o=- 1 1 IN IP4 1.2.3.4\r\nm=audio 1 RTP/AVP 0\r\n'],
    ['no m= line', 'v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\n'],
    ['port out of range', 'v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 70000 RTP/AVP 0\r\n'],
    ['m= line without formats', 'v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP\r\n'],
    ['garbage line', 'v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\n\u0000\u0001\r\nm=audio 4000 RTP/AVP 0\r\n'],
    ['a=rtcp port out of range', 'v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=rtcp:99999\r\n'],
    ['oversized', 'v=0\r\n' + 'a=x\r\n'.repeat(20_000)],
  ])('rejects %s with SdpError', (_name, text) => {
    expect(() => parseOffer(text)).toThrow(SdpError);
  });

  it('never quotes a key in an error', () => {
    const text = 'v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:MrUBH9LUxjzzdZ/4705+TDdPINp3tnRnXYCA0OFA\r\n!bad\r\nm=audio 1 RTP/SAVP 0\r\n';
    expect(() => parseOffer(text)).toThrow(SdpError);
    try {
      parseOffer(text);
    } catch (error) {
      expect(String(error)).not.toContain('MrUBH9');
    }
  });
});
