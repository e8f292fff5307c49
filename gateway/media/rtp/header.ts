/** The fixed RTP header (RFC 3550 §5.1), read and rewritten in place. */
import { RtpError } from './rtp-error.js';

export interface RtpHeader {
  version: number;
  padding: boolean;
  extension: boolean;
  csrcCount: number;
  marker: boolean;
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  /** Bytes before the payload: fixed header, CSRCs and header extension. */
  headerLength: number;
}

const FIXED_HEADER_BYTES = 12;

/**
 * Parses the header only. Padding is not checked against the payload: in SRTP the padding
 * count sits in the encrypted payload, so it can be read only after decryption.
 */
export function parseRtpHeader(buf: Buffer): RtpHeader {
  if (buf.length < FIXED_HEADER_BYTES) throw new RtpError(`RTP packet too short: ${buf.length} bytes`);
  const first = buf.readUInt8(0);
  const second = buf.readUInt8(1);
  const version = first >> 6;
  if (version !== 2) throw new RtpError(`RTP version ${version}, expected 2`);
  const csrcCount = first & 0x0f;
  const extension = (first & 0x10) !== 0;
  let headerLength = FIXED_HEADER_BYTES + 4 * csrcCount;
  if (extension) {
    if (buf.length < headerLength + 4) throw new RtpError('RTP header extension truncated');
    headerLength += 4 + 4 * buf.readUInt16BE(headerLength + 2);
  }
  if (buf.length < headerLength) throw new RtpError('RTP header longer than the packet');
  return {
    version,
    padding: (first & 0x20) !== 0,
    extension,
    csrcCount,
    marker: (second & 0x80) !== 0,
    payloadType: second & 0x7f,
    sequenceNumber: buf.readUInt16BE(2),
    timestamp: buf.readUInt32BE(4),
    ssrc: buf.readUInt32BE(8),
    headerLength,
  };
}

/**
 * RFC 5761 §4 demultiplexing: RTCP packet types 192–223 fill the second octet, where RTP
 * would carry the marker bit and payload types 64–95, which muxed sessions must not use.
 */
export function isRtcp(buf: Buffer): boolean {
  if (buf.length < 8 || buf.readUInt8(0) >> 6 !== 2) return false;
  const packetType = buf.readUInt8(1);
  return packetType >= 192 && packetType <= 223;
}

function requireFixedHeader(buf: Buffer): void {
  if (buf.length < FIXED_HEADER_BYTES) throw new RtpError(`RTP packet too short: ${buf.length} bytes`);
}

export function setSsrc(buf: Buffer, ssrc: number): void {
  requireFixedHeader(buf);
  buf.writeUInt32BE(ssrc >>> 0, 8);
}

export function setSequenceNumber(buf: Buffer, sequenceNumber: number): void {
  requireFixedHeader(buf);
  buf.writeUInt16BE(sequenceNumber & 0xffff, 2);
}

export function setTimestamp(buf: Buffer, timestamp: number): void {
  requireFixedHeader(buf);
  buf.writeUInt32BE(timestamp >>> 0, 4);
}

/** Keeps the marker bit. */
export function setPayloadType(buf: Buffer, payloadType: number): void {
  requireFixedHeader(buf);
  buf.writeUInt8((buf.readUInt8(1) & 0x80) | (payloadType & 0x7f), 1);
}
