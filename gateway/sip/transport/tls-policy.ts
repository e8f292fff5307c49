import { constants as cryptoConstants } from 'node:crypto';
import { isIP } from 'node:net';
import type { ConnectionOptions, TLSSocket, TlsOptions } from 'node:tls';

/**
 * The gateway's one TLS policy, for listeners and outbound connections alike: TLS 1.2 and 1.3
 * only, forward secrecy and AEAD only, no renegotiation.
 */
export const TLS_MIN_VERSION = 'TLSv1.2';
export const TLS_MAX_VERSION = 'TLSv1.3';

/** TLS 1.2: ECDHE key exchange with an AEAD cipher, strongest-first for honorCipherOrder. */
export const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
] as const;

/**
 * TLS 1.3 suites are all AEAD with (EC)DHE. Listed explicitly because Node takes TLS 1.3 suites
 * from the same `ciphers` string: leaving them out would switch TLS 1.3 off.
 */
export const TLS13_CIPHERSUITES = [
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'TLS_AES_128_GCM_SHA256',
] as const;

/** A peer that opens TCP and never finishes the handshake is dropped after this long. */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

const CIPHERS = [...TLS13_CIPHERSUITES, ...TLS12_CIPHERS].join(':');

export type TlsVersionLabel = 'TLSv1.2' | 'TLSv1.3' | 'unknown';

/** PEM strings or buffers, as node:tls takes them. */
type Pem = string | Buffer | (string | Buffer)[];

export interface TlsListenerConfig {
  key: Pem;
  cert: Pem;
  /** CA certificates that client certificates must chain to. */
  ca?: Pem;
  /** Demand a client certificate that verifies against `ca`; the handshake fails without one. */
  requestClientCert: boolean;
}

export interface TlsClientConfig {
  /** Verify the peer's certificate and name (default true). */
  rejectUnauthorized?: boolean;
  /** Trusted CAs for peer certificates; the system store when absent. */
  ca?: Pem;
  /** The gateway's own certificate, for peers that demand one (mutual TLS trunks). */
  key?: Pem;
  cert?: Pem;
}

const COMMON = {
  minVersion: TLS_MIN_VERSION,
  maxVersion: TLS_MAX_VERSION,
  ciphers: CIPHERS,
  // Renegotiation only ever served attacks (CVE-2009-3555, client-initiated DoS); TLS 1.3 has none.
  secureOptions: cryptoConstants.SSL_OP_NO_RENEGOTIATION,
} as const;

export function serverTlsOptions(config: TlsListenerConfig): TlsOptions {
  return {
    ...COMMON,
    key: config.key,
    cert: config.cert,
    ...(config.ca !== undefined ? { ca: config.ca } : {}),
    honorCipherOrder: true,
    requestCert: config.requestClientCert,
    rejectUnauthorized: config.requestClientCert,
    handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS,
  };
}

export function clientTlsOptions(config: TlsClientConfig, host: string, port: number): ConnectionOptions {
  return {
    ...COMMON,
    host,
    port,
    // SNI carries host names only (RFC 6066 §3).
    ...(isIP(host) === 0 ? { servername: host } : {}),
    rejectUnauthorized: config.rejectUnauthorized ?? true,
    ...(config.ca !== undefined ? { ca: config.ca } : {}),
    ...(config.key !== undefined ? { key: config.key } : {}),
    ...(config.cert !== undefined ? { cert: config.cert } : {}),
  };
}

/** The negotiated protocol as a bounded metric label. */
export function tlsVersionLabel(socket: TLSSocket): TlsVersionLabel {
  const version = socket.getProtocol();
  return version === 'TLSv1.2' || version === 'TLSv1.3' ? version : 'unknown';
}
