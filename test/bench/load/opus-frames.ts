import { OpusEncoder } from '../../../gateway/media/codecs/index.js';

const RATE = 48000;
const FRAME_SAMPLES = RATE / 50;

/**
 * `count` consecutive 20 ms Opus frames (mono, 48 kHz, libopus voip defaults) of a tone at `hz`:
 * payloads the size a browser's microphone produces, encoded once before any timing starts.
 */
export function opusFrames(count: number, hz = 440): Buffer[] {
  const encoder = new OpusEncoder();
  const frame = new Int16Array(FRAME_SAMPLES);
  return Array.from({ length: count }, (_, index) => {
    for (let i = 0; i < FRAME_SAMPLES; i++) frame[i] = Math.round(8000 * Math.sin((2 * Math.PI * hz * (index * FRAME_SAMPLES + i)) / RATE));
    // The encoder may hand back a view of its own output buffer, reused by the next call.
    return Buffer.from(encoder.encode(frame));
  });
}
