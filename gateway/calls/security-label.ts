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
