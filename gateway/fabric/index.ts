export { EmbeddedFabric } from './embedded-fabric.js';
export { MeetingDirectory } from './directory.js';
export { joinSipLeg } from './sip-participant.js';
export type { EncryptionPolicy, MeetingRecord } from './directory.js';
export type {
  Fabric,
  JoinRefusal,
  JoinResult,
  ForwardedReception,
  MediaKind,
  MixedReception,
  Notice,
  OutgoingTrack,
  ParticipantKind,
  ParticipantSession,
  ParticipantSpec,
  PublishedTrack,
  RosterEntry,
  SessionEndReason,
  TrackCodec,
} from './types.js';
