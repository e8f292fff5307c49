export { parseOffer } from './offer.js';
export type { Direction, DtlsAttributes, OfferedMedia, SessionOffer } from './offer.js';
export { answerOffer } from './answer.js';
export type { AcceptedAnswer, AnswerPolicy, AnswerResult, AnsweredStream, MediaKind, RejectedAnswer, StreamSrtp } from './answer.js';
export type { Codec, CodecSpec } from './codecs.js';
export { SrtpMasterKey } from './sdes.js';
export type { OfferedCrypto } from './sdes.js';
export { SdpError } from './sdp-error.js';
