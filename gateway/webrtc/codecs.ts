import type { TrackCodec } from '../fabric/index.js';

// The payload types every browser connection uses. The server makes every offer, so one table
// serves all browsers and forwarding between browsers needs no payload type mapping at all.
export const BROWSER_AUDIO_CODECS: readonly TrackCodec[] = [
  { payloadType: 111, name: 'opus', clockRate: 48000, channels: 2, fmtp: 'minptime=10;useinbandfec=1' },
  { payloadType: 9, name: 'G722', clockRate: 8000, channels: 1 },
  { payloadType: 0, name: 'PCMU', clockRate: 8000, channels: 1 },
  { payloadType: 8, name: 'PCMA', clockRate: 8000, channels: 1 },
];

// H.264 first: room systems decode nothing else, so a browser that can send H.264 is seen by them.
export const BROWSER_VIDEO_CODECS: readonly TrackCodec[] = [
  { payloadType: 102, name: 'H264', clockRate: 90000, channels: 1, fmtp: 'profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1' },
  { payloadType: 103, name: 'H264', clockRate: 90000, channels: 1, fmtp: 'profile-level-id=42e01f;packetization-mode=0;level-asymmetry-allowed=1' },
  { payloadType: 96, name: 'VP8', clockRate: 90000, channels: 1 },
];
