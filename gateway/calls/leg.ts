import { randomUUID } from 'node:crypto';
import type { MediaStream } from '../media/index.js';
import type { SecurityLabel } from './security-label.js';

export type LegEndCause =
  | 'remote-hangup'
  | 'local-hangup'
  | 'media-timeout'
  | 'ack-timeout'
  | 'session-expired'
  | 'shutdown'
  | 'meeting-ended';

/**
 * One call leg: a participant's connection to the gateway with its security label and media.
 * Signalling-agnostic (a SIP leg today, WebRTC and H.323 legs later): the signalling side that
 * created it supplies how to hang up, and adds or removes streams as offers come and go.
 */
export class Leg {
  readonly id = randomUUID();
  readonly startedAt = Date.now();
  private endedCause: LegEndCause | undefined;
  private readonly mediaStreams: MediaStream[] = [];
  private readonly streamListeners: ((stream: MediaStream) => void)[] = [];
  private readonly endListeners: ((cause: LegEndCause) => void)[] = [];
  private readonly pictureUpdateListeners: (() => void)[] = [];

  constructor(
    readonly label: SecurityLabel,
    /** Asks the signalling side to end the leg (send BYE). */
    private readonly hangupSignalling: (cause: LegEndCause) => void,
    /** How the caller names itself (display name or user), for other participants to read. */
    readonly peerName = 'Caller',
  ) {}

  get streams(): readonly MediaStream[] {
    return this.mediaStreams;
  }

  get isEnded(): boolean {
    return this.endedCause !== undefined;
  }

  addStream(stream: MediaStream): void {
    this.mediaStreams.push(stream);
    for (const listener of this.streamListeners) listener(stream);
  }

  removeStream(stream: MediaStream): void {
    const at = this.mediaStreams.indexOf(stream);
    if (at >= 0) this.mediaStreams.splice(at, 1);
    stream.close();
  }

  /** Called for every stream the leg has and every stream added later. */
  onStream(listener: (stream: MediaStream) => void): void {
    this.streamListeners.push(listener);
    for (const stream of this.mediaStreams) listener(stream);
  }

  /** End the leg from the gateway's side. */
  hangup(cause: LegEndCause): void {
    if (this.isEnded) return;
    this.hangupSignalling(cause);
    this.ended(cause);
  }

  /** The leg is over: media is released once, listeners told once. */
  ended(cause: LegEndCause): void {
    if (this.isEnded) return;
    this.endedCause = cause;
    for (const stream of this.mediaStreams.splice(0)) stream.close();
    this.streamListeners.length = 0;
    this.pictureUpdateListeners.length = 0;
    for (const listener of this.endListeners.splice(0)) listener(cause);
  }

  /** The peer asked for a full picture (SIP INFO picture_fast_update, RFC 5168). */
  pictureUpdateRequested(): void {
    for (const listener of this.pictureUpdateListeners) listener();
  }

  onPictureUpdate(listener: () => void): void {
    this.pictureUpdateListeners.push(listener);
  }

  onEnded(listener: (cause: LegEndCause) => void): void {
    if (this.endedCause !== undefined) listener(this.endedCause);
    else this.endListeners.push(listener);
  }

  /** Milliseconds since any stream last received media that authenticated (RTP or RTCP). */
  mediaIdleMs(now = Date.now()): number {
    return now - Math.max(this.startedAt, ...this.mediaStreams.map((s) => s.lastReceivedAt));
  }
}
