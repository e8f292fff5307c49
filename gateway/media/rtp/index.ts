export { isRtcp, parseRtpHeader, setPayloadType, setSequenceNumber, setSsrc, setTimestamp } from './header.js';
export type { RtpHeader } from './header.js';
export { PortAllocator } from './port-allocator.js';
export { startsKeyframe } from './keyframe.js';
export { RtpPacketWriter, RtpRewriter } from './rewriter.js';
export { RtpSocketPair } from './rtp-socket-pair.js';
export type { PacketListener, RtpCounters, RtpSocketPairOptions, SourceAddress } from './rtp-socket-pair.js';
export { RtpError } from './rtp-error.js';
