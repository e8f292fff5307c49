import { RtpRewriter, startsKeyframe } from '../media/index.js';
import { PayloadTypeMap } from './codec-match.js';
import type { KeyframeRequests } from './forwarding.js';
import type { OutgoingTrack, PublishedTrack } from './types.js';

interface Candidate {
  track: PublishedTrack;
  keyframes: KeyframeRequests;
  payloadTypes: PayloadTypeMap;
}

/**
 * The one video stream a room system gets: the active speaker's, as one continuous stream. A
 * switch asks the new source for a keyframe and takes effect on that keyframe, so the receiver's
 * decoder never starts on a frame it cannot decode.
 */
export class SpeakerVideo {
  private readonly rewriter: RtpRewriter;
  private readonly candidates = new Map<string, Candidate>();
  private current: string | undefined;
  private pending: string | undefined;

  constructor(
    private readonly out: OutgoingTrack,
    /** The participant this stream goes to. */
    readonly receiverId: string,
  ) {
    this.rewriter = new RtpRewriter(out.ssrc, 90000);
    out.onKeyframeRequest(() => this.candidates.get(this.current ?? '')?.keyframes.request());
  }

  addCandidate(participantId: string, track: PublishedTrack, keyframes: KeyframeRequests): void {
    this.candidates.set(participantId, { track, keyframes, payloadTypes: new PayloadTypeMap(track.codecs, this.out.codecs) });
  }

  removeCandidate(participantId: string): void {
    this.candidates.delete(participantId);
    if (this.pending === participantId) this.pending = undefined;
    if (this.current === participantId) this.current = undefined;
  }

  /** Show this participant next (the owner picked the speaker). */
  show(participantId: string): void {
    if (participantId === this.current || participantId === this.pending) return;
    const candidate = this.candidates.get(participantId);
    if (!candidate) return;
    this.pending = participantId;
    candidate.keyframes.request();
  }

  /**
   * A video packet from a candidate; sent on when it is the one shown, or the keyframe it waits
   * for. Returns whether it was sent.
   */
  offer(participantId: string, packet: Buffer, payloadType: number, headerLength: number): boolean {
    const candidate = this.candidates.get(participantId);
    const mapped = candidate?.payloadTypes.map(payloadType) ?? null;
    if (!candidate || mapped === null) return false;
    if (participantId === this.pending) {
      const codec = candidate.track.codecs.find((c) => c.payloadType === payloadType);
      if (!codec || !startsKeyframe(codec.name, packet.subarray(headerLength))) return false;
      this.current = participantId;
      this.pending = undefined;
    }
    if (participantId !== this.current) return false;
    this.out.send(this.rewriter.rewrite(packet, mapped));
    return true;
  }

  close(): void {
    this.out.close();
  }
}
