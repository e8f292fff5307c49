// The metrics catalogue: every metric sipgw exports, with the complete set of values each label may
// take. createMetrics() builds the registry from it, the README's table is generated from it
// (`npm run metrics-table`), and deploy/grafana and deploy/prometheus use only its names.

export const TRANSPORTS = ['udp', 'tcp', 'tls'] as const;
export const DIRECTIONS = ['in', 'out'] as const;
export const SIP_METHODS = ['INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'INFO', 'UPDATE', 'REGISTER', 'other'] as const;
export const RESPONSE_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx', '6xx'] as const;
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
  'draining',
] as const;
export const MEDIA_ENCRYPTIONS = ['dtls-srtp', 'sdes-srtp', 'h235', 'none'] as const;
/** The security label's verdict: SDES keys that crossed clear signalling make SRTP media `false`. */
export const ENCRYPTED = ['true', 'false'] as const;
/** `unknown`: the transport does not report the profile it negotiated (DTLS-SRTP in libdatachannel). */
export const SRTP_SUITE_LABELS = [
  'AEAD_AES_256_GCM',
  'AEAD_AES_128_GCM',
  'AES_CM_128_HMAC_SHA1_80',
  'AES_CM_128_HMAC_SHA1_32',
  'none',
  'unknown',
] as const;
export const DTMF_METHODS = ['rfc4733', 'info'] as const;
export const PIN_RESULTS = ['ok', 'wrong', 'locked'] as const;
export const LOCKOUT_SCOPES = ['source', 'meeting'] as const;
export const MEDIA_KINDS = ['audio', 'video'] as const;
export const CODEC_OPERATIONS = ['decode', 'encode'] as const;
export const CERTIFICATE_ROLES = ['server', 'intermediate', 'client_ca'] as const;
export const AUDIT_EVENTS = ['leg-ended', 'call-refused'] as const;

export type TransportLabel = (typeof TRANSPORTS)[number];
export type DirectionLabel = (typeof DIRECTIONS)[number];
export type SipMethodLabel = (typeof SIP_METHODS)[number];
export type ResponseClassLabel = (typeof RESPONSE_CLASSES)[number];
export type TransactionRoleLabel = (typeof TRANSACTION_ROLES)[number];
export type TransactionOutcomeLabel = (typeof TRANSACTION_OUTCOMES)[number];
export type TlsResultLabel = (typeof TLS_RESULTS)[number];
export type TlsVersionLabel = (typeof TLS_VERSIONS)[number];
export type OriginLabel = (typeof ORIGINS)[number];
export type CallOutcomeLabel = (typeof CALL_OUTCOMES)[number];
export type MediaEncryptionLabel = (typeof MEDIA_ENCRYPTIONS)[number];
export type SrtpSuiteLabel = (typeof SRTP_SUITE_LABELS)[number];
export type EncryptedLabel = (typeof ENCRYPTED)[number];
export type MediaKindLabel = (typeof MEDIA_KINDS)[number];
export type CodecOperationLabel = (typeof CODEC_OPERATIONS)[number];
export type CertificateRoleLabel = (typeof CERTIFICATE_ROLES)[number];

/** Each label name with the complete list of values it may take (empty: a version string, build info only). */
export type LabelSpec = Readonly<Record<string, readonly string[]>>;

export interface MetricDefinition {
  name: string;
  type: 'counter' | 'gauge' | 'histogram';
  help: string;
  labels: LabelSpec;
  /** Histograms only: upper bounds in the metric's unit. */
  buckets?: readonly number[];
  /**
   * `true`: a series appears only once it has a value. For gauges where 0 would be a lie, such as a
   * certificate expiry timestamp for a certificate that is not configured.
   */
  sparse?: boolean;
}

const SETUP_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const LOSS_BUCKETS = [0, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1];
const JITTER_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25];
const ROUND_TRIP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** The metrics sipgw records itself, by the member name createMetrics() gives each. */
export const CATALOGUE = {
  calls: {
    name: 'sipgw_calls_total',
    type: 'counter',
    help: 'Call attempts that ended set-up, by where the caller came from and the outcome.',
    labels: { origin: ORIGINS, outcome: CALL_OUTCOMES },
  },
  callSetupSeconds: {
    name: 'sipgw_call_setup_seconds',
    type: 'histogram',
    help: 'Time from a call\'s first request (INVITE, browser join) to its answer, for answered calls, by origin.',
    labels: { origin: ORIGINS },
    buckets: SETUP_BUCKETS,
  },
  legsActive: {
    name: 'sipgw_legs_active',
    type: 'gauge',
    help: 'Call legs connected now, by origin, media encryption, SRTP suite, and whether the leg counts as encrypted (SDES keys sent over clear signalling do not).',
    labels: { origin: ORIGINS, media: MEDIA_ENCRYPTIONS, suite: SRTP_SUITE_LABELS, encrypted: ENCRYPTED },
  },
  meetingsActive: {
    name: 'sipgw_meetings_active',
    type: 'gauge',
    help: 'Meetings with at least one participant.',
    labels: {},
  },
  meetingsUnencrypted: {
    name: 'sipgw_meetings_with_unencrypted_legs',
    type: 'gauge',
    help: 'Live meetings in which at least one participant\'s media is not encrypted (a phone, or a trunk without SRTP).',
    labels: {},
  },
  unencryptedInRequire: {
    name: 'sipgw_unencrypted_legs_in_require_meetings',
    type: 'gauge',
    help: 'Participants whose media is not encrypted in meetings whose policy is require; read from the meetings at each scrape, and never above 0 unless something is wrong.',
    labels: {},
  },
  participants: {
    name: 'sipgw_meeting_participants',
    type: 'gauge',
    help: 'Participants in meetings now, by origin.',
    labels: { origin: ORIGINS },
  },
  sipRequests: {
    name: 'sipgw_sip_requests_total',
    type: 'counter',
    help: 'SIP requests received (in) or sent (out), by transport and method.',
    labels: { transport: TRANSPORTS, direction: DIRECTIONS, method: SIP_METHODS },
  },
  sipResponses: {
    name: 'sipgw_sip_responses_total',
    type: 'counter',
    help: 'SIP responses received (in) or sent (out), by transport and status class.',
    labels: { transport: TRANSPORTS, direction: DIRECTIONS, class: RESPONSE_CLASSES },
  },
  sipParseErrors: {
    name: 'sipgw_sip_parse_errors_total',
    type: 'counter',
    help: 'Received SIP messages that could not be parsed (answered 400 where possible), by transport.',
    labels: { transport: TRANSPORTS },
  },
  sipTransactions: {
    name: 'sipgw_sip_transactions_total',
    type: 'counter',
    help: 'SIP transactions that ended, by client/server role and how: completed, timeout (Timer B/F/H), transport_error.',
    labels: { role: TRANSACTION_ROLES, outcome: TRANSACTION_OUTCOMES },
  },
  tlsHandshakes: {
    name: 'sipgw_tls_handshakes_total',
    type: 'counter',
    help: 'TLS handshakes on the SIP-TLS listener and outbound connections, by result and negotiated version.',
    labels: { result: TLS_RESULTS, version: TLS_VERSIONS },
  },
  srtpAuthFailures: {
    name: 'sipgw_srtp_auth_failures_total',
    type: 'counter',
    help: 'Received SRTP/SRTCP packets dropped because authentication failed, by leg origin.',
    labels: { origin: ORIGINS },
  },
  srtpReplayDrops: {
    name: 'sipgw_srtp_replay_drops_total',
    type: 'counter',
    help: 'Received SRTP/SRTCP packets dropped as replays, by leg origin.',
    labels: { origin: ORIGINS },
  },
  rtpPackets: {
    name: 'sipgw_rtp_packets_total',
    type: 'counter',
    help: 'RTP packets received (in: authenticated SRTP or plain RTP from the latched source on SIP legs, from the verified DTLS peer on browser legs) or sent (out) on call legs, by leg origin.',
    labels: { direction: DIRECTIONS, origin: ORIGINS },
  },
  rtpBytes: {
    name: 'sipgw_rtp_bytes_total',
    type: 'counter',
    help: 'Bytes of those RTP packets, UDP/IP headers not included: as on the wire on SIP legs (SRTP tag included), before SRTP on browser legs, by direction and leg origin.',
    labels: { direction: DIRECTIONS, origin: ORIGINS },
  },
  rtcpLossRatio: {
    name: 'sipgw_rtcp_packet_loss_ratio',
    type: 'histogram',
    help: 'Fraction of the gateway\'s packets lost on the way to the peer, from each RTCP report block the peer sends, by leg origin.',
    labels: { origin: ORIGINS },
    buckets: LOSS_BUCKETS,
  },
  rtcpJitterSeconds: {
    name: 'sipgw_rtcp_jitter_seconds',
    type: 'histogram',
    help: 'Interarrival jitter of the gateway\'s packets as the peer reports it over RTCP, by leg origin.',
    labels: { origin: ORIGINS },
    buckets: JITTER_BUCKETS,
  },
  rtcpRoundTripSeconds: {
    name: 'sipgw_rtcp_round_trip_seconds',
    type: 'histogram',
    help: 'Round-trip time from the peer\'s RTCP reports on the gateway\'s sender reports, by leg origin; none yet for browser legs (they get no sender reports).',
    labels: { origin: ORIGINS },
    buckets: ROUND_TRIP_BUCKETS,
  },
  mediaTimeouts: {
    name: 'sipgw_media_timeouts_total',
    type: 'counter',
    help: 'Call legs ended with BYE because no media arrived within media.timeoutS, by leg origin.',
    labels: { origin: ORIGINS },
  },
  policyRefusals: {
    name: 'sipgw_policy_refusals_total',
    type: 'counter',
    help: 'Legs refused because their media is not encrypted and the meeting\'s policy is require, by origin.',
    labels: { origin: ORIGINS },
  },
  dtmfDigits: {
    name: 'sipgw_dtmf_digits_total',
    type: 'counter',
    help: 'DTMF digits received, by method (RFC 4733 telephone-event or SIP INFO); the digits themselves are never recorded.',
    labels: { method: DTMF_METHODS },
  },
  pinAttempts: {
    name: 'sipgw_pin_attempts_total',
    type: 'counter',
    help: 'Meeting PIN attempts from phones and browsers, by result; locked means refused unchecked during a lockout.',
    labels: { result: PIN_RESULTS },
  },
  pinLockouts: {
    name: 'sipgw_pin_lockouts_total',
    type: 'counter',
    help: 'PIN lockouts started, by scope: one source (address, or trunk and caller), or one meeting.',
    labels: { scope: LOCKOUT_SCOPES },
  },
  certificateExpiry: {
    name: 'sipgw_certificate_expiry_timestamp_seconds',
    type: 'gauge',
    help: 'When a configured certificate expires (Unix time), by role: the SIP-TLS server certificate, the earliest-expiring intermediate of its chain, the earliest-expiring client CA.',
    labels: { role: CERTIFICATE_ROLES },
    sparse: true,
  },
  draining: {
    name: 'sipgw_draining',
    type: 'gauge',
    help: '1 while the gateway drains after SIGTERM (new calls refused with 503, existing calls continue), else 0.',
    labels: {},
  },
  auditRecords: {
    name: 'sipgw_audit_records_total',
    type: 'counter',
    help: 'Records written to the audit log, by event.',
    labels: { event: AUDIT_EVENTS },
  },
  auditWriteErrors: {
    name: 'sipgw_audit_write_errors_total',
    type: 'counter',
    help: 'Audit log failures: a record not written (disk full, directory gone), or a rotation or clean-up that failed; each is also logged.',
    labels: {},
  },
  mediaForwarded: {
    name: 'sipgw_media_packets_forwarded_total',
    type: 'counter',
    help: 'RTP packets the meeting fabric forwarded to a participant without decoding (SFU and speaker video), by media kind.',
    labels: { kind: MEDIA_KINDS },
  },
  mixerFrames: {
    name: 'sipgw_mixer_frames_total',
    type: 'counter',
    help: 'Audio frames (20 ms) mixed for participants that receive a mix (room systems, phones).',
    labels: {},
  },
  mixerCodecSeconds: {
    name: 'sipgw_mixer_codec_seconds',
    type: 'histogram',
    help: 'Time to decode one received audio packet into the mix, or to encode one mixed frame for one receiver.',
    labels: { operation: CODEC_OPERATIONS },
    buckets: [0.00002, 0.00005, 0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005],
  },
  keyframeRequests: {
    name: 'sipgw_keyframe_requests_total',
    type: 'counter',
    help: 'Keyframe requests (RTCP PLI) the gateway sent to video senders, after merging receivers\' requests.',
    labels: {},
  },
} as const satisfies Record<string, MetricDefinition>;

/** `sipgw_build_info`: its labels carry versions, so they list no values; one series per process. */
export const BUILD_INFO = {
  name: 'sipgw_build_info',
  type: 'gauge',
  help: 'Always 1; labels carry the sipgw and Node.js versions of the running process.',
  labels: { version: [], node_version: [] },
} as const satisfies MetricDefinition;

/**
 * prom-client's default process metrics, exported with the sipgw_ prefix; their label values are
 * prom-client's (GC kinds, heap spaces, handle types), so they are not listed. Listed so the README and the dashboard test know them; a unit test checks this list against
 * what prom-client exports.
 */
export const PROCESS_METRICS: readonly (Omit<MetricDefinition, 'labels'> & { labels?: LabelSpec })[] = [
  { name: 'sipgw_process_cpu_user_seconds_total', type: 'counter', help: 'User CPU time spent.' },
  { name: 'sipgw_process_cpu_system_seconds_total', type: 'counter', help: 'System CPU time spent.' },
  { name: 'sipgw_process_cpu_seconds_total', type: 'counter', help: 'User and system CPU time spent.' },
  { name: 'sipgw_process_start_time_seconds', type: 'gauge', help: 'Start time of the process (Unix time).' },
  { name: 'sipgw_process_resident_memory_bytes', type: 'gauge', help: 'Resident memory size.' },
  { name: 'sipgw_process_virtual_memory_bytes', type: 'gauge', help: 'Virtual memory size.' },
  { name: 'sipgw_process_heap_bytes', type: 'gauge', help: 'Process heap size.' },
  { name: 'sipgw_process_open_fds', type: 'gauge', help: 'Open file descriptors.' },
  { name: 'sipgw_process_max_fds', type: 'gauge', help: 'Maximum number of open file descriptors.' },
  { name: 'sipgw_nodejs_eventloop_lag_seconds', type: 'gauge', help: 'Event-loop lag, sampled.' },
  { name: 'sipgw_nodejs_eventloop_lag_min_seconds', type: 'gauge', help: 'Smallest event-loop lag recorded.' },
  { name: 'sipgw_nodejs_eventloop_lag_max_seconds', type: 'gauge', help: 'Largest event-loop lag recorded.' },
  { name: 'sipgw_nodejs_eventloop_lag_mean_seconds', type: 'gauge', help: 'Mean event-loop lag.' },
  { name: 'sipgw_nodejs_eventloop_lag_stddev_seconds', type: 'gauge', help: 'Standard deviation of event-loop lag.' },
  { name: 'sipgw_nodejs_eventloop_lag_p50_seconds', type: 'gauge', help: 'Median event-loop lag.' },
  { name: 'sipgw_nodejs_eventloop_lag_p90_seconds', type: 'gauge', help: '90th percentile of event-loop lag.' },
  { name: 'sipgw_nodejs_eventloop_lag_p99_seconds', type: 'gauge', help: '99th percentile of event-loop lag.' },
  { name: 'sipgw_nodejs_active_resources', type: 'gauge', help: 'Active resources keeping the event loop alive, by type (sum them for the total).', labels: { type: [] } },
  { name: 'sipgw_nodejs_active_handles', type: 'gauge', help: 'Active libuv handles, by type.', labels: { type: [] } },
  { name: 'sipgw_nodejs_active_requests', type: 'gauge', help: 'Active libuv requests, by type.', labels: { type: [] } },
  { name: 'sipgw_nodejs_heap_size_total_bytes', type: 'gauge', help: 'V8 heap size.' },
  { name: 'sipgw_nodejs_heap_size_used_bytes', type: 'gauge', help: 'V8 heap used.' },
  { name: 'sipgw_nodejs_external_memory_bytes', type: 'gauge', help: 'Memory of C++ objects bound to JavaScript objects.' },
  { name: 'sipgw_nodejs_heap_space_size_total_bytes', type: 'gauge', help: 'V8 heap space size, by space.', labels: { space: [] } },
  { name: 'sipgw_nodejs_heap_space_size_used_bytes', type: 'gauge', help: 'V8 heap space used, by space.', labels: { space: [] } },
  { name: 'sipgw_nodejs_heap_space_size_available_bytes', type: 'gauge', help: 'V8 heap space available, by space.', labels: { space: [] } },
  { name: 'sipgw_nodejs_version_info', type: 'gauge', help: 'Node.js version, in labels.', labels: { version: [], major: [], minor: [], patch: [] } },
  { name: 'sipgw_nodejs_gc_duration_seconds', type: 'histogram', help: 'Garbage collection pauses, by kind.', labels: { kind: [] } },
];

/** Every metric family /metrics serves: the recorded ones, build info, then the process metrics. */
export const METRIC_CATALOGUE: readonly MetricDefinition[] = [
  BUILD_INFO,
  ...Object.values(CATALOGUE),
  ...PROCESS_METRICS.map((metric) => ({ labels: {}, ...metric })),
];
