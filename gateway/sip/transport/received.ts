import { splitHeaderList, topVia } from '../message/index.js';
import type { SipRequest } from '../message/index.js';
import type { TransportAddress } from './types.js';

/**
 * RFC 3261 §18.2.1 and RFC 3581 §4: record where a request really came from in its top Via,
 * so responses find their way back through NAT. `received` is added when the Via host is not
 * the source address, or whenever the client asked for `rport`.
 * Throws what `topVia` throws when the request has no usable Via.
 */
export function stampReceived(request: SipRequest, source: TransportAddress): void {
  const via = topVia(request);
  const rport = via.params.get('rport');
  const wantsRport = via.params.has('rport') && (rport === null || rport === undefined || rport === '');
  if (!wantsRport && bareHost(via.host) === bareHost(source.address)) return;

  const lines = request.headers.getLines('Via');
  const [topValue, ...sameLine] = splitHeaderList(lines[0] ?? '');
  if (topValue === undefined) return;
  let stamped = topValue.replace(/;\s*received\s*=[^;]*/i, '').trimEnd();
  if (wantsRport) stamped = stamped.replace(/;\s*rport\s*(?=;|$)/i, `;rport=${source.port}`);
  stamped += `;received=${source.address}`;

  // Rewrite the Via lines in place, keeping their position among the other headers.
  const rewritten = [[stamped, ...sameLine].join(', '), ...lines.slice(1)];
  request.headers.set('Via', rewritten[rewritten.length - 1]!);
  for (let i = rewritten.length - 2; i >= 0; i--) request.headers.prepend('Via', rewritten[i]!);
}

function bareHost(host: string): string {
  return host.replace(/^\[|\]$/g, '').toLowerCase();
}
