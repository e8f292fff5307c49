import { AesCounterMode } from './aes-cm.js';
import { AUTH_KEY_LENGTH, type SuiteParameters } from './suites.js';

/** Session keys for one of SRTP or SRTCP. */
export interface SessionKeys {
  readonly encryptionKey: Buffer;
  readonly salt: Buffer;
  /** Empty for the AEAD suites, which authenticate with the encryption key. */
  readonly authenticationKey: Buffer;
}

// RFC 3711 §4.3.2 labels.
const RTP_ENCRYPTION = 0x00;
const RTP_AUTHENTICATION = 0x01;
const RTP_SALT = 0x02;
const RTCP_ENCRYPTION = 0x03;
const RTCP_AUTHENTICATION = 0x04;
const RTCP_SALT = 0x05;

/**
 * RFC 3711 §4.3 key derivation with key derivation rate 0 (r = 0): the AES-CM PRF keyed with
 * the master key, IV = (label·2^48 XOR master salt)·2^16. A 12-byte GCM master salt is
 * zero-padded to 14 bytes, as libsrtp does and RFC 7714 §11 implies.
 */
function derive(prf: AesCounterMode, masterSalt: Buffer, label: number, length: number): Buffer {
  const iv = Buffer.alloc(16);
  masterSalt.copy(iv, 0, 0, 14);
  iv[7] = iv[7]! ^ label;
  return Buffer.from(prf.keystream(iv, length));
}

export function deriveSessionKeys(
  masterKey: Buffer,
  masterSalt: Buffer,
  suite: SuiteParameters,
): { rtp: SessionKeys; rtcp: SessionKeys } {
  const prf = new AesCounterMode(masterKey);
  const authLength = suite.transform === 'aes-gcm' ? 0 : AUTH_KEY_LENGTH;
  return {
    rtp: {
      encryptionKey: derive(prf, masterSalt, RTP_ENCRYPTION, suite.keyLength),
      authenticationKey: derive(prf, masterSalt, RTP_AUTHENTICATION, authLength),
      salt: derive(prf, masterSalt, RTP_SALT, suite.saltLength),
    },
    rtcp: {
      encryptionKey: derive(prf, masterSalt, RTCP_ENCRYPTION, suite.keyLength),
      authenticationKey: derive(prf, masterSalt, RTCP_AUTHENTICATION, authLength),
      salt: derive(prf, masterSalt, RTCP_SALT, suite.saltLength),
    },
  };
}
