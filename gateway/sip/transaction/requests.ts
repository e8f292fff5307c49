import { SipHeaders } from '../message/index.js';
import type { SipRequest, SipResponse } from '../message/index.js';

/** Headers a CANCEL or a non-2xx ACK copies from the INVITE, in the order they are written. */
function copiedFromInvite(invite: SipRequest, method: 'ACK' | 'CANCEL', to: string): SipHeaders {
  const headers = new SipHeaders();
  const [topVia] = invite.headers.getList('Via');
  if (topVia !== undefined) headers.append('Via', topVia);
  for (const route of invite.headers.getLines('Route')) headers.append('Route', route);
  headers.append('Max-Forwards', '70');
  headers.append('From', invite.headers.get('From') ?? '');
  headers.append('To', to);
  headers.append('Call-ID', invite.headers.get('Call-ID') ?? '');
  const seq = (invite.headers.get('CSeq') ?? '').trim().split(/\s+/)[0] ?? '';
  headers.append('CSeq', `${seq} ${method}`);
  return headers;
}

/**
 * The ACK an INVITE client transaction sends for a non-2xx final response (RFC 3261 §17.1.1.3):
 * same branch as the INVITE, the To of the response.
 */
export function createNonSuccessAck(invite: SipRequest, response: SipResponse): SipRequest {
  const to = response.headers.get('To') ?? invite.headers.get('To') ?? '';
  return { type: 'request', method: 'ACK', uri: invite.uri, headers: copiedFromInvite(invite, 'ACK', to), body: Buffer.alloc(0) };
}

/**
 * A CANCEL for an INVITE we sent (§9.1). Send it with `TransactionLayer.sendRequest` to the
 * INVITE's target, only once a provisional response has arrived.
 */
export function createCancel(invite: SipRequest): SipRequest {
  const headers = copiedFromInvite(invite, 'CANCEL', invite.headers.get('To') ?? '');
  return { type: 'request', method: 'CANCEL', uri: invite.uri, headers, body: Buffer.alloc(0) };
}
