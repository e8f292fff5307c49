import type { SecurityLabel } from '../calls/index.js';

/**
 * The meeting fabric's narrow interface: everything a signalling side (the WebRTC signalling,
 * SIP calls, later H.323 and an external fabric's adapter) needs, and nothing about how it
 * connects. Media crosses it as plain RTP; encryption stays in the transports.
 */
export interface Fabric {
  /**
   * Joins a meeting. Refused when no meeting has that ID, or when the meeting's policy is
   * `require` and the participant's media is not encrypted. PINs are checked before, by the caller.
   */
  join(meetingId: string, participant: ParticipantSpec): JoinResult;
}

export type JoinRefusal = 'not-found' | 'encryption-required';

export type JoinResult = { readonly ok: true; readonly session: ParticipantSession } | { readonly ok: false; readonly reason: JoinRefusal };

export type MediaKind = 'audio' | 'video';

/** A payload format on one track, with the payload type that track's packets carry. */
export interface TrackCodec {
  readonly payloadType: number;
  readonly name: string;
  readonly clockRate: number;
  readonly channels: number;
  readonly fmtp?: string;
}

/** RTP one participant sends into the meeting. */
export interface PublishedTrack {
  readonly kind: MediaKind;
  /** Every payload format the sender may use on this track. */
  readonly codecs: readonly TrackCodec[];
  onRtp(listener: (packet: Buffer) => void): void;
  /** Asks the sender for a keyframe (RTCP PLI). */
  requestKeyframe(): void;
  /** Asks the sender to resend lost packets (RTCP NACK); absent where the sender cannot. */
  requestRetransmission?(sequenceNumbers: readonly number[]): void;
}

/** A track the meeting sends to one participant. */
export interface OutgoingTrack {
  readonly kind: MediaKind;
  readonly ssrc: number;
  /** What the receiver accepts, in its preference order, with its payload types. */
  readonly codecs: readonly TrackCodec[];
  send(packet: Buffer): void;
  /** PLI or FIR from the receiver. */
  onKeyframeRequest(listener: () => void): void;
  /** NACK from the receiver, with the sequence numbers as we sent them. */
  onNack(listener: (sequenceNumbers: number[]) => void): void;
  close(): void;
}

/** Browsers: every other participant's tracks, forwarded as they are (SFU). */
export interface ForwardedReception {
  readonly mode: 'forward';
  /** Opens a track for another participant's published track; undefined when none is free or the codecs don't meet. */
  openTrack(from: { participantId: string; kind: MediaKind; codecs: readonly TrackCodec[] }): OutgoingTrack | undefined;
}

/** Room systems and phones: one audio stream, the mix of everyone else, and the active speaker's video. */
export interface MixedReception {
  readonly mode: 'mix';
  readonly audio?: OutgoingTrack;
  readonly video?: OutgoingTrack;
}

export type ParticipantKind = 'browser' | 'room-system' | 'phone';

export interface ParticipantSpec {
  readonly name: string;
  readonly kind: ParticipantKind;
  readonly label: SecurityLabel;
  readonly reception: ForwardedReception | MixedReception;
}

/** One participant as every other participant sees it. */
export interface RosterEntry {
  readonly id: string;
  readonly name: string;
  readonly origin: SecurityLabel['origin'];
  readonly label: SecurityLabel;
  /** The label in words, e.g. "Room system · SIP over TLS 1.3 · SRTP AEAD_AES_256_GCM". */
  readonly description: string;
  readonly encrypted: boolean;
  readonly audioMuted: boolean;
  readonly videoMuted: boolean;
}

export interface Notice {
  readonly event: 'joined' | 'left';
  readonly participant: RosterEntry;
  /** What participants read, e.g. "Carol joined by phone — this leg is not encrypted". */
  readonly text: string;
}

/** Why the meeting ended a session: it was deleted, or its policy became `require` while this leg is unencrypted. */
export type SessionEndReason = 'meeting-deleted' | 'encryption-required';

export interface ParticipantSession {
  readonly id: string;
  readonly meeting: { readonly id: string; readonly name: string };
  publish(track: PublishedTrack): void;
  setMediaState(state: { audioMuted: boolean; videoMuted: boolean }): void;
  /** The whole roster after every change, this participant included; called at once with the current one. */
  onRoster(listener: (roster: readonly RosterEntry[]) => void): void;
  /** Others joining and leaving. */
  onNotice(listener: (notice: Notice) => void): void;
  /** The meeting ended the session; not called after leave(). */
  onEnded(listener: (reason: SessionEndReason) => void): void;
  leave(): void;
}
