import type { SipMessage } from '../message/index.js';
import type { MessageSender, SendTarget } from '../transport/index.js';
import { TimerSet } from './timers.js';
import type { TimerValues } from './timers.js';

export type TransactionRole = 'client' | 'server';
export type TransactionOutcome = 'completed' | 'timeout' | 'transport_error';

/** Reported once per transaction when it ends, for metrics. */
export interface TransactionEnd {
  role: TransactionRole;
  outcome: TransactionOutcome;
}

/** What a transaction needs from the layer that owns it. */
export interface TransactionContext {
  readonly sender: MessageSender;
  readonly timers: TimerValues;
  /** Called exactly once, when the transaction reaches Terminated. */
  ended(transaction: Transaction, end: TransactionEnd): void;
}

export abstract class Transaction {
  abstract readonly role: TransactionRole;
  abstract get state(): string;
  protected readonly timers = new TimerSet();
  private finished = false;
  private readonly terminatedListeners: ((outcome: TransactionOutcome) => void)[] = [];

  constructor(
    protected readonly context: TransactionContext,
    /** The key the owning layer matches messages by. */
    readonly key: string,
  ) {}

  get isTerminated(): boolean {
    return this.finished;
  }

  onTerminated(listener: (outcome: TransactionOutcome) => void): void {
    this.terminatedListeners.push(listener);
  }

  protected terminate(outcome: TransactionOutcome): void {
    if (this.finished) return;
    this.finished = true;
    this.enterTerminated();
    this.timers.clear();
    this.context.ended(this, { role: this.role, outcome });
    for (const listener of this.terminatedListeners) listener(outcome);
  }

  /** Subclasses set their own state to Terminated. */
  protected abstract enterTerminated(): void;

  /** §17.1.4 / §17.2.4: a failed send ends the transaction and tells the TU. */
  protected abstract transportFailed(): void;

  protected transmit(message: SipMessage, target: SendTarget): void {
    this.context.sender.send(message, target).catch(() => {
      if (!this.finished) this.transportFailed();
    });
  }

  protected isReliable(target: SendTarget): boolean {
    return this.context.sender.isReliable(target.transport);
  }
}
