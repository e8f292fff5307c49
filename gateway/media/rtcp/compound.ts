/** The common header and the SSRC that follows it in every packet type sipgw reads or writes. */
export const RTCP_HEADER_BYTES = 8;

/** One packet of a compound RTCP packet: its header fields and where it lies in the buffer. */
export interface RtcpPacketView {
  /** The 5-bit count (SR/RR/SDES) or feedback format (RTPFB/PSFB). */
  countOrFormat: number;
  type: number;
  /** Offset of the packet's first byte (its header). */
  start: number;
  /** Offset just past its last byte, as its length field says. */
  end: number;
}

/**
 * The packets of a compound RTCP packet, in order. Stops at the first one that is not version 2 or
 * claims to run past the end, keeping what came before: peers' garbage never throws here.
 */
export function* rtcpPackets(buffer: Buffer): Generator<RtcpPacketView> {
  let start = 0;
  while (start + 4 <= buffer.length) {
    const first = buffer.readUInt8(start);
    if (first >> 6 !== 2) return;
    const end = start + 4 * (buffer.readUInt16BE(start + 2) + 1);
    if (end > buffer.length) return;
    yield { countOrFormat: first & 0x1f, type: buffer.readUInt8(start + 1), start, end };
    start = end;
  }
}

/**
 * A zeroed RTCP packet with its header and the SSRC after it written (the sender's, or an SDES
 * chunk's); `bodyBytes`, a multiple of 4, follow for the caller to fill.
 */
export function rtcpPacket(type: number, countOrFormat: number, ssrc: number, bodyBytes: number): Buffer {
  const packet = Buffer.alloc(RTCP_HEADER_BYTES + bodyBytes);
  packet.writeUInt8(0x80 | countOrFormat, 0);
  packet.writeUInt8(type, 1);
  packet.writeUInt16BE(packet.length / 4 - 1, 2);
  packet.writeUInt32BE(ssrc >>> 0, 4);
  return packet;
}
