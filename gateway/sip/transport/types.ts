import type { X509Certificate } from 'node:crypto';
import type { SipMessage } from '../message/types.js';

export type TransportProtocol = 'udp' | 'tcp' | 'tls';

/** A SIP endpoint address on one transport. */
export interface TransportAddress {
  transport: TransportProtocol;
  address: string;
  port: number;
}

/** What the TLS handshake established on a connection; absent on UDP and TCP. */
export interface TlsInfo {
  /** `TLSv1.2` or `TLSv1.3`: nothing older is ever negotiated. */
  version: string;
  cipher: string;
  /** Whether the peer presented a certificate that verified against the configured CA. */
  peerVerified: boolean;
  peerSubject?: string;
  /** The peer's certificate, to check a name against with `checkHost`. */
  peerCertificate?: X509Certificate;
}

/** A message as it arrived, with the facts later layers need to decide trust and routing. */
export interface InboundMessage {
  message: SipMessage;
  /** Where it came from (the socket's remote address, not what Via claims). */
  source: TransportAddress;
  /** The listener it arrived on. */
  local: TransportAddress;
  /** Stream transports: the connection it arrived on, for sending responses back (RFC 3261 §18.2.2). */
  connectionId?: string;
  tls?: TlsInfo;
}

/** Where to send an outbound message. */
export interface SendTarget extends TransportAddress {
  /** Reuse this connection when it is still open (stream transports). */
  connectionId?: string;
}

/** The narrow view of the transport layer that transactions and dialogs use. */
export interface MessageSender {
  send(message: SipMessage, target: SendTarget): Promise<void>;
  /** Whether a transport is reliable (no retransmission timers A/E/G apply, §17). */
  isReliable(transport: TransportProtocol): boolean;
  /** The address to put in Via/Contact for messages leaving on `transport`. */
  localAddress(transport: TransportProtocol): TransportAddress;
}
