/**
 * Audio mixer for one meeting: 48 kHz mono, 20 ms ticks. Each source pushes decoded frames;
 * each output hears the sum of all sources except the one it excludes (mix-minus, so nobody
 * hears themselves), plus any notice clip being played. It knows nothing about codecs, RTP or
 * participants: ids are the owner's.
 */

/** Samples per 20 ms tick at 48 kHz. */
export const MIXER_FRAME_SAMPLES = 960;
/** Frames a source may have waiting; a burst beyond this drops the oldest instead of adding delay. */
export const MIXER_QUEUE_FRAMES = 3;
/** Level reported for a source that was silent or sent nothing this tick (RFC 6464's floor). */
export const SILENCE_DBOV = -127;

interface Source {
  readonly frames: Int16Array[];
  /** Index of the oldest queued frame in `frames` (a ring of MIXER_QUEUE_FRAMES). */
  head: number;
  queued: number;
  /** The frame mixed this tick, for the outputs that exclude this source. */
  current: Int16Array | undefined;
}

interface Output {
  readonly excludeSource: string | undefined;
  readonly pcm: Int16Array;
}

interface Clip {
  readonly pcm: Int16Array;
  offset: number;
}

export interface MixResult {
  /** Per output id, this tick's 960 samples. The arrays are reused: valid until the next mix(). */
  readonly outputs: Map<string, Int16Array>;
  /**
   * Per source id, the RMS level of the frame it contributed this tick in dBov (0 = full scale,
   * a full-scale sine reads −3), from SILENCE_DBOV up to 0. Silence and a missing frame read
   * SILENCE_DBOV. Reused like `outputs`.
   */
  readonly levels: Map<string, number>;
}

export class AudioMixer {
  readonly #sources = new Map<string, Source>();
  readonly #outputs = new Map<string, Output>();
  readonly #clips: Clip[] = [];
  readonly #total = new Int32Array(MIXER_FRAME_SAMPLES);
  readonly #result: MixResult = { outputs: new Map(), levels: new Map() };
  #dropped = 0;

  /** Frames dropped because a source's queue was full, since the mixer was made. */
  get droppedFrames(): number {
    return this.#dropped;
  }

  /** Adding an id that is already there keeps its queue. */
  addSource(id: string): void {
    if (this.#sources.has(id)) return;
    this.#sources.set(id, {
      frames: Array.from({ length: MIXER_QUEUE_FRAMES }, () => new Int16Array(MIXER_FRAME_SAMPLES)),
      head: 0,
      queued: 0,
      current: undefined,
    });
  }

  removeSource(id: string): void {
    this.#sources.delete(id);
    this.#result.levels.delete(id);
  }

  /**
   * Queues one 20 ms frame (copied; a shorter one is padded with silence, a longer one cut).
   * Returns false when the frame was not queued as-is: the source is unknown, or an older frame
   * had to be dropped to make room.
   */
  push(id: string, pcm48k: Int16Array): boolean {
    const source = this.#sources.get(id);
    if (!source) return false;
    let dropped = false;
    if (source.queued === MIXER_QUEUE_FRAMES) {
      source.head = (source.head + 1) % MIXER_QUEUE_FRAMES;
      source.queued--;
      this.#dropped++;
      dropped = true;
    }
    const slot = source.frames[(source.head + source.queued) % MIXER_QUEUE_FRAMES]!;
    if (pcm48k.length >= MIXER_FRAME_SAMPLES) {
      slot.set(pcm48k.subarray(0, MIXER_FRAME_SAMPLES));
    } else {
      slot.set(pcm48k);
      slot.fill(0, pcm48k.length);
    }
    source.queued++;
    return !dropped;
  }

  /** `excludeSource` is the source this output must not hear (its own participant), if any. */
  addOutput(id: string, excludeSource: string | undefined): void {
    this.#outputs.set(id, { excludeSource, pcm: new Int16Array(MIXER_FRAME_SAMPLES) });
  }

  removeOutput(id: string): void {
    this.#outputs.delete(id);
    this.#result.outputs.delete(id);
  }

  /** Queues a 48 kHz clip that every output hears, after the clips already queued. */
  play(clip: Int16Array): void {
    if (clip.length > 0) this.#clips.push({ pcm: clip, offset: 0 });
  }

  /** One tick: takes one frame from each source, returns each output's mix and each source's level. */
  mix(): MixResult {
    const total = this.#total;
    total.fill(0);
    const { outputs, levels } = this.#result;

    for (const [id, source] of this.#sources) {
      if (source.queued === 0) {
        source.current = undefined;
        levels.set(id, SILENCE_DBOV);
        continue;
      }
      const frame = source.frames[source.head]!;
      source.head = (source.head + 1) % MIXER_QUEUE_FRAMES;
      source.queued--;
      source.current = frame;
      let energy = 0;
      for (let i = 0; i < MIXER_FRAME_SAMPLES; i++) {
        const sample = frame[i]!;
        total[i] = total[i]! + sample;
        energy += sample * sample;
      }
      levels.set(id, dbov(energy));
    }
    this.#mixClips(total);

    for (const [id, output] of this.#outputs) {
      const own = output.excludeSource === undefined ? undefined : this.#sources.get(output.excludeSource)?.current;
      const pcm = output.pcm;
      if (own) {
        for (let i = 0; i < MIXER_FRAME_SAMPLES; i++) {
          const value = total[i]! - own[i]!;
          pcm[i] = value > 32767 ? 32767 : value < -32768 ? -32768 : value;
        }
      } else {
        for (let i = 0; i < MIXER_FRAME_SAMPLES; i++) {
          const value = total[i]!;
          pcm[i] = value > 32767 ? 32767 : value < -32768 ? -32768 : value;
        }
      }
      outputs.set(id, pcm);
    }
    return this.#result;
  }

  #mixClips(total: Int32Array): void {
    let at = 0;
    while (at < MIXER_FRAME_SAMPLES && this.#clips.length > 0) {
      const clip = this.#clips[0]!;
      const count = Math.min(MIXER_FRAME_SAMPLES - at, clip.pcm.length - clip.offset);
      for (let i = 0; i < count; i++) total[at + i] = total[at + i]! + clip.pcm[clip.offset + i]!;
      at += count;
      clip.offset += count;
      if (clip.offset === clip.pcm.length) this.#clips.shift();
    }
  }
}

function dbov(energy: number): number {
  if (energy === 0) return SILENCE_DBOV;
  const level = 10 * Math.log10(energy / MIXER_FRAME_SAMPLES / (32768 * 32768));
  return Math.max(SILENCE_DBOV, Math.min(0, level));
}
