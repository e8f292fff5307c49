import { timingSafeEqual } from 'node:crypto';
import { AesCounterMode } from './aes-cm.js';
import { HmacSha1 } from './hmac-sha1.js';
import type { SessionKeys } from './kdf.js';
import { RTCP_HEADER_LENGTH, SRTCP_E_FLAG, SRTCP_INDEX_LENGTH, type PacketCipher } from './packet-cipher.js';
import { writePacketIv } from './packet-iv.js';

/**
 * AES_CM_128_HMAC_SHA1_* (RFC 3711 §4.1.1, §4.2.1): encrypt the payload, then authenticate
 * header + ciphertext (+ ROC for SRTP, + E/index word for SRTCP) and append the truncated MAC.
 * Everything happens in the HMAC's message buffer, so a packet costs two copies and no
 * per-packet cipher or HMAC object.
 */
export class AesCmHmacSha1Cipher implements PacketCipher {
  readonly tagLength: number;
  readonly tagBeforeSrtcpIndex = false;
  readonly #aes: AesCounterMode;
  readonly #hmac: HmacSha1;
  readonly #salt: Buffer;
  readonly #iv = Buffer.alloc(16);

  constructor(keys: SessionKeys, tagLength: number) {
    this.tagLength = tagLength;
    this.#aes = new AesCounterMode(keys.encryptionKey);
    this.#hmac = new HmacSha1(keys.authenticationKey);
    this.#salt = keys.salt;
  }

  sealRtp(rtp: Buffer, headerLength: number, ssrc: number, index: number): Buffer {
    const length = rtp.length;
    const message = this.#hmac.message(length + 4);
    rtp.copy(message, 0, 0, length);
    this.#encrypt(message, headerLength, length, ssrc, index);
    message.writeUInt32BE(Math.floor(index / 0x10000), length);
    return this.#withTag(message, length, this.#hmac.digest(length + 4));
  }

  openRtp(srtp: Buffer, headerLength: number, ssrc: number, index: number): Buffer | undefined {
    const length = srtp.length - this.tagLength;
    const message = this.#hmac.message(length + 4);
    srtp.copy(message, 0, 0, length);
    message.writeUInt32BE(Math.floor(index / 0x10000), length);
    if (!this.#tagMatches(this.#hmac.digest(length + 4), srtp, length)) return undefined;
    this.#encrypt(message, headerLength, length, ssrc, index);
    return Buffer.from(message.subarray(0, length));
  }

  sealRtcp(rtcp: Buffer, ssrc: number, srtcpIndex: number): Buffer {
    const length = rtcp.length;
    const authenticated = length + SRTCP_INDEX_LENGTH;
    const message = this.#hmac.message(authenticated);
    rtcp.copy(message, 0, 0, length);
    this.#encrypt(message, RTCP_HEADER_LENGTH, length, ssrc, srtcpIndex);
    message.writeUInt32BE((SRTCP_E_FLAG | srtcpIndex) >>> 0, length);
    return this.#withTag(message, authenticated, this.#hmac.digest(authenticated));
  }

  openRtcp(srtcp: Buffer, ssrc: number, srtcpIndex: number, encrypted: boolean): Buffer | undefined {
    const authenticated = srtcp.length - this.tagLength;
    const message = this.#hmac.message(authenticated);
    srtcp.copy(message, 0, 0, authenticated);
    if (!this.#tagMatches(this.#hmac.digest(authenticated), srtcp, authenticated)) return undefined;
    const length = authenticated - SRTCP_INDEX_LENGTH;
    if (encrypted) this.#encrypt(message, RTCP_HEADER_LENGTH, length, ssrc, srtcpIndex);
    return Buffer.from(message.subarray(0, length));
  }

  #encrypt(data: Buffer, start: number, end: number, ssrc: number, index: number): void {
    writePacketIv(this.#iv, this.#salt, ssrc, index);
    this.#aes.xorInPlace(this.#iv, data, start, end);
  }

  #withTag(message: Buffer, length: number, mac: Buffer): Buffer {
    const out = Buffer.allocUnsafe(length + this.tagLength);
    message.copy(out, 0, 0, length);
    mac.copy(out, length, 0, this.tagLength);
    return out;
  }

  #tagMatches(mac: Buffer, packet: Buffer, tagStart: number): boolean {
    return timingSafeEqual(mac.subarray(0, this.tagLength), packet.subarray(tagStart));
  }
}
