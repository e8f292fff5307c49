import { randomUUID } from 'node:crypto';
import type { MediaStream } from '../media/index.js';
import type { AuditRecord } from '../observability/index.js';
import { auditLabel, durationSince, type SecurityLabel } from './security-label.js';

export type LegEndCause =
  | 'remote-hangup'
  | 'local-hangup'
  | 'media-timeout'
  | 'ack-timeout'
  | 'session-expired'
  | 'shutdown'
  | 'meeting-ended'
  | 'entry-failed'
  | 'policy-refused';

/** How a DTMF digit arrived: RFC 4733 telephone-event in the media, or SIP INFO. */
export type DigitMethod = 'rfc4733' | 'info';

/** Who the leg is, beyond its label: for the audit log and for trunk-specific routing. */
export interface LegPeer {
  /** How the caller names itself (display name or user), for other participants to read. */
  readonly name: string;
  /** Source address of the signalling, as the transport saw it. */
  readonly address?: string;
  readonly userAgent?: string;
  /** The configured trunk the call came through. */
  readonly trunk?: string;
}

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
  private readonly digitListeners: ((digit: string, method: DigitMethod) => void)[] = [];
  /** The meeting the leg joined, once it has (for the audit log). */
  meetingId: string | undefined;

  constructor(
    readonly label: SecurityLabel,
    /** Asks the signalling side to end the leg (send BYE). */
    private readonly hangupSignalling: (cause: LegEndCause) => void,
    readonly peer: LegPeer = { name: 'Caller' },
  ) {}

  get peerName(): string {
    return this.peer.name;
  }

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
    this.digitListeners.length = 0;
    for (const listener of this.endListeners.splice(0)) listener(cause);
  }

  /** The peer asked for a full picture (SIP INFO picture_fast_update, RFC 5168). */
  pictureUpdateRequested(): void {
    for (const listener of this.pictureUpdateListeners) listener();
  }

  onPictureUpdate(listener: () => void): void {
    this.pictureUpdateListeners.push(listener);
  }

  /** A DTMF digit (0-9 * # A-D) from the peer. Digits are secrets (PINs): never log them. */
  digitReceived(digit: string, method: DigitMethod): void {
    for (const listener of [...this.digitListeners]) listener(digit, method);
  }

  /** Returns a function that removes the listener. */
  onDigit(listener: (digit: string, method: DigitMethod) => void): () => void {
    this.digitListeners.push(listener);
    return () => {
      const at = this.digitListeners.indexOf(listener);
      if (at >= 0) this.digitListeners.splice(at, 1);
    };
  }

  onEnded(listener: (cause: LegEndCause) => void): void {
    if (this.endedCause !== undefined) listener(this.endedCause);
    else this.endListeners.push(listener);
  }

  /** What the audit log keeps of the leg once it ended: metadata, never a digit or key. */
  auditRecord(cause: LegEndCause): AuditRecord {
    return {
      event: 'leg-ended',
      origin: this.label.origin,
      ...(this.meetingId ? { meeting: this.meetingId } : {}),
      label: auditLabel(this.label),
      outcome: cause,
      durationS: durationSince(this.startedAt),
      ...(this.peer.address ? { remoteAddress: this.peer.address } : {}),
      ...(this.peer.trunk ? { trunk: this.peer.trunk } : {}),
      ...(this.peer.userAgent ? { userAgent: this.peer.userAgent } : {}),
    };
  }

  /** Milliseconds since any stream last received media that authenticated (RTP or RTCP). */
  mediaIdleMs(now = Date.now()): number {
    return now - Math.max(this.startedAt, ...this.mediaStreams.map((s) => s.lastReceivedAt));
  }
}
