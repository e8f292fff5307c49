import { normalizeNumber, type DidTarget, type Trunk } from '../config/index.js';
import type { Leg } from './leg.js';

/**
 * Where an answered call goes: the test-call service, a meeting, the dial-in IVR. The call layer
 * knows nothing of what a target does with a leg's media (Janus-style narrow plugin interface).
 */
export interface CallTarget {
  /** Takes over an answered leg's media; the target lets go when the leg ends. */
  attach(leg: Leg): void;
}

/**
 * Resolves the user part of a Request-URI to a call target: `sip:<user>@gateway`, or for a trunk
 * first the dialled number (DID) as that trunk's configuration maps it.
 */
export class TargetDirectory {
  private readonly targets = new Map<string, CallTarget>();
  private readonly resolvers: ((user: string) => CallTarget | undefined)[] = [];
  private didRouter: ((did: DidTarget) => CallTarget | undefined) | undefined;

  register(user: string, target: CallTarget): void {
    this.targets.set(user.toLowerCase(), target);
  }

  /** Asked, in order, for users no registered target has (meetings, whose IDs come and go). */
  addResolver(resolve: (user: string) => CallTarget | undefined): void {
    this.resolvers.push(resolve);
  }

  /** Where a trunk's configured numbers lead (the IVR, or one meeting). */
  routeDids(route: (did: DidTarget) => CallTarget | undefined): void {
    this.didRouter = route;
  }

  resolve(user: string | undefined, trunk?: Trunk): CallTarget | undefined {
    if (user === undefined) return undefined;
    const did = trunk?.dids.get(normalizeNumber(user));
    if (did) return this.didRouter?.(did);
    const target = this.targets.get(user.toLowerCase());
    if (target) return target;
    for (const resolve of this.resolvers) {
      const resolved = resolve(user);
      if (resolved) return resolved;
    }
    return undefined;
  }
}
