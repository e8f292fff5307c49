/** The answerer's side of RFC 3264 offer/answer, with SDES-SRTP (RFC 4568) enforced by policy. */
import { randomInt } from 'node:crypto';
import { isIPv6 } from 'node:net';
import { write, type MediaDescription, type SessionDescription } from 'sdp-transform';
import { chooseCodec, chooseTelephoneEvent, type Codec, type CodecSpec } from './codecs.js';
import { isHoldAddress, type Direction, type OfferedMedia, type SessionOffer } from './offer.js';
import { chooseCrypto, SrtpMasterKey, type ChosenCrypto } from './sdes.js';
import type { SrtpSuite } from '../media/srtp/index.js';

export type MediaKind = 'audio' | 'video';

export interface AnswerPolicy {
  /**
   * Accept plain RTP/AVP streams (legs from trusted trunks). When false, only SDES-SRTP
   * streams are accepted and an offer without one is refused with 488 "SRTP required".
   */
  allowPlainRtp: boolean;
  /** The address written into c= and o=, where we receive media. */
  localAddress: string;
  /** Codecs we handle, most preferred first. */
  audioCodecs: readonly CodecSpec[];
  videoCodecs: readonly CodecSpec[];
  /**
   * Our RTP port for an accepted stream (RTCP is the next port unless muxed). Called only
   * after the offer is known to be acceptable, and not for streams kept from `previous`.
   */
  rtpPort: (kind: MediaKind, index: number) => number | Promise<number>;
}

export interface StreamSrtp {
  suite: SrtpSuite;
  /** The a=crypto tag, the same in offer and answer. */
  tag: number;
  /** The peer's key: decrypts what the peer sends. */
  remoteKey: SrtpMasterKey;
  /** Our key, fresh per leg: encrypts what we send. */
  localKey: SrtpMasterKey;
  /** Key lifetime in packets, when the peer limited it. */
  remoteLifetime?: number;
}

export interface AnsweredStream {
  index: number;
  kind: MediaKind;
  protocol: string;
  codec: Codec;
  telephoneEvent?: Codec;
  /** Our direction, as written in the answer. */
  direction: Direction;
  /** Where to send; address is absent while the peer holds with c=0.0.0.0. */
  remote: { address?: string; rtpPort: number; rtcpAddress?: string; rtcpPort: number };
  local: { address: string; rtpPort: number; rtcpPort: number };
  rtcpMux: boolean;
  ptime?: number;
  /** Absent on a plain RTP stream. */
  srtp?: StreamSrtp;
}

export interface AcceptedAnswer {
  ok: true;
  sdp: string;
  /** Accepted streams only; an m-line answered with port 0 has no entry. */
  streams: AnsweredStream[];
  session: { id: string; version: number };
}

/** The caller answers `488 Not Acceptable Here` with `Warning: 399 <host> "<warning>"`. */
export interface RejectedAnswer {
  ok: false;
  status: 488;
  warning: string;
}

export type AnswerResult = AcceptedAnswer | RejectedAnswer;

interface StreamPlan {
  offered: OfferedMedia;
  kind: MediaKind;
  codec: Codec;
  telephoneEvent?: Codec;
  crypto?: ChosenCrypto;
}

type LineDecision = { plan: StreamPlan } | { rejected: string };

const NO_MEDIA = 'no audio or video stream offered';
const STREAM_DISABLED = 'stream disabled by offerer';

function isMediaKind(kind: string): kind is MediaKind {
  return kind === 'audio' || kind === 'video';
}

function securityDecision(m: OfferedMedia, policy: AnswerPolicy): { crypto?: ChosenCrypto } | { rejected: string } {
  switch (m.protocol) {
    case 'RTP/SAVP':
    case 'RTP/SAVPF': {
      const crypto = chooseCrypto(m.kind, m.crypto);
      if (crypto) return { crypto };
      if (m.crypto.length > 0) return { rejected: 'no acceptable SRTP suite offered' };
      return { rejected: m.dtls ? 'DTLS-SRTP not supported on SIP legs, offer SDES-SRTP' : 'SRTP offered without a=crypto key' };
    }
    case 'UDP/TLS/RTP/SAVP':
    case 'UDP/TLS/RTP/SAVPF':
      return { rejected: 'DTLS-SRTP not supported on SIP legs, offer SDES-SRTP' };
    case 'RTP/AVP':
    case 'RTP/AVPF':
      return policy.allowPlainRtp ? {} : { rejected: 'SRTP required' };
    default:
      return { rejected: `unsupported transport ${m.protocol}` };
  }
}

function decideLine(m: OfferedMedia, policy: AnswerPolicy, taken: Set<MediaKind>): LineDecision {
  const kind = m.kind;
  if (!isMediaKind(kind)) return { rejected: `unsupported media type ${kind}` };
  if (m.port === 0) return { rejected: STREAM_DISABLED };
  if (taken.has(kind)) return { rejected: `only one ${kind} stream supported` };
  const security = securityDecision(m, policy);
  if ('rejected' in security) return security;
  const codec = chooseCodec(m.codecs, kind === 'audio' ? policy.audioCodecs : policy.videoCodecs);
  if (!codec) return { rejected: `no common ${kind} codec` };
  const plan: StreamPlan = { offered: m, kind, codec };
  if (security.crypto) plan.crypto = security.crypto;
  const telephoneEvent = kind === 'audio' ? chooseTelephoneEvent(m.codecs, codec) : undefined;
  if (telephoneEvent) plan.telephoneEvent = telephoneEvent;
  return { plan };
}

/** RFC 3264 §6.1, with the old c=0.0.0.0 hold meaning "do not send to me". */
function answerDirection(m: OfferedMedia): Direction {
  const held = isHoldAddress(m.connectionAddress);
  const peerReceives = !held && (m.direction === 'sendrecv' || m.direction === 'recvonly');
  const peerSends = m.direction === 'sendrecv' || m.direction === 'sendonly';
  if (peerReceives && peerSends) return 'sendrecv';
  if (peerReceives) return 'sendonly';
  if (peerSends) return 'recvonly';
  return 'inactive';
}

function remoteOf(m: OfferedMedia): AnsweredStream['remote'] {
  const remote: AnsweredStream['remote'] = { rtpPort: m.port, rtcpPort: m.rtcpMux ? m.port : m.rtcpPort };
  if (m.connectionAddress !== undefined && !isHoldAddress(m.connectionAddress)) {
    remote.address = m.connectionAddress;
    remote.rtcpAddress = m.rtcpMux ? m.connectionAddress : (m.rtcpAddress ?? m.connectionAddress);
  }
  return remote;
}

function srtpFor(crypto: ChosenCrypto, kept: StreamSrtp | undefined): StreamSrtp {
  // RFC 4568 §7.1.4 allows a new key on every re-offer; ours stays while the peer's does.
  const unchanged = kept !== undefined && kept.suite === crypto.suite && kept.remoteKey.equals(crypto.remoteKey);
  const srtp: StreamSrtp = {
    suite: crypto.suite,
    tag: crypto.tag,
    remoteKey: crypto.remoteKey,
    localKey: unchanged ? kept.localKey : SrtpMasterKey.generate(crypto.suite),
  };
  if (crypto.lifetime !== undefined) srtp.remoteLifetime = crypto.lifetime;
  return srtp;
}

async function toStream(plan: StreamPlan, policy: AnswerPolicy, kept: AnsweredStream | undefined): Promise<AnsweredStream> {
  const m = plan.offered;
  const rtpPort = kept?.kind === plan.kind ? kept.local.rtpPort : await policy.rtpPort(plan.kind, m.index);
  const stream: AnsweredStream = {
    index: m.index,
    kind: plan.kind,
    protocol: m.protocol,
    codec: plan.codec,
    direction: answerDirection(m),
    remote: remoteOf(m),
    local: { address: policy.localAddress, rtpPort, rtcpPort: m.rtcpMux ? rtpPort : rtpPort + 1 },
    rtcpMux: m.rtcpMux,
  };
  if (plan.telephoneEvent) stream.telephoneEvent = plan.telephoneEvent;
  if (m.ptime !== undefined) stream.ptime = m.ptime;
  if (plan.crypto) stream.srtp = srtpFor(plan.crypto, kept?.kind === plan.kind ? kept.srtp : undefined);
  return stream;
}

function acceptedMediaSection(s: AnsweredStream): MediaDescription {
  const codecs = s.telephoneEvent ? [s.codec, s.telephoneEvent] : [s.codec];
  const section: MediaDescription = {
    type: s.kind,
    port: s.local.rtpPort,
    protocol: s.protocol,
    payloads: codecs.map((c) => c.payloadType).join(' '),
    rtp: codecs.map((c) => ({
      payload: c.payloadType,
      codec: c.name,
      rate: c.clockRate,
      ...(c.channels > 1 ? { encoding: c.channels } : {}),
    })),
    fmtp: codecs.flatMap((c) => (c.fmtp === undefined ? [] : [{ payload: c.payloadType, config: c.fmtp }])),
    direction: s.direction,
  };
  if (s.srtp) section.crypto = [{ id: s.srtp.tag, suite: s.srtp.suite, config: `inline:${s.srtp.localKey.toInline()}` }];
  if (s.rtcpMux) section.rtcpMux = 'rtcp-mux';
  if (s.ptime !== undefined) section.ptime = s.ptime;
  return section;
}

function rejectedMediaSection(m: OfferedMedia): MediaDescription {
  return { type: m.kind, port: 0, protocol: m.protocol, payloads: m.formats.join(' '), rtp: [], fmtp: [] };
}

function writeAnswer(
  offer: SessionOffer,
  streams: readonly AnsweredStream[],
  localAddress: string,
  session: { id: string; version: number },
): string {
  const ipVer = isIPv6(localAddress) ? 6 : 4;
  const description: SessionDescription = {
    version: 0,
    origin: { username: 'sipgw', sessionId: session.id, sessionVersion: session.version, netType: 'IN', ipVer, address: localAddress },
    name: 'sipgw',
    connection: { version: ipVer, ip: localAddress },
    timing: { start: 0, stop: 0 },
    media: offer.media.map((m) => {
      const stream = streams.find((s) => s.index === m.index);
      return stream ? acceptedMediaSection(stream) : rejectedMediaSection(m);
    }),
  };
  return write(description);
}

/**
 * Answers an offer under `policy`. Pass the previous accepted answer of the same dialog for a
 * re-offer (hold, resume, key change): the session id, local ports and, while the peer keeps
 * its key, our SRTP keys are kept; the session version goes up only when the answer changes.
 */
export async function answerOffer(offer: SessionOffer, policy: AnswerPolicy, previous?: AcceptedAnswer): Promise<AnswerResult> {
  const taken = new Set<MediaKind>();
  const decisions = offer.media.map((m) => {
    const decision = decideLine(m, policy, taken);
    if ('plan' in decision) taken.add(decision.plan.kind);
    return decision;
  });
  const plans = decisions.flatMap((d) => ('plan' in d ? [d.plan] : []));
  if (plans.length === 0) {
    const reasons = decisions.flatMap((d, i) =>
      'rejected' in d && isMediaKind(offer.media[i]?.kind ?? '') && d.rejected !== STREAM_DISABLED ? [d.rejected] : [],
    );
    return { ok: false, status: 488, warning: reasons[0] ?? NO_MEDIA };
  }

  const streams: AnsweredStream[] = [];
  for (const plan of plans) {
    const kept = previous?.streams.find((s) => s.index === plan.offered.index);
    streams.push(await toStream(plan, policy, kept));
  }

  const id = previous?.session.id ?? String(randomInt(1, 2 ** 47));
  const unchanged = { id, version: previous?.session.version ?? 1 };
  const sdp = writeAnswer(offer, streams, policy.localAddress, unchanged);
  // RFC 3264 §8: an identical answer keeps its version; a changed one increments it.
  if (!previous || sdp === previous.sdp) return { ok: true, sdp, streams, session: unchanged };
  const session = { id, version: previous.session.version + 1 };
  return { ok: true, sdp: writeAnswer(offer, streams, policy.localAddress, session), streams, session };
}
