import { RtpRewriter, parseRtpHeader } from '../media/index.js';
import { PayloadTypeMap } from './codec-match.js';
import type { OutgoingTrack, PublishedTrack } from './types.js';

// A sender gets at most one keyframe request per track in this time, however many receivers ask:
// each request costs it a large frame, and one keyframe serves every receiver.
const KEYFRAME_REQUEST_INTERVAL_MS = 300;

/** Keyframe requests towards one published track, merged across receivers. */
export class KeyframeRequests {
  private lastAt = -Infinity;

  constructor(
    private readonly track: PublishedTrack,
    private readonly counted: () => void,
  ) {}

  request(): void {
    const now = performance.now();
    if (now - this.lastAt < KEYFRAME_REQUEST_INTERVAL_MS) return;
    this.lastAt = now;
    this.counted();
    this.track.requestKeyframe();
  }
}

/**
 * One published track forwarded to one receiver's track without decoding (SFU): payload type
 * mapped to the receiver's, SSRC, sequence and timestamp rewritten to the receiver track's own
 * numbering; the receiver's PLI/FIR and NACK go back to the sender.
 */
export class ForwardingLink {
  private readonly rewriter: RtpRewriter;
  private readonly payloadTypes: PayloadTypeMap;

  constructor(
    readonly source: PublishedTrack,
    readonly out: OutgoingTrack,
    keyframes: KeyframeRequests,
  ) {
    const clockRate = source.codecs[0]?.clockRate ?? 90000;
    this.rewriter = new RtpRewriter(out.ssrc, clockRate);
    this.payloadTypes = new PayloadTypeMap(source.codecs, out.codecs);
    out.onKeyframeRequest(() => keyframes.request());
    out.onNack((sequenceNumbers) => source.requestRetransmission?.(sequenceNumbers.map((s) => this.rewriter.sourceSequence(s))));
  }

  /** Returns whether the packet was sent (the receiver takes its format). */
  forward(packet: Buffer, payloadType: number): boolean {
    const mapped = this.payloadTypes.map(payloadType);
    if (mapped === null) return false;
    this.out.send(this.rewriter.rewrite(packet, mapped));
    return true;
  }

  close(): void {
    this.out.close();
  }
}

/** The RTP header fields routing needs. */
export interface RoutingHeader {
  readonly payloadType: number;
  readonly headerLength: number;
}

/** The routing fields, or undefined for a packet too broken to route. */
export function routingHeader(packet: Buffer): RoutingHeader | undefined {
  try {
    const header = parseRtpHeader(packet);
    return { payloadType: header.payloadType, headerLength: header.headerLength };
  } catch {
    return undefined;
  }
}
