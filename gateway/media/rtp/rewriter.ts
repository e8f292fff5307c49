import { parseRtpHeader } from './header.js';

/**
 * Turns packets from a changing series of sources into one continuous outgoing stream: one SSRC,
 * sequence numbers with no gap or repeat at a switch, and timestamps that keep moving forward by
 * the wall-clock time between the old source's last packet and the new source's first. Receivers
 * (browsers, room systems) then see one steady stream whoever is speaking. The first source keeps
 * its own numbering, so rewriting a stream that is already continuous changes only its SSRC.
 */
export class RtpRewriter {
  private source: number | undefined;
  private sequenceOffset = 0;
  private timestampOffset = 0;
  private lastSequence = 0;
  private lastTimestamp = 0;
  private lastSentAt = -1;

  constructor(
    readonly ssrc: number,
    /** Of the timestamps, to turn the time between two sources into timestamp units; follows a re-negotiated codec. */
    public clockRate: number,
  ) {}

  /** The source SSRC currently carried, if any packet was rewritten yet. */
  get currentSource(): number | undefined {
    return this.source;
  }

  /**
   * A rewritten copy of `packet`; the original is left as it was (other receivers share it).
   * Without `payloadType` the packet keeps its own.
   */
  rewrite(packet: Buffer, payloadType?: number): Buffer {
    return this.rewriteInPlace(Buffer.from(packet), payloadType);
  }

  /** Rewrites `packet` itself and returns it: only for a packet nobody else reads. */
  rewriteInPlace(packet: Buffer, payloadType?: number): Buffer {
    const header = parseRtpHeader(packet);
    if (header.ssrc !== this.source) this.switchTo(header.ssrc, header.sequenceNumber, header.timestamp);
    const sequence = (header.sequenceNumber + this.sequenceOffset) & 0xffff;
    const timestamp = (header.timestamp + this.timestampOffset) >>> 0;
    if (payloadType !== undefined) packet.writeUInt8((packet.readUInt8(1) & 0x80) | (payloadType & 0x7f), 1);
    packet.writeUInt16BE(sequence, 2);
    packet.writeUInt32BE(timestamp, 4);
    packet.writeUInt32BE(this.ssrc >>> 0, 8);
    // Only forward progress moves the reference: a late or retransmitted packet keeps its place.
    if (this.lastSentAt < 0 || ((sequence - this.lastSequence) & 0xffff) < 0x8000) {
      this.lastSequence = sequence;
      this.lastTimestamp = timestamp;
      this.lastSentAt = performance.now();
    }
    return packet;
  }

  /** The current source's sequence number for one we sent (to pass a NACK back to the sender). */
  sourceSequence(outgoing: number): number {
    return (outgoing - this.sequenceOffset) & 0xffff;
  }

  private switchTo(ssrc: number, sequence: number, timestamp: number): void {
    if (this.source !== undefined) {
      const elapsed = Math.max(1, Math.round(((performance.now() - this.lastSentAt) * this.clockRate) / 1000));
      this.sequenceOffset = (this.lastSequence + 1 - sequence) & 0xffff;
      this.timestampOffset = (this.lastTimestamp + elapsed - timestamp) >>> 0;
    }
    this.source = ssrc;
  }
}

/** Writes RTP packets for frames we produce ourselves (the mixed audio of a room system). */
export class RtpPacketWriter {
  private sequence = Math.floor(Math.random() * 0x10000);
  private timestamp = Math.floor(Math.random() * 0x100000000);
  private talkspurtStarts = true;

  constructor(
    readonly ssrc: number,
    private readonly payloadType: number,
  ) {}

  /**
   * `duration` timestamp units pass without packets (silence between talkspurts): the next packet's
   * timestamp counts them (RFC 3550 §5.1) and it starts a new talkspurt.
   */
  skip(duration: number): void {
    this.timestamp = (this.timestamp + duration) >>> 0;
    this.talkspurtStarts = true;
  }

  /** One packet for a frame that covers `duration` timestamp units. */
  write(payload: Uint8Array, duration: number): Buffer {
    const packet = Buffer.allocUnsafe(12 + payload.length);
    packet.writeUInt8(0x80, 0);
    // The marker starts a talkspurt (RFC 3551 §4.1): the stream's first packet, and the first after a skip().
    packet.writeUInt8((this.talkspurtStarts ? 0x80 : 0) | this.payloadType, 1);
    packet.writeUInt16BE(this.sequence, 2);
    packet.writeUInt32BE(this.timestamp, 4);
    packet.writeUInt32BE(this.ssrc >>> 0, 8);
    packet.set(payload, 12);
    this.talkspurtStarts = false;
    this.sequence = (this.sequence + 1) & 0xffff;
    this.timestamp = (this.timestamp + duration) >>> 0;
    return packet;
  }
}
