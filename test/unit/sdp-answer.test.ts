import { parse } from 'sdp-transform';
import { describe, expect, it } from 'vitest';
import { answerOffer, parseOffer, type AcceptedAnswer, type AnswerPolicy, type AnswerResult, type MediaKind } from '../../gateway/sdp/index.js';

const crlf = (lines: string[]): string => lines.join('\r\n') + '\r\n';

const BARESIP_KEY_80 = 'MrUBH9LUxjzzdZ/4705+TDdPINp3tnRnXYCA0OFA';
const BARESIP_OFFER = crlf([
  'v=0',
  'o=- 1427227327 2470785437 IN IP4 192.168.1.20',
  's=-',
  'c=IN IP4 192.168.1.20',
  't=0 0',
  'm=audio 10670 RTP/SAVP 0 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-15',
  'a=sendrecv',
  `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${BARESIP_KEY_80}`,
  'a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:7vtYfYRXmMvYFyaz7YO0AETs+TWJVaqcsyxUOt2z',
  'a=ptime:20',
]);

const POLY_GCM256_KEY = '5zEmuyaSrJJ2PLTRKCbN38uO9Yh74JSl34HO9j9BG8Uzih1Z/0s20GdXewk=';
// A Poly/Cisco-style room system: wideband audio, H.264 main video, BFCP and a slides stream.
const ROOM_OFFER = crlf([
  'v=0',
  'o=GroupSeries 1712345678 1 IN IP4 10.1.2.3',
  's=-',
  'c=IN IP4 10.1.2.3',
  'b=AS:1920',
  't=0 0',
  'm=audio 49152 RTP/SAVP 115 9 0 8 101',
  'a=rtpmap:115 G7221/32000',
  'a=fmtp:115 bitrate=48000',
  'a=rtpmap:9 G722/8000',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-15',
  'a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:ZzTtUAzZ25CPW0n+pfNuAaLgRq984VFd0aWuUj7H|2^48',
  `a=crypto:2 AEAD_AES_256_GCM inline:${POLY_GCM256_KEY}`,
  'a=crypto:3 AES_CM_128_HMAC_SHA1_32 inline:7vtYfYRXmMvYFyaz7YO0AETs+TWJVaqcsyxUOt2z',
  'a=sendrecv',
  'm=video 49154 RTP/SAVP 109 96 34',
  'b=TIAS:1856000',
  'a=rtpmap:109 H264/90000',
  'a=fmtp:109 profile-level-id=42801f;packetization-mode=1;max-mbps=108000;sprop-parameter-sets=Z0KAH5WgFAFuQA==,aM4G4g==',
  'a=rtpmap:96 H264/90000',
  'a=fmtp:96 profile-level-id=42801f;max-mbps=108000',
  'a=rtpmap:34 H263/90000',
  'a=rtcp-fb:* nack pli',
  'a=crypto:1 AEAD_AES_128_GCM inline:9bQlrl2aZQspItwqaYiHA5tO0050kSAMzQiV+w==',
  'a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:7vtYfYRXmMvYFyaz7YO0AETs+TWJVaqcsyxUOt2z',
  'a=content:main',
  'a=sendrecv',
  'm=application 49156 UDP/BFCP *',
  'a=floorctrl:c-s',
  'a=confid:1',
  'a=userid:2',
  'm=video 49158 RTP/SAVP 109',
  'a=rtpmap:109 H264/90000',
  'a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:ZzTtUAzZ25CPW0n+pfNuAaLgRq984VFd0aWuUj7H',
  'a=content:slides',
  'a=sendrecv',
]);

function policy(overrides: Partial<AnswerPolicy> = {}): AnswerPolicy & { allocated: MediaKind[] } {
  const allocated: MediaKind[] = [];
  let next = 20000;
  return {
    allowPlainRtp: false,
    localAddress: '203.0.113.5',
    audioCodecs: [
      { name: 'opus', clockRate: 48000, channels: 2 },
      { name: 'G722', clockRate: 8000 },
      { name: 'PCMU', clockRate: 8000 },
      { name: 'PCMA', clockRate: 8000 },
    ],
    videoCodecs: [{ name: 'H264', clockRate: 90000 }],
    rtpPort: (kind) => {
      allocated.push(kind);
      return (next += 2);
    },
    allocated,
    ...overrides,
  };
}

function accepted(result: AnswerResult): AcceptedAnswer {
  if (!result.ok) throw new Error(`expected an answer, got 488 ${result.warning}`);
  return result;
}

function audioOffer(protocol: string, extra: string[], connection = '10.0.0.9'): string {
  return crlf(['v=0', 'o=- 7 7 IN IP4 10.0.0.9', 's=-', `c=IN IP4 ${connection}`, 't=0 0', `m=audio 30000 ${protocol} 0`, ...extra]);
}

describe('answerOffer: baresip with mandatory SRTP', () => {
  it('answers PCMU + telephone-event with a fresh key on the strongest offered suite', async () => {
    const answer = accepted(await answerOffer(parseOffer(BARESIP_OFFER), policy()));
    const [stream] = answer.streams;
    expect(stream).toMatchObject({
      kind: 'audio',
      codec: { payloadType: 0, name: 'PCMU', clockRate: 8000 },
      telephoneEvent: { payloadType: 101, name: 'telephone-event', fmtp: '0-15' },
      direction: 'sendrecv',
      remote: { address: '192.168.1.20', rtpPort: 10670, rtcpPort: 10671 },
      local: { address: '203.0.113.5', rtpPort: 20002, rtcpPort: 20003 },
      ptime: 20,
    });
    expect(stream?.srtp?.suite).toBe('AES_CM_128_HMAC_SHA1_80');
    expect(stream?.srtp?.tag).toBe(1);
    expect(stream?.srtp?.remoteKey.toInline()).toBe(BARESIP_KEY_80);

    const sdp = parse(answer.sdp);
    expect(sdp.connection?.ip).toBe('203.0.113.5');
    const [m] = sdp.media;
    expect(m).toMatchObject({ type: 'audio', port: 20002, protocol: 'RTP/SAVP', direction: 'sendrecv', ptime: 20 });
    expect(m?.rtp.map((r) => [r.payload, r.codec, r.rate])).toEqual([
      [0, 'PCMU', 8000],
      [101, 'telephone-event', 8000],
    ]);
    expect(m?.crypto).toHaveLength(1);
    const crypto = m?.crypto?.[0];
    expect(crypto?.id).toBe(1);
    expect(crypto?.suite).toBe('AES_CM_128_HMAC_SHA1_80');
    const ourKey = Buffer.from(crypto?.config.replace('inline:', '') ?? '', 'base64');
    expect(ourKey).toHaveLength(30);
    expect(crypto?.config).not.toContain(BARESIP_KEY_80);
    expect(Buffer.concat([stream!.srtp!.localKey.key, stream!.srtp!.localKey.salt]).equals(ourKey)).toBe(true);
  });

  it('uses a different key for every leg', async () => {
    const one = accepted(await answerOffer(parseOffer(BARESIP_OFFER), policy()));
    const two = accepted(await answerOffer(parseOffer(BARESIP_OFFER), policy()));
    expect(one.streams[0]?.srtp?.localKey.equals(two.streams[0]!.srtp!.localKey)).toBe(false);
    expect(one.session.id).not.toBe(two.session.id);
  });

  it('keeps keys out of logs and JSON', async () => {
    const answer = accepted(await answerOffer(parseOffer(BARESIP_OFFER), policy()));
    const srtp = answer.streams[0]!.srtp!;
    const json = JSON.stringify(answer.streams);
    expect(json).not.toContain(BARESIP_KEY_80);
    expect(json).not.toContain(srtp.localKey.toInline());
    const { inspect } = await import('node:util');
    expect(inspect(answer.streams, { depth: 10 })).not.toContain(srtp.localKey.key.toString('hex').slice(0, 16));
  });
});

describe('answerOffer: room system with several suites, video and BFCP', () => {
  it('picks our preferred suite per stream, echoes H.264 profile and rejects what it cannot carry', async () => {
    const p = policy();
    const answer = accepted(await answerOffer(parseOffer(ROOM_OFFER), p));
    expect(p.allocated).toEqual(['audio', 'video']);
    const [audio, video] = answer.streams;
    expect(audio?.srtp?.suite).toBe('AEAD_AES_256_GCM');
    expect(audio?.srtp?.tag).toBe(2);
    expect(audio?.srtp?.remoteKey.toInline()).toBe(POLY_GCM256_KEY);
    expect(audio?.srtp?.localKey.key).toHaveLength(32);
    expect(audio?.codec.name).toBe('G722');
    expect(video?.srtp?.suite).toBe('AEAD_AES_128_GCM');
    expect(video?.codec).toMatchObject({ payloadType: 109, name: 'H264', fmtp: 'profile-level-id=42801f;packetization-mode=1' });

    const sdp = parse(answer.sdp);
    expect(sdp.media.map((m) => [m.type, m.port, m.protocol])).toEqual([
      ['audio', 20002, 'RTP/SAVP'],
      ['video', 20004, 'RTP/SAVP'],
      ['application', 0, 'UDP/BFCP'],
      ['video', 0, 'RTP/SAVP'],
    ]);
    expect(sdp.media[1]?.fmtp).toEqual([{ payload: 109, config: 'profile-level-id=42801f;packetization-mode=1' }]);
    expect(sdp.media[1]?.crypto?.[0]?.suite).toBe('AEAD_AES_128_GCM');
    expect(answer.sdp).not.toContain('sprop-parameter-sets');
  });

  it('never answers video with a 32-bit tag', async () => {
    const offer = ROOM_OFFER.replace(/a=crypto:1 AEAD_AES_128_GCM.*\r\n/, '');
    const answer = accepted(await answerOffer(parseOffer(offer), policy()));
    expect(answer.streams.find((s) => s.index === 1)).toBeUndefined();
    expect(parse(answer.sdp).media[1]?.port).toBe(0);
    expect(answer.streams.every((s) => s.srtp?.suite !== 'AES_CM_128_HMAC_SHA1_32' || s.kind === 'audio')).toBe(true);
  });
});

describe('answerOffer: refusals', () => {
  it.each([
    ['plain RTP', audioOffer('RTP/AVP', []), 'SRTP required'],
    ['only NULL and unknown suites', audioOffer('RTP/SAVP', [`a=crypto:1 NULL_HMAC_SHA1_80 inline:${BARESIP_KEY_80}`, `a=crypto:2 F8_128_HMAC_SHA1_80 inline:${BARESIP_KEY_80}`]), 'no acceptable SRTP suite offered'],
    ['a wrong key length', audioOffer('RTP/SAVP', ['a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:jUijGHTgjGbqCRF2gWni2w==']), 'no acceptable SRTP suite offered'],
    ['MKI and session parameters', audioOffer('RTP/SAVP', [`a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${BARESIP_KEY_80}|1:4`, `a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:${BARESIP_KEY_80} UNAUTHENTICATED_SRTP`]), 'no acceptable SRTP suite offered'],
    ['DTLS-SRTP only', audioOffer('UDP/TLS/RTP/SAVP', ['a=fingerprint:sha-256 AB:CD', 'a=setup:actpass']), 'DTLS-SRTP not supported on SIP legs, offer SDES-SRTP'],
    ['no common codec', audioOffer('RTP/SAVP', [`a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${BARESIP_KEY_80}`]).replace('RTP/SAVP 0', 'RTP/SAVP 18'), 'no common audio codec'],
    ['only an application stream', crlf(['v=0', 'o=- 1 1 IN IP4 10.0.0.9', 's=-', 'c=IN IP4 10.0.0.9', 't=0 0', 'm=application 5000 UDP/BFCP *']), 'no audio or video stream offered'],
  ])('%s → 488', async (_name, text, warning) => {
    const p = policy();
    expect(await answerOffer(parseOffer(text), p)).toEqual({ ok: false, status: 488, warning });
    expect(p.allocated).toEqual([]);
  });

  it('chooses a correct line over a wrong-length one of the stronger suite', async () => {
    const text = audioOffer('RTP/SAVP', [
      `a=crypto:1 AEAD_AES_256_GCM inline:${BARESIP_KEY_80}`,
      `a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:${BARESIP_KEY_80}`,
    ]);
    const answer = accepted(await answerOffer(parseOffer(text), policy()));
    expect(answer.streams[0]?.srtp).toMatchObject({ tag: 2, suite: 'AES_CM_128_HMAC_SHA1_80' });
  });

  it('accepts plain RTP from a trusted trunk, without crypto', async () => {
    const answer = accepted(await answerOffer(parseOffer(audioOffer('RTP/AVP', [])), policy({ allowPlainRtp: true })));
    expect(answer.streams[0]?.srtp).toBeUndefined();
    const [m] = parse(answer.sdp).media;
    expect(m?.protocol).toBe('RTP/AVP');
    expect(m?.crypto).toBeUndefined();
  });
});

describe('answerOffer: directions and hold', () => {
  const key = `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${BARESIP_KEY_80}`;
  it.each([
    ['sendrecv', 'sendrecv'],
    ['sendonly', 'recvonly'],
    ['recvonly', 'sendonly'],
    ['inactive', 'inactive'],
  ])('offer %s → answer %s', async (offered, answered) => {
    const answer = accepted(await answerOffer(parseOffer(audioOffer('RTP/SAVP', [key, `a=${offered}`])), policy()));
    expect(answer.streams[0]?.direction).toBe(answered);
    expect(parse(answer.sdp).media[0]?.direction).toBe(answered);
  });

  it.each([
    ['sendrecv', 'recvonly'],
    ['recvonly', 'inactive'],
  ])('c=0.0.0.0 with %s → answer %s and no remote address', async (offered, answered) => {
    const answer = accepted(await answerOffer(parseOffer(audioOffer('RTP/SAVP', [key, `a=${offered}`], '0.0.0.0')), policy()));
    expect(answer.streams[0]?.direction).toBe(answered);
    expect(answer.streams[0]?.remote.address).toBeUndefined();
  });

  it('answers rtcp-mux and sends RTCP to the RTP port', async () => {
    const answer = accepted(await answerOffer(parseOffer(audioOffer('RTP/SAVP', [key, 'a=rtcp-mux'])), policy()));
    expect(answer.streams[0]).toMatchObject({ rtcpMux: true, remote: { rtpPort: 30000, rtcpPort: 30000 }, local: { rtcpPort: answer.streams[0]?.local.rtpPort } });
    expect(parse(answer.sdp).media[0]?.rtcpMux).toBe('rtcp-mux');
  });
});

describe('answerOffer: re-offers within a dialog', () => {
  it('hold then resume keeps ports and our key, and bumps the version only on change', async () => {
    const p = policy();
    const first = accepted(await answerOffer(parseOffer(BARESIP_OFFER), p));
    const hold = accepted(await answerOffer(parseOffer(BARESIP_OFFER.replace('a=sendrecv', 'a=sendonly')), p, first));
    const refresh = accepted(await answerOffer(parseOffer(BARESIP_OFFER.replace('a=sendrecv', 'a=sendonly')), p, hold));
    const resume = accepted(await answerOffer(parseOffer(BARESIP_OFFER), p, refresh));

    expect(p.allocated).toEqual(['audio']);
    expect(hold.streams[0]?.direction).toBe('recvonly');
    expect(resume.streams[0]?.direction).toBe('sendrecv');
    for (const later of [hold, refresh, resume]) {
      expect(later.session.id).toBe(first.session.id);
      expect(later.streams[0]?.local.rtpPort).toBe(first.streams[0]?.local.rtpPort);
      expect(later.streams[0]?.srtp?.localKey.equals(first.streams[0]!.srtp!.localKey)).toBe(true);
    }
    expect([first, hold, refresh, resume].map((a) => parse(a.sdp).origin.sessionVersion)).toEqual([1, 2, 2, 3]);
  });

  it('answers a new peer key with a new key of ours', async () => {
    const p = policy();
    const first = accepted(await answerOffer(parseOffer(BARESIP_OFFER), p));
    const rekeyed = BARESIP_OFFER.replace(BARESIP_KEY_80, 'ZzTtUAzZ25CPW0n+pfNuAaLgRq984VFd0aWuUj7H');
    const second = accepted(await answerOffer(parseOffer(rekeyed), p, first));
    expect(second.streams[0]?.srtp?.localKey.equals(first.streams[0]!.srtp!.localKey)).toBe(false);
    expect(second.streams[0]?.srtp?.remoteKey.toInline()).toBe('ZzTtUAzZ25CPW0n+pfNuAaLgRq984VFd0aWuUj7H');
  });
});
