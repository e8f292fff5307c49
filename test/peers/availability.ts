// Whether a real peer is installed, and the suite-wide rule for when it is not:
// skip with a one-line reason, except under CI=true, where a missing peer is a failure.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** True when `binary` is an executable file on PATH (or at the absolute path given). */
export function peerAvailable(binary: string): boolean {
  const candidates = binary.includes('/')
    ? [binary]
    : (process.env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, binary));
  return candidates.some((path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

export interface PeerRequirement {
  /** Pass to `describe.skipIf` / `it.skipIf`. */
  readonly skip: boolean;
  /** The one-line reason, when skipping. */
  readonly reason: string | undefined;
}

/**
 * Decides whether tests that need `binaries` run. A missing binary skips them (the reason is printed once,
 * on one line) unless CI=true, where this throws so that the test file fails.
 */
export function requirePeer(...binaries: string[]): PeerRequirement {
  const missing = binaries.filter((binary) => !peerAvailable(binary));
  if (missing.length === 0) return { skip: false, reason: undefined };
  const reason = `peer not installed: ${missing.join(', ')}`;
  if (process.env.CI === 'true') throw new Error(`CI=true and a required ${reason}`);
  console.warn(`skipping: ${reason}`);
  return { skip: true, reason };
}
