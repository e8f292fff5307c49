import { createCipheriv, createDecipheriv, createSecretKey, type CipherGCMTypes, type KeyObject } from 'node:crypto';
import type { SessionKeys } from './kdf.js';
import { RTCP_HEADER_LENGTH, SRTCP_E_FLAG, SRTCP_INDEX_LENGTH, type PacketCipher } from './packet-cipher.js';
import { writePacketIv } from './packet-iv.js';

const TAG_LENGTH = 16;

/**
 * AEAD_AES_128_GCM / AEAD_AES_256_GCM (RFC 7714): the RTP header (with CSRCs and extension)
 * is the associated data; SRTCP authenticates the RTCP header and the E/index word.
 * node:crypto needs a new cipher object per packet because the IV changes; that object is
 * the main per-packet cost and there is no cheaper route to GCM in node. Keying it from a
 * KeyObject made once is cheaper than from a Buffer (test/bench/srtp.ts).
 */
export class AesGcmCipher implements PacketCipher {
  readonly tagLength = TAG_LENGTH;
  readonly tagBeforeSrtcpIndex = true;
  readonly #algorithm: CipherGCMTypes;
  readonly #key: KeyObject;
  readonly #salt: Buffer;
  readonly #iv = Buffer.alloc(12);
  readonly #rtcpAad = Buffer.alloc(RTCP_HEADER_LENGTH + SRTCP_INDEX_LENGTH);

  constructor(keys: SessionKeys) {
    this.#algorithm = keys.encryptionKey.length === 32 ? 'aes-256-gcm' : 'aes-128-gcm';
    this.#key = createSecretKey(keys.encryptionKey);
    this.#salt = keys.salt;
  }

  sealRtp(rtp: Buffer, headerLength: number, ssrc: number, index: number): Buffer {
    writePacketIv(this.#iv, this.#salt, ssrc, index);
    const cipher = createCipheriv(this.#algorithm, this.#key, this.#iv, { authTagLength: TAG_LENGTH });
    cipher.setAAD(rtp.subarray(0, headerLength));
    const ciphertext = cipher.update(rtp.subarray(headerLength));
    cipher.final();
    const out = Buffer.allocUnsafe(rtp.length + TAG_LENGTH);
    rtp.copy(out, 0, 0, headerLength);
    ciphertext.copy(out, headerLength);
    cipher.getAuthTag().copy(out, rtp.length);
    return out;
  }

  openRtp(srtp: Buffer, headerLength: number, ssrc: number, index: number): Buffer | undefined {
    const tagStart = srtp.length - TAG_LENGTH;
    writePacketIv(this.#iv, this.#salt, ssrc, index);
    const plaintext = this.#open(srtp.subarray(0, headerLength), srtp.subarray(headerLength, tagStart), srtp, tagStart);
    if (plaintext === undefined) return undefined;
    const out = Buffer.allocUnsafe(tagStart);
    srtp.copy(out, 0, 0, headerLength);
    plaintext.copy(out, headerLength);
    return out;
  }

  sealRtcp(rtcp: Buffer, ssrc: number, srtcpIndex: number): Buffer {
    const word = (SRTCP_E_FLAG | srtcpIndex) >>> 0;
    writePacketIv(this.#iv, this.#salt, ssrc, srtcpIndex);
    const aad = this.#rtcpAad;
    rtcp.copy(aad, 0, 0, RTCP_HEADER_LENGTH);
    aad.writeUInt32BE(word, RTCP_HEADER_LENGTH);
    const cipher = createCipheriv(this.#algorithm, this.#key, this.#iv, { authTagLength: TAG_LENGTH });
    cipher.setAAD(aad);
    const ciphertext = cipher.update(rtcp.subarray(RTCP_HEADER_LENGTH));
    cipher.final();
    const out = Buffer.allocUnsafe(rtcp.length + TAG_LENGTH + SRTCP_INDEX_LENGTH);
    rtcp.copy(out, 0, 0, RTCP_HEADER_LENGTH);
    ciphertext.copy(out, RTCP_HEADER_LENGTH);
    cipher.getAuthTag().copy(out, rtcp.length);
    out.writeUInt32BE(word, rtcp.length + TAG_LENGTH);
    return out;
  }

  openRtcp(srtcp: Buffer, ssrc: number, srtcpIndex: number, encrypted: boolean): Buffer | undefined {
    const indexStart = srtcp.length - SRTCP_INDEX_LENGTH;
    const tagStart = indexStart - TAG_LENGTH;
    const word = srtcp.subarray(indexStart);
    writePacketIv(this.#iv, this.#salt, ssrc, srtcpIndex);
    if (!encrypted) {
      // E = 0: the whole RTCP packet is associated data and the ciphertext is empty (RFC 7714).
      const aad = Buffer.concat([srtcp.subarray(0, tagStart), word]);
      const verified = this.#open(aad, srtcp.subarray(0, 0), srtcp, tagStart);
      return verified === undefined ? undefined : Buffer.from(srtcp.subarray(0, tagStart));
    }
    const aad = this.#rtcpAad;
    srtcp.copy(aad, 0, 0, RTCP_HEADER_LENGTH);
    word.copy(aad, RTCP_HEADER_LENGTH);
    const plaintext = this.#open(aad, srtcp.subarray(RTCP_HEADER_LENGTH, tagStart), srtcp, tagStart);
    if (plaintext === undefined) return undefined;
    const out = Buffer.allocUnsafe(tagStart);
    srtcp.copy(out, 0, 0, RTCP_HEADER_LENGTH);
    plaintext.copy(out, RTCP_HEADER_LENGTH);
    return out;
  }

  /** Decrypts under the IV already written; undefined when the tag does not verify. */
  #open(aad: Buffer, ciphertext: Buffer, packet: Buffer, tagStart: number): Buffer | undefined {
    const decipher = createDecipheriv(this.#algorithm, this.#key, this.#iv, { authTagLength: TAG_LENGTH });
    decipher.setAuthTag(packet.subarray(tagStart, tagStart + TAG_LENGTH));
    decipher.setAAD(aad);
    const plaintext = decipher.update(ciphertext);
    try {
      decipher.final();
    } catch {
      return undefined;
    }
    return plaintext;
  }
}
