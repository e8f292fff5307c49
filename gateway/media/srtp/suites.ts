import { randomBytes } from 'node:crypto';

export type SrtpSuite =
  | 'AEAD_AES_256_GCM'
  | 'AEAD_AES_128_GCM'
  | 'AES_CM_128_HMAC_SHA1_80'
  | 'AES_CM_128_HMAC_SHA1_32';

/** Strongest first: the order an offer lists them in. */
export const SRTP_SUITES: readonly SrtpSuite[] = Object.freeze([
  'AEAD_AES_256_GCM',
  'AEAD_AES_128_GCM',
  'AES_CM_128_HMAC_SHA1_80',
  'AES_CM_128_HMAC_SHA1_32',
]);

export interface SuiteParameters {
  readonly transform: 'aes-gcm' | 'aes-cm-hmac-sha1';
  /** Master and session key bytes. */
  readonly keyLength: number;
  /** Master and session salt bytes. */
  readonly saltLength: number;
  readonly rtpTagLength: number;
  readonly rtcpTagLength: number;
}

/** HMAC-SHA1 session authentication key (RFC 3711 §8.2: n_a = 160). */
export const AUTH_KEY_LENGTH = 20;

// SRTCP keeps the 80-bit tag even for _32 (RFC 4568 §6.2.1); RFC 7714 fixes the GCM tag at 16 bytes.
const PARAMETERS: Readonly<Record<SrtpSuite, SuiteParameters>> = {
  AEAD_AES_256_GCM: { transform: 'aes-gcm', keyLength: 32, saltLength: 12, rtpTagLength: 16, rtcpTagLength: 16 },
  AEAD_AES_128_GCM: { transform: 'aes-gcm', keyLength: 16, saltLength: 12, rtpTagLength: 16, rtcpTagLength: 16 },
  AES_CM_128_HMAC_SHA1_80: {
    transform: 'aes-cm-hmac-sha1',
    keyLength: 16,
    saltLength: 14,
    rtpTagLength: 10,
    rtcpTagLength: 10,
  },
  AES_CM_128_HMAC_SHA1_32: {
    transform: 'aes-cm-hmac-sha1',
    keyLength: 16,
    saltLength: 14,
    rtpTagLength: 4,
    rtcpTagLength: 10,
  },
};

/** Throws a TypeError for anything but the four supported suites (suite names often come from SDP). */
export function suiteParameters(suite: SrtpSuite): SuiteParameters {
  if (typeof suite !== 'string' || !Object.hasOwn(PARAMETERS, suite)) {
    throw new TypeError(`unsupported SRTP suite: ${String(suite).slice(0, 40)}`);
  }
  return PARAMETERS[suite];
}

/** Master key and salt sizes in bytes. */
export function srtpKeyLengths(suite: SrtpSuite): { keyLength: number; saltLength: number } {
  const { keyLength, saltLength } = suiteParameters(suite);
  return { keyLength, saltLength };
}

/** Fresh random master key and salt for one leg of one call. */
export function generateMasterKey(suite: SrtpSuite): { key: Buffer; salt: Buffer } {
  const { keyLength, saltLength } = suiteParameters(suite);
  return { key: randomBytes(keyLength), salt: randomBytes(saltLength) };
}
