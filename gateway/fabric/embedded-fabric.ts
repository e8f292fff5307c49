import type { CallTarget } from '../calls/index.js';
import type { Metrics } from '../observability/index.js';
import type { MeetingDirectory } from './directory.js';
import { Meeting } from './meeting.js';
import { MeetingCallTarget } from './sip-participant.js';
import type { Fabric, ParticipantSession, ParticipantSpec } from './types.js';

/**
 * The fabric that ships with the gateway: meetings from the directory, live while anyone is in
 * them. An external fabric would implement the same `Fabric` interface.
 */
export class EmbeddedFabric implements Fabric {
  private readonly live = new Map<string, Meeting>();

  constructor(
    private readonly directory: MeetingDirectory,
    private readonly metrics: Metrics,
  ) {
    directory.onDeleted((id) => this.live.get(id)?.end('meeting-deleted'));
  }

  join(meetingId: string, participant: ParticipantSpec): ParticipantSession | undefined {
    const record = this.directory.get(meetingId);
    if (!record) return undefined;
    let meeting = this.live.get(record.id);
    if (!meeting) {
      meeting = new Meeting(record.id, record.name, {
        forwarded: (kind) => this.metrics.mediaForwarded.inc({ kind }),
        keyframeRequested: () => this.metrics.keyframeRequests.inc({}),
        frameMixed: () => this.metrics.mixerFrames.inc({}),
        codecTime: (operation, seconds) => this.metrics.mixerCodecSeconds.observe({ operation }, seconds),
        left: (origin) => {
          this.metrics.participants.dec({ origin });
          if (meeting?.size === 0) this.close(record.id);
        },
      });
      this.live.set(record.id, meeting);
      this.metrics.meetingsActive.inc({});
    }
    this.metrics.participants.inc({ origin: participant.label.origin });
    return meeting.join(participant);
  }

  /** Participants in a meeting right now (0 when nobody is in it). */
  participants(meetingId: string): number {
    const record = this.directory.get(meetingId);
    return (record && this.live.get(record.id)?.size) ?? 0;
  }

  /** The call target for `sip:<meeting-id>@gateway`, while that meeting exists. */
  callTarget(user: string): CallTarget | undefined {
    return this.directory.get(user) ? new MeetingCallTarget(this, user) : undefined;
  }

  /** The last participant left: the meeting is no longer live. */
  private close(id: string): void {
    if (this.live.delete(id)) this.metrics.meetingsActive.dec({});
  }
}
