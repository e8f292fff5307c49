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
  verify(meetingId: string, pin: string): Promise<boolean>;
  limits?: PinGuardLimits;
  now?: () => number;
  /** Called once per attempt and once per lockout, for metrics and audit. */
  attempted?(result: PinAttemptResult): void;
  lockedOut?(scope: 'source' | 'meeting'): void;
}

interface Failures {
  times: number[];
  lockedUntil: number;
  /** The failures a lockout cleared, in case the attempt that started it turns out right. */
  before: number[];
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

  /**
   * One PIN attempt. `meetingId` is undefined when the caller named no meeting that exists: all
   * such attempts share one meeting key, so a spray of made-up IDs cannot crowd out real lockouts.
   */
  async attempt(meetingId: string | undefined, pin: string, source: string): Promise<PinAttemptResult> {
    const now = this.now();
    // Not a possible meeting id (no spaces in ids), so it never collides with one.
    const meetingKey = meetingId?.toLowerCase() ?? 'no such meeting';
    if (this.isLocked(this.sources, source, now) || this.isLocked(this.meetings, meetingKey, now)) return this.report('locked');
    // Counted as a failure before the (asynchronous) check, so parallel guesses cannot all slip in
    // under the limit; a right PIN takes its failure back.
    const startsSourceLockout = this.fail(this.sources, source, this.limits.perSource, now);
    const startsMeetingLockout = this.fail(this.meetings, meetingKey, this.limits.perMeeting, now);
    // An unknown meeting still costs a hash, so it answers as late as a wrong PIN.
    if (await this.options.verify(meetingId ?? '', pin)) {
      this.forgive(this.sources, source, now, startsSourceLockout);
      this.forgive(this.meetings, meetingKey, now, startsMeetingLockout);
      return this.report('ok');
    }
    if (startsSourceLockout) this.options.lockedOut?.('source');
    if (startsMeetingLockout) this.options.lockedOut?.('meeting');
    return this.report('wrong');
  }

  private report(result: PinAttemptResult): PinAttemptResult {
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
      if (map.size >= MAX_TRACKED_KEYS) this.forgetOldest(map, now);
      failures = { times: [], lockedUntil: 0, before: [] };
      map.set(key, failures);
    }
    failures.times = failures.times.filter((t) => now - t < this.limits.windowMs);
    failures.times.push(now);
    if (failures.times.length < limit) return false;
    failures.before = failures.times;
    failures.times = [];
    failures.lockedUntil = now + this.limits.lockoutMs;
    return true;
  }

  /**
   * Makes room by forgetting the oldest key that is not locked out. Only when every tracked key is
   * locked (ten thousand lockouts at once) does the oldest lockout go.
   */
  private forgetOldest(map: Map<string, Failures>, now: number): void {
    for (const [key, failures] of map) {
      if (failures.lockedUntil <= now) {
        map.delete(key);
        return;
      }
    }
    map.delete(map.keys().next().value as string);
  }

  /** Takes back the failure fail() recorded at `at`, and the lockout it started. */
  private forgive(map: Map<string, Failures>, key: string, at: number, startedLockout: boolean): void {
    const failures = map.get(key);
    if (!failures) return;
    if (startedLockout) {
      failures.lockedUntil = 0;
      failures.times = failures.before;
    }
    const index = failures.times.lastIndexOf(at);
    if (index >= 0) failures.times.splice(index, 1);
  }
}

/**
 * Whether someone may enter a meeting: at once when it has no PIN, else only with the PIN. Unknown
 * IDs go through the guard too, so guessing IDs costs tries like guessing PINs.
 */
export function meetingAccess(
  meetings: { hasPin(id: string): boolean | undefined },
  pins: PinGuard,
): { check(meetingId: string, pin: string | undefined, source: string): Promise<'ok' | 'denied'> } {
  return {
    check: async (id, pin, source) => {
      const hasPin = meetings.hasPin(id);
      if (hasPin === false) return 'ok';
      return (await pins.attempt(hasPin === undefined ? undefined : id, pin ?? '', source)) === 'ok' ? 'ok' : 'denied';
    },
  };
}
