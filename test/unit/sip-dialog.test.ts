import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createResponse, cseqHeader, formatUri, fromHeader, toHeader, topVia } from '../../gateway/sip/message/index.js';
import type { SipResponse } from '../../gateway/sip/message/index.js';
import { DialogLayer, localContact } from '../../gateway/sip/dialog/index.js';
import type { Dialog } from '../../gateway/sip/dialog/index.js';
import { InviteServerTransaction, TransactionLayer } from '../../gateway/sip/transaction/index.js';
import type { ServerTransaction } from '../../gateway/sip/transaction/index.js';
import type { TransportAddress } from '../../gateway/sip/transport/index.js';
import { PEER_TLS, PEER_UDP, RecordingSender, inbound, requestText } from './sip-transaction-fixtures.js';
import type { RequestFields } from './sip-transaction-fixtures.js';

const CONTACT = 'Contact: <sip:room@198.51.100.7:5070>';

describe('UAS dialogs', () => {
  let sender: RecordingSender;
  let transactions: TransactionLayer;
  let dialogs: DialogLayer;
  let newRequests: ServerTransaction[];

  beforeEach(() => {
    vi.useFakeTimers();
    sender = new RecordingSender();
    transactions = new TransactionLayer(sender);
    dialogs = new DialogLayer(transactions, sender);
    newRequests = [];
    dialogs.onRequest((tx) => newRequests.push(tx));
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  function receive(fields: RequestFields, source: TransportAddress = PEER_UDP, connectionId?: string): void {
    transactions.receive(inbound(requestText(fields), source, connectionId));
  }

  function lastInvite(): InviteServerTransaction {
    const tx = newRequests.at(-1);
    if (!(tx instanceof InviteServerTransaction)) throw new Error('no INVITE');
    return tx;
  }

  function answer(fields: RequestFields = {}, source: TransportAddress = PEER_UDP, connectionId?: string): { dialog: Dialog; ok: SipResponse } {
    receive({ extra: [CONTACT, 'Record-Route: <sip:proxy.example.net;lr>'], ...fields }, source, connectionId);
    const tx = lastInvite();
    const ok = createResponse(tx.request, 200);
    const dialog = dialogs.createUasDialog(tx, ok);
    return { dialog, ok };
  }

  function ack(dialog: Dialog, cseq = 1): void {
    receive({ method: 'ACK', branch: `z9hG4bKack${cseq}`, toTag: dialog.localTag, cseq });
  }

  it('creates a confirmed dialog from our 2xx, adding our tag and Contact', () => {
    const { dialog, ok } = answer();
    expect(dialog.state).toBe('confirmed');
    expect(dialog.callId).toBe('call-1@198.51.100.7');
    expect(dialog.remoteTag).toBe('ft1');
    expect(toHeader(ok).params.get('tag')).toBe(dialog.localTag);
    expect(ok.headers.get('Contact')).toBe('<sip:192.0.2.1:5060>');
    expect(formatUri(dialog.remoteTarget)).toBe('sip:room@198.51.100.7:5070');
    expect(dialog.routeSet).toEqual(['<sip:proxy.example.net;lr>']);
    expect(dialog.remoteSeq).toBe(1);
    expect(sender.statuses()).toEqual([200]);
    expect(dialogs.size).toBe(1);
  });

  it('retransmits the 2xx over UDP with T1 doubling up to T2 until the ACK arrives', () => {
    const { dialog } = answer();
    const acks = vi.fn();
    dialog.onAck(acks);
    vi.advanceTimersByTime(500);
    expect(sender.statuses()).toEqual([200, 200]);
    vi.advanceTimersByTime(1000 + 2000 + 4000 + 4000);
    expect(sender.statuses()).toHaveLength(6);
    ack(dialog);
    expect(acks).toHaveBeenCalledOnce();
    expect(dialog.awaitingAck).toBe(false);
    vi.advanceTimersByTime(60_000);
    expect(sender.statuses()).toHaveLength(6);
    // A retransmitted ACK changes nothing.
    ack(dialog);
    expect(acks).toHaveBeenCalledOnce();
  });

  it('gives up after 64*T1 without an ACK and reports it, so the TU can hang up', () => {
    const { dialog } = answer();
    const ackTimeout = vi.fn();
    dialog.onAckTimeout(ackTimeout);
    vi.advanceTimersByTime(64 * 500 - 1);
    expect(ackTimeout).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(ackTimeout).toHaveBeenCalledOnce();
    const sent = sender.sent.length;
    vi.advanceTimersByTime(60_000);
    expect(sender.sent).toHaveLength(sent);

    const bye = dialog.bye();
    expect(bye).toBeDefined();
    expect(sender.requests().map((r) => r.method)).toEqual(['BYE']);
  });

  it('retransmits the 2xx over TLS too (end to end, §13.3.1.4), and sends in-dialog requests over the same connection', () => {
    const { dialog } = answer({ transport: 'TLS', viaHost: 'room.example.net', extra: [CONTACT] }, PEER_TLS, 'conn-9');
    vi.advanceTimersByTime(1_600);
    // T1 = 500 ms: the original, then resends at 500 ms and 1 500 ms, all on the INVITE's connection.
    expect(sender.statuses()).toEqual([200, 200, 200]);
    expect(sender.sent.every((s) => s.target.connectionId === 'conn-9')).toBe(true);
    ack(dialog);
    expect(sender.responses()[0]!.headers.get('Contact')).toBe('<sip:192.0.2.1:5061;transport=tls>');

    dialog.bye();
    const byeSend = sender.sent.at(-1)!;
    expect(byeSend.target).toEqual({ transport: 'tls', address: '198.51.100.7', port: 5070, connectionId: 'conn-9' });
    expect(topVia(byeSend.message).transport).toBe('TLS');
  });

  it('builds our BYE from the dialog: target, route set, tags, next CSeq, new branch', () => {
    const { dialog } = answer();
    ack(dialog);
    const seqBefore = dialog.localSeq;
    const ended = vi.fn();
    dialog.onTerminated(ended);
    dialog.bye();
    const bye = sender.requests()[0]!;
    expect(bye.method).toBe('BYE');
    expect(formatUri(bye.uri)).toBe('sip:room@198.51.100.7:5070');
    expect(bye.headers.getLines('Route')).toEqual(['<sip:proxy.example.net;lr>']);
    expect(fromHeader(bye).params.get('tag')).toBe(dialog.localTag);
    expect(toHeader(bye).params.get('tag')).toBe('ft1');
    expect(bye.headers.get('Call-ID')).toBe('call-1@198.51.100.7');
    expect(cseqHeader(bye)).toEqual({ seq: seqBefore + 1, method: 'BYE' });
    expect(bye.headers.get('Max-Forwards')).toBe('70');
    expect(topVia(bye).params.get('branch')).toMatch(/^z9hG4bK/);
    // The first hop is the proxy in the route set, not the remote target.
    expect(sender.sent.at(-1)!.target).toEqual({ transport: 'udp', address: 'proxy.example.net', port: 5060 });
    expect(dialog.state).toBe('terminated');
    expect(ended).toHaveBeenCalledWith('local-bye');
    expect(dialogs.size).toBe(0);
    // Only one BYE, however often the TU asks.
    expect(dialog.bye()).toBeUndefined();
  });

  it('answers the peer’s BYE with 200 and reports the end', () => {
    const { dialog } = answer();
    ack(dialog);
    const ended = vi.fn();
    dialog.onTerminated(ended);
    receive({ method: 'BYE', branch: 'z9hG4bKbye', toTag: dialog.localTag, cseq: 2 });
    expect(sender.statuses().at(-1)).toBe(200);
    expect(ended).toHaveBeenCalledWith('remote-bye');
    // Anything later for that dialog no longer exists.
    receive({ method: 'INFO', branch: 'z9hG4bKinfo', toTag: dialog.localTag, cseq: 3 });
    expect(sender.statuses().at(-1)).toBe(481);
  });

  it('rejects an in-dialog request with a lower CSeq with 500', () => {
    const { dialog } = answer({ cseq: 10 });
    ack(dialog, 10);
    receive({ method: 'INFO', branch: 'z9hG4bKlow', toTag: dialog.localTag, cseq: 9 });
    expect(sender.statuses().at(-1)).toBe(500);
    expect(dialog.remoteSeq).toBe(10);
  });

  it('answers requests for unknown dialogs with 481 and keeps out-of-dialog ones for the TU', () => {
    receive({ method: 'BYE', branch: 'z9hG4bKx', toTag: 'nosuch' });
    expect(sender.statuses()).toEqual([481]);
    receive({ method: 'OPTIONS', branch: 'z9hG4bKy' });
    expect(newRequests.map((tx) => tx.request.method)).toEqual(['OPTIONS']);
  });

  it('answers in-dialog requests nobody handles with 501, and hands them to a listener otherwise', () => {
    const { dialog } = answer();
    ack(dialog);
    receive({ method: 'INFO', branch: 'z9hG4bKi1', toTag: dialog.localTag, cseq: 2 });
    expect(sender.statuses().at(-1)).toBe(501);
    const seen: string[] = [];
    dialog.onRequest((tx) => seen.push(tx.request.method));
    receive({ method: 'INFO', branch: 'z9hG4bKi2', toTag: dialog.localTag, cseq: 3 });
    expect(seen).toEqual(['INFO']);
  });

  it('answers a re-INVITE with a 2xx retransmitted until its own ACK, updating the target', () => {
    const { dialog } = answer();
    ack(dialog);
    dialog.onRequest((tx) => {
      if (tx instanceof InviteServerTransaction) dialog.answer(tx, createResponse(tx.request, 200));
    });
    receive({ method: 'INVITE', branch: 'z9hG4bKre', toTag: dialog.localTag, cseq: 2, extra: ['Contact: <sip:room@198.51.100.7:5080>'] });
    expect(formatUri(dialog.remoteTarget)).toBe('sip:room@198.51.100.7:5080');
    expect(dialog.awaitingAck).toBe(true);
    ack(dialog, 1);
    expect(dialog.awaitingAck).toBe(true);
    ack(dialog, 2);
    expect(dialog.awaitingAck).toBe(false);
  });

  it('takes the new Contact from an UPDATE it accepts, without waiting for an ACK', () => {
    const { dialog } = answer();
    ack(dialog);
    dialog.onRequest((tx) => dialog.answer(tx, createResponse(tx.request, 200)));
    receive({ method: 'UPDATE', branch: 'z9hG4bKup', toTag: dialog.localTag, cseq: 2, extra: ['Contact: <sip:room@198.51.100.7:5090>'] });
    expect(sender.statuses().at(-1)).toBe(200);
    expect(formatUri(dialog.remoteTarget)).toBe('sip:room@198.51.100.7:5090');
    expect(dialog.awaitingAck).toBe(false);
  });

  it('matches requests from the peer to their dialog by Call-ID and tags', () => {
    const { dialog } = answer();
    const mine = inbound(requestText({ method: 'INFO', toTag: dialog.localTag })).message;
    const otherCall = inbound(requestText({ method: 'INFO', toTag: dialog.localTag, callId: 'other' })).message;
    const noTag = inbound(requestText({ method: 'INFO' })).message;
    if (mine.type !== 'request' || otherCall.type !== 'request' || noTag.type !== 'request') throw new Error('not requests');
    expect(dialogs.match(mine)).toBe(dialog);
    expect(dialogs.match(otherCall)).toBeUndefined();
    expect(dialogs.match(noTag)).toBeUndefined();
  });

  it('turns an early dialog into a confirmed one, and ends it when the INVITE is cancelled', () => {
    receive({ extra: [CONTACT] });
    const tx = lastInvite();
    const ringing = createResponse(tx.request, 180);
    const early = dialogs.createUasDialog(tx, ringing);
    expect(early.state).toBe('early');
    const ok = createResponse(tx.request, 200, undefined, early.localTag);
    expect(dialogs.createUasDialog(tx, ok)).toBe(early);
    expect(early.state).toBe('confirmed');

    receive({ callId: 'call-2', branch: 'z9hG4bKc2', extra: [CONTACT] });
    const second = lastInvite();
    const dialog = dialogs.createUasDialog(second, createResponse(second.request, 180));
    const ended = vi.fn();
    dialog.onTerminated(ended);
    second.onCancel(() => second.respond(createResponse(second.request, 487, undefined, dialog.localTag)));
    receive({ method: 'CANCEL', callId: 'call-2', branch: 'z9hG4bKc2' });
    receive({ method: 'ACK', callId: 'call-2', branch: 'z9hG4bKc2', toTag: dialog.localTag });
    vi.advanceTimersByTime(5000);
    expect(ended).toHaveBeenCalledWith('rejected');
    expect(dialogs.size).toBe(1);
  });

  it('survives an unreadable Contact and Record-Route from the peer', () => {
    const message = inbound(requestText({ extra: [CONTACT] }));
    message.message.headers.set('Contact', '<sip:room@');
    message.message.headers.set('Record-Route', '<sip:bad');
    transactions.receive(message);
    const tx = lastInvite();
    const dialog = dialogs.createUasDialog(tx, createResponse(tx.request, 200));
    expect(formatUri(dialog.remoteTarget)).toBe('sip:room@198.51.100.7');
    expect(dialog.routeSet).toEqual([]);
    expect(dialog.bye()).toBeDefined();
  });

  it('refuses to make a dialog from a response that cannot create one', () => {
    receive({});
    const tx = lastInvite();
    expect(() => dialogs.createUasDialog(tx, createResponse(tx.request, 486))).toThrow(RangeError);
  });

  it('offers sips Contacts only on TLS', () => {
    expect(localContact(sender, 'tls', { sips: true, user: 'echo' })).toBe('<sips:echo@192.0.2.1:5061>');
    expect(localContact(sender, 'udp', { sips: true })).toBe('<sip:192.0.2.1:5060>');
    expect(localContact(sender, 'tcp')).toBe('<sip:192.0.2.1:5060;transport=tcp>');
  });
});
