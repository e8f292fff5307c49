import type { TransportProtocol, TlsInfo } from '../sip/index.js';
import type { SrtpSuite } from '../media/index.js';

export type LegOrigin = 'webrtc' | 'sip' | 'pstn' | 'h323';
export type SignallingSecurity = 'tls1.3' | 'tls1.2' | 'tcp' | 'udp' | 'wss';
export type MediaSecurity = 'dtls-srtp' | 'sdes-srtp' | 'h235' | 'none';

/**
 * How one leg is connected, computed once from facts and read by everything that shows or
 * counts security (roster, notices, audit, metrics). DESIGN.md, "Security model".
 */
export interface SecurityLabel {
  readonly origin: LegOrigin;
  readonly signalling: SignallingSecurity;
  readonly media: MediaSecurity;
  readonly suite: SrtpSuite | null;
  /** Media is encrypted between the participant and the gateway, with keys nobody on the path saw. */
  readonly encrypted: boolean;
}

export interface SipLegFacts {
  origin: Extract<LegOrigin, 'sip' | 'pstn'>;
  transport: TransportProtocol;
  tls?: TlsInfo;
  /** The SDES suite agreed for the leg's media, or null for plain RTP. */
  sdesSuite: SrtpSuite | null;
}

export function sipLegLabel(facts: SipLegFacts): SecurityLabel {
  const signalling: SignallingSecurity =
    facts.transport === 'tls' ? (facts.tls?.version === 'TLSv1.3' ? 'tls1.3' : 'tls1.2') : facts.transport;
  const media: MediaSecurity = facts.sdesSuite ? 'sdes-srtp' : 'none';
  // SDES keys travel inside SIP: over clear signalling anyone on the path holds them (DESIGN.md).
  const encrypted = media === 'sdes-srtp' && facts.transport === 'tls';
  return Object.freeze({ origin: facts.origin, signalling, media, suite: facts.sdesSuite, encrypted });
}

const SIGNALLING_TEXT: Record<SignallingSecurity, string> = {
  'tls1.3': 'SIP over TLS 1.3',
  'tls1.2': 'SIP over TLS 1.2',
  tcp: 'SIP over TCP (not encrypted)',
  udp: 'SIP over UDP (not encrypted)',
  wss: 'WebSocket over TLS',
};

const ORIGIN_TEXT: Record<LegOrigin, string> = {
  sip: 'Room system',
  pstn: 'Phone',
  webrtc: 'Browser',
  h323: 'H.323 room system',
};

/** The one-line description participants see, e.g. "Room system · SIP over TLS 1.3 · SRTP AES-256-GCM". */
export function describeLabel(label: SecurityLabel): string {
  const media = label.encrypted && label.suite ? `SRTP ${suiteText(label.suite)}` : 'not encrypted';
  return `${ORIGIN_TEXT[label.origin]} · ${SIGNALLING_TEXT[label.signalling]} · ${media}`;
}

function suiteText(suite: SrtpSuite): string {
  switch (suite) {
    case 'AEAD_AES_256_GCM':
      return 'AES-256-GCM';
    case 'AEAD_AES_128_GCM':
      return 'AES-128-GCM';
    case 'AES_CM_128_HMAC_SHA1_80':
      return 'AES-128-CM/HMAC-SHA1-80';
    case 'AES_CM_128_HMAC_SHA1_32':
      return 'AES-128-CM/HMAC-SHA1-32';
  }
}
