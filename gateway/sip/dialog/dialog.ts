import { createResponse, cseqHeader, formatNameAddr, formatUri, parseNameAddr } from '../message/index.js';
import type { NameAddr } from '../message/index.js';
import { SipHeaders } from '../message/index.js';
import type { SipMethod, SipRequest, SipResponse, SipUri } from '../message/index.js';
import { InviteServerTransaction, TimerSet, defaultPort } from '../transaction/index.js';
import type {
  ClientTransaction,
  InboundRequest,
  ServerTransaction,
  TimerValues,
  TransactionLayer,
} from '../transaction/index.js';
import type { MessageSender, SendTarget, TransportProtocol } from '../transport/index.js';

export type DialogState = 'early' | 'confirmed' | 'terminated';

/** Why a dialog ended: our BYE, theirs, or an INVITE that was never accepted. */
export type DialogEndReason = 'local-bye' | 'remote-bye' | 'rejected';

/** Everything a dialog is made of (RFC 3261 §12.1). */
export interface DialogInit {
  callId: string;
  localTag: string;
  remoteTag: string;
  localSeq: number;
  remoteSeq?: number;
  /** Our From in requests we send, with our tag. */
  local: NameAddr;
  /** Their To in requests we send, with their tag. */
  remote: NameAddr;
  remoteTarget: SipUri;
  /** Route header values in the order our requests carry them. */
  routeSet: string[];
  secure: boolean;
  /** The connection (and its transport) the dialog was set up over. */
  flow: SendTarget;
  /** The Contact value we advertised. */
  localContact: string;
  state: DialogState;
}

/** What a dialog needs from the layer that owns it. */
export interface DialogContext {
  readonly transactions: TransactionLayer;
  readonly sender: MessageSender;
  readonly timers: TimerValues;
  forget(dialog: Dialog): void;
}

/** Methods whose 2xx replace the remote target (§12.2, RFC 3311, RFC 6665). */
const TARGET_REFRESH = new Set<SipMethod>(['INVITE', 'UPDATE', 'SUBSCRIBE', 'NOTIFY', 'REFER']);

export class Dialog {
  readonly callId: string;
  readonly localTag: string;
  readonly remoteTag: string;
  readonly local: NameAddr;
  readonly remote: NameAddr;
  readonly routeSet: readonly string[];
  readonly secure: boolean;
  readonly flow: SendTarget;
  readonly localContact: string;
  private seq: number;
  private lastRemoteSeq: number | undefined;
  private target: SipUri;
  private current: DialogState;
  private pendingAck: { seq: number; timers: TimerSet } | undefined;
  private readonly requestListeners: ((tx: ServerTransaction) => void)[] = [];
  private readonly ackListeners: ((ack: InboundRequest) => void)[] = [];
  private readonly ackTimeoutListeners: (() => void)[] = [];
  private readonly terminatedListeners: ((reason: DialogEndReason) => void)[] = [];

  constructor(
    init: DialogInit,
    private readonly context: DialogContext,
  ) {
    this.callId = init.callId;
    this.localTag = init.localTag;
    this.remoteTag = init.remoteTag;
    this.local = init.local;
    this.remote = init.remote;
    this.routeSet = init.routeSet;
    this.secure = init.secure;
    this.flow = init.flow;
    this.localContact = init.localContact;
    this.seq = init.localSeq;
    this.lastRemoteSeq = init.remoteSeq;
    this.target = init.remoteTarget;
    this.current = init.state;
  }

  get state(): DialogState {
    return this.current;
  }

  get localSeq(): number {
    return this.seq;
  }

  get remoteSeq(): number | undefined {
    return this.lastRemoteSeq;
  }

  get localUri(): SipUri {
    return this.local.uri;
  }

  get remoteUri(): SipUri {
    return this.remote.uri;
  }

  /** Where requests in this dialog are addressed (the peer's latest Contact). */
  get remoteTarget(): SipUri {
    return this.target;
  }

  /** Whether a 2xx of ours to an INVITE still waits for its ACK. */
  get awaitingAck(): boolean {
    return this.pendingAck !== undefined;
  }

  /** Requests in this dialog other than ACK, CANCEL and BYE (BYE is answered here and ends it). */
  onRequest(listener: (tx: ServerTransaction) => void): void {
    this.requestListeners.push(listener);
  }

  /** The ACK for our 2xx arrived (it may carry the SDP answer). */
  onAck(listener: (ack: InboundRequest) => void): void {
    this.ackListeners.push(listener);
  }

  /** §13.3.1.4: no ACK for our 2xx within 64*T1; the session should be ended with a BYE. */
  onAckTimeout(listener: () => void): void {
    this.ackTimeoutListeners.push(listener);
  }

  onTerminated(listener: (reason: DialogEndReason) => void): void {
    this.terminatedListeners.push(listener);
  }

  /**
   * Answer a request of this dialog: the initial INVITE, a re-INVITE, an UPDATE, … A 2xx to a
   * target-refresh request takes the peer's new Contact; a 2xx to an INVITE is retransmitted
   * until its ACK arrives (§13.3.1.4); a failure to the initial INVITE ends the dialog.
   */
  answer(tx: ServerTransaction, response: SipResponse): void {
    if (this.current === 'terminated') return;
    tx.respond(response);
    const { status } = response;
    if (status < 200) return;
    const isInvite = tx instanceof InviteServerTransaction;
    if (status >= 300) {
      if (isInvite && this.current === 'early') this.end('rejected');
      return;
    }
    if (TARGET_REFRESH.has(tx.request.method)) this.refreshTarget(tx.request);
    if (!isInvite) return;
    this.current = 'confirmed';
    this.awaitAck(tx, response);
  }

  /**
   * A request within this dialog from our side (§12.2.1.1): Request-URI and Route from the
   * remote target and route set, our tags, the next CSeq. The transaction layer adds the Via.
   */
  createRequest(method: SipMethod, body?: { contentType: string; content: Buffer }): SipRequest {
    const headers = new SipHeaders();
    let uri = this.target;
    let routes = [...this.routeSet];
    const first = routes[0] === undefined ? undefined : parseNameAddr(routes[0]).uri;
    if (first !== undefined && !first.params.has('lr')) {
      // A strict router (RFC 2543) wants its URI as the Request-URI and the target last.
      uri = stripRouteOnlyParams(first);
      routes = [...routes.slice(1), `<${formatUri(this.target)}>`];
    }
    for (const route of routes) headers.append('Route', route);
    headers.append('Max-Forwards', '70');
    headers.append('From', formatNameAddr(this.local));
    headers.append('To', formatNameAddr(this.remote));
    headers.append('Call-ID', this.callId);
    this.seq += 1;
    headers.append('CSeq', `${this.seq} ${method}`);
    if (TARGET_REFRESH.has(method)) headers.append('Contact', this.localContact);
    if (body !== undefined) headers.append('Content-Type', body.contentType);
    return { type: 'request', method, uri, headers, body: body?.content ?? Buffer.alloc(0) };
  }

  /** Send a request built by `createRequest` to the dialog's next hop. */
  sendRequest(request: SipRequest): ClientTransaction {
    return this.context.transactions.sendRequest(request, this.nextHop());
  }

  /**
   * End a confirmed dialog from our side: send BYE and consider the session over at once
   * (§15.1.1). Undefined when the dialog is not confirmed (an early one is ended by answering
   * the INVITE with a failure instead).
   */
  bye(): ClientTransaction | undefined {
    if (this.current !== 'confirmed') return undefined;
    const request = this.createRequest('BYE');
    this.end('local-bye');
    return this.context.transactions.sendRequest(request, this.nextHop());
  }

  /**
   * The next hop for requests (§12.2.1.1, §8.1.2): the first route, else the remote target. A
   * dialog set up over a stream keeps using that connection while it is open: a room system
   * behind NAT can only be reached over the connection it opened.
   */
  nextHop(): SendTarget {
    const first = this.routeSet[0];
    const uri = first === undefined ? this.target : parseNameAddr(first).uri;
    const transport = uriTransport(uri) ?? this.flow.transport;
    const hop: SendTarget = { transport, address: uri.host, port: uri.port ?? defaultPort(transport) };
    if (transport === this.flow.transport && this.flow.connectionId !== undefined) hop.connectionId = this.flow.connectionId;
    return hop;
  }

  /** @internal A request in this dialog (not ACK/CANCEL) from the peer. */
  receiveRequest(tx: ServerTransaction): void {
    const { request } = tx;
    const { seq } = cseqHeader(request);
    if (this.current === 'terminated') {
      tx.respond(createResponse(request, 481));
      return;
    }
    // §12.2.2: a lower CSeq is out of order.
    if (this.lastRemoteSeq !== undefined && seq < this.lastRemoteSeq) {
      tx.respond(createResponse(request, 500, 'Out Of Order CSeq'));
      return;
    }
    this.lastRemoteSeq = seq;
    if (request.method === 'BYE') {
      tx.respond(createResponse(request, 200));
      this.end('remote-bye');
      return;
    }
    if (this.requestListeners.length === 0) {
      tx.respond(createResponse(request, 501));
      return;
    }
    for (const listener of this.requestListeners) listener(tx);
  }

  /** @internal An ACK in this dialog. */
  receiveAck(ack: InboundRequest): void {
    const pending = this.pendingAck;
    if (pending === undefined || cseqHeader(ack.message).seq !== pending.seq) return;
    pending.timers.clear();
    this.pendingAck = undefined;
    for (const listener of this.ackListeners) listener(ack);
  }

  /** @internal */
  end(reason: DialogEndReason): void {
    if (this.current === 'terminated') return;
    this.current = 'terminated';
    this.pendingAck?.timers.clear();
    this.pendingAck = undefined;
    this.context.forget(this);
    for (const listener of this.terminatedListeners) listener(reason);
  }

  private refreshTarget(request: SipRequest): void {
    const contact = request.headers.getList('Contact')[0];
    if (contact === undefined) return;
    try {
      this.target = parseNameAddr(contact).uri;
    } catch {
      // An unreadable Contact leaves the previous target in place.
    }
  }

  /**
   * §13.3.1.4: resend the 2xx until the ACK, give up after 64*T1. This holds on TLS and TCP too:
   * the 2xx travels end to end, and a hop beyond the peer's connection may be UDP.
   */
  private awaitAck(tx: InviteServerTransaction, response: SipResponse): void {
    this.pendingAck?.timers.clear();
    const timers = new TimerSet();
    this.pendingAck = { seq: cseqHeader(tx.request).seq, timers };
    const { t1, t2 } = this.context.timers;
    const { sender } = this.context;
    const target = tx.responseTarget;
    const resendAfter = (interval: number): void => {
      timers.start('retransmit', interval, () => {
        sender.send(response, target).catch(() => undefined);
        resendAfter(Math.min(2 * interval, t2));
      });
    };
    resendAfter(t1);
    timers.start('give-up', 64 * t1, () => {
      timers.clear();
      this.pendingAck = undefined;
      for (const listener of this.ackTimeoutListeners) listener();
    });
  }
}

function uriTransport(uri: SipUri): TransportProtocol | undefined {
  const param = uri.params.get('transport')?.toLowerCase();
  if (param === 'udp' || param === 'tcp' || param === 'tls') return param;
  return uri.scheme === 'sips' ? 'tls' : undefined;
}

/** URI headers and the `method` parameter may not appear in a Request-URI (§19.1.1). */
function stripRouteOnlyParams(uri: SipUri): SipUri {
  const params = new Map(uri.params);
  params.delete('method');
  return { ...uri, params, headers: new Map() };
}
