import type { Metrics } from '../observability/index.js';
import type { MeetingDirectory } from './directory.js';
import { Meeting } from './meeting.js';
import type { Fabric, JoinResult, ParticipantSpec } from './types.js';

export interface EmbeddedFabricOptions {
  /** Spoken to room systems and phones when an unencrypted leg joins a `warn` meeting (48 kHz mono). */
  unencryptedAnnouncement?: Int16Array;
}

/**
 * The fabric that ships with the gateway: meetings from the directory, live while anyone is in
 * them. An external fabric would implement the same `Fabric` interface. The encryption policy is
 * enforced here, where every leg of every signalling kind passes.
 */
export class EmbeddedFabric implements Fabric {
  private readonly live = new Map<string, Meeting>();
  /** Live meetings with at least one unencrypted leg, for the gauge. */
  private readonly flagged = new Set<string>();

  constructor(
    private readonly directory: MeetingDirectory,
    private readonly metrics: Metrics,
    private readonly options: EmbeddedFabricOptions = {},
  ) {
    directory.onDeleted((id) => this.live.get(id)?.end('meeting-deleted'));
    directory.onChanged((record) => {
      if (record.policy === 'require') this.live.get(record.id)?.expelUnencrypted();
    });
    // Read from the meetings themselves, not kept by events: this gauge is the check that enforcement held.
    metrics.unencryptedInRequire.readAtScrape(() => [[{}, this.unencryptedLegsInRequireMeetings()]]);
  }

  join(meetingId: string, participant: ParticipantSpec): JoinResult {
    const record = this.directory.get(meetingId);
    if (!record) return { ok: false, reason: 'not-found' };
    if (record.policy === 'require' && !participant.label.encrypted) return { ok: false, reason: 'encryption-required' };
    return { ok: true, session: this.meeting(record.id, record.name).join(participant) };
  }

  /** Participants in a meeting right now (0 when nobody is in it). */
  participants(meetingId: string): number {
    const record = this.directory.get(meetingId);
    return (record && this.live.get(record.id)?.size) ?? 0;
  }

  private unencryptedLegsInRequireMeetings(): number {
    let count = 0;
    for (const [id, meeting] of this.live) {
      if (this.directory.get(id)?.policy !== 'require') continue;
      count += meeting.roster().filter((entry) => !entry.encrypted).length;
    }
    return count;
  }

  private meeting(id: string, name: string): Meeting {
    const existing = this.live.get(id);
    if (existing) return existing;
    const meeting: Meeting = new Meeting(
      id,
      name,
      {
        forwarded: (kind) => this.metrics.mediaForwarded.inc({ kind }),
        keyframeRequested: () => this.metrics.keyframeRequests.inc({}),
        frameMixed: () => this.metrics.mixerFrames.inc({}),
        codecTime: (operation, seconds) => this.metrics.mixerCodecSeconds.observe({ operation }, seconds),
        joined: (entry) => {
          this.metrics.participants.inc({ origin: entry.origin });
          this.updateFlag(id, meeting);
        },
        left: (entry) => {
          this.metrics.participants.dec({ origin: entry.origin });
          this.updateFlag(id, meeting);
          if (meeting.size === 0 && this.live.delete(id)) this.metrics.meetingsActive.dec({});
        },
      },
      {
        policy: () => this.directory.get(id)?.policy ?? 'warn',
        ...(this.options.unencryptedAnnouncement ? { unencryptedAnnouncement: this.options.unencryptedAnnouncement } : {}),
      },
    );
    this.live.set(id, meeting);
    this.metrics.meetingsActive.inc({});
    return meeting;
  }

  private updateFlag(id: string, meeting: Meeting): void {
    const flagged = meeting.hasUnencryptedLeg;
    if (flagged === this.flagged.has(id)) return;
    if (flagged) this.flagged.add(id);
    else this.flagged.delete(id);
    this.metrics.meetingsUnencrypted.set({}, this.flagged.size);
  }
}
