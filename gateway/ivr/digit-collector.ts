import { isDtmfDigit } from '../media/index.js';

const TERMINATOR = '#';
/** Digits kept for the next collect(); a caller leaning on a key cannot grow memory. */
const TYPE_AHEAD_LIMIT = 32;

export interface CollectOptions {
  /** The entry ends as soon as this many digits were typed. */
  readonly maxDigits: number;
  /** After a digit, how long to wait for the next one before taking what was typed. */
  readonly interDigitMs: number;
  /** How long the whole entry may take, from the collect() call. */
  readonly overallMs: number;
}

interface Pending {
  readonly options: CollectOptions;
  readonly resolve: (entry: string | undefined) => void;
  overall: NodeJS.Timeout | undefined;
  interDigit: NodeJS.Timeout | undefined;
  digits: string;
}

/**
 * Turns a call's DTMF digits (from RFC 4733 or SIP INFO alike) into entries such as a meeting ID
 * or a PIN. Digits typed while no entry is awaited are kept for the next one (type-ahead), as
 * callers who know the prompts type over them. Entries are secrets: nothing here logs them.
 */
export class DigitCollector {
  private readonly typedAhead: string[] = [];
  private pending: Pending | undefined;
  private readonly firstDigitListeners: (() => void)[] = [];
  private closed = false;

  /** Whether digits typed ahead wait for the next collect(): then its prompt can be skipped. */
  get hasTyped(): boolean {
    return this.typedAhead.length > 0;
  }

  /**
   * Called when the caller starts an entry: the first digit while a collect() waits with nothing
   * typed yet, or while none waits and nothing was typed ahead. The moment to stop a prompt
   * (barge-in).
   */
  onFirstDigit(listener: () => void): void {
    this.firstDigitListeners.push(listener);
  }

  /** One digit from the caller; anything but 0-9 * # A-D is ignored. */
  push(digit: string): void {
    if (this.closed || !isDtmfDigit(digit)) return;
    const pending = this.pending;
    if (!pending && this.typedAhead.length >= TYPE_AHEAD_LIMIT) return;
    if (pending ? pending.digits === '' : this.typedAhead.length === 0) {
      for (const listener of this.firstDigitListeners) listener();
    }
    if (pending) this.take(pending, digit);
    else this.typedAhead.push(digit);
  }

  /**
   * The next entry, without the terminator: the digits before '#' (possibly ''), the first
   * `maxDigits` digits, or what was typed when a timeout struck. Undefined when nothing was typed
   * before the overall timeout, or on cancel() or close(). A new collect() cancels a pending one.
   */
  collect(options: CollectOptions): Promise<string | undefined> {
    this.finish(undefined);
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const pending: Pending = { options, resolve, overall: undefined, interDigit: undefined, digits: '' };
      this.pending = pending;
      pending.overall = setTimeout(() => this.finish(pending.digits || undefined), options.overallMs);
      pending.overall.unref();
      while (this.pending === pending && this.typedAhead.length > 0) this.take(pending, this.typedAhead.shift()!);
    });
  }

  /** Ends a pending collect() with undefined and forgets the digits typed ahead. */
  cancel(): void {
    this.typedAhead.length = 0;
    this.finish(undefined);
  }

  /** Cancels, and ignores every later digit and collect(). */
  close(): void {
    this.closed = true;
    this.firstDigitListeners.length = 0;
    this.cancel();
  }

  private take(pending: Pending, digit: string): void {
    if (digit === TERMINATOR) return this.finish(pending.digits);
    pending.digits += digit;
    if (pending.digits.length >= pending.options.maxDigits) return this.finish(pending.digits);
    clearTimeout(pending.interDigit);
    pending.interDigit = setTimeout(() => this.finish(pending.digits), pending.options.interDigitMs);
    pending.interDigit.unref();
  }

  private finish(entry: string | undefined): void {
    const pending = this.pending;
    if (!pending) return;
    this.pending = undefined;
    clearTimeout(pending.overall);
    clearTimeout(pending.interDigit);
    pending.resolve(entry);
  }
}
