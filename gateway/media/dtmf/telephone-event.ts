/**
 * RFC 4733 telephone-event receiver for DTMF digits. Each event is reported once, when its first
 * packet arrives (a caller typing over a prompt is heard at once): every packet of one event
 * carries the event's start time as its RTP timestamp, so a new timestamp is a new key press even
 * when the same key is pressed twice, and retransmitted end packets repeat an old one.
 */
import { parseRtpHeader, type RtpHeader } from '../rtp/index.js';
import { digitForEvent } from './digits.js';

/** event (8 bits), end flag, reserved, volume (6 bits), duration (16 bits). */
const EVENT_PAYLOAD_BYTES = 4;
const END_FLAG = 0x80;
const MAX_DURATION = 0xffff;

interface LastEvent {
  ssrc: number;
  timestamp: number;
  event: number;
  ended: boolean;
  duration: number;
}

export class TelephoneEventReceiver {
  /** Only the latest event is kept: whatever a peer sends, memory stays constant. */
  private last: LastEvent | undefined;

  constructor(
    private readonly payloadType: number,
    private readonly onDigit: (digit: string) => void,
  ) {}

  /** Any RTP packet of the stream (audio too); what is not a telephone-event is ignored. */
  receive(packet: Buffer): void {
    // Every audio packet of the stream comes through here: skip them on the payload type byte
    // before parsing a header.
    if (packet.length < 2 || (packet[1]! & 0x7f) !== this.payloadType) return;
    let header: RtpHeader;
    try {
      header = parseRtpHeader(packet);
    } catch {
      return;
    }
    if (header.payloadType !== this.payloadType) return;
    const padding = header.padding ? packet.readUInt8(packet.length - 1) : 0;
    if (packet.length - padding - header.headerLength < EVENT_PAYLOAD_BYTES) return;
    const at = header.headerLength;
    const event = packet.readUInt8(at);
    const ended = (packet.readUInt8(at + 1) & END_FLAG) !== 0;
    const duration = packet.readUInt16BE(at + 2);

    const last = this.last;
    if (last && last.ssrc === header.ssrc) {
      const age = (header.timestamp - last.timestamp) >>> 0;
      if (age === 0) {
        last.ended ||= ended;
        last.duration = duration;
        return;
      }
      // A late packet of an earlier event (timestamps compared modulo 2^32).
      if (age >= 0x80000000) return;
    }
    // An event held past the 16-bit duration goes on in a new segment with a new timestamp (RFC
    // 4733's long-duration events): the same key press, not a new one.
    const nextSegment = last !== undefined && last.ssrc === header.ssrc && !last.ended && last.event === event && last.duration === MAX_DURATION;
    this.last = { ssrc: header.ssrc, timestamp: header.timestamp, event, ended, duration };
    if (nextSegment) return;
    const digit = digitForEvent(event);
    if (digit !== undefined) this.onDigit(digit);
  }
}
