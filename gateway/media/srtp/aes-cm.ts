import { createCipheriv, type Cipher } from 'node:crypto';

const BLOCK = 16;
const MAX_BLOCKS = 0x10000;

/**
 * AES counter mode as SRTP uses it (RFC 3711 §4.1.1): the keystream is E(IV), E(IV + 1), …
 * and IV's low 16 bits are zero, so block i only sets the last two bytes to i.
 *
 * Why ECB: node cannot re-IV a cipher, and a createCipheriv('aes-*-ctr') per packet costs
 * more than encrypting the counter blocks on one ECB cipher keyed once per context (ECB of
 * the counter blocks is CTR) and XOR-ing in JS; test/bench/srtp.ts measures both.
 */
export class AesCounterMode {
  readonly #ecb: Cipher;
  #counterBytes = Buffer.alloc(0);
  #counterWords = new Uint32Array(0);

  constructor(key: Buffer) {
    if (key.length !== 16 && key.length !== 32) throw new RangeError('AES key must be 16 or 32 bytes');
    this.#ecb = createCipheriv(key.length === 32 ? 'aes-256-ecb' : 'aes-128-ecb', key, null);
    this.#ecb.setAutoPadding(false);
  }

  /** `length` bytes of keystream for a 16-byte IV whose last two bytes are zero. */
  keystream(iv: Buffer, length: number): Buffer {
    const blocks = Math.ceil(length / BLOCK);
    if (blocks > MAX_BLOCKS) throw new RangeError('AES-CM keystream longer than 2^16 blocks');
    if (this.#counterBytes.length < blocks * BLOCK) {
      // Owned ArrayBuffer: word writes and byte writes address the same memory.
      this.#counterWords = new Uint32Array(Math.max(blocks, 128) * 4);
      this.#counterBytes = Buffer.from(this.#counterWords.buffer);
    }
    const bytes = this.#counterBytes;
    const words = this.#counterWords;
    iv.copy(bytes, 0, 0, 12);
    const w0 = words[0]!;
    const w1 = words[1]!;
    const w2 = words[2]!;
    const b12 = iv[12]!;
    const b13 = iv[13]!;
    for (let block = 0, w = 0, b = 0; block < blocks; block++, w += 4, b += BLOCK) {
      words[w] = w0;
      words[w + 1] = w1;
      words[w + 2] = w2;
      bytes[b + 12] = b12;
      bytes[b + 13] = b13;
      bytes[b + 14] = block >>> 8;
      bytes[b + 15] = block & 0xff;
    }
    const stream = this.#ecb.update(bytes.subarray(0, blocks * BLOCK));
    return length === stream.length ? stream : stream.subarray(0, length);
  }

  /** XORs the keystream for `iv` into data[start, end). */
  xorInPlace(iv: Buffer, data: Buffer, start: number, end: number): void {
    const length = end - start;
    if (length <= 0) return;
    const stream = this.keystream(iv, length);
    let done = 0;
    const offset = data.byteOffset + start;
    if ((offset & 3) === 0 && (stream.byteOffset & 3) === 0 && length >= 16) {
      const words = length >>> 2;
      const target = new Int32Array(data.buffer, offset, words);
      const source = new Int32Array(stream.buffer, stream.byteOffset, words);
      for (let i = 0; i < words; i++) target[i] = target[i]! ^ source[i]!;
      done = words << 2;
    }
    for (let i = done; i < length; i++) data[start + i] = data[start + i]! ^ stream[i]!;
  }
}
