import { AudioMixer, createAudioCodec, Resampler, RtpPacketWriter, toneClip, type AudioCodec } from '../media/index.js';
import type { RoutingHeader } from './forwarding.js';
import type { OutgoingTrack, TrackCodec } from './types.js';

const MIX_RATE = 48000;
const FRAME_MS = 20;
const FRAME_SAMPLES = (MIX_RATE * FRAME_MS) / 1000;
// After a stall (GC, a busy loop) catch up a little, then drop the rest rather than burst.
const MAX_CATCH_UP_FRAMES = 3;

export interface MeetingAudioEvents {
  frameMixed(): void;
  codecTime(operation: 'decode' | 'encode', seconds: number): void;
  /** Per-participant level of the frame just mixed, as the mixer reports it. */
  levels(levels: ReadonlyMap<string, number>): void;
}

interface Decoding {
  codec: AudioCodec;
  resampler: Resampler | undefined;
}

/** One participant's audio on its way into the mix: decoded, at 48 kHz, cut into 20 ms frames. */
class MixSource {
  private readonly decoders = new Map<number, Decoding | null>();
  private readonly frame = new Int16Array(FRAME_SAMPLES);
  private filled = 0;

  constructor(
    private readonly codecs: readonly TrackCodec[],
    private readonly deliver: (frame: Int16Array) => void,
    private readonly timed: MeetingAudioEvents['codecTime'],
  ) {}

  receive(packet: Buffer, header: RoutingHeader): void {
    const decoding = this.decoderFor(header.payloadType);
    if (!decoding) return;
    const started = performance.now();
    const pcm = decoding.codec.decode(packet.subarray(header.headerLength));
    const at48k = decoding.resampler ? decoding.resampler.process(pcm) : pcm;
    this.timed('decode', (performance.now() - started) / 1000);
    for (let at = 0; at < at48k.length; ) {
      const take = Math.min(FRAME_SAMPLES - this.filled, at48k.length - at);
      this.frame.set(at48k.subarray(at, at + take), this.filled);
      this.filled += take;
      at += take;
      if (this.filled === FRAME_SAMPLES) {
        this.deliver(this.frame.slice());
        this.filled = 0;
      }
    }
  }

  private decoderFor(payloadType: number): Decoding | undefined {
    let decoding = this.decoders.get(payloadType);
    if (decoding === undefined) {
      const spec = this.codecs.find((c) => c.payloadType === payloadType);
      const codec = spec && createAudioCodec(spec);
      decoding = codec ? { codec, resampler: codec.sampleRate === MIX_RATE ? undefined : new Resampler(codec.sampleRate, MIX_RATE) } : null;
      this.decoders.set(payloadType, decoding);
    }
    return decoding ?? undefined;
  }
}

/** The mixed audio one participant receives, encoded in the codec it negotiated. */
class MixOutput {
  private readonly writer: RtpPacketWriter;
  private readonly resampler: Resampler | undefined;
  private readonly frameDuration: number;

  constructor(
    private readonly out: OutgoingTrack,
    private readonly codec: AudioCodec,
    payloadType: number,
  ) {
    this.writer = new RtpPacketWriter(out.ssrc, payloadType);
    this.resampler = codec.sampleRate === MIX_RATE ? undefined : new Resampler(MIX_RATE, codec.sampleRate);
    this.frameDuration = (codec.rtpClockRate * FRAME_MS) / 1000;
  }

  send(mixed: Int16Array): void {
    const pcm = this.resampler ? this.resampler.process(mixed) : mixed;
    this.out.send(this.writer.write(this.codec.encode(pcm), this.frameDuration));
  }

  close(): void {
    this.out.close();
  }
}

/**
 * A meeting's audio for participants that take one mixed stream (room systems, phones): every
 * other participant's audio decoded, mixed minus their own, and encoded per receiver. Runs only
 * while someone receives the mix; the levels it measures pick the active speaker.
 */
export class MeetingAudio {
  private readonly mixer = new AudioMixer();
  private readonly sources = new Map<string, MixSource>();
  private readonly outputs = new Map<string, MixOutput>();
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private framesDone = 0;

  constructor(private readonly events: MeetingAudioEvents) {}

  addSource(participantId: string, codecs: readonly TrackCodec[]): void {
    this.mixer.addSource(participantId);
    this.sources.set(participantId, new MixSource(codecs, (frame) => this.mixer.push(participantId, frame), this.events.codecTime));
  }

  /** One of a source's audio packets; decoded only while someone receives the mix. */
  receive(participantId: string, packet: Buffer, header: RoutingHeader): void {
    if (this.timer) this.sources.get(participantId)?.receive(packet, header);
  }

  /** Adds a receiver of the mix; false when its codec is one the gateway cannot encode. */
  addOutput(participantId: string, out: OutgoingTrack): boolean {
    const spec = out.codecs[0];
    const codec = spec && createAudioCodec(spec);
    if (!spec || !codec) return false;
    this.outputs.set(participantId, new MixOutput(out, codec, spec.payloadType));
    this.mixer.addOutput(participantId, participantId);
    this.start();
    return true;
  }

  remove(participantId: string): void {
    this.sources.delete(participantId);
    this.mixer.removeSource(participantId);
    const output = this.outputs.get(participantId);
    if (output) {
      output.close();
      this.outputs.delete(participantId);
      this.mixer.removeOutput(participantId);
    }
    if (this.outputs.size === 0) this.stop();
  }

  /** A short tone in every mix: rising when someone joins, falling when someone leaves. */
  playNotice(event: 'joined' | 'left'): void {
    if (!this.timer) return;
    const tones = event === 'joined' ? [660, 880] : [880, 660];
    this.mixer.play(toneClip(MIX_RATE, tones.map((hz) => ({ hz, ms: 120 }))));
  }

  /** A recorded clip (48 kHz mono) in every mix, e.g. a spoken announcement. */
  playClip(clip: Int16Array): void {
    if (this.timer) this.mixer.play(clip);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private start(): void {
    if (this.timer) return;
    this.startedAt = performance.now();
    this.framesDone = 0;
    this.timer = setInterval(() => this.tick(), FRAME_MS / 2);
    this.timer.unref();
  }

  // Frames are due by elapsed time, not by timer wake-ups, so the mix keeps exactly 50 frames a
  // second however late the timer fires: receivers' jitter buffers never drift.
  private tick(): void {
    const due = Math.floor((performance.now() - this.startedAt) / FRAME_MS);
    if (due - this.framesDone > MAX_CATCH_UP_FRAMES) this.framesDone = due - MAX_CATCH_UP_FRAMES;
    while (this.framesDone < due) {
      this.framesDone++;
      this.mixOne();
    }
  }

  private mixOne(): void {
    const { outputs, levels } = this.mixer.mix();
    this.events.frameMixed();
    const started = performance.now();
    for (const [id, pcm] of outputs) this.outputs.get(id)?.send(pcm);
    this.events.codecTime('encode', (performance.now() - started) / 1000 / Math.max(1, outputs.size));
    this.events.levels(levels);
  }
}
