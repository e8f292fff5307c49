import { callId, createResponse, cseqHeader, formatVia, fromHeader, generateTag, toHeader, topVia } from '../message/index.js';
import type { SipRequest } from '../message/index.js';
import type { InboundMessage, MessageSender, SendTarget } from '../transport/index.js';
import { ClientTransaction, InviteClientTransaction, NonInviteClientTransaction } from './client.js';
import type { InboundResponse } from './client.js';
import { BRANCH_MAGIC_COOKIE, generateBranch } from './ids.js';
import { InviteServerTransaction, NonInviteServerTransaction, ServerTransaction } from './server.js';
import type { InboundRequest } from './server.js';
import { responseTarget } from './response-target.js';
import { timerValues } from './timers.js';
import type { TransactionTimerOptions } from './timers.js';
import type { Transaction, TransactionContext, TransactionEnd } from './transaction.js';

export interface TransactionLayerOptions extends TransactionTimerOptions {
  /**
   * Live transactions beyond which requests that start something new are refused with `503`
   * (default 50 000: an INVITE lingers 64*T1 = 32 s after its 2xx, so this carries ~1 500 calls/s).
   */
  maxTransactions?: number;
  /** The `Retry-After` those `503`s carry, in seconds (default 5). */
  retryAfterSeconds?: number;
}

/**
 * RFC 3261 §17: matches every inbound message to a transaction, creates server transactions for
 * new requests and hands them to the TU, and runs client transactions for requests we send.
 */
export class TransactionLayer {
  private readonly servers = new Map<string, ServerTransaction>();
  private readonly clients = new Map<string, ClientTransaction>();
  private readonly context: TransactionContext;
  private readonly maxTransactions: number;
  private readonly retryAfterSeconds: number;
  private readonly requestHandlers: ((tx: ServerTransaction) => void)[] = [];
  private readonly ackHandlers: ((inbound: InboundRequest) => void)[] = [];
  private readonly stray2xxHandlers: ((inbound: InboundResponse) => void)[] = [];
  private readonly endHandlers: ((end: TransactionEnd) => void)[] = [];

  constructor(
    private readonly sender: MessageSender,
    options: TransactionLayerOptions = {},
  ) {
    this.maxTransactions = options.maxTransactions ?? 50_000;
    this.retryAfterSeconds = options.retryAfterSeconds ?? 5;
    this.context = {
      sender,
      timers: timerValues(options),
      ended: (tx, end) => this.forget(tx, end),
    };
  }

  /** Timer values in effect, for the dialog layer's 2xx retransmission. */
  get timers(): TransactionContext['timers'] {
    return this.context.timers;
  }

  /** Live transactions, server and client. */
  get size(): number {
    return this.servers.size + this.clients.size;
  }

  /** A new request (not ACK, not CANCEL) created a server transaction; the TU must answer it. */
  onRequest(handler: (tx: ServerTransaction) => void): void {
    this.requestHandlers.push(handler);
  }

  /** An ACK no transaction absorbs: the ACK for a 2xx, which belongs to the dialog (§13.3.1.4). */
  onAck(handler: (inbound: InboundRequest) => void): void {
    this.ackHandlers.push(handler);
  }

  /** A 2xx to an INVITE whose client transaction is gone: the dialog must ACK it again. */
  onStray2xx(handler: (inbound: InboundResponse) => void): void {
    this.stray2xxHandlers.push(handler);
  }

  onTransactionEnd(handler: (end: TransactionEnd) => void): void {
    this.endHandlers.push(handler);
  }

  /** The transport hands every parsed inbound message here. */
  receive(inbound: InboundMessage): void {
    if (inbound.message.type === 'response') this.receiveResponse(inbound as InboundResponse);
    else this.receiveRequest(inbound as InboundRequest);
  }

  /**
   * Send a request in a new client transaction. A missing top Via is added from
   * `sender.localAddress`, a top Via without a branch gets one. ACKs are not transactions:
   * send them with the `MessageSender` directly.
   */
  sendRequest(request: SipRequest, target: SendTarget): ClientTransaction {
    if (request.method === 'ACK') throw new Error('ACK is sent outside any transaction');
    const branch = this.ensureBranch(request, target);
    const key = clientKey(branch, request.method);
    const tx =
      request.method === 'INVITE'
        ? new InviteClientTransaction(this.context, key, request, target)
        : new NonInviteClientTransaction(this.context, key, request, target);
    this.clients.set(key, tx);
    tx.start();
    return tx;
  }

  private receiveRequest(inbound: InboundRequest): void {
    const request = inbound.message;
    let key: string;
    try {
      // The parser guarantees these; a message built elsewhere without them cannot be answered.
      toHeader(request);
      fromHeader(request);
      callId(request);
      key = serverKey(request, request.method === 'ACK' ? 'INVITE' : request.method);
    } catch {
      return;
    }
    const existing = this.servers.get(key);
    if (request.method === 'ACK') {
      if (existing instanceof InviteServerTransaction && existing.receiveAck()) return;
      for (const handler of this.ackHandlers) handler(inbound);
      return;
    }
    if (existing !== undefined) {
      existing.receiveRetransmission();
      return;
    }
    if (this.requestHandlers.length === 0 || (this.size >= this.maxTransactions && startsSomethingNew(request))) {
      this.refuse(inbound);
      return;
    }
    if (request.method === 'CANCEL') {
      this.receiveCancel(inbound, key);
      return;
    }
    const tx =
      request.method === 'INVITE'
        ? new InviteServerTransaction(this.context, key, inbound)
        : new NonInviteServerTransaction(this.context, key, inbound);
    this.servers.set(key, tx);
    for (const handler of this.requestHandlers) handler(tx);
  }

  /** §9.2: the CANCEL is answered here; the INVITE's TU learns of it and sends `487`. */
  private receiveCancel(inbound: InboundRequest, key: string): void {
    const cancel = new NonInviteServerTransaction(this.context, key, inbound);
    this.servers.set(key, cancel);
    const invite = this.servers.get(serverKey(inbound.message, 'INVITE'));
    if (!(invite instanceof InviteServerTransaction)) {
      cancel.respond(createResponse(inbound.message, 481));
      return;
    }
    // §9.2: the CANCEL's 200 should carry the same To tag as the INVITE's responses.
    const inviteTag = invite.lastToTag();
    cancel.respond(createResponse(inbound.message, 200, undefined, inviteTag ?? generateTag()));
    invite.receiveCancel(inbound.message);
  }

  private refuse(inbound: InboundRequest): void {
    const response = createResponse(inbound.message, 503);
    response.headers.set('Retry-After', String(this.retryAfterSeconds));
    const target = responseTarget(inbound, topVia(inbound.message));
    this.sender.send(response, target).catch(() => undefined);
  }

  private receiveResponse(inbound: InboundResponse): void {
    let key: string;
    let method: string;
    try {
      const branch = topVia(inbound.message).params.get('branch');
      method = cseqHeader(inbound.message).method;
      if (branch === undefined || branch === null) return;
      key = clientKey(branch, method);
    } catch {
      return;
    }
    const tx = this.clients.get(key);
    if (tx !== undefined) {
      tx.receiveResponse(inbound);
      return;
    }
    const { status } = inbound.message;
    if (method === 'INVITE' && status >= 200 && status < 300) {
      for (const handler of this.stray2xxHandlers) handler(inbound);
    }
    // Any other stray response is dropped (§17.1.3, §18.1.2).
  }

  private ensureBranch(request: SipRequest, target: SendTarget): string {
    if (!request.headers.has('Via')) {
      const local = this.sender.localAddress(target.transport);
      const branch = generateBranch();
      const params = new Map<string, string | null>([
        ['branch', branch],
        ['rport', null],
      ]);
      request.headers.prepend(
        'Via',
        formatVia({ protocol: 'SIP/2.0', transport: target.transport.toUpperCase(), host: local.address, port: local.port, params }),
      );
      return branch;
    }
    const via = topVia(request);
    const existing = via.params.get('branch');
    if (existing !== undefined && existing !== null && existing.startsWith(BRANCH_MAGIC_COOKIE)) return existing;
    const branch = generateBranch();
    via.params.set('branch', branch);
    const [, ...rest] = request.headers.getList('Via');
    request.headers.set('Via', [formatVia(via), ...rest].join(', '));
    return branch;
  }

  private forget(tx: Transaction, end: TransactionEnd): void {
    const map: Map<string, Transaction> = end.role === 'server' ? this.servers : this.clients;
    if (map.get(tx.key) === tx) map.delete(tx.key);
    for (const handler of this.endHandlers) handler(end);
  }
}

function clientKey(branch: string, method: string): string {
  return `${branch}\n${method}`;
}

/**
 * §17.2.3: branch + sent-by + method for RFC 3261 peers; for older peers without the magic
 * cookie, the fields an ACK or a retransmission shares with its original request.
 */
function serverKey(request: SipRequest, method: string): string {
  const via = topVia(request);
  const sentBy = `${via.host.toLowerCase()}:${via.port ?? ''}`;
  const branch = via.params.get('branch') ?? '';
  if (branch.startsWith(BRANCH_MAGIC_COOKIE)) return `${branch}\n${sentBy}\n${method}`;
  const fromTag = fromHeader(request).params.get('tag') ?? '';
  const seq = cseqHeader(request).seq;
  return `rfc2543\n${callId(request)}\n${fromTag}\n${seq}\n${sentBy}\n${branch}\n${method}`;
}

/**
 * Overload refuses only what would add work: a request inside a dialog (BYE above all) or a
 * CANCEL ends work, and refusing it would keep calls alive that their callers have left.
 */
function startsSomethingNew(request: SipRequest): boolean {
  if (request.method === 'CANCEL') return false;
  const tag = toHeader(request).params.get('tag');
  return tag === undefined || tag === null;
}
