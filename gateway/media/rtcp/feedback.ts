import { rtcpPacket, rtcpPackets } from './compound.js';

/** RTCP feedback a forwarder acts on: picture loss (RFC 4585 PLI), full intra request (RFC 5104 FIR), generic NACK. */

export type RtcpFeedback =
  | { type: 'pli'; mediaSsrc: number }
  | { type: 'fir'; mediaSsrc: number }
  | { type: 'nack'; mediaSsrc: number; sequenceNumbers: number[] };

const RTPFB = 205;
const PSFB = 206;

/** The feedback messages in a compound RTCP packet; anything else (SR, RR, SDES, …) is skipped. */
export function parseRtcpFeedback(packet: Buffer): RtcpFeedback[] {
  const found: RtcpFeedback[] = [];
  for (const { countOrFormat: format, type, start: at, end } of rtcpPackets(packet)) {
    if (type === PSFB && format === 1 && end - at >= 12) {
      found.push({ type: 'pli', mediaSsrc: packet.readUInt32BE(at + 8) });
    } else if (type === PSFB && format === 4) {
      // FIR names its targets in the FCI entries (8 bytes each), not in the media SSRC field.
      for (let fci = at + 12; fci + 8 <= end; fci += 8) found.push({ type: 'fir', mediaSsrc: packet.readUInt32BE(fci) });
    } else if (type === RTPFB && format === 1 && end - at >= 12) {
      const sequenceNumbers: number[] = [];
      for (let fci = at + 12; fci + 4 <= end; fci += 4) {
        const pid = packet.readUInt16BE(fci);
        const bitmask = packet.readUInt16BE(fci + 2);
        sequenceNumbers.push(pid);
        for (let bit = 0; bit < 16; bit++) if (bitmask & (1 << bit)) sequenceNumbers.push((pid + bit + 1) & 0xffff);
      }
      found.push({ type: 'nack', mediaSsrc: packet.readUInt32BE(at + 8), sequenceNumbers });
    }
  }
  return found;
}

/** A feedback packet (RFC 4585 §6.1) with room for `fciWords` of feedback control information. */
function feedbackPacket(type: number, format: number, senderSsrc: number, mediaSsrc: number, fciWords: number): Buffer {
  const packet = rtcpPacket(type, format, senderSsrc, 4 + 4 * fciWords);
  packet.writeUInt32BE(mediaSsrc >>> 0, 8);
  return packet;
}

export function buildPli(senderSsrc: number, mediaSsrc: number): Buffer {
  return feedbackPacket(PSFB, 1, senderSsrc, mediaSsrc, 0);
}

/** The numbers in sending order across the 16-bit wrap: starting after the widest gap between them. */
function inSendingOrder(sequenceNumbers: readonly number[]): number[] {
  const sorted = [...new Set(sequenceNumbers.map((s) => s & 0xffff))].sort((a, b) => a - b);
  let start = 0;
  let widest = -1;
  sorted.forEach((value, i) => {
    const gap = (value - sorted[(i + sorted.length - 1) % sorted.length]! + 0x10000) & 0xffff;
    if (gap > widest) {
      widest = gap;
      start = i;
    }
  });
  return [...sorted.slice(start), ...sorted.slice(0, start)];
}

/** Generic NACK for the given sequence numbers, packed as PID + bitmask of the next 16. */
export function buildNack(senderSsrc: number, mediaSsrc: number, sequenceNumbers: readonly number[]): Buffer {
  const sorted = inSendingOrder(sequenceNumbers);
  const entries: [number, number][] = [];
  for (const sequence of sorted) {
    const last = entries[entries.length - 1];
    const distance = last ? (sequence - last[0]) & 0xffff : 0;
    if (last && distance >= 1 && distance <= 16) last[1] |= 1 << (distance - 1);
    else entries.push([sequence, 0]);
  }
  const packet = feedbackPacket(RTPFB, 1, senderSsrc, mediaSsrc, entries.length);
  entries.forEach(([pid, bitmask], i) => {
    packet.writeUInt16BE(pid, 12 + 4 * i);
    packet.writeUInt16BE(bitmask, 14 + 4 * i);
  });
  return packet;
}
