import type { TransportProtocol, TlsInfo } from '../sip/index.js';
import type { SrtpSuite } from '../media/index.js';
import type { AuditRecord, EncryptedLabel, SrtpSuiteLabel } from '../observability/index.js';

export type LegOrigin = 'webrtc' | 'sip' | 'pstn' | 'h323';
export type SignallingSecurity = 'tls1.3' | 'tls1.2' | 'tcp' | 'udp' | 'wss' | 'ws';
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

const ORIGIN_WORDS: Record<LegOrigin, string> = {
  sip: 'Room system',
  h323: 'Room system (H.323)',
  pstn: 'Phone',
  webrtc: 'Browser',
};

const SIGNALLING_WORDS: Record<SignallingSecurity, string> = {
  'tls1.3': 'TLS 1.3',
  'tls1.2': 'TLS 1.2',
  tcp: 'TCP',
  udp: 'UDP',
  wss: 'secure WebSocket',
  ws: 'WebSocket',
};

/**
 * The label in words, as participants read it in the roster, e.g. "Room system · SIP over TLS 1.3 ·
 * SRTP AEAD_AES_256_GCM" or "Phone · not encrypted". The suite is shown by its registered name,
 * which is what an auditor looks up.
 */
export function describeLabel(label: SecurityLabel): string {
  const parts = [ORIGIN_WORDS[label.origin]];
  if (label.origin === 'webrtc') parts.push(`WebRTC over ${SIGNALLING_WORDS[label.signalling]}`);
  else if (label.origin !== 'pstn' || label.encrypted) parts.push(`${label.origin === 'h323' ? 'H.323' : 'SIP'} over ${SIGNALLING_WORDS[label.signalling]}`);
  if (label.media === 'dtls-srtp') parts.push(label.suite ? `DTLS-SRTP ${label.suite}` : 'DTLS-SRTP');
  else if (label.media === 'sdes-srtp' && label.encrypted) parts.push(`SRTP ${label.suite ?? ''}`.trim());
  else if (label.media === 'h235' && label.encrypted) parts.push('H.235');
  if (!label.encrypted) parts.push('not encrypted');
  return parts.join(' · ');
}

/** The label as the audit log keeps it: the facts and the words participants were shown. */
export function auditLabel(label: SecurityLabel): NonNullable<AuditRecord['label']> {
  const { signalling, media, suite, encrypted } = label;
  return { signalling, media, suite, encrypted, description: describeLabel(label) };
}

/** The label as `sipgw_legs_active` counts it; a DTLS-SRTP transport that does not name its profile gives `unknown`. */
export function legMetricLabels(label: SecurityLabel): { origin: LegOrigin; media: MediaSecurity; suite: SrtpSuiteLabel; encrypted: EncryptedLabel } {
  const suite = label.suite ?? (label.media === 'none' ? 'none' : 'unknown');
  return { origin: label.origin, media: label.media, suite, encrypted: label.encrypted ? 'true' : 'false' };
}

/** A peer's User-Agent as it may be stored: printable ASCII, bounded. */
export function printableAgent(value: string | undefined): string | undefined {
  return value?.replace(/[^\x20-\x7e]/g, '').slice(0, 128) || undefined;
}

/** Seconds since `startedAt` (ms), to a tenth, as the audit log keeps durations. */
export function durationSince(startedAt: number): number {
  return Math.round((Date.now() - startedAt) / 100) / 10;
}
