import { describe, expect, it } from 'vitest';
import { PinGuard, type PinAttemptResult, type PinGuardLimits } from '../../gateway/policy/index.js';

const LIMITS: PinGuardLimits = { perSource: 3, perMeeting: 5, windowMs: 60_000, lockoutMs: 120_000 };
const PIN = '2468';

function guard(limits = LIMITS) {
  let now = 1_000_000;
  const results: PinAttemptResult[] = [];
  const lockouts: string[] = [];
  const pins = new PinGuard({
    // Asynchronous like the real scrypt check, so parallel attempts interleave.
    verify: async (meetingId, pin) => {
      await new Promise((resolve) => setImmediate(resolve));
      return meetingId === 'board' && pin === PIN;
    },
    limits,
    now: () => now,
    attempted: (result) => results.push(result),
    lockedOut: (scope) => lockouts.push(scope),
  });
  return { pins, results, lockouts, advance: (ms: number) => (now += ms) };
}

describe('PinGuard', () => {
  it('locks a source out after its failures, refusing even the right PIN unchecked, until the lockout ends', async () => {
    const { pins, lockouts, advance } = guard();
    for (const pin of ['1', '2']) expect(await pins.attempt('board', pin, '192.0.2.1')).toBe('wrong');
    expect(lockouts).toEqual([]);
    expect(await pins.attempt('board', '3', '192.0.2.1')).toBe('wrong');
    expect(lockouts).toEqual(['source']);
    expect(await pins.attempt('board', PIN, '192.0.2.1')).toBe('locked');
    expect(await pins.attempt('board', PIN, '192.0.2.2')).toBe('ok');
    advance(LIMITS.lockoutMs + 1);
    expect(await pins.attempt('board', PIN, '192.0.2.1')).toBe('ok');
  });

  it('forgets failures older than the window', async () => {
    const { pins, advance } = guard();
    await pins.attempt('board', '1', '192.0.2.1');
    await pins.attempt('board', '2', '192.0.2.1');
    advance(LIMITS.windowMs);
    await pins.attempt('board', '3', '192.0.2.1');
    expect(await pins.attempt('board', PIN, '192.0.2.1')).toBe('ok');
  });

  it('locks PIN entry for a meeting guessed from many sources, and counts unknown meetings like known ones', async () => {
    const { pins, lockouts } = guard();
    for (let i = 0; i < LIMITS.perMeeting; i++) expect(await pins.attempt('board', '0000', `198.51.100.${i}`)).toBe('wrong');
    expect(lockouts).toEqual(['meeting']);
    expect(await pins.attempt('BOARD', PIN, '203.0.113.9')).toBe('locked');
    for (let i = 0; i < LIMITS.perMeeting; i++) expect(await pins.attempt('no-such-meeting', PIN, `198.51.100.${50 + i}`)).toBe('wrong');
    expect(await pins.attempt('no-such-meeting', PIN, '203.0.113.9')).toBe('locked');
  });

  it('counts every attempt at a meeting that does not exist under one key, so made-up IDs cannot multiply the tries', async () => {
    const { pins } = guard();
    for (let i = 0; i < LIMITS.perMeeting; i++) expect(await pins.attempt(undefined, PIN, `198.51.100.${i}`)).toBe('wrong');
    expect(await pins.attempt(undefined, PIN, '203.0.113.9')).toBe('locked');
    expect(await pins.attempt('board', PIN, '203.0.113.9')).toBe('ok');
  });

  it('never forgets a lockout to make room for new keys', async () => {
    const { pins } = guard({ ...LIMITS, perSource: 2, perMeeting: 1_000_000 });
    await pins.attempt('board', '0', 'attacker');
    expect(await pins.attempt('board', '0', 'attacker')).toBe('wrong');
    for (let i = 0; i < 10_000; i++) await pins.attempt('board', '0', `spray-${i}`);
    expect(await pins.attempt('board', PIN, 'attacker')).toBe('locked');
  });

  it('does not let parallel guesses from one source slip past the limit while they are being checked', async () => {
    const { pins } = guard();
    const results = await Promise.all(['1', '2', '3', '4', '5', '6'].map((pin) => pins.attempt('board', pin, '192.0.2.1')));
    expect(results.filter((r) => r === 'wrong')).toHaveLength(LIMITS.perSource);
    expect(results.filter((r) => r === 'locked')).toHaveLength(6 - LIMITS.perSource);
  });

  it('takes back the failure a right PIN was counted as, so a caller who gets it right is not held against', async () => {
    const { pins, results } = guard();
    await pins.attempt('board', '1', '192.0.2.1');
    await pins.attempt('board', '2', '192.0.2.1');
    // Would be the third failure (a lockout) if it were wrong.
    expect(await pins.attempt('board', PIN, '192.0.2.1')).toBe('ok');
    expect(await pins.attempt('board', PIN, '192.0.2.1')).toBe('ok');
    expect(results).toEqual(['wrong', 'wrong', 'ok', 'ok']);
  });
});
