import { randomInt } from 'node:crypto';
import { createAudioCodec, Resampler, RtpPacketWriter, type AudioCodec, type MediaStream } from '../media/index.js';

const PROMPT_RATE = 8000;
const FRAME_MS = 20;
const FRAME_SAMPLES = (PROMPT_RATE * FRAME_MS) / 1000;
// After a stall (GC, a busy loop) catch up a little, then pause the prompt rather than burst or
// skip words.
const MAX_CATCH_UP_FRAMES = 3;

interface Playing {
  readonly pcm: Int16Array;
  readonly done: () => void;
  /** performance.now() at which frame 0 was due. */
  startedAt: number;
  framesSent: number;
}

/**
 * Plays 8 kHz prompts to one stream in its negotiated codec, 20 ms per packet at real time.
 * All prompts of one player form one RTP stream: one SSRC, sequence numbers without gaps, and
 * timestamps that also count the silence between prompts (RFC 3550 §5.1), each prompt starting
 * a talkspurt with the marker bit (RFC 3551 §4.1), so receivers' jitter buffers stay steady.
 */
export class PromptPlayer {
  private readonly codec: AudioCodec;
  private readonly resampler: Resampler | undefined;
  private readonly writer: RtpPacketWriter;
  private readonly frameDuration: number;
  private playing: Playing | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** performance.now() at which the frame after the last one sent would have been due. */
  private clockAt: number | undefined;
  private closed = false;

  /**
   * Encodes in the stream's codec as negotiated now (a re-negotiated codec needs a new player).
   * Throws when that is a codec the gateway cannot encode.
   */
  constructor(
    private readonly stream: MediaStream,
    ssrc: number = randomInt(0x100000000),
  ) {
    const { codec } = stream;
    const audio = createAudioCodec(codec);
    if (!audio) throw new Error(`cannot play prompts in ${codec.name}/${codec.clockRate}`);
    this.codec = audio;
    this.resampler = audio.sampleRate === PROMPT_RATE ? undefined : new Resampler(PROMPT_RATE, audio.sampleRate);
    this.writer = new RtpPacketWriter(ssrc, codec.payloadType);
    this.frameDuration = (audio.rtpClockRate * FRAME_MS) / 1000;
  }

  /**
   * Plays `pcm8k` (mono, 8 kHz), stopping whatever was playing. Resolves when the last frame was
   * sent, or as soon as stop(), close() or another play() cuts it short.
   */
  play(pcm8k: Int16Array): Promise<void> {
    this.stop();
    if (this.closed || pcm8k.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const now = performance.now();
      if (this.clockAt !== undefined) this.writer.skip(Math.max(0, Math.round(((now - this.clockAt) * this.codec.rtpClockRate) / 1000)));
      this.playing = { pcm: pcm8k, done: resolve, startedAt: now, framesSent: 0 };
      this.timer = setInterval(() => this.tick(), FRAME_MS / 2);
      this.timer.unref();
      this.tick();
    });
  }

  /** Stops the prompt now (barge-in); its play() resolves. */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    const playing = this.playing;
    if (!playing) return;
    this.playing = undefined;
    this.clockAt = playing.startedAt + playing.framesSent * FRAME_MS;
    playing.done();
  }

  /** Stops for good: later play() calls resolve at once. The stream stays open (it is the leg's). */
  close(): void {
    this.closed = true;
    this.stop();
  }

  // Frames are due by elapsed time, not by timer wake-ups, so the prompt goes out at exactly 50
  // packets a second however late the timer fires.
  private tick(): void {
    const playing = this.playing;
    if (!playing) return;
    const now = performance.now();
    let due = Math.floor((now - playing.startedAt) / FRAME_MS) + 1;
    if (due - playing.framesSent > MAX_CATCH_UP_FRAMES) {
      due = playing.framesSent + MAX_CATCH_UP_FRAMES;
      playing.startedAt = now - (due - 1) * FRAME_MS;
    }
    const frames = Math.ceil(playing.pcm.length / FRAME_SAMPLES);
    while (playing.framesSent < Math.min(due, frames)) this.sendFrame(playing);
    if (playing.framesSent === frames) this.stop();
  }

  private sendFrame(playing: Playing): void {
    const start = playing.framesSent * FRAME_SAMPLES;
    let frame = playing.pcm.subarray(start, start + FRAME_SAMPLES);
    if (frame.length < FRAME_SAMPLES) {
      const padded = new Int16Array(FRAME_SAMPLES);
      padded.set(frame);
      frame = padded;
    }
    const packet = this.writer.write(this.codec.encode(this.resampler ? this.resampler.process(frame) : frame), this.frameDuration);
    playing.framesSent++;
    this.stream.sendRtp(packet);
  }
}
