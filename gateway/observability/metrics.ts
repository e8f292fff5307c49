import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { labelledCounter, labelledGauge } from './labelled-metric.js';

// The metrics catalogue: every metric sipgw exports, with the complete set of values each label
// may take. The README and deploy/grafana use exactly these names.

export const TRANSPORTS = ['udp', 'tcp', 'tls'] as const;
export const DIRECTIONS = ['in', 'out'] as const;
export const MESSAGE_KINDS = ['request', 'response'] as const;
export const TRANSACTION_ROLES = ['client', 'server'] as const;
export const TRANSACTION_OUTCOMES = ['completed', 'timeout', 'transport_error'] as const;
export const TLS_RESULTS = ['ok', 'failed'] as const;
export const TLS_VERSIONS = ['TLSv1.2', 'TLSv1.3', 'unknown'] as const;
export const ORIGINS = ['sip', 'pstn', 'webrtc', 'h323'] as const;
export const CALL_OUTCOMES = [
  'answered',
  'rejected_no_srtp',
  'challenged',
  'forbidden',
  'not_found',
  'cancelled',
  'failed',
  'busy',
  'overload',
] as const;
export const MEDIA_ENCRYPTIONS = ['dtls-srtp', 'sdes-srtp', 'h235', 'none'] as const;
export const DTMF_METHODS = ['rfc4733', 'info'] as const;
export const PIN_RESULTS = ['ok', 'wrong', 'locked'] as const;
export const LOCKOUT_SCOPES = ['source', 'meeting'] as const;
export const MEDIA_KINDS = ['audio', 'video'] as const;
export const CODEC_OPERATIONS = ['decode', 'encode'] as const;

export type TransportLabel = (typeof TRANSPORTS)[number];
export type DirectionLabel = (typeof DIRECTIONS)[number];
export type MessageKindLabel = (typeof MESSAGE_KINDS)[number];
export type TransactionRoleLabel = (typeof TRANSACTION_ROLES)[number];
export type TransactionOutcomeLabel = (typeof TRANSACTION_OUTCOMES)[number];
export type TlsResultLabel = (typeof TLS_RESULTS)[number];
export type TlsVersionLabel = (typeof TLS_VERSIONS)[number];
export type OriginLabel = (typeof ORIGINS)[number];
export type CallOutcomeLabel = (typeof CALL_OUTCOMES)[number];
export type MediaEncryptionLabel = (typeof MEDIA_ENCRYPTIONS)[number];
export type MediaKindLabel = (typeof MEDIA_KINDS)[number];
export type CodecOperationLabel = (typeof CODEC_OPERATIONS)[number];

/** Maps what `tls.TLSSocket.getProtocol()` returns onto the bounded `version` label. */
export function tlsVersionLabel(protocol: string | null | undefined): TlsVersionLabel {
  return protocol === 'TLSv1.2' || protocol === 'TLSv1.3' ? protocol : 'unknown';
}

export interface MetricsOptions {
  /** sipgw version for `sipgw_build_info`; defaults to the version in package.json. */
  version?: string;
}

export type Metrics = ReturnType<typeof createMetrics>;

/** A fresh registry with the whole catalogue, so several gateways can run in one process. */
export function createMetrics(options: MetricsOptions = {}) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'sipgw_' });

  const buildInfo = new Gauge({
    name: 'sipgw_build_info',
    help: 'Always 1; labels carry the sipgw and Node.js versions of the running process.',
    labelNames: ['version', 'node_version'],
    registers: [registry],
  });
  buildInfo.set({ version: options.version ?? packageVersion(), node_version: process.version }, 1);

  const mixerCodecSeconds = new Histogram<'operation'>({
    name: 'sipgw_mixer_codec_seconds',
    help: 'Time to decode one received audio packet into the mix, or to encode one mixed frame for one receiver.',
    labelNames: ['operation'],
    buckets: [0.00002, 0.00005, 0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005],
    registers: [registry],
  });
  for (const operation of CODEC_OPERATIONS) mixerCodecSeconds.zero({ operation });

  return {
    registry,
    sipMessages: labelledCounter({
      registry,
      name: 'sipgw_sip_messages_total',
      help: 'SIP messages received (in) or sent (out), by transport and request/response.',
      labels: { transport: TRANSPORTS, direction: DIRECTIONS, kind: MESSAGE_KINDS },
    }),
    sipParseErrors: labelledCounter({
      registry,
      name: 'sipgw_sip_parse_errors_total',
      help: 'Received SIP messages that could not be parsed, by transport.',
      labels: { transport: TRANSPORTS },
    }),
    sipTransactions: labelledCounter({
      registry,
      name: 'sipgw_sip_transactions_total',
      help: 'SIP transactions that ended, by client/server role and how they ended.',
      labels: { role: TRANSACTION_ROLES, outcome: TRANSACTION_OUTCOMES },
    }),
    tlsHandshakes: labelledCounter({
      registry,
      name: 'sipgw_tls_handshakes_total',
      help: 'TLS handshakes on the SIP-TLS listener and outbound connections, by result and negotiated version.',
      labels: { result: TLS_RESULTS, version: TLS_VERSIONS },
    }),
    calls: labelledCounter({
      registry,
      name: 'sipgw_calls_total',
      help: 'Calls that ended setup, by where the caller came from and the outcome of the attempt.',
      labels: { origin: ORIGINS, outcome: CALL_OUTCOMES },
    }),
    legsActive: labelledGauge({
      registry,
      name: 'sipgw_legs_active',
      help: 'Call legs currently connected, by origin and media encryption.',
      labels: { origin: ORIGINS, media: MEDIA_ENCRYPTIONS },
    }),
    srtpAuthFailures: labelledCounter({
      registry,
      name: 'sipgw_srtp_auth_failures_total',
      help: 'Received SRTP/SRTCP packets dropped because authentication failed, by leg origin.',
      labels: { origin: ORIGINS },
    }),
    srtpReplayDrops: labelledCounter({
      registry,
      name: 'sipgw_srtp_replay_drops_total',
      help: 'Received SRTP/SRTCP packets dropped as replays, by leg origin.',
      labels: { origin: ORIGINS },
    }),
    rtpPackets: labelledCounter({
      registry,
      name: 'sipgw_rtp_packets_total',
      help: 'RTP packets received (in) or sent (out) on call legs, by leg origin.',
      labels: { direction: DIRECTIONS, origin: ORIGINS },
    }),
    mediaTimeouts: labelledCounter({
      registry,
      name: 'sipgw_media_timeouts_total',
      help: 'Call legs torn down because no media arrived within media.timeoutS, by leg origin.',
      labels: { origin: ORIGINS },
    }),
    meetingsActive: labelledGauge({
      registry,
      name: 'sipgw_meetings_active',
      help: 'Meetings with at least one participant.',
      labels: {},
    }),
    policyRefusals: labelledCounter({
      registry,
      name: 'sipgw_policy_refusals_total',
      help: 'Legs refused because their media is not encrypted and the meeting\'s policy is require, by origin.',
      labels: { origin: ORIGINS },
    }),
    dtmfDigits: labelledCounter({
      registry,
      name: 'sipgw_dtmf_digits_total',
      help: 'DTMF digits received, by method (RFC 4733 telephone-event or SIP INFO); the digits themselves are never recorded.',
      labels: { method: DTMF_METHODS },
    }),
    pinAttempts: labelledCounter({
      registry,
      name: 'sipgw_pin_attempts_total',
      help: 'Meeting PIN attempts by result; locked means refused unchecked during a lockout.',
      labels: { result: PIN_RESULTS },
    }),
    pinLockouts: labelledCounter({
      registry,
      name: 'sipgw_pin_lockouts_total',
      help: 'PIN lockouts started, by scope: one source address, or one meeting.',
      labels: { scope: LOCKOUT_SCOPES },
    }),
    meetingsUnencrypted: labelledGauge({
      registry,
      name: 'sipgw_meetings_with_unencrypted_legs',
      help: 'Live meetings in which at least one participant\'s media is not encrypted (a phone, or a trunk without SRTP).',
      labels: {},
    }),
    participants: labelledGauge({
      registry,
      name: 'sipgw_meeting_participants',
      help: 'Participants currently in a meeting, by origin.',
      labels: { origin: ORIGINS },
    }),
    mediaForwarded: labelledCounter({
      registry,
      name: 'sipgw_media_packets_forwarded_total',
      help: 'RTP packets the meeting fabric forwarded to a participant without decoding (SFU and speaker video), by media kind.',
      labels: { kind: MEDIA_KINDS },
    }),
    mixerFrames: labelledCounter({
      registry,
      name: 'sipgw_mixer_frames_total',
      help: 'Audio frames (20 ms) mixed for participants that receive a mix (room systems, phones).',
      labels: {},
    }),
    mixerCodecSeconds,
    keyframeRequests: labelledCounter({
      registry,
      name: 'sipgw_keyframe_requests_total',
      help: 'Keyframe requests (RTCP PLI) the gateway sent to video senders, after merging receivers\' requests.',
      labels: {},
    }),
  };
}

/** Walks up from this module (source or dist) to sipgw's package.json. */
function packageVersion(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 5; depth++) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'sipgw' && pkg.version) return pkg.version;
    }
    dir = path.dirname(dir);
  }
  return 'unknown';
}
