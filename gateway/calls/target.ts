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
  private readonly resolvers: ((user: string) => CallTarget | undefined)[] = [];

  register(user: string, target: CallTarget): void {
    this.targets.set(user.toLowerCase(), target);
  }

  /** Asked, in order, for users no registered target has (meetings, whose IDs come and go). */
  addResolver(resolve: (user: string) => CallTarget | undefined): void {
    this.resolvers.push(resolve);
  }

  resolve(user: string | undefined): CallTarget | undefined {
    if (user === undefined) return undefined;
    const target = this.targets.get(user.toLowerCase());
    if (target) return target;
    for (const resolve of this.resolvers) {
      const resolved = resolve(user);
      if (resolved) return resolved;
    }
    return undefined;
  }
}
