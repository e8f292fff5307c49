import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DigitCollector } from '../../gateway/ivr/index.js';
import { settled } from '../support/settled.js';

const OPTIONS = { maxDigits: 8, interDigitMs: 3000, overallMs: 10000 };

function typeDigits(collector: DigitCollector, digits: string): void {
  for (const digit of digits) collector.push(digit);
}

describe('DigitCollector', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('resolves with the digits before # and leaves no timer', async () => {
    const collector = new DigitCollector();
    const entry = collector.collect(OPTIONS);
    typeDigits(collector, '1234#');
    expect(await entry).toBe('1234');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('resolves with an empty entry for # alone', async () => {
    const collector = new DigitCollector();
    const entry = collector.collect(OPTIONS);
    collector.push('#');
    expect(await entry).toBe('');
  });

  it('resolves once maxDigits were typed, keeping later digits for the next entry', async () => {
    const collector = new DigitCollector();
    const entry = collector.collect({ ...OPTIONS, maxDigits: 4 });
    typeDigits(collector, '98765#');
    expect(await entry).toBe('9876');
    expect(collector.hasTyped).toBe(true);
    expect(await collector.collect(OPTIONS)).toBe('5');
  });

  it('takes what was typed when the caller pauses longer than the inter-digit timeout', async () => {
    const collector = new DigitCollector();
    const entry = collector.collect(OPTIONS);
    typeDigits(collector, '42');
    await vi.advanceTimersByTimeAsync(2999);
    collector.push('7');
    await vi.advanceTimersByTimeAsync(2999);
    expect(await settled(entry)).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await entry).toBe('427');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('resolves undefined when nothing was typed before the overall timeout', async () => {
    const collector = new DigitCollector();
    const entry = collector.collect(OPTIONS);
    await vi.advanceTimersByTimeAsync(9999);
    expect(await settled(entry)).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await entry).toBeUndefined();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('bounds the whole entry by the overall timeout, keeping what was typed', async () => {
    const collector = new DigitCollector();
    const entry = collector.collect(OPTIONS);
    for (let i = 0; i < 5; i++) {
      await vi.advanceTimersByTimeAsync(2500);
      collector.push(String(i));
    }
    expect(await entry).toBe('012');
  });

  it('keeps digits typed ahead for the next collect(), bounded', async () => {
    const collector = new DigitCollector();
    expect(collector.hasTyped).toBe(false);
    typeDigits(collector, '55#6');
    expect(collector.hasTyped).toBe(true);
    expect(await collector.collect(OPTIONS)).toBe('55');
    const second = collector.collect(OPTIONS);
    typeDigits(collector, '7#');
    expect(await second).toBe('67');

    typeDigits(collector, '1'.repeat(100));
    const third = collector.collect({ ...OPTIONS, maxDigits: 1000 });
    await vi.advanceTimersByTimeAsync(OPTIONS.interDigitMs);
    expect(await third).toBe('1'.repeat(32));
  });

  it('ignores anything that is not a DTMF digit', async () => {
    const collector = new DigitCollector();
    const entry = collector.collect(OPTIONS);
    for (const digit of ['1', 'x', '', '22', 'a', '*', 'D', '#']) collector.push(digit);
    expect(await entry).toBe('1*D');
  });

  it('calls onFirstDigit when the caller starts an entry, typed ahead or awaited', async () => {
    const collector = new DigitCollector();
    const firstDigit = vi.fn();
    collector.onFirstDigit(firstDigit);
    typeDigits(collector, '12');
    expect(firstDigit).toHaveBeenCalledTimes(1);
    const first = collector.collect(OPTIONS);
    collector.push('#');
    expect(await first).toBe('12');
    expect(firstDigit).toHaveBeenCalledTimes(1);

    const second = collector.collect(OPTIONS);
    expect(firstDigit).toHaveBeenCalledTimes(1);
    typeDigits(collector, '34#');
    expect(firstDigit).toHaveBeenCalledTimes(2);
    expect(await second).toBe('34');
  });

  it('resolves undefined on cancel(), forgets what was typed ahead, and clears its timers', async () => {
    const collector = new DigitCollector();
    const entry = collector.collect(OPTIONS);
    collector.push('9');
    collector.cancel();
    expect(await entry).toBeUndefined();
    expect(vi.getTimerCount()).toBe(0);
    typeDigits(collector, '12');
    collector.cancel();
    expect(collector.hasTyped).toBe(false);
  });

  it('cancels a pending collect() when a new one starts', async () => {
    const collector = new DigitCollector();
    const first = collector.collect(OPTIONS);
    const second = collector.collect(OPTIONS);
    expect(await first).toBeUndefined();
    typeDigits(collector, '8#');
    expect(await second).toBe('8');
  });

  it('ignores digits and collect() after close()', async () => {
    const collector = new DigitCollector();
    const firstDigit = vi.fn();
    collector.onFirstDigit(firstDigit);
    const entry = collector.collect(OPTIONS);
    collector.close();
    expect(await entry).toBeUndefined();
    typeDigits(collector, '1#');
    expect(firstDigit).not.toHaveBeenCalled();
    expect(collector.hasTyped).toBe(false);
    expect(await collector.collect(OPTIONS)).toBeUndefined();
    expect(vi.getTimerCount()).toBe(0);
  });
});
