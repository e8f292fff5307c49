import { parseMessage } from '../../gateway/sip/message/index.js';
import type { SipMessage, SipRequest, SipResponse } from '../../gateway/sip/message/index.js';
import type {
  InboundMessage,
  MessageSender,
  SendTarget,
  TransportAddress,
  TransportProtocol,
} from '../../gateway/sip/transport/index.js';

/** A MessageSender that records what was sent instead of putting it on a wire. */
export class RecordingSender implements MessageSender {
  readonly sent: { message: SipMessage; target: SendTarget }[] = [];
  /** When set, every send fails the way a reset connection does. */
  failing = false;

  send(message: SipMessage, target: SendTarget): Promise<void> {
    if (this.failing) return Promise.reject(new Error('connection reset'));
    this.sent.push({ message, target });
    return Promise.resolve();
  }

  isReliable(transport: TransportProtocol): boolean {
    return transport !== 'udp';
  }

  localAddress(transport: TransportProtocol): TransportAddress {
    return { transport, address: '192.0.2.1', port: transport === 'tls' ? 5061 : 5060 };
  }

  responses(): SipResponse[] {
    return this.sent.map((s) => s.message).filter((m): m is SipResponse => m.type === 'response');
  }

  statuses(): number[] {
    return this.responses().map((r) => r.status);
  }

  requests(): SipRequest[] {
    return this.sent.map((s) => s.message).filter((m): m is SipRequest => m.type === 'request');
  }

  clear(): void {
    this.sent.length = 0;
  }
}

export const PEER_UDP: TransportAddress = { transport: 'udp', address: '198.51.100.7', port: 5060 };
export const PEER_TLS: TransportAddress = { transport: 'tls', address: '198.51.100.7', port: 49152 };

export function inbound(text: string, source: TransportAddress = PEER_UDP, connectionId?: string): InboundMessage {
  const message = parseMessage(Buffer.from(text.replace(/\n/g, '\r\n')));
  const local: TransportAddress = { transport: source.transport, address: '192.0.2.1', port: source.transport === 'tls' ? 5061 : 5060 };
  return connectionId === undefined ? { message, source, local } : { message, source, local, connectionId };
}

export interface RequestFields {
  method?: string;
  branch?: string;
  cseq?: number;
  callId?: string;
  toTag?: string;
  fromTag?: string;
  transport?: string;
  viaHost?: string;
  extra?: string[];
  uri?: string;
}

/** A request as a peer at 198.51.100.7 would send it. */
export function requestText(f: RequestFields = {}): string {
  const method = f.method ?? 'INVITE';
  const lines = [
    `${method} ${f.uri ?? 'sip:echo@192.0.2.1'} SIP/2.0`,
    `Via: SIP/2.0/${f.transport ?? 'UDP'} ${f.viaHost ?? '198.51.100.7:5060'};branch=${f.branch ?? 'z9hG4bKaaa1'}`,
    'Max-Forwards: 70',
    `From: "Room" <sip:room@198.51.100.7>;tag=${f.fromTag ?? 'ft1'}`,
    `To: <sip:echo@192.0.2.1>${f.toTag === undefined ? '' : `;tag=${f.toTag}`}`,
    `Call-ID: ${f.callId ?? 'call-1@198.51.100.7'}`,
    `CSeq: ${f.cseq ?? 1} ${method}`,
    ...(f.extra ?? []),
    'Content-Length: 0',
    '',
    '',
  ];
  return lines.join('\n');
}

/** A response as a peer would send it to a request we sent. */
export function responseText(request: SipRequest, status: number, reason: string, toTag?: string, extra: string[] = []): string {
  const h = request.headers;
  const to = h.get('To') ?? '';
  const lines = [
    `SIP/2.0 ${status} ${reason}`,
    ...h.getLines('Via').map((v) => `Via: ${v}`),
    `From: ${h.get('From') ?? ''}`,
    `To: ${to}${toTag === undefined || /;tag=/.test(to) ? '' : `;tag=${toTag}`}`,
    `Call-ID: ${h.get('Call-ID') ?? ''}`,
    `CSeq: ${h.get('CSeq') ?? ''}`,
    ...extra,
    'Content-Length: 0',
    '',
    '',
  ];
  return lines.join('\n');
}
