/** How a PIN attempt ended, as counted in metrics; the digits themselves are never kept or logged. */
export type PinAttemptResult = 'ok' | 'wrong' | 'locked';

export interface PinGuardLimits {
  /** Failures from one source address within the window that lock that source out. */
  perSource: number;
  /** Failures for one meeting (from anywhere) within the window that lock PIN entry for it. */
  perMeeting: number;
  windowMs: number;
  lockoutMs: number;
}

export const DEFAULT_PIN_LIMITS: PinGuardLimits = { perSource: 10, perMeeting: 30, windowMs: 10 * 60_000, lockoutMs: 10 * 60_000 };

export interface PinGuardOptions {
  /** Whether `pin` opens the meeting; false for an unknown meeting (the caller cannot tell the two apart). */
  verify(meetingId: string, pin: string): boolean;
  limits?: PinGuardLimits;
  now?: () => number;
  /** Called once per attempt and once per lockout, for metrics and audit. */
  attempted?(result: PinAttemptResult): void;
  lockedOut?(scope: 'source' | 'meeting'): void;
}

interface Failures {
  times: number[];
  lockedUntil: number;
}

// Bounds memory against a spray of addresses or meeting IDs; the oldest key is forgotten first.
const MAX_TRACKED_KEYS = 10_000;

/**
 * Online guessing limits for meeting PINs (DESIGN.md: limited tries per call, per source and per
 * meeting, with lockout). Per-call limits belong to the caller (the IVR's three tries). A locked
 * key answers "locked" without checking the PIN, so a locked-out guesser learns nothing more.
 */
export class PinGuard {
  private readonly sources = new Map<string, Failures>();
  private readonly meetings = new Map<string, Failures>();
  private readonly limits: PinGuardLimits;
  private readonly now: () => number;

  constructor(private readonly options: PinGuardOptions) {
    this.limits = options.limits ?? DEFAULT_PIN_LIMITS;
    this.now = options.now ?? Date.now;
  }

  attempt(meetingId: string, pin: string, source: string): PinAttemptResult {
    const now = this.now();
    const meetingKey = meetingId.toLowerCase();
    let result: PinAttemptResult;
    if (this.isLocked(this.sources, source, now) || this.isLocked(this.meetings, meetingKey, now)) result = 'locked';
    else if (this.options.verify(meetingId, pin)) result = 'ok';
    else {
      result = 'wrong';
      if (this.fail(this.sources, source, this.limits.perSource, now)) this.options.lockedOut?.('source');
      if (this.fail(this.meetings, meetingKey, this.limits.perMeeting, now)) this.options.lockedOut?.('meeting');
    }
    this.options.attempted?.(result);
    return result;
  }

  private isLocked(map: Map<string, Failures>, key: string, now: number): boolean {
    return (map.get(key)?.lockedUntil ?? 0) > now;
  }

  /** Records a failure; true when it starts a lockout. */
  private fail(map: Map<string, Failures>, key: string, limit: number, now: number): boolean {
    let failures = map.get(key);
    if (!failures) {
      if (map.size >= MAX_TRACKED_KEYS) map.delete(map.keys().next().value as string);
      failures = { times: [], lockedUntil: 0 };
      map.set(key, failures);
    }
    failures.times = failures.times.filter((t) => now - t < this.limits.windowMs);
    failures.times.push(now);
    if (failures.times.length < limit) return false;
    failures.times = [];
    failures.lockedUntil = now + this.limits.lockoutMs;
    return true;
  }
}

/**
 * Whether someone may enter a meeting: at once when it has no PIN, else only with the PIN. Unknown
 * IDs go through the guard too, so guessing IDs costs tries like guessing PINs.
 */
export function meetingAccess(
  meetings: { hasPin(id: string): boolean | undefined },
  pins: PinGuard,
): { check(meetingId: string, pin: string | undefined, source: string): 'ok' | 'denied' } {
  return {
    check: (id, pin, source) => (meetings.hasPin(id) === false || pins.attempt(id, pin ?? '', source) === 'ok' ? 'ok' : 'denied'),
  };
}
