import { createResponse, toHeader, topVia } from '../message/index.js';
import type { SipRequest, SipResponse } from '../message/index.js';
import type { InboundMessage, SendTarget } from '../transport/index.js';
import { responseTarget } from './response-target.js';
import { Transaction } from './transaction.js';
import type { TransactionContext, TransactionRole } from './transaction.js';

/** A request as the transport delivered it. */
export type InboundRequest = InboundMessage & { message: SipRequest };

/** The UAS side of one request (RFC 3261 §17.2). */
export abstract class ServerTransaction extends Transaction {
  readonly role: TransactionRole = 'server';
  readonly request: SipRequest;
  /** Where responses go, computed once from the request's top Via and source (§18.2.2). */
  readonly responseTarget: SendTarget;
  protected lastResponse: SipResponse | undefined;

  constructor(
    context: TransactionContext,
    key: string,
    readonly inbound: InboundRequest,
  ) {
    super(context, key);
    this.request = inbound.message;
    this.responseTarget = responseTarget(inbound, topVia(this.request));
  }

  /** Send a response; calls that the state machine does not allow (a second final) are ignored. */
  abstract respond(response: SipResponse): void;

  /** @internal The layer saw this request again. */
  abstract receiveRetransmission(): void;

  protected send(response: SipResponse): void {
    this.lastResponse = response;
    this.transmit(response, this.responseTarget);
  }

  protected transportFailed(): void {
    this.terminate('transport_error');
  }
}

export type InviteServerState = 'proceeding' | 'completed' | 'confirmed' | 'accepted' | 'terminated';

/** §17.2.1 (a UAS sends 100 Trying itself when the TU is slow) with RFC 6026's Accepted state. */
const TRYING_DELAY_MS = 200;

export class InviteServerTransaction extends ServerTransaction {
  private current: InviteServerState = 'proceeding';
  private cancelledBy: SipRequest | undefined;
  private readonly cancelListeners: ((cancel: SipRequest) => void)[] = [];
  private readonly timeoutListeners: (() => void)[] = [];

  constructor(context: TransactionContext, key: string, inbound: InboundRequest) {
    super(context, key, inbound);
    this.timers.start('trying', TRYING_DELAY_MS, () => this.send(createResponse(this.request, 100)));
  }

  get state(): InviteServerState {
    return this.current;
  }

  /** The CANCEL that cancelled this INVITE, once one arrived. */
  get cancel(): SipRequest | undefined {
    return this.cancelledBy;
  }

  /** The To tag of the last response sent, if it had one. */
  lastToTag(): string | undefined {
    if (this.lastResponse === undefined) return undefined;
    return toHeader(this.lastResponse).params.get('tag') ?? undefined;
  }

  /** A CANCEL matched this INVITE while it had no final response; the TU should answer `487`. */
  onCancel(listener: (cancel: SipRequest) => void): void {
    this.cancelListeners.push(listener);
  }

  /** Timer H fired: the peer never acknowledged our failure response. */
  onTimeout(listener: () => void): void {
    this.timeoutListeners.push(listener);
  }

  respond(response: SipResponse): void {
    this.timers.stop('trying');
    const { status } = response;
    if (this.current === 'accepted') {
      // RFC 6026 §8.5: the TU retransmits its 2xx through us until the ACK arrives.
      if (status >= 200 && status < 300) this.send(response);
      return;
    }
    if (this.current !== 'proceeding') return;
    this.send(response);
    if (status < 200) return;
    const { t1, t2 } = this.context.timers;
    if (status < 300) {
      this.current = 'accepted';
      this.timers.start('L', 64 * t1, () => this.terminate('completed'));
      return;
    }
    this.current = 'completed';
    if (!this.isReliable(this.responseTarget)) this.retransmitAfter(t1, t2);
    this.timers.start('H', 64 * t1, () => {
      for (const listener of this.timeoutListeners) listener();
      this.terminate('timeout');
    });
  }

  receiveRetransmission(): void {
    // Accepted and Confirmed absorb the retransmission (the 2xx is the TU's to resend).
    if ((this.current === 'proceeding' || this.current === 'completed') && this.lastResponse !== undefined) {
      this.transmit(this.lastResponse, this.responseTarget);
    }
  }

  /**
   * @internal An ACK matched this transaction. Returns false when the ACK belongs to the TU
   * (an ACK for our 2xx that reused the INVITE's branch).
   */
  receiveAck(): boolean {
    if (this.current === 'completed') {
      this.current = 'confirmed';
      this.timers.stop('G');
      this.timers.stop('H');
      const wait = this.isReliable(this.responseTarget) ? 0 : this.context.timers.t4;
      this.timers.start('I', wait, () => this.terminate('completed'));
      return true;
    }
    return this.current === 'confirmed';
  }

  /** @internal A CANCEL matched this transaction (the layer has answered the CANCEL itself). */
  receiveCancel(cancel: SipRequest): void {
    if (this.current !== 'proceeding' || this.cancelledBy !== undefined) return;
    this.cancelledBy = cancel;
    for (const listener of this.cancelListeners) listener(cancel);
  }

  protected enterTerminated(): void {
    this.current = 'terminated';
  }

  /** Timer G: resend the failure response, doubling the interval up to T2. */
  private retransmitAfter(interval: number, t2: number): void {
    this.timers.start('G', interval, () => {
      if (this.lastResponse !== undefined) this.transmit(this.lastResponse, this.responseTarget);
      this.retransmitAfter(Math.min(2 * interval, t2), t2);
    });
  }
}

export type NonInviteServerState = 'trying' | 'proceeding' | 'completed' | 'terminated';

/** §17.2.2. */
export class NonInviteServerTransaction extends ServerTransaction {
  private current: NonInviteServerState = 'trying';

  get state(): NonInviteServerState {
    return this.current;
  }

  respond(response: SipResponse): void {
    if (this.current === 'completed' || this.current === 'terminated') return;
    this.send(response);
    if (response.status < 200) {
      this.current = 'proceeding';
      return;
    }
    this.current = 'completed';
    const wait = this.isReliable(this.responseTarget) ? 0 : 64 * this.context.timers.t1;
    this.timers.start('J', wait, () => this.terminate('completed'));
  }

  receiveRetransmission(): void {
    // Trying has nothing to resend yet: the retransmission is absorbed.
    if (this.current !== 'trying' && this.lastResponse !== undefined) {
      this.transmit(this.lastResponse, this.responseTarget);
    }
  }

  protected enterTerminated(): void {
    this.current = 'terminated';
  }
}
