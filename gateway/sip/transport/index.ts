export { SipTransportLayer } from './transport-layer.js';
export type {
  BoundPorts,
  ConnectionEvent,
  ListenConfig,
  ParseErrorEvent,
  TlsHandshakeEvent,
  TrafficEvent,
  TransportEvents,
  TransportLayerOptions,
} from './transport-layer.js';
export {
  TLS12_CIPHERS,
  TLS13_CIPHERSUITES,
  TLS_HANDSHAKE_TIMEOUT_MS,
  TLS_MAX_VERSION,
  TLS_MIN_VERSION,
  clientTlsOptions,
  serverTlsOptions,
} from './tls-policy.js';
export type { TlsClientConfig, TlsListenerConfig, TlsVersionLabel } from './tls-policy.js';
export type * from './types.js';
