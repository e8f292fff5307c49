import { closeSync, existsSync, fstatSync, openSync, readdirSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { isIP } from 'node:net';
import { basename, dirname, join } from 'node:path';
import type { AddressMask } from '../config/index.js';
import type { OriginLabel } from './catalogue.js';

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
  /** The peer's full address; the log masks it as configured. */
  remoteAddress?: string;
  trunk?: string;
  userAgent?: string;
}

export interface AuditLogOptions {
  /** An absolute file path, or `stdout` for containers (whose log collector rotates it). */
  destination: string;
  /** A file is rotated before a record would make it larger than this. */
  maxSizeBytes: number;
  /** Rotated files whose name's timestamp is older than this are deleted. */
  retentionDays: number;
  /** How much of `remoteAddress` a record keeps. */
  remoteAddress: AddressMask;
  /** A failed write, rotation or clean-up; the log carries on and the next record tries again. */
  onError: (err: Error) => void;
  /** A record was written (for the records metric). */
  written?: (event: AuditRecord['event']) => void;
  /** The clock, for tests. */
  now?: () => Date;
}

/**
 * JSON lines, one per record, with the time in UTC (ISO 8601), to a file (appended, rotated by
 * size, rotated files deleted by age) or stdout.
 */
export class AuditLog {
  private readonly now: () => Date;
  private readonly file: RotatingFile | undefined;

  /**
   * A file that cannot be opened stops the start (thrown here); every later failure is reported
   * through `onError`, never thrown.
   */
  constructor(private readonly options: AuditLogOptions) {
    this.now = options.now ?? (() => new Date());
    this.file = options.destination === 'stdout' ? undefined : new RotatingFile(options.destination, options, this.now);
  }

  record(record: AuditRecord): void {
    const line = `${JSON.stringify(this.line(record))}\n`;
    if (this.file && !this.file.append(line)) return;
    if (!this.file) process.stdout.write(line);
    this.options.written?.(record.event);
  }

  /** Closes a file destination; stdout stays open. */
  close(): Promise<void> {
    this.file?.close();
    return Promise.resolve();
  }

  /**
   * Copied field by field: a caller's object may carry more properties than AuditRecord names
   * (TypeScript allows that), and none of them may reach the log.
   */
  private line(record: AuditRecord): object {
    const { label } = record;
    return {
      time: this.now().toISOString(),
      audit: true,
      event: record.event,
      origin: record.origin,
      meeting: record.meeting,
      label: label && {
        signalling: label.signalling,
        media: label.media,
        suite: label.suite,
        encrypted: label.encrypted,
        description: label.description,
      },
      outcome: record.outcome,
      status: record.status,
      transport: record.transport,
      durationS: record.durationS,
      remoteAddress: maskAddress(record.remoteAddress, this.options.remoteAddress),
      trunk: record.trunk,
      userAgent: record.userAgent,
    };
  }
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * An append-only file that is renamed to `<path>.<UTC timestamp>` before it would outgrow its
 * limit. Writes are synchronous on one descriptor, so the size it counts is the file's size and
 * records stay whole and in order; records are rare (one per leg), so blocking is cheap.
 */
class RotatingFile {
  private fd: number | undefined;
  /** Which file `fd` is, to notice when the path has been removed or replaced under us. */
  private opened = { dev: 0, ino: 0 };
  private size = 0;
  private readonly pruneTimer: NodeJS.Timeout;

  constructor(
    private readonly path: string,
    private readonly options: Pick<AuditLogOptions, 'maxSizeBytes' | 'retentionDays' | 'onError'>,
    private readonly now: () => Date,
  ) {
    this.open();
    this.prune();
    this.pruneTimer = setInterval(() => this.prune(), DAY_MS).unref();
  }

  /** False when the record could not be written (reported through onError). */
  append(line: string): boolean {
    const bytes = Buffer.from(line);
    try {
      let fd = this.openFile();
      // An empty file takes any record, however large, so every record gets written somewhere.
      if (this.size > 0 && this.size + bytes.length > this.options.maxSizeBytes) fd = this.rotate(fd);
      this.write(fd, bytes);
      return true;
    } catch (err) {
      this.report(err);
      return false;
    }
  }

  close(): void {
    clearInterval(this.pruneTimer);
    this.closeFd();
  }

  private open(): number {
    const fd = openSync(this.path, 'a', 0o600);
    const { dev, ino, size } = fstatSync(fd);
    this.fd = fd;
    this.opened = { dev, ino };
    this.size = size;
    return fd;
  }

  /**
   * Writes to a file that was deleted or moved away would succeed and vanish; so when the path no
   * longer names the open file, open the path again (creating it, or failing visibly).
   */
  private openFile(): number {
    if (this.fd !== undefined) {
      const current = statSafely(this.path);
      if (current && current.dev === this.opened.dev && current.ino === this.opened.ino) return this.fd;
      this.closeFd();
    }
    return this.open();
  }

  private write(fd: number, bytes: Buffer): void {
    try {
      for (let offset = 0; offset < bytes.length; ) offset += writeSync(fd, bytes, offset);
      this.size += bytes.length;
    } catch (err) {
      // Reopened by the next record, whose size then comes from the file itself.
      this.closeFd();
      throw err;
    }
  }

  /** Returns the descriptor to write to: the fresh file, or the old one when renaming failed. */
  private rotate(fd: number): number {
    try {
      renameSync(this.path, this.rotatedPath());
    } catch (err) {
      // Keep writing to the oversized file rather than lose records; the next record tries again.
      this.report(err);
      return fd;
    }
    this.closeFd();
    const fresh = this.open();
    this.prune();
    return fresh;
  }

  /** Named by the time of rotation; a name already taken (two rotations in one ms) moves on by 1 ms. */
  private rotatedPath(): string {
    for (let at = this.now().getTime(); ; at += 1) {
      const candidate = `${this.path}.${rotationStamp(at)}`;
      if (!existsSync(candidate)) return candidate;
    }
  }

  /** Deletes this log's rotated files older than the retention; nothing else in the directory. */
  private prune(): void {
    const directory = dirname(this.path);
    const prefix = `${basename(this.path)}.`;
    const cutoff = this.now().getTime() - this.options.retentionDays * DAY_MS;
    try {
      for (const entry of readdirSync(directory, { withFileTypes: true })) {
        if (!entry.isFile() || !entry.name.startsWith(prefix)) continue;
        const rotatedAt = parseRotationStamp(entry.name.slice(prefix.length));
        if (rotatedAt !== undefined && rotatedAt < cutoff) unlinkSync(join(directory, entry.name));
      }
    } catch (err) {
      this.report(err);
    }
  }

  private closeFd(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    try {
      closeSync(fd);
    } catch (err) {
      this.report(err);
    }
  }

  private report(err: unknown): void {
    this.options.onError(err instanceof Error ? err : new Error(String(err)));
  }
}

function statSafely(path: string): { dev: number; ino: number } | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/** `20261122T101502.114Z`: ISO 8601 basic format, so names sort by time. */
function rotationStamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '');
}

const ROTATION_STAMP = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})\.(\d{3})Z$/;

function parseRotationStamp(text: string): number | undefined {
  const parts = ROTATION_STAMP.exec(text);
  if (!parts) return undefined;
  const [year, month, day, hour, minute, second, ms] = parts.slice(1).map(Number) as number[];
  return Date.UTC(year!, month! - 1, day, hour, minute, second, ms);
}

function maskAddress(address: string | undefined, mask: AddressMask): string | undefined {
  if (address === undefined || mask === 'none') return undefined;
  if (mask === 'full') return address;
  return networkOf(address);
}

/**
 * The /24 of an IPv4 address (last octet zeroed) or the /48 of an IPv6 one, an IPv4-mapped IPv6
 * address counting as IPv4. Anything else is dropped rather than written unmasked.
 */
function networkOf(address: string): string | undefined {
  switch (isIP(address)) {
    case 4:
      return ipv4Network(address.split('.').map(Number));
    case 6: {
      // The zone names an interface of this host, not part of the peer's address.
      const groups = ipv6Groups(address.split('%')[0]!);
      if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
        const [high, low] = [groups[6]!, groups[7]!];
        return ipv4Network([high >> 8, high & 0xff, low >> 8, low & 0xff]);
      }
      // Groups 3–7 are zero, the longest run of zeros, so `::` replaces them (RFC 5952).
      const prefix = groups.slice(0, 3);
      while (prefix.at(-1) === 0) prefix.pop();
      return `${prefix.map((g) => g.toString(16)).join(':')}::`;
    }
    default:
      return undefined;
  }
}

function ipv4Network(octets: number[]): string {
  return `${octets.slice(0, 3).join('.')}.0`;
}

/** The eight 16-bit groups of an address that `isIP` has already accepted as IPv6. */
function ipv6Groups(address: string): number[] {
  const parse = (part: string): number[] =>
    part === ''
      ? []
      : part.split(':').flatMap((group) => {
          if (!group.includes('.')) return [parseInt(group, 16)];
          const [a, b, c, d] = group.split('.').map(Number) as [number, number, number, number];
          return [(a << 8) | b, (c << 8) | d];
        });
  const [head = '', tail] = address.split('::');
  const left = parse(head);
  if (tail === undefined) return left;
  const right = parse(tail);
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}
