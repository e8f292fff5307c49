import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PromptPlayer } from '../../gateway/ivr/index.js';
import { createAudioCodec, parseRtpHeader, type MediaStream, type RtpHeader, type StreamCodec } from '../../gateway/media/index.js';
import { loadPrompts } from '../../gateway/prompts/index.js';
import { goertzelPower } from '../peers/wav.js';
import { settled } from '../support/settled.js';

const PCMU: StreamCodec = { payloadType: 0, name: 'PCMU', clockRate: 8000, channels: 1 };
const G722: StreamCodec = { payloadType: 9, name: 'G722', clockRate: 8000, channels: 1 };
const OPUS: StreamCodec = { payloadType: 111, name: 'opus', clockRate: 48000, channels: 2 };

interface Sent {
  readonly header: RtpHeader;
  readonly payload: Buffer;
  /** performance.now() when it was sent. */
  readonly at: number;
}

/** A stream that only records what the player sends. */
class FakeMediaStream implements MediaStream {
  readonly kind = 'audio';
  readonly telephoneEvent = undefined;
  readonly lastReceivedAt = 0;
  readonly sent: Sent[] = [];

  constructor(readonly codec: StreamCodec) {}

  sendRtp(packet: Buffer): void {
    const header = parseRtpHeader(packet);
    this.sent.push({ header, payload: packet.subarray(header.headerLength), at: performance.now() });
  }

  onRtp(): void {}
  onRtcp(): void {}
  sendRtcp(): void {}
  close(): void {}
}

function decodeAll(codec: StreamCodec, sent: readonly Sent[]): Int16Array {
  const decoder = createAudioCodec(codec)!;
  const frames = sent.map(({ payload }) => decoder.decode(payload));
  const out = new Int16Array(frames.reduce((sum, frame) => sum + frame.length, 0));
  let at = 0;
  for (const frame of frames) {
    out.set(frame, at);
    at += frame.length;
  }
  return out;
}

function correlation(a: Int16Array, b: Int16Array): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return ab / Math.sqrt(aa * bb);
}

function tone(hz: number, seconds: number): Int16Array {
  return Int16Array.from({ length: Math.round(8000 * seconds) }, (_, i) => Math.round(12000 * Math.sin((2 * Math.PI * hz * i) / 8000)));
}

describe('PromptPlayer', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.restoreAllMocks();
    vi.useRealTimers();
  });

  it('sends the prompt in PCMU that decodes back to it, as one RTP stream', async () => {
    const prompt = loadPrompts().get('goodbye');
    const stream = new FakeMediaStream(PCMU);
    const played = new PromptPlayer(stream).play(prompt);
    await vi.advanceTimersByTimeAsync(prompt.length / 8 + 40);
    await played;

    const { sent } = stream;
    expect(sent).toHaveLength(Math.ceil(prompt.length / 160));
    expect(sent.every(({ payload }) => payload.length === 160)).toBe(true);
    expect(correlation(decodeAll(PCMU, sent), prompt)).toBeGreaterThan(0.95);
    expect(new Set(sent.map(({ header }) => header.ssrc)).size).toBe(1);
    expect(sent.every(({ header }) => header.payloadType === 0)).toBe(true);
    expect(sent.map(({ header }) => header.marker)).toEqual(sent.map((_, i) => i === 0));
    sent.slice(1).forEach(({ header }, i) => {
      expect(header.sequenceNumber).toBe((sent[i]!.header.sequenceNumber + 1) & 0xffff);
      expect(header.timestamp).toBe((sent[i]!.header.timestamp + 160) >>> 0);
    });
  });

  it('paces packets at 50 a second, the first at once', async () => {
    const stream = new FakeMediaStream(PCMU);
    const played = new PromptPlayer(stream).play(tone(440, 2));
    expect(stream.sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(999);
    expect(stream.sent).toHaveLength(50);
    await vi.advanceTimersByTimeAsync(1);
    expect(stream.sent).toHaveLength(51);
    expect(await settled(played)).toBe(false);
    await vi.advanceTimersByTimeAsync(1000);
    expect(stream.sent).toHaveLength(100);
    expect(await settled(played)).toBe(true);
    expect(stream.sent.every(({ at }, i) => at === i * 20)).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('catches up by a few frames after a stall, then pauses the prompt rather than skip any of it', async () => {
    let clock = 0;
    vi.spyOn(performance, 'now').mockImplementation(() => clock);
    const run = async (ms: number, step = 10) => {
      for (let t = 0; t < ms; t += step) {
        clock += step;
        await vi.advanceTimersByTimeAsync(step);
      }
    };
    const stream = new FakeMediaStream(PCMU);
    const prompt = tone(440, 1);
    const played = new PromptPlayer(stream).play(prompt);
    await run(100);
    expect(stream.sent).toHaveLength(6);
    // The event loop was blocked for half a second: the clock moved on, no timer ran.
    clock += 500;
    await run(10);
    expect(stream.sent).toHaveLength(9);
    await run(20);
    expect(stream.sent).toHaveLength(10);
    await run(1000);
    await played;
    expect(stream.sent).toHaveLength(50);
    expect(correlation(decodeAll(PCMU, stream.sent), prompt)).toBeGreaterThan(0.99);
  });

  it('stops early on stop() (barge-in) and resolves, leaving no timer', async () => {
    const stream = new FakeMediaStream(PCMU);
    const player = new PromptPlayer(stream);
    const played = player.play(tone(440, 3));
    await vi.advanceTimersByTimeAsync(200);
    player.stop();
    expect(await settled(played)).toBe(true);
    const count = stream.sent.length;
    expect(count).toBe(11);
    await vi.advanceTimersByTimeAsync(1000);
    expect(stream.sent).toHaveLength(count);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('plays one prompt at a time and keeps one stream across prompts, counting the silence between', async () => {
    const stream = new FakeMediaStream(PCMU);
    const player = new PromptPlayer(stream);
    const first = player.play(tone(440, 3));
    await vi.advanceTimersByTimeAsync(100);
    const second = player.play(tone(880, 0.2));
    expect(await settled(first)).toBe(true);
    await vi.advanceTimersByTimeAsync(1000);
    expect(await settled(second)).toBe(true);
    expect(stream.sent).toHaveLength(6 + 10);
    // Half a second of silence, then a third prompt.
    await vi.advanceTimersByTimeAsync(500);
    void player.play(tone(440, 0.1));
    const third = stream.sent[16]!.header;
    const lastOfSecond = stream.sent[15]!.header;
    expect(third.ssrc).toBe(lastOfSecond.ssrc);
    expect(third.sequenceNumber).toBe((lastOfSecond.sequenceNumber + 1) & 0xffff);
    expect(third.marker).toBe(true);
    const silence = (third.timestamp - lastOfSecond.timestamp - 160) >>> 0;
    expect(silence / 8000).toBeGreaterThan(0.4);
    expect(silence / 8000).toBeLessThan(1.4);
    expect(stream.sent[6]!.header.marker).toBe(true);
    player.close();
  });

  it('plays nothing after close(), and resolves at once', async () => {
    const stream = new FakeMediaStream(PCMU);
    const player = new PromptPlayer(stream);
    const played = player.play(tone(440, 1));
    player.close();
    expect(await settled(played)).toBe(true);
    expect(await settled(player.play(tone(440, 1)))).toBe(true);
    expect(stream.sent).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it.each([
    ['G722', G722, 160, 16000],
    ['opus', OPUS, 960, 48000],
  ] as const)('resamples and encodes for %s', async (_name, codec, timestampStep, rate) => {
    const stream = new FakeMediaStream(codec);
    const played = new PromptPlayer(stream).play(tone(1000, 1));
    await vi.advanceTimersByTimeAsync(1100);
    await played;
    const { sent } = stream;
    expect(sent).toHaveLength(50);
    expect(sent.every(({ header }) => header.payloadType === codec.payloadType)).toBe(true);
    expect((sent[1]!.header.timestamp - sent[0]!.header.timestamp) >>> 0).toBe(timestampStep);
    const decoded = Float32Array.from(decodeAll(codec, sent), (sample) => sample / 32768);
    expect(decoded.length).toBe(rate);
    const middle = [rate / 4, (3 * rate) / 4] as const;
    const at1k = goertzelPower(decoded, rate, 1000, ...middle);
    expect(at1k).toBeGreaterThan(0.01);
    for (const other of [440, 2500]) expect(goertzelPower(decoded, rate, other, ...middle)).toBeLessThan(at1k / 100);
  });

  it('refuses a codec it cannot encode', () => {
    expect(() => new PromptPlayer(new FakeMediaStream({ payloadType: 18, name: 'G729', clockRate: 8000, channels: 1 }))).toThrow(/G729/);
  });
});
