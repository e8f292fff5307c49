/** RFC 3261 §17.1.1.1 timer values; tests shrink them, operators rarely should. */
export interface TransactionTimerOptions {
  /** Round-trip estimate. */
  t1Ms?: number;
  /** Longest retransmit interval for non-INVITE requests and INVITE responses. */
  t2Ms?: number;
  /** Longest time a message stays in the network. */
  t4Ms?: number;
}

export interface TimerValues {
  t1: number;
  t2: number;
  t4: number;
}

export function timerValues(options: TransactionTimerOptions = {}): TimerValues {
  return { t1: options.t1Ms ?? 500, t2: options.t2Ms ?? 4000, t4: options.t4Ms ?? 5000 };
}

/** Named one-shot timers owned by one transaction, all cleared when it ends. */
export class TimerSet {
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();

  start(name: string, ms: number, fire: () => void): void {
    this.stop(name);
    this.timers.set(
      name,
      setTimeout(() => {
        this.timers.delete(name);
        fire();
      }, ms),
    );
  }

  stop(name: string): void {
    const timer = this.timers.get(name);
    if (timer !== undefined) clearTimeout(timer);
    this.timers.delete(name);
  }

  clear(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}
