import { randomUUID } from 'node:crypto';
import { describeLabel } from '../calls/index.js';
import { ForwardingLink, KeyframeRequests, routingHeader } from './forwarding.js';
import { MeetingAudio } from './meeting-audio.js';
import { ActiveSpeaker } from './active-speaker.js';
import { SpeakerVideo } from './speaker-video.js';
import type { EncryptionPolicy } from './directory.js';
import type {
  MediaKind,
  Notice,
  ParticipantSession,
  ParticipantSpec,
  PublishedTrack,
  RosterEntry,
  SessionEndReason,
} from './types.js';

/** What the meeting reports to the fabric's owner (metrics). */
export interface MeetingEvents {
  forwarded(kind: MediaKind): void;
  keyframeRequested(): void;
  frameMixed(): void;
  codecTime(operation: 'decode' | 'encode', seconds: number): void;
  joined(participant: RosterEntry): void;
  /** A participant left (or was removed); the meeting may now be empty. */
  left(participant: RosterEntry): void;
}

export interface MeetingOptions {
  /** The meeting's encryption policy now (it can change while the meeting runs). */
  policy(): EncryptionPolicy;
  /** Spoken to room systems and phones when an unencrypted leg joins under `warn` (48 kHz mono). */
  unencryptedAnnouncement?: Int16Array;
}

interface Member {
  readonly id: string;
  readonly spec: ParticipantSpec;
  entry: RosterEntry;
  readonly tracks: { track: PublishedTrack; keyframes: KeyframeRequests }[];
  /** Links carrying this member's tracks to others, and others' tracks to this member. */
  readonly linksOut: ForwardingLink[];
  readonly linksIn: ForwardingLink[];
  video?: SpeakerVideo;
  readonly rosterListeners: ((roster: readonly RosterEntry[]) => void)[];
  readonly noticeListeners: ((notice: Notice) => void)[];
  readonly endListeners: ((reason: SessionEndReason) => void)[];
}

/**
 * One live meeting: who is in it, what everyone is told about everyone else, and how media
 * flows — forwarded as it is to browsers, mixed and speaker-switched for room systems and phones.
 */
export class Meeting {
  private readonly members = new Map<string, Member>();
  private readonly audio: MeetingAudio;
  private readonly speaker = new ActiveSpeaker();

  constructor(
    readonly id: string,
    readonly name: string,
    private readonly events: MeetingEvents,
    private readonly options: MeetingOptions,
  ) {
    this.audio = new MeetingAudio({
      frameMixed: () => events.frameMixed(),
      codecTime: (operation, seconds) => events.codecTime(operation, seconds),
      levels: (levels) => {
        if (this.speaker.update(levels)) this.showSpeaker();
      },
    });
  }

  get size(): number {
    return this.members.size;
  }

  roster(): RosterEntry[] {
    return [...this.members.values()].map((m) => m.entry);
  }

  get hasUnencryptedLeg(): boolean {
    return [...this.members.values()].some((m) => !m.entry.encrypted);
  }

  join(spec: ParticipantSpec): ParticipantSession {
    const id = randomUUID();
    const member: Member = {
      id,
      spec,
      entry: Object.freeze({
        id,
        name: spec.name,
        origin: spec.label.origin,
        label: spec.label,
        description: describeLabel(spec.label),
        encrypted: spec.label.encrypted,
        audioMuted: false,
        videoMuted: false,
      }),
      tracks: [],
      linksOut: [],
      linksIn: [],
      rosterListeners: [],
      noticeListeners: [],
      endListeners: [],
    };
    this.members.set(id, member);
    this.receiveMix(member);
    for (const other of this.members.values()) {
      if (other === member) continue;
      for (const { track, keyframes } of other.tracks) this.link(other, track, keyframes, member);
    }
    this.events.joined(member.entry);
    this.announce(member, 'joined');
    return this.session(member);
  }

  /** Ends every session (the meeting was deleted). */
  end(reason: SessionEndReason): void {
    for (const member of [...this.members.values()]) this.expel(member, reason, false);
    this.audio.stop();
  }

  /** The policy became `require`: unencrypted legs may not stay. */
  expelUnencrypted(): void {
    for (const member of [...this.members.values()]) {
      if (!member.entry.encrypted) this.expel(member, 'encryption-required', true);
    }
  }

  private expel(member: Member, reason: SessionEndReason, announce: boolean): void {
    const listeners = member.endListeners.splice(0);
    this.remove(member, announce);
    for (const listener of listeners) listener(reason);
  }

  private session(member: Member): ParticipantSession {
    return {
      id: member.id,
      meeting: { id: this.id, name: this.name },
      publish: (track) => this.members.has(member.id) && this.publish(member, track),
      setMediaState: ({ audioMuted, videoMuted }) => {
        if (!this.members.has(member.id)) return;
        member.entry = Object.freeze({ ...member.entry, audioMuted, videoMuted });
        this.broadcastRoster();
      },
      onRoster: (listener) => {
        member.rosterListeners.push(listener);
        listener(this.roster());
      },
      onNotice: (listener) => member.noticeListeners.push(listener),
      onEnded: (listener) => member.endListeners.push(listener),
      leave: () => {
        if (!this.members.has(member.id)) return;
        member.endListeners.length = 0;
        this.remove(member, true);
      },
    };
  }

  private receiveMix(member: Member): void {
    const { reception } = member.spec;
    if (reception.mode !== 'mix') return;
    if (reception.audio && !this.audio.addOutput(member.id, reception.audio)) reception.audio.close();
    if (reception.video) {
      member.video = new SpeakerVideo(reception.video, member.id);
      for (const other of this.members.values()) {
        for (const { track, keyframes } of other.tracks) {
          if (other !== member && track.kind === 'video') member.video.addCandidate(other.id, track, keyframes);
        }
      }
      this.showSpeaker();
    }
  }

  private publish(member: Member, track: PublishedTrack): void {
    const keyframes = new KeyframeRequests(track, () => this.events.keyframeRequested());
    member.tracks.push({ track, keyframes });
    for (const other of this.members.values()) if (other !== member) this.link(member, track, keyframes, other);
    if (track.kind === 'audio') this.audio.addSource(member.id, track.codecs);
    else {
      for (const other of this.members.values()) if (other !== member) other.video?.addCandidate(member.id, track, keyframes);
      this.showSpeaker();
    }
    const kind = track.kind;
    track.onRtp((packet) => {
      const header = routingHeader(packet);
      if (!header || !this.members.has(member.id)) return;
      for (const link of member.linksOut) {
        if (link.source === track && link.forward(packet, header.payloadType)) this.events.forwarded(kind);
      }
      if (kind === 'audio') return this.audio.receive(member.id, packet, header);
      for (const other of this.members.values()) {
        if (other.video?.offer(member.id, packet, header.payloadType, header.headerLength)) this.events.forwarded(kind);
      }
    });
  }

  /** Opens a track on a forwarding receiver for one published track. */
  private link(from: Member, track: PublishedTrack, keyframes: KeyframeRequests, to: Member): void {
    const { reception } = to.spec;
    if (reception.mode !== 'forward') return;
    const out = reception.openTrack({ participantId: from.id, kind: track.kind, codecs: track.codecs });
    if (!out) return;
    const link = new ForwardingLink(track, out, keyframes);
    from.linksOut.push(link);
    to.linksIn.push(link);
    // A new receiver needs a keyframe to start decoding.
    if (track.kind === 'video') keyframes.request();
  }

  private showSpeaker(): void {
    const withVideo = [...this.members.values()].filter((m) => m.tracks.some((t) => t.track.kind === 'video')).map((m) => m.id);
    for (const member of this.members.values()) {
      const next = member.video && this.speaker.pick(withVideo.filter((id) => id !== member.id));
      if (next) member.video?.show(next);
    }
  }

  private remove(member: Member, announce: boolean): void {
    this.members.delete(member.id);
    for (const link of member.linksOut) {
      link.close();
      for (const other of this.members.values()) removeItem(other.linksIn, link);
    }
    for (const link of member.linksIn) {
      link.close();
      for (const other of this.members.values()) removeItem(other.linksOut, link);
    }
    member.linksOut.length = 0;
    member.linksIn.length = 0;
    member.video?.close();
    for (const other of this.members.values()) other.video?.removeCandidate(member.id);
    this.audio.remove(member.id);
    this.speaker.forget(member.id);
    member.rosterListeners.length = 0;
    member.noticeListeners.length = 0;
    if (announce) {
      this.announce(member, 'left');
      this.showSpeaker();
    }
    this.events.left(member.entry);
  }

  private announce(member: Member, event: Notice['event']): void {
    const notice: Notice = { event, participant: member.entry, text: noticeText(event, member.entry) };
    for (const other of this.members.values()) {
      if (other === member) continue;
      for (const listener of other.noticeListeners) listener(notice);
    }
    const { unencryptedAnnouncement } = this.options;
    // `allow` flags the leg on screens only; `warn` also tells those who cannot see a screen.
    if (event === 'joined' && !member.entry.encrypted && unencryptedAnnouncement && this.options.policy() === 'warn') {
      this.audio.playClip(unencryptedAnnouncement);
    } else this.audio.playNotice(event);
    this.broadcastRoster();
  }

  private broadcastRoster(): void {
    const roster = this.roster();
    for (const member of this.members.values()) for (const listener of member.rosterListeners) listener(roster);
  }
}

/** A join names why a leg is unencrypted, so nobody has to read the roster to learn it. */
function noticeText(event: Notice['event'], entry: RosterEntry): string {
  if (event === 'left' || entry.encrypted) return `${entry.name} ${event}`;
  return entry.origin === 'pstn' ? `${entry.name} joined by phone — this leg is not encrypted` : `${entry.name} joined — this leg is not encrypted`;
}

function removeItem<T>(items: T[], item: T): void {
  const at = items.indexOf(item);
  if (at >= 0) items.splice(at, 1);
}
