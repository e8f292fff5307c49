import { describe, expect, it } from 'vitest';
import { AudioMixer, MIXER_FRAME_SAMPLES, MIXER_QUEUE_FRAMES, SILENCE_DBOV } from '../../gateway/media/mixer/index.js';
import { goertzelPower } from '../peers/wav.js';

const RATE = 48000;

function toneFrame(hz: number, amplitude: number, frameIndex = 0): Int16Array {
  return Int16Array.from({ length: MIXER_FRAME_SAMPLES }, (_, i) =>
    Math.round(amplitude * 32767 * Math.sin((2 * Math.PI * hz * (frameIndex * MIXER_FRAME_SAMPLES + i)) / RATE)),
  );
}

function constantFrame(value: number): Int16Array {
  return new Int16Array(MIXER_FRAME_SAMPLES).fill(value);
}

function power(pcm: Int16Array, hz: number): number {
  return goertzelPower(Float32Array.from(pcm, (sample) => sample / 32768), RATE, hz);
}

describe('AudioMixer', () => {
  it('gives each output everyone but its own source (mix-minus)', () => {
    const mixer = new AudioMixer();
    for (const id of ['a', 'b']) mixer.addSource(id);
    mixer.addOutput('to-a', 'a');
    mixer.addOutput('to-b', 'b');
    mixer.addOutput('recorder', undefined);
    const a = toneFrame(440, 0.3);
    const b = toneFrame(1000, 0.3);
    mixer.push('a', a);
    mixer.push('b', b);
    const { outputs } = mixer.mix();

    const toA = outputs.get('to-a')!;
    expect(toA).toEqual(b);
    expect(power(toA, 440)).toBeLessThan(1e-9);
    expect(power(toA, 1000)).toBeGreaterThan(0.02);
    expect(outputs.get('to-b')).toEqual(a);
    expect(outputs.get('recorder')).toEqual(Int16Array.from(a, (sample, i) => sample + b[i]!));
  });

  it('saturates the sum to int16 instead of wrapping', () => {
    const mixer = new AudioMixer();
    for (const id of ['a', 'b', 'c']) mixer.addSource(id);
    mixer.addOutput('all', undefined);
    mixer.addOutput('to-c', 'c');
    mixer.push('a', constantFrame(30000));
    mixer.push('b', constantFrame(30000));
    mixer.push('c', constantFrame(-32768));
    const { outputs } = mixer.mix();
    expect(outputs.get('all')!.every((sample) => sample === 27232)).toBe(true);
    expect(outputs.get('to-c')!.every((sample) => sample === 32767)).toBe(true);
  });

  it('keeps at most three frames per source, dropping the oldest, and plays silence when empty', () => {
    const mixer = new AudioMixer();
    mixer.addSource('a');
    mixer.addOutput('out', undefined);
    const accepted = [1, 2, 3, 4, 5].map((value) => mixer.push('a', constantFrame(value)));
    expect(accepted).toEqual([true, true, true, false, false]);
    expect(mixer.droppedFrames).toBe(2);
    const heard = Array.from({ length: MIXER_QUEUE_FRAMES + 1 }, () => mixer.mix().outputs.get('out')![0]);
    expect(heard).toEqual([3, 4, 5, 0]);
  });

  it('copies pushed frames, pads short ones, and ignores unknown sources', () => {
    const mixer = new AudioMixer();
    mixer.addSource('a');
    mixer.addOutput('out', undefined);
    const frame = constantFrame(100).subarray(0, 480);
    mixer.push('a', frame);
    frame.fill(-1);
    expect(mixer.push('ghost', constantFrame(5))).toBe(false);
    const out = mixer.mix().outputs.get('out')!;
    expect(out.subarray(0, 480).every((sample) => sample === 100)).toBe(true);
    expect(out.subarray(480).every((sample) => sample === 0)).toBe(true);
  });

  it('reports each source’s RMS level in dBov, and the silence floor for a source without a frame', () => {
    const mixer = new AudioMixer();
    for (const id of ['loud', 'quiet', 'muted', 'absent']) mixer.addSource(id);
    mixer.push('loud', toneFrame(1000, 1));
    mixer.push('quiet', toneFrame(1000, 0.1));
    mixer.push('muted', new Int16Array(MIXER_FRAME_SAMPLES));
    const { levels } = mixer.mix();
    // A full-scale sine has an RMS of 1/√2 of full scale: −3 dBov.
    expect(levels.get('loud')).toBeCloseTo(-3.01, 1);
    expect(levels.get('quiet')).toBeCloseTo(-23.01, 1);
    expect(levels.get('muted')).toBe(SILENCE_DBOV);
    expect(levels.get('absent')).toBe(SILENCE_DBOV);
  });

  it('plays queued clips to every output, one after the other, across ticks', () => {
    const mixer = new AudioMixer();
    mixer.addSource('a');
    mixer.addOutput('to-a', 'a');
    mixer.addOutput('other', undefined);
    mixer.play(new Int16Array(1200).fill(7));
    mixer.play(constantFrame(9));
    const ticks = [0, 1, 2, 3].map(() => {
      const { outputs } = mixer.mix();
      return [...outputs.values()].map((pcm) => [pcm[0], pcm[239], pcm[240], pcm[959]]);
    });
    expect(ticks).toEqual([
      [[7, 7, 7, 7], [7, 7, 7, 7]],
      [[7, 7, 9, 9], [7, 7, 9, 9]],
      [[9, 9, 0, 0], [9, 9, 0, 0]],
      [[0, 0, 0, 0], [0, 0, 0, 0]],
    ]);
  });

  it('mixes a clip on top of the sources, still minus the output’s own source', () => {
    const mixer = new AudioMixer();
    mixer.addSource('a');
    mixer.addOutput('to-a', 'a');
    mixer.push('a', constantFrame(1000));
    mixer.play(constantFrame(50));
    expect(mixer.mix().outputs.get('to-a')!.every((sample) => sample === 50)).toBe(true);
  });

  it('forgets removed sources and outputs; an output whose source left hears everyone', () => {
    const mixer = new AudioMixer();
    for (const id of ['a', 'b']) mixer.addSource(id);
    mixer.addOutput('to-a', 'a');
    mixer.addOutput('to-b', 'b');
    mixer.removeSource('a');
    mixer.removeOutput('to-b');
    mixer.push('a', constantFrame(3));
    mixer.push('b', constantFrame(4));
    const { outputs, levels } = mixer.mix();
    expect([...outputs.keys()]).toEqual(['to-a']);
    expect(outputs.get('to-a')![0]).toBe(4);
    expect([...levels.keys()]).toEqual(['b']);
  });

  it('reuses its output buffers from tick to tick', () => {
    const mixer = new AudioMixer();
    mixer.addSource('a');
    mixer.addOutput('out', undefined);
    mixer.push('a', constantFrame(1));
    const first = mixer.mix().outputs.get('out');
    mixer.push('a', constantFrame(2));
    const second = mixer.mix().outputs.get('out');
    expect(second).toBe(first);
    expect(second![0]).toBe(2);
  });

  it('keeps a continuous tone continuous across ticks', () => {
    const mixer = new AudioMixer();
    mixer.addSource('a');
    mixer.addOutput('out', undefined);
    const heard = new Int16Array(10 * MIXER_FRAME_SAMPLES);
    for (let tick = 0; tick < 10; tick++) {
      mixer.push('a', toneFrame(440, 0.5, tick));
      heard.set(mixer.mix().outputs.get('out')!, tick * MIXER_FRAME_SAMPLES);
    }
    expect(power(heard, 440)).toBeGreaterThan(1000 * power(heard, 880));
  });
});
