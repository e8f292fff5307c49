import type { TrackCodec } from '../fabric/index.js';

// The payload types every browser connection uses. The server makes every offer, so one table
// serves all browsers and forwarding between browsers needs no payload type mapping at all.
export const BROWSER_AUDIO_CODECS: readonly TrackCodec[] = [
  { payloadType: 111, name: 'opus', clockRate: 48000, channels: 2, fmtp: 'minptime=10;useinbandfec=1' },
  { payloadType: 9, name: 'G722', clockRate: 8000, channels: 1 },
  { payloadType: 0, name: 'PCMU', clockRate: 8000, channels: 1 },
  { payloadType: 8, name: 'PCMA', clockRate: 8000, channels: 1 },
];

const H264_MODE_1: TrackCodec = {
  payloadType: 102,
  name: 'H264',
  clockRate: 90000,
  channels: 1,
  fmtp: 'profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1',
};
const H264_MODE_0: TrackCodec = {
  payloadType: 103,
  name: 'H264',
  clockRate: 90000,
  channels: 1,
  fmtp: 'profile-level-id=42e01f;packetization-mode=0;level-asymmetry-allowed=1',
};
const VP8: TrackCodec = { payloadType: 96, name: 'VP8', clockRate: 90000, channels: 1 };

/**
 * What browsers send: H.264 first, because room systems decode nothing else, and in
 * packetization-mode 0 (one NAL unit per packet, RFC 6184 §6.2), which every H.264 receiver
 * takes, including the room systems that offer mode 0 only (baresip, many older endpoints).
 */
export const BROWSER_UPLINK_VIDEO_CODECS: readonly TrackCodec[] = [H264_MODE_0, H264_MODE_1, VP8];

/** What browsers receive: any of them, so a room system's mode-1 stream is forwarded as it is. */
export const BROWSER_VIDEO_CODECS: readonly TrackCodec[] = [H264_MODE_1, H264_MODE_0, VP8];
