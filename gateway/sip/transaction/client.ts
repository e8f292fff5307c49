import type { SipRequest, SipResponse } from '../message/index.js';
import type { InboundMessage, SendTarget } from '../transport/index.js';
import { createNonSuccessAck } from './requests.js';
import { Transaction } from './transaction.js';
import type { TransactionContext, TransactionRole } from './transaction.js';

/** A response as the transport delivered it. */
export type InboundResponse = InboundMessage & { message: SipResponse };

/** The UAC side of one request (RFC 3261 §17.1). */
export abstract class ClientTransaction extends Transaction {
  readonly role: TransactionRole = 'client';
  private readonly responseListeners: ((response: SipResponse, inbound: InboundResponse) => void)[] = [];
  private readonly timeoutListeners: (() => void)[] = [];
  private readonly transportErrorListeners: (() => void)[] = [];

  constructor(
    context: TransactionContext,
    key: string,
    readonly request: SipRequest,
    readonly target: SendTarget,
  ) {
    super(context, key);
  }

  /** Every response the TU should see (retransmitted failures are absorbed). */
  onResponse(listener: (response: SipResponse, inbound: InboundResponse) => void): void {
    this.responseListeners.push(listener);
  }

  /** Timer B or F fired: no final response. */
  onTimeout(listener: () => void): void {
    this.timeoutListeners.push(listener);
  }

  onTransportError(listener: () => void): void {
    this.transportErrorListeners.push(listener);
  }

  /** @internal Send the request for the first time and start the timers. */
  abstract start(): void;

  /** @internal A response matched this transaction. */
  abstract receiveResponse(inbound: InboundResponse): void;

  protected deliver(inbound: InboundResponse): void {
    for (const listener of this.responseListeners) listener(inbound.message, inbound);
  }

  protected timedOut(): void {
    for (const listener of this.timeoutListeners) listener();
    this.terminate('timeout');
  }

  protected transportFailed(): void {
    for (const listener of this.transportErrorListeners) listener();
    this.terminate('transport_error');
  }
}

export type InviteClientState = 'calling' | 'proceeding' | 'completed' | 'accepted' | 'terminated';

/** §17.1.1 with RFC 6026's Accepted state, where further 2xx go to the TU (the dialog ACKs them). */
export class InviteClientTransaction extends ClientTransaction {
  private current: InviteClientState = 'calling';
  private ack: SipRequest | undefined;

  get state(): InviteClientState {
    return this.current;
  }

  start(): void {
    const { t1 } = this.context.timers;
    this.transmit(this.request, this.target);
    if (!this.isReliable(this.target)) this.retransmitAfter(t1);
    this.timers.start('B', 64 * t1, () => this.timedOut());
  }

  receiveResponse(inbound: InboundResponse): void {
    const { status } = inbound.message;
    const { t1 } = this.context.timers;
    switch (this.current) {
      case 'calling':
      case 'proceeding':
        this.timers.stop('A');
        this.timers.stop('B');
        if (status < 200) {
          this.current = 'proceeding';
        } else if (status < 300) {
          this.current = 'accepted';
          this.timers.start('M', 64 * t1, () => this.terminate('completed'));
        } else {
          this.current = 'completed';
          this.ack = createNonSuccessAck(this.request, inbound.message);
          this.transmit(this.ack, this.target);
          const wait = this.isReliable(this.target) ? 0 : Math.max(32_000, 64 * t1);
          this.timers.start('D', wait, () => this.terminate('completed'));
        }
        this.deliver(inbound);
        return;
      case 'accepted':
        if (status >= 200 && status < 300) this.deliver(inbound);
        return;
      case 'completed':
        // A retransmitted failure: our ACK was lost.
        if (status >= 300 && this.ack !== undefined) this.transmit(this.ack, this.target);
        return;
      case 'terminated':
        return;
    }
  }

  protected enterTerminated(): void {
    this.current = 'terminated';
  }

  /** Timer A: resend the INVITE, doubling the interval each time (no cap, §17.1.1.2). */
  private retransmitAfter(interval: number): void {
    this.timers.start('A', interval, () => {
      this.transmit(this.request, this.target);
      this.retransmitAfter(2 * interval);
    });
  }
}

export type NonInviteClientState = 'trying' | 'proceeding' | 'completed' | 'terminated';

/** §17.1.2. */
export class NonInviteClientTransaction extends ClientTransaction {
  private current: NonInviteClientState = 'trying';

  get state(): NonInviteClientState {
    return this.current;
  }

  start(): void {
    const { t1 } = this.context.timers;
    this.transmit(this.request, this.target);
    if (!this.isReliable(this.target)) this.retransmitAfter(t1);
    this.timers.start('F', 64 * t1, () => this.timedOut());
  }

  receiveResponse(inbound: InboundResponse): void {
    if (this.current !== 'trying' && this.current !== 'proceeding') return;
    if (inbound.message.status < 200) {
      this.current = 'proceeding';
    } else {
      this.current = 'completed';
      this.timers.stop('E');
      this.timers.stop('F');
      const wait = this.isReliable(this.target) ? 0 : this.context.timers.t4;
      this.timers.start('K', wait, () => this.terminate('completed'));
    }
    this.deliver(inbound);
  }

  protected enterTerminated(): void {
    this.current = 'terminated';
  }

  /** Timer E: double up to T2 while Trying; every T2 once Proceeding. */
  private retransmitAfter(interval: number): void {
    this.timers.start('E', interval, () => {
      this.transmit(this.request, this.target);
      const { t2 } = this.context.timers;
      this.retransmitAfter(this.current === 'proceeding' ? t2 : Math.min(2 * interval, t2));
    });
  }
}
