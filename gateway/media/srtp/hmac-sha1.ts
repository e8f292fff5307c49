import { hash } from 'node:crypto';

const BLOCK = 64;
const DIGEST = 20;

/**
 * HMAC-SHA1 (RFC 2104) over a reusable buffer that starts with the key-XOR-ipad block.
 * Why not createHmac: node cannot keep HMAC state between packets, and two one-shot
 * crypto.hash() calls over prefilled buffers cost less than a createHmac object per packet
 * (test/bench/srtp.ts). The caller writes the message into message(n), then calls digest(n).
 */
export class HmacSha1 {
  #inner: Buffer;
  readonly #outer: Buffer;

  constructor(key: Buffer) {
    if (key.length > BLOCK) throw new RangeError('HMAC key longer than one block');
    this.#inner = Buffer.alloc(BLOCK + 1500);
    this.#outer = Buffer.alloc(BLOCK + DIGEST);
    this.#inner.fill(0x36, 0, BLOCK);
    this.#outer.fill(0x5c, 0, BLOCK);
    for (let i = 0; i < key.length; i++) {
      this.#inner[i] = this.#inner[i]! ^ key[i]!;
      this.#outer[i] = this.#outer[i]! ^ key[i]!;
    }
  }

  /** A view to write an n-byte message into; valid until the next call. */
  message(length: number): Buffer {
    if (this.#inner.length < BLOCK + length) {
      const grown = Buffer.alloc(BLOCK + length);
      this.#inner.copy(grown, 0, 0, BLOCK);
      this.#inner = grown;
    }
    return this.#inner.subarray(BLOCK, BLOCK + length);
  }

  /** The 20-byte MAC of the n-byte message last written into message(n). */
  digest(length: number): Buffer {
    hash('sha1', this.#inner.subarray(0, BLOCK + length), 'buffer').copy(this.#outer, BLOCK);
    return hash('sha1', this.#outer, 'buffer');
  }
}
