/** The SIP message layer: parse, serialize, frame, and typed header views (RFC 3261 §7, §19, §20, §25). */
export * from './types.js';
export { DEFAULT_PARSE_LIMITS, parseMessage, type ParseLimits } from './parser.js';
export { serializeMessage } from './serializer.js';
export { formatUri, parseUri } from './uri.js';
export { StreamFramer, type FramedItem } from './framer.js';
export {
  callId,
  cseqHeader,
  formatNameAddr,
  formatVia,
  fromHeader,
  parseCSeq,
  parseNameAddr,
  parseVia,
  toHeader,
  topVia,
  type NameAddr,
  type Via,
} from './headers.js';
export { createResponse, generateTag, reasonPhrase } from './response.js';
