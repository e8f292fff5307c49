import { randomBytes } from 'node:crypto';
import type { Leg } from '../calls/index.js';
import { buildNack, buildPli, parseRtcpFeedback, type MediaStream } from '../media/index.js';
import type { Fabric, JoinResult, OutgoingTrack, PublishedTrack } from './types.js';

/**
 * Joins an answered SIP leg (room system or phone) to a meeting: it receives the mix and the
 * active speaker's video. On a refusal the leg is left as it is, for the caller to end.
 */
export function joinSipLeg(fabric: Fabric, meetingId: string, leg: Leg): JoinResult {
  const streams = new Map(leg.streams.map((stream) => [stream, new SipStreamMedia(stream)]));
  const first = (kind: 'audio' | 'video') => [...streams.values()].find((s) => s.stream.kind === kind);
  const audio = first('audio');
  const video = first('video');
  const joined = fabric.join(meetingId, {
    name: leg.peerName,
    kind: leg.label.origin === 'pstn' ? 'phone' : 'room-system',
    label: leg.label,
    reception: { mode: 'mix', audio: audio?.outgoing, video: video?.outgoing },
  });
  if (!joined.ok) return joined;
  const { session } = joined;
  leg.meetingId = session.meeting.id;
  for (const media of [audio, video]) if (media) session.publish(media.published);
  if (video) leg.onPictureUpdate(() => video.keyframeRequested());
  leg.onEnded(() => session.leave());
  session.onEnded((reason) => leg.hangup(reason === 'meeting-deleted' ? 'meeting-ended' : 'policy-refused'));
  return joined;
}

/** One SIP stream as the fabric sees it: what the leg sends in, and the track the meeting sends out. */
class SipStreamMedia {
  readonly ssrc = randomBytes(4).readUInt32BE(0);
  private remoteSsrc = 0;
  private readonly keyframeListeners: (() => void)[] = [];
  private readonly nackListeners: ((sequenceNumbers: number[]) => void)[] = [];

  constructor(readonly stream: MediaStream) {
    stream.onRtp((packet) => {
      this.remoteSsrc = packet.readUInt32BE(8);
    });
    stream.onRtcp((packet) => {
      for (const feedback of parseRtcpFeedback(packet)) {
        if (feedback.type === 'nack') for (const listener of this.nackListeners) listener(feedback.sequenceNumbers);
        else this.keyframeRequested();
      }
    });
  }

  keyframeRequested(): void {
    for (const listener of this.keyframeListeners) listener();
  }

  get published(): PublishedTrack {
    const { stream } = this;
    return {
      kind: stream.kind,
      get codecs() {
        return [stream.codec];
      },
      onRtp: (listener) => stream.onRtp(listener),
      requestKeyframe: () => stream.sendRtcp(buildPli(this.ssrc, this.remoteSsrc)),
      requestRetransmission: (sequenceNumbers) => stream.sendRtcp(buildNack(this.ssrc, this.remoteSsrc, sequenceNumbers)),
    };
  }

  get outgoing(): OutgoingTrack {
    const { stream } = this;
    return {
      kind: stream.kind,
      ssrc: this.ssrc,
      get codecs() {
        return [stream.codec];
      },
      send: (packet) => stream.sendRtp(packet),
      onKeyframeRequest: (listener) => this.keyframeListeners.push(listener),
      onNack: (listener) => this.nackListeners.push(listener),
      // The leg owns its streams and closes them when it ends.
      close: () => {},
    };
  }
}
