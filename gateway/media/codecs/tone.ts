export interface ToneSegment {
  /** Frequency in Hz; 0 is a pause. */
  readonly hz: number;
  readonly ms: number;
}

const FADE_MS = 5;

/**
 * Consecutive sine segments (a notice such as "someone joined": two short rising tones) as mono
 * int16 PCM. Each segment fades in and out over up to 5 ms with a raised cosine, so neither the
 * start, the end nor a change of pitch clicks. `amplitude` is the peak as a fraction of full scale.
 */
export function toneClip(sampleRate: number, segments: readonly ToneSegment[], amplitude = 0.25): Int16Array {
  const lengths = segments.map(({ ms }) => Math.max(0, Math.round((sampleRate * ms) / 1000)));
  const clip = new Int16Array(lengths.reduce((sum, length) => sum + length, 0));
  const peak = Math.max(0, Math.min(1, amplitude)) * 32767;
  let offset = 0;
  segments.forEach(({ hz }, index) => {
    const length = lengths[index]!;
    const fade = Math.min(Math.round((sampleRate * FADE_MS) / 1000), Math.floor(length / 2));
    if (hz > 0) {
      const step = (2 * Math.PI * hz) / sampleRate;
      for (let i = 0; i < length; i++) {
        const edge = Math.min(i, length - 1 - i);
        const gain = edge < fade ? 0.5 - 0.5 * Math.cos((Math.PI * (edge + 0.5)) / fade) : 1;
        clip[offset + i] = Math.round(peak * gain * Math.sin(step * i));
      }
    }
    offset += length;
  });
  return clip;
}
