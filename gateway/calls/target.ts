import type { Leg } from './leg.js';

/**
 * Where an answered call goes: the test-call service today, meetings next. The call layer knows
 * nothing of what a target does with a leg's media (Janus-style narrow plugin interface).
 */
export interface CallTarget {
  /** Takes over an answered leg's media; the target lets go when the leg ends. */
  attach(leg: Leg): void;
}

/** Resolves the user part of a Request-URI (`sip:<user>@gateway`) to a call target. */
export class TargetDirectory {
  private readonly targets = new Map<string, CallTarget>();

  register(user: string, target: CallTarget): void {
    this.targets.set(user.toLowerCase(), target);
  }

  resolve(user: string | undefined): CallTarget | undefined {
    return user === undefined ? undefined : this.targets.get(user.toLowerCase());
  }
}
