import { formatUri } from '../message/index.js';
import type { SipUri } from '../message/index.js';
import type { MessageSender, TransportProtocol } from '../transport/index.js';

export interface ContactOptions {
  /** User part, e.g. the meeting the call reached. */
  user?: string;
  /**
   * Use a `sips:` URI. §12.1.1: required when the request's Request-URI (or top Record-Route)
   * was `sips:`; otherwise TLS is signalled with `;transport=tls`, which room systems expect.
   */
  sips?: boolean;
}

/** Our Contact URI for messages leaving on `transport`, from the address the transport advertises. */
export function localContactUri(sender: MessageSender, transport: TransportProtocol, options: ContactOptions = {}): SipUri {
  const local = sender.localAddress(transport);
  const sips = options.sips === true && transport === 'tls';
  const params = new Map<string, string | null>();
  if (!sips && transport !== 'udp') params.set('transport', transport);
  const uri: SipUri = { scheme: sips ? 'sips' : 'sip', host: local.address, port: local.port, params, headers: new Map() };
  if (options.user !== undefined) uri.user = options.user;
  return uri;
}

/** The Contact header value (`<sip:…>`) for messages leaving on `transport`. */
export function localContact(sender: MessageSender, transport: TransportProtocol, options: ContactOptions = {}): string {
  return `<${formatUri(localContactUri(sender, transport, options))}>`;
}
