import { ReplayWindow } from './replay-window.js';

/** Per-SSRC state bound for one context; see SrtpContext for why it is bounded. */
export const MAX_STREAMS_PER_CONTEXT = 32;

interface Entry {
  readonly window: ReplayWindow;
  lastUsed: number;
}

/**
 * Replay windows keyed by SSRC, at most MAX_STREAMS_PER_CONTEXT of them: adding one more
 * forgets the least recently used. Only authenticated packets add entries.
 */
export class StreamTable {
  readonly #entries = new Map<number, Entry>();
  readonly #windowSize: number;
  #clock = 0;

  constructor(windowSize: number) {
    this.#windowSize = windowSize;
  }

  get(ssrc: number): ReplayWindow | undefined {
    const entry = this.#entries.get(ssrc);
    if (entry === undefined) return undefined;
    entry.lastUsed = ++this.#clock;
    return entry.window;
  }

  add(ssrc: number): ReplayWindow {
    if (this.#entries.size >= MAX_STREAMS_PER_CONTEXT) this.#evictLeastRecentlyUsed();
    const window = new ReplayWindow(this.#windowSize);
    this.#entries.set(ssrc, { window, lastUsed: ++this.#clock });
    return window;
  }

  #evictLeastRecentlyUsed(): void {
    let oldest: number | undefined;
    let oldestUse = Infinity;
    for (const [ssrc, entry] of this.#entries) {
      if (entry.lastUsed < oldestUse) {
        oldest = ssrc;
        oldestUse = entry.lastUsed;
      }
    }
    if (oldest !== undefined) this.#entries.delete(oldest);
  }
}
