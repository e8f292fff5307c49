import type { Via } from '../message/index.js';
import type { InboundMessage, SendTarget } from '../transport/index.js';

const DEFAULT_PORT = { udp: 5060, tcp: 5060, tls: 5061 } as const;

/**
 * Where a response to a request goes (RFC 3261 §18.2.2, RFC 3581 §4). Over a stream, back on
 * the connection the request came in on. Over UDP, to the address the request really came from
 * (`received`), and to its source port when the client asked for `rport`, else to the Via port.
 */
export function responseTarget(inbound: InboundMessage, via: Via): SendTarget {
  const { source } = inbound;
  if (source.transport !== 'udp') {
    return { transport: source.transport, address: source.address, port: source.port, connectionId: inbound.connectionId };
  }
  const port = via.params.has('rport') ? source.port : (via.port ?? DEFAULT_PORT.udp);
  return { transport: 'udp', address: source.address, port };
}

export function defaultPort(transport: SendTarget['transport']): number {
  return DEFAULT_PORT[transport];
}
