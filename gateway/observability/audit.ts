import { createWriteStream, openSync, type WriteStream } from 'node:fs';
import type { OriginLabel } from './metrics.js';

/**
 * One audit record: a leg that ended, or an attempt that was refused. Only call metadata, never
 * a PIN, digit, key, password or digest (DESIGN.md, stored data).
 */
export interface AuditRecord {
  event: 'leg-ended' | 'call-refused';
  origin: OriginLabel;
  /** The meeting the leg was in, once it had joined one. */
  meeting?: string;
  /** The leg's security label as computed when it was answered. */
  label?: { signalling: string; media: string; suite: string | null; encrypted: boolean; description: string };
  /** How the attempt or leg ended, e.g. `answered`/`forbidden` for calls, the end cause for legs. */
  outcome: string;
  status?: number;
  transport?: string;
  durationS?: number;
  remoteAddress?: string;
  trunk?: string;
  userAgent?: string;
}

/** JSON lines, one per record, with the time in UTC (ISO 8601), to a file (appended) or stdout. */
export class AuditLog {
  private readonly out: WriteStream | NodeJS.WriteStream;

  /**
   * `destination`: an absolute file path, or `stdout` for containers. A file that cannot be opened
   * stops the start (thrown here); a later write error (disk full) is reported, never thrown.
   */
  constructor(destination: string, onError: (err: Error) => void) {
    if (destination === 'stdout') {
      this.out = process.stdout;
      return;
    }
    const fd = openSync(destination, 'a', 0o600);
    this.out = createWriteStream(destination, { fd });
    this.out.on('error', onError);
  }

  record(record: AuditRecord): void {
    this.out.write(`${JSON.stringify({ time: new Date().toISOString(), audit: true, ...record })}\n`);
  }

  /** Flushes a file destination; stdout stays open. */
  close(): Promise<void> {
    if (this.out === process.stdout) return Promise.resolve();
    return new Promise((resolve) => (this.out as WriteStream).end(resolve));
  }
}
