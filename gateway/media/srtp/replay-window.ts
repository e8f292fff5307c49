export type ReplayVerdict = 'fresh' | 'replay' | 'too-old';

/**
 * RFC 3711 §3.3.2 sliding replay window over packet indices. Bit (index mod capacity) marks
 * an accepted index; bits are cleared as the window slides forward, so any index within
 * `size` of the highest maps to a bit that only that index can have set.
 */
export class ReplayWindow {
  readonly #size: number;
  readonly #capacity: number;
  readonly #bits: Uint32Array;
  #highest = -1;

  constructor(size: number) {
    this.#size = size;
    this.#capacity = Math.ceil(size / 32) * 32;
    this.#bits = new Uint32Array(this.#capacity / 32);
  }

  /** Highest accepted index, -1 before the first. */
  get highest(): number {
    return this.#highest;
  }

  check(index: number): ReplayVerdict {
    if (index > this.#highest) return 'fresh';
    if (this.#highest - index >= this.#size) return 'too-old';
    const bit = index % this.#capacity;
    return (this.#bits[bit >>> 5]! & (1 << (bit & 31))) === 0 ? 'fresh' : 'replay';
  }

  /** Records an index that passed check() and authentication. */
  accept(index: number): void {
    if (index > this.#highest) {
      if (index - this.#highest >= this.#capacity) {
        this.#bits.fill(0);
      } else {
        for (let i = this.#highest + 1; i < index; i++) this.#clear(i % this.#capacity);
      }
      this.#highest = index;
    }
    const bit = index % this.#capacity;
    this.#bits[bit >>> 5]! |= 1 << (bit & 31);
  }

  #clear(bit: number): void {
    this.#bits[bit >>> 5]! &= ~(1 << (bit & 31));
  }
}
