import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createResponse, topVia } from '../../gateway/sip/message/index.js';
import {
  InviteServerTransaction,
  NonInviteServerTransaction,
  TransactionLayer,
} from '../../gateway/sip/transaction/index.js';
import type { ServerTransaction, TransactionEnd } from '../../gateway/sip/transaction/index.js';
import type { InboundMessage } from '../../gateway/sip/transport/index.js';
import { PEER_TLS, RecordingSender, inbound, requestText } from './sip-transaction-fixtures.js';

describe('server transactions', () => {
  let sender: RecordingSender;
  let layer: TransactionLayer;
  let delivered: ServerTransaction[];
  let acks: InboundMessage[];
  let ends: TransactionEnd[];

  beforeEach(() => {
    vi.useFakeTimers();
    sender = new RecordingSender();
    layer = new TransactionLayer(sender);
    delivered = [];
    acks = [];
    ends = [];
    layer.onRequest((tx) => delivered.push(tx));
    layer.onAck((ack) => acks.push(ack));
    layer.onTransactionEnd((end) => ends.push(end));
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  function invite(): InviteServerTransaction {
    layer.receive(inbound(requestText()));
    const tx = delivered.at(-1);
    if (!(tx instanceof InviteServerTransaction)) throw new Error('no INVITE transaction');
    return tx;
  }

  describe('INVITE', () => {
    it('delivers a new INVITE once and absorbs its retransmission while the TU thinks', () => {
      invite();
      layer.receive(inbound(requestText()));
      expect(delivered).toHaveLength(1);
      expect(sender.sent).toHaveLength(0);
    });

    it('sends 100 Trying after 200 ms when the TU has not answered', () => {
      invite();
      vi.advanceTimersByTime(199);
      expect(sender.statuses()).toEqual([]);
      vi.advanceTimersByTime(1);
      expect(sender.statuses()).toEqual([100]);
      // A retransmitted INVITE gets the last provisional again.
      layer.receive(inbound(requestText()));
      expect(sender.statuses()).toEqual([100, 100]);
    });

    it('sends no 100 Trying when the TU answers within 200 ms', () => {
      const tx = invite();
      tx.respond(createResponse(tx.request, 180, undefined, 'lt1'));
      vi.advanceTimersByTime(1000);
      expect(sender.statuses()).toEqual([180]);
    });

    it('after a 2xx absorbs retransmitted INVITEs and ends after Timer L (RFC 6026)', () => {
      const tx = invite();
      tx.respond(createResponse(tx.request, 200, undefined, 'lt1'));
      expect(tx.state).toBe('accepted');
      layer.receive(inbound(requestText()));
      expect(sender.statuses()).toEqual([200]);
      expect(delivered).toHaveLength(1);
      // The TU's own 2xx retransmissions still go out.
      tx.respond(createResponse(tx.request, 200, undefined, 'lt1'));
      expect(sender.statuses()).toEqual([200, 200]);
      vi.advanceTimersByTime(64 * 500 - 1);
      expect(tx.state).toBe('accepted');
      vi.advanceTimersByTime(1);
      expect(tx.state).toBe('terminated');
      expect(ends).toEqual([{ role: 'server', outcome: 'completed' }]);
      expect(layer.size).toBe(0);
    });

    it('passes an ACK for the 2xx to the TU, never absorbing it', () => {
      const tx = invite();
      tx.respond(createResponse(tx.request, 200, undefined, 'lt1'));
      layer.receive(inbound(requestText({ method: 'ACK', branch: 'z9hG4bKack2', toTag: 'lt1' })));
      expect(acks).toHaveLength(1);
    });

    it('retransmits a failure over UDP with Timer G until the ACK, then ends after Timer I', () => {
      const tx = invite();
      tx.respond(createResponse(tx.request, 486, undefined, 'lt1'));
      expect(tx.state).toBe('completed');
      vi.advanceTimersByTime(500);
      expect(sender.statuses()).toEqual([486, 486]);
      vi.advanceTimersByTime(1000);
      expect(sender.statuses()).toEqual([486, 486, 486]);
      vi.advanceTimersByTime(2000);
      expect(sender.statuses()).toHaveLength(4);
      // Intervals are capped at T2 = 4 s.
      vi.advanceTimersByTime(4000);
      expect(sender.statuses()).toHaveLength(5);
      vi.advanceTimersByTime(4000);
      expect(sender.statuses()).toHaveLength(6);

      layer.receive(inbound(requestText({ method: 'ACK', toTag: 'lt1' })));
      expect(acks).toHaveLength(0);
      expect(tx.state).toBe('confirmed');
      vi.advanceTimersByTime(10_000);
      expect(sender.statuses()).toHaveLength(6);
      expect(tx.state).toBe('terminated');
      expect(ends).toEqual([{ role: 'server', outcome: 'completed' }]);
    });

    it('re-sends the failure when the INVITE is retransmitted in Completed', () => {
      const tx = invite();
      tx.respond(createResponse(tx.request, 404, undefined, 'lt1'));
      layer.receive(inbound(requestText()));
      expect(sender.statuses()).toEqual([404, 404]);
    });

    it('reports a timeout when no ACK arrives before Timer H', () => {
      const tx = invite();
      const timeouts = vi.fn();
      tx.onTimeout(timeouts);
      tx.respond(createResponse(tx.request, 486, undefined, 'lt1'));
      vi.advanceTimersByTime(64 * 500);
      expect(timeouts).toHaveBeenCalledOnce();
      expect(ends).toEqual([{ role: 'server', outcome: 'timeout' }]);
      // A late ACK is now for nothing: handed to the TU, which ignores it.
      layer.receive(inbound(requestText({ method: 'ACK', toTag: 'lt1' })));
      expect(acks).toHaveLength(1);
    });

    it('over TLS answers on the connection the INVITE came in on and does not retransmit', () => {
      layer.receive(inbound(requestText({ transport: 'TLS', viaHost: 'room.example.net' }), PEER_TLS, 'conn-7'));
      const tx = delivered[0]!;
      tx.respond(createResponse(tx.request, 603, undefined, 'lt1'));
      vi.advanceTimersByTime(20_000);
      expect(sender.sent).toHaveLength(1);
      expect(sender.sent[0]!.target).toEqual({ transport: 'tls', address: '198.51.100.7', port: 49152, connectionId: 'conn-7' });
      layer.receive(inbound(requestText({ method: 'ACK', toTag: 'lt1', transport: 'TLS', viaHost: 'room.example.net' }), PEER_TLS, 'conn-7'));
      vi.advanceTimersByTime(0);
      expect(tx.state).toBe('terminated');
    });

    it('over UDP answers the Via port, or the source port when the client asked for rport', () => {
      const natted = { transport: 'udp' as const, address: '203.0.113.9', port: 40000 };
      layer.receive(inbound(requestText({ viaHost: '10.0.0.5:5062' }), natted));
      layer.receive(inbound(requestText({ viaHost: '10.0.0.5:5062;rport', branch: 'z9hG4bKbbb2' }), natted));
      for (const tx of delivered) tx.respond(createResponse(tx.request, 480, undefined, 'lt'));
      expect(sender.sent.map((s) => s.target)).toEqual([
        { transport: 'udp', address: '203.0.113.9', port: 5062 },
        { transport: 'udp', address: '203.0.113.9', port: 40000 },
      ]);
    });

    it('ends with transport_error when the response cannot be sent', () => {
      const tx = invite();
      sender.failing = true;
      tx.respond(createResponse(tx.request, 200, undefined, 'lt1'));
      return vi.waitFor(() => {
        expect(ends).toEqual([{ role: 'server', outcome: 'transport_error' }]);
        expect(tx.state).toBe('terminated');
      });
    });
  });

  describe('CANCEL', () => {
    it('answers a matching CANCEL with 200 itself and tells the INVITE’s TU once', () => {
      const tx = invite();
      const cancels = vi.fn();
      tx.onCancel(cancels);
      tx.respond(createResponse(tx.request, 180, undefined, 'lt1'));
      layer.receive(inbound(requestText({ method: 'CANCEL' })));
      layer.receive(inbound(requestText({ method: 'CANCEL' })));
      expect(cancels).toHaveBeenCalledOnce();
      expect(delivered).toHaveLength(1);
      const cancelOk = sender.responses().filter((r) => r.headers.get('CSeq') === '1 CANCEL');
      expect(cancelOk.map((r) => r.status)).toEqual([200, 200]);
      expect(cancelOk[0]!.headers.get('To')).toContain('tag=lt1');

      tx.respond(createResponse(tx.request, 487, undefined, 'lt1'));
      layer.receive(inbound(requestText({ method: 'ACK', toTag: 'lt1' })));
      expect(tx.state).toBe('confirmed');
      expect(acks).toHaveLength(0);
    });

    it('answers a CANCEL that matches nothing with 481', () => {
      layer.receive(inbound(requestText({ method: 'CANCEL', branch: 'z9hG4bKnothing' })));
      expect(sender.statuses()).toEqual([481]);
      expect(delivered).toHaveLength(0);
    });

    it('still answers 200 to a CANCEL after the final response, without bothering the TU', () => {
      const tx = invite();
      const cancels = vi.fn();
      tx.onCancel(cancels);
      tx.respond(createResponse(tx.request, 200, undefined, 'lt1'));
      layer.receive(inbound(requestText({ method: 'CANCEL' })));
      expect(sender.statuses()).toEqual([200, 200]);
      expect(cancels).not.toHaveBeenCalled();
    });
  });

  describe('non-INVITE', () => {
    it('absorbs retransmissions while Trying, re-sends the final in Completed, ends after Timer J', () => {
      layer.receive(inbound(requestText({ method: 'OPTIONS' })));
      const tx = delivered[0]!;
      expect(tx).toBeInstanceOf(NonInviteServerTransaction);
      layer.receive(inbound(requestText({ method: 'OPTIONS' })));
      expect(sender.sent).toHaveLength(0);
      vi.advanceTimersByTime(1000);
      expect(sender.sent).toHaveLength(0);

      tx.respond(createResponse(tx.request, 200, undefined, 'lt1'));
      layer.receive(inbound(requestText({ method: 'OPTIONS' })));
      expect(sender.statuses()).toEqual([200, 200]);
      expect(delivered).toHaveLength(1);
      vi.advanceTimersByTime(64 * 500);
      expect(tx.state).toBe('terminated');
      expect(ends).toEqual([{ role: 'server', outcome: 'completed' }]);
      // Now the same request is new again.
      layer.receive(inbound(requestText({ method: 'OPTIONS' })));
      expect(delivered).toHaveLength(2);
    });

    it('ignores a second final response', () => {
      layer.receive(inbound(requestText({ method: 'BYE', toTag: 'x' })));
      const tx = delivered[0]!;
      tx.respond(createResponse(tx.request, 200));
      tx.respond(createResponse(tx.request, 500));
      expect(sender.statuses()).toEqual([200]);
    });

    it('ends at once over a reliable transport', () => {
      layer.receive(inbound(requestText({ method: 'OPTIONS', transport: 'TLS' }), PEER_TLS, 'c1'));
      delivered[0]!.respond(createResponse(delivered[0]!.request, 200));
      vi.advanceTimersByTime(0);
      expect(delivered[0]!.state).toBe('terminated');
    });

    it('keeps requests from different branches, sent-bys or methods apart', () => {
      layer.receive(inbound(requestText({ method: 'OPTIONS' })));
      layer.receive(inbound(requestText({ method: 'OPTIONS', branch: 'z9hG4bKother' })));
      layer.receive(inbound(requestText({ method: 'OPTIONS', viaHost: '198.51.100.8' })));
      layer.receive(inbound(requestText({ method: 'INFO' })));
      expect(delivered).toHaveLength(4);
    });

    it('matches retransmissions from RFC 2543 peers without the magic cookie', () => {
      layer.receive(inbound(requestText({ method: 'OPTIONS', branch: 'old1' })));
      layer.receive(inbound(requestText({ method: 'OPTIONS', branch: 'old1' })));
      layer.receive(inbound(requestText({ method: 'OPTIONS', branch: 'old1', cseq: 2 })));
      expect(delivered).toHaveLength(2);
    });
  });

  describe('whatever a peer sends', () => {
    it('refuses new requests with 503 and Retry-After beyond the transaction limit', () => {
      layer = new TransactionLayer(sender, { maxTransactions: 1, retryAfterSeconds: 7 });
      layer.onRequest((tx) => delivered.push(tx));
      layer.receive(inbound(requestText()));
      layer.receive(inbound(requestText({ branch: 'z9hG4bKsecond', callId: 'call-2' })));
      expect(delivered).toHaveLength(1);
      expect(sender.statuses()).toEqual([503]);
      expect(sender.responses()[0]!.headers.get('Retry-After')).toBe('7');
      expect(topVia(sender.responses()[0]!).params.get('branch')).toBe('z9hG4bKsecond');
    });

    it('still takes requests that end work at the limit: a BYE in a dialog and a CANCEL', () => {
      layer = new TransactionLayer(sender, { maxTransactions: 1 });
      layer.onRequest((tx) => delivered.push(tx));
      layer.receive(inbound(requestText()));
      layer.receive(inbound(requestText({ method: 'BYE', branch: 'z9hG4bKbye', callId: 'call-0', toTag: 'tt0', cseq: 2 })));
      layer.receive(inbound(requestText({ method: 'CANCEL', branch: 'z9hG4bKaaa1' })));
      expect(delivered.map((tx) => tx.request.method)).toEqual(['INVITE', 'BYE']);
      expect(sender.statuses()).toEqual([200]);
    });

    it('drops requests lacking what a response needs, and responses for no transaction', () => {
      const noFrom = inbound(requestText({ method: 'OPTIONS' }));
      noFrom.message.headers.delete('From');
      expect(() => layer.receive(noFrom)).not.toThrow();
      const stray = 'SIP/2.0 200 OK\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKnone\nFrom: <sip:a@b>;tag=1\nTo: <sip:c@d>;tag=2\nCall-ID: x\nCSeq: 1 OPTIONS\nContent-Length: 0\n\n';
      expect(() => layer.receive(inbound(stray))).not.toThrow();
      expect(sender.sent).toHaveLength(0);
      expect(delivered).toHaveLength(0);
    });
  });
});
