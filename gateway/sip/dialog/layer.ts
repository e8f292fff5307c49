import { callId, createResponse, cseqHeader, formatNameAddr, fromHeader, generateTag, parseNameAddr, toHeader } from '../message/index.js';
import type { SipRequest, SipResponse, SipUri } from '../message/index.js';
import { InviteServerTransaction } from '../transaction/index.js';
import type { InboundRequest, ServerTransaction, TransactionLayer } from '../transaction/index.js';
import type { MessageSender } from '../transport/index.js';
import { localContact } from './contact.js';
import { Dialog } from './dialog.js';
import type { DialogContext } from './dialog.js';
import { randomInt } from 'node:crypto';

/**
 * RFC 3261 §12–§15 on top of the transaction layer: creates dialogs from our answers to
 * INVITEs, routes in-dialog requests and ACKs to them, and answers requests for dialogs that do
 * not exist. It takes the transaction layer's request and ACK events for itself: the TU
 * registers for out-of-dialog requests here, with `onRequest`.
 */
export class DialogLayer {
  private readonly dialogs = new Map<string, Dialog>();
  private readonly requestHandlers: ((tx: ServerTransaction) => void)[] = [];
  private readonly context: DialogContext;

  constructor(
    private readonly transactions: TransactionLayer,
    private readonly sender: MessageSender,
  ) {
    this.context = {
      transactions,
      sender,
      timers: transactions.timers,
      forget: (dialog) => this.dialogs.delete(dialogKey(dialog.callId, dialog.localTag, dialog.remoteTag)),
    };
    transactions.onRequest((tx) => this.receiveRequest(tx));
    transactions.onAck((ack) => this.receiveAck(ack));
  }

  /** Live (early or confirmed) dialogs. */
  get size(): number {
    return this.dialogs.size;
  }

  /** A request outside any dialog (no To tag): the TU answers it, often with `createUasDialog`. */
  onRequest(handler: (tx: ServerTransaction) => void): void {
    this.requestHandlers.push(handler);
  }

  /** The dialog a request from the peer belongs to (Call-ID, To tag = ours, From tag = theirs). */
  match(request: SipRequest): Dialog | undefined {
    const localTag = toHeader(request).params.get('tag');
    if (localTag === undefined || localTag === null) return undefined;
    return this.dialogs.get(dialogKey(callId(request), localTag, fromHeader(request).params.get('tag') ?? ''));
  }

  /**
   * Answer an initial INVITE with `response` (a 1xx other than 100, or a 2xx) and return the
   * dialog it creates (§12.1.1): early for a 1xx, confirmed for a 2xx, whose retransmission
   * until ACK the dialog then runs. A To tag and a Contact are added when missing. Calling it
   * again for the same INVITE (a 2xx after a 180) returns the same dialog.
   */
  createUasDialog(tx: InviteServerTransaction, response: SipResponse): Dialog {
    if (response.status <= 100 || response.status >= 300) {
      throw new RangeError(`a ${response.status} does not create a dialog`);
    }
    const { request, inbound } = tx;
    const to = toHeader(response);
    let localTag = to.params.get('tag');
    if (localTag === undefined || localTag === null) {
      localTag = generateTag();
      to.params.set('tag', localTag);
      response.headers.set('To', formatNameAddr(to));
    }
    const transport = inbound.source.transport;
    if (!response.headers.has('Contact')) {
      response.headers.set('Contact', localContact(this.sender, transport, { sips: request.uri.scheme === 'sips' }));
    }
    const from = fromHeader(request);
    const remoteTag = from.params.get('tag') ?? '';
    const id = callId(request);
    const existing = this.dialogs.get(dialogKey(id, localTag, remoteTag));
    if (existing !== undefined) {
      existing.answer(tx, response);
      return existing;
    }
    const dialog = new Dialog(
      {
        callId: id,
        localTag,
        remoteTag,
        // §12.1.1: the UAS's first CSeq is its own choice; random keeps dialogs distinguishable.
        localSeq: randomInt(1, 2 ** 20),
        remoteSeq: cseqHeader(request).seq,
        local: to,
        remote: from,
        remoteTarget: firstContactUri(request) ?? from.uri,
        routeSet: request.headers.getList('Record-Route').filter(isNameAddr),
        secure: transport === 'tls' && request.uri.scheme === 'sips',
        flow: tx.responseTarget,
        localContact: response.headers.get('Contact') ?? '',
        state: 'early',
      },
      this.context,
    );
    this.dialogs.set(dialogKey(id, localTag, remoteTag), dialog);
    // An early dialog whose INVITE ends without a 2xx (say a 487 after CANCEL) ends with it.
    tx.onTerminated(() => {
      if (dialog.state === 'early') dialog.end('rejected');
    });
    dialog.answer(tx, response);
    return dialog;
  }

  private receiveRequest(tx: ServerTransaction): void {
    const { request } = tx;
    if (!toHeader(request).params.has('tag')) {
      if (this.requestHandlers.length === 0) tx.respond(createResponse(request, 503));
      for (const handler of this.requestHandlers) handler(tx);
      return;
    }
    const dialog = this.match(request);
    if (dialog === undefined) {
      tx.respond(createResponse(request, 481));
      return;
    }
    dialog.receiveRequest(tx);
  }

  private receiveAck(ack: InboundRequest): void {
    this.match(ack.message)?.receiveAck(ack);
  }
}

/** The peer's Contact URI; a missing or unreadable one leaves the From URI as the target. */
function firstContactUri(request: SipRequest): SipUri | undefined {
  const contact = request.headers.getList('Contact')[0];
  if (contact === undefined || !isNameAddr(contact)) return undefined;
  return parseNameAddr(contact).uri;
}

/** Route entries we cannot read are left out rather than failing every later request. */
function isNameAddr(value: string): boolean {
  try {
    parseNameAddr(value);
    return true;
  } catch {
    return false;
  }
}

function dialogKey(callIdValue: string, localTag: string, remoteTag: string): string {
  return `${callIdValue}\n${localTag}\n${remoteTag}`;
}
