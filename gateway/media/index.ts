export { PortAllocator, RtpSocketPair, RtpError, parseRtpHeader, isRtcp } from './rtp/index.js';
export type { RtpHeader } from './rtp/index.js';
export { SRTP_SUITES, SrtpContext, SrtpError, generateMasterKey, srtpKeyLengths } from './srtp/index.js';
export type { SrtpSuite } from './srtp/index.js';
export { SecureRtpStream } from './stream/index.js';
export type { MediaStream, StreamDirection, StreamEvents, StreamParams } from './stream/index.js';
