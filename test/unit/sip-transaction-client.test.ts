import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SipHeaders, parseUri, toHeader, topVia } from '../../gateway/sip/message/index.js';
import type { SipRequest, SipResponse } from '../../gateway/sip/message/index.js';
import { TransactionLayer, createCancel } from '../../gateway/sip/transaction/index.js';
import type { InboundResponse, TransactionEnd } from '../../gateway/sip/transaction/index.js';
import type { SendTarget } from '../../gateway/sip/transport/index.js';
import { RecordingSender, inbound, responseText } from './sip-transaction-fixtures.js';

const TRUNK: SendTarget = { transport: 'udp', address: '203.0.113.20', port: 5060 };

function outgoing(method: string, via?: string): SipRequest {
  const headers = new SipHeaders();
  if (via !== undefined) headers.append('Via', via);
  headers.append('Route', '<sip:203.0.113.20;lr>');
  headers.append('Max-Forwards', '70');
  headers.append('From', '<sip:gateway@192.0.2.1>;tag=gw1');
  headers.append('To', '<sip:+15551234@trunk.example.net>');
  headers.append('Call-ID', 'out-1');
  headers.append('CSeq', `1 ${method}`);
  return { type: 'request', method, uri: parseUri('sip:+15551234@trunk.example.net'), headers, body: Buffer.alloc(0) };
}

describe('client transactions', () => {
  let sender: RecordingSender;
  let layer: TransactionLayer;
  let ends: TransactionEnd[];

  beforeEach(() => {
    vi.useFakeTimers();
    sender = new RecordingSender();
    layer = new TransactionLayer(sender);
    ends = [];
    layer.onTransactionEnd((end) => ends.push(end));
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  function reply(request: SipRequest, status: number, reason: string, toTag?: string): void {
    layer.receive(inbound(responseText(request, status, reason, toTag), { transport: 'udp', address: '203.0.113.20', port: 5060 }));
  }

  it('adds a Via with a fresh branch when the request has none', () => {
    const request = outgoing('OPTIONS');
    layer.sendRequest(request, TRUNK);
    const via = topVia(request);
    expect(via.transport).toBe('UDP');
    expect(via.host).toBe('192.0.2.1');
    expect(via.params.get('branch')).toMatch(/^z9hG4bK.{10,}/);
    expect(via.params.has('rport')).toBe(true);
  });

  it('adds a branch to a Via without one and keeps a good one', () => {
    const bare = outgoing('OPTIONS', 'SIP/2.0/UDP 192.0.2.1:5060');
    layer.sendRequest(bare, TRUNK);
    expect(topVia(bare).params.get('branch')).toMatch(/^z9hG4bK/);
    const given = outgoing('OPTIONS', 'SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKmine');
    layer.sendRequest(given, TRUNK);
    expect(topVia(given).params.get('branch')).toBe('z9hG4bKmine');
  });

  it('retransmits an INVITE over UDP with Timer A doubling, and times out with Timer B', () => {
    const tx = layer.sendRequest(outgoing('INVITE'), TRUNK);
    const timeouts = vi.fn();
    tx.onTimeout(timeouts);
    expect(sender.requests()).toHaveLength(1);
    vi.advanceTimersByTime(500);
    expect(sender.requests()).toHaveLength(2);
    vi.advanceTimersByTime(1000);
    expect(sender.requests()).toHaveLength(3);
    vi.advanceTimersByTime(2000 + 4000 + 8000 + 16_000);
    expect(sender.requests()).toHaveLength(7);
    expect(timeouts).not.toHaveBeenCalled();
    vi.advanceTimersByTime(500);
    expect(timeouts).toHaveBeenCalledOnce();
    expect(ends).toEqual([{ role: 'client', outcome: 'timeout' }]);
    expect(layer.size).toBe(0);
  });

  it('stops retransmitting on a provisional, delivers 2xx and their retransmissions', () => {
    const request = outgoing('INVITE');
    const tx = layer.sendRequest(request, TRUNK);
    const seen: number[] = [];
    tx.onResponse((response: SipResponse) => seen.push(response.status));
    reply(request, 180, 'Ringing', 'uas1');
    vi.advanceTimersByTime(10_000);
    expect(sender.requests()).toHaveLength(1);
    reply(request, 200, 'OK', 'uas1');
    reply(request, 200, 'OK', 'uas1');
    expect(seen).toEqual([180, 200, 200]);
    // Never an ACK for a 2xx from the transaction: that is the dialog's.
    expect(sender.requests()).toHaveLength(1);
    vi.advanceTimersByTime(64 * 500);
    expect(ends).toEqual([{ role: 'client', outcome: 'completed' }]);
  });

  it('hands a 2xx arriving after the transaction ended to the stray-2xx listener', () => {
    const request = outgoing('INVITE');
    layer.sendRequest(request, TRUNK);
    const strays: InboundResponse[] = [];
    layer.onStray2xx((r) => strays.push(r));
    reply(request, 200, 'OK', 'uas1');
    vi.advanceTimersByTime(64 * 500);
    reply(request, 200, 'OK', 'uas1');
    expect(strays).toHaveLength(1);
    reply(request, 486, 'Busy Here', 'uas1');
    expect(strays).toHaveLength(1);
  });

  it('ACKs a failure itself on the INVITE’s branch, again for each retransmission, telling the TU once', () => {
    const request = outgoing('INVITE');
    const tx = layer.sendRequest(request, TRUNK);
    const seen = vi.fn();
    tx.onResponse(seen);
    reply(request, 486, 'Busy Here', 'uas1');
    reply(request, 486, 'Busy Here', 'uas1');
    expect(seen).toHaveBeenCalledOnce();
    const acks = sender.requests().filter((r) => r.method === 'ACK');
    expect(acks).toHaveLength(2);
    const ack = acks[0]!;
    expect(topVia(ack).params.get('branch')).toBe(topVia(request).params.get('branch'));
    expect(ack.headers.getList('Via')).toHaveLength(1);
    expect(toHeader(ack).params.get('tag')).toBe('uas1');
    expect(ack.headers.get('CSeq')).toBe('1 ACK');
    expect(ack.headers.getLines('Route')).toEqual(['<sip:203.0.113.20;lr>']);
    expect(ack.uri).toEqual(request.uri);
    vi.advanceTimersByTime(32_000);
    expect(ends).toEqual([{ role: 'client', outcome: 'completed' }]);
  });

  it('retransmits a non-INVITE with Timer E capped at T2 and times out with Timer F', () => {
    const tx = layer.sendRequest(outgoing('OPTIONS'), TRUNK);
    const timeouts = vi.fn();
    tx.onTimeout(timeouts);
    vi.advanceTimersByTime(500 + 1000 + 2000 + 4000);
    expect(sender.requests()).toHaveLength(5);
    vi.advanceTimersByTime(4000);
    expect(sender.requests()).toHaveLength(6);
    vi.advanceTimersByTime(32_000 - 11_500);
    expect(timeouts).toHaveBeenCalledOnce();
    expect(ends).toEqual([{ role: 'client', outcome: 'timeout' }]);
  });

  it('retransmits every T2 once a provisional arrived, stops at the final, ends after Timer K', () => {
    const request = outgoing('OPTIONS');
    const tx = layer.sendRequest(request, TRUNK);
    const seen: number[] = [];
    tx.onResponse((r) => seen.push(r.status));
    reply(request, 100, 'Trying');
    vi.advanceTimersByTime(500);
    expect(sender.requests()).toHaveLength(2);
    vi.advanceTimersByTime(4000);
    expect(sender.requests()).toHaveLength(3);
    reply(request, 200, 'OK', 'uas');
    reply(request, 200, 'OK', 'uas');
    expect(seen).toEqual([100, 200]);
    vi.advanceTimersByTime(5000);
    expect(sender.requests()).toHaveLength(3);
    expect(ends).toEqual([{ role: 'client', outcome: 'completed' }]);
  });

  it('does not retransmit over a reliable transport', () => {
    layer.sendRequest(outgoing('INVITE'), { transport: 'tls', address: '203.0.113.20', port: 5061 });
    vi.advanceTimersByTime(31_000);
    expect(sender.requests()).toHaveLength(1);
  });

  it('reports a transport error and ends', async () => {
    sender.failing = true;
    const tx = layer.sendRequest(outgoing('OPTIONS'), TRUNK);
    const failed = vi.fn();
    tx.onTransportError(failed);
    await vi.waitFor(() => expect(failed).toHaveBeenCalledOnce());
    expect(ends).toEqual([{ role: 'client', outcome: 'transport_error' }]);
  });

  it('keeps a CANCEL apart from the INVITE it cancels', () => {
    const invite = outgoing('INVITE');
    const inviteTx = layer.sendRequest(invite, TRUNK);
    reply(invite, 180, 'Ringing', 'uas1');
    const cancel = createCancel(invite);
    expect(cancel.headers.get('CSeq')).toBe('1 CANCEL');
    expect(topVia(cancel).params.get('branch')).toBe(topVia(invite).params.get('branch'));
    const cancelTx = layer.sendRequest(cancel, TRUNK);
    const cancelSeen = vi.fn();
    const inviteSeen = vi.fn();
    cancelTx.onResponse(cancelSeen);
    inviteTx.onResponse(inviteSeen);
    reply(cancel, 200, 'OK', 'uas1');
    reply(invite, 487, 'Request Terminated', 'uas1');
    expect(cancelSeen).toHaveBeenCalledOnce();
    expect(inviteSeen).toHaveBeenCalledOnce();
    expect(inviteSeen.mock.calls[0]![0].status).toBe(487);
  });

  it('refuses to run an ACK as a transaction', () => {
    expect(() => layer.sendRequest(outgoing('ACK'), TRUNK)).toThrow();
  });
});
