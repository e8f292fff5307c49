import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AddressMask } from '../../gateway/config/index.js';
import { AuditLog, type AuditLogOptions, type AuditRecord } from '../../gateway/observability/index.js';

const NOW = new Date('2026-11-22T10:15:02.114Z');
const DAY_MS = 24 * 60 * 60 * 1000;

function legEnded(durationS: number, extra: Partial<AuditRecord> = {}): AuditRecord {
  return {
    event: 'leg-ended',
    origin: 'pstn',
    meeting: 'board-room',
    label: { signalling: 'udp', media: 'none', suite: null, encrypted: false, description: 'Phone · not encrypted' },
    outcome: 'remote-hangup',
    durationS,
    remoteAddress: '192.0.2.3',
    trunk: 'carrier-a',
    ...extra,
  };
}

describe('AuditLog to a file', () => {
  let dir: string;
  let file: string;
  let errors: Error[];
  let clock: Date;
  const opened: AuditLog[] = [];

  function openLog(options: Partial<AuditLogOptions> = {}): AuditLog {
    const log = new AuditLog({
      destination: file,
      maxSizeBytes: 1024 * 1024,
      retentionDays: 90,
      remoteAddress: 'full',
      onError: (err) => errors.push(err),
      now: () => clock,
      ...options,
    });
    opened.push(log);
    return log;
  }

  /** Every file in the directory (sorted by name, so rotated ones by time) with its parsed lines. */
  function files(): Record<string, Record<string, unknown>[]> {
    const result: Record<string, Record<string, unknown>[]> = {};
    for (const name of readdirSync(dir).sort()) {
      const text = readFileSync(join(dir, name), 'utf8');
      expect(text.endsWith('\n')).toBe(true);
      result[name] = text.slice(0, -1).split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    }
    return result;
  }

  /** The length of one `legEnded` line, measured by writing it. */
  function lineLength(): number {
    const probe = join(dir, 'probe');
    const log = new AuditLog({ destination: probe, maxSizeBytes: 1e6, retentionDays: 1, remoteAddress: 'full', onError: () => {}, now: () => clock });
    log.record(legEnded(1));
    void log.close();
    const length = statSync(probe).size;
    rmSync(probe);
    return length;
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sipgw-audit-'));
    file = join(dir, 'audit.log');
    errors = [];
    clock = NOW;
  });

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((log) => log.close()));
    rmSync(dir, { recursive: true, force: true });
    vi.useRealTimers();
  });

  it('writes one JSON line per record, with the time and audit:true, to a file only its owner can read', () => {
    openLog().record(legEnded(312.4, { userAgent: 'CarrierSBC/4.2' }));
    expect(readFileSync(file, 'utf8')).toBe(
      '{"time":"2026-11-22T10:15:02.114Z","audit":true,"event":"leg-ended","origin":"pstn","meeting":"board-room",' +
        '"label":{"signalling":"udp","media":"none","suite":null,"encrypted":false,"description":"Phone · not encrypted"},' +
        '"outcome":"remote-hangup","durationS":312.4,"remoteAddress":"192.0.2.3","trunk":"carrier-a","userAgent":"CarrierSBC/4.2"}\n',
    );
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(errors).toEqual([]);
  });

  it('rotates before a record would pass the size limit, keeping every line whole and in order', () => {
    const length = lineLength();
    const log = openLog({ maxSizeBytes: 3 * length });
    for (let n = 1; n <= 7; n++) log.record(legEnded(n));

    const written = files();
    // Two rotations in the same millisecond get distinct names, still in time order.
    expect(Object.keys(written)).toEqual(['audit.log', 'audit.log.20261122T101502.114Z', 'audit.log.20261122T101502.115Z']);
    const durations = (name: string): unknown[] => written[name]!.map((line) => line.durationS);
    expect(durations('audit.log.20261122T101502.114Z')).toEqual([1, 2, 3]);
    expect(durations('audit.log.20261122T101502.115Z')).toEqual([4, 5, 6]);
    expect(durations('audit.log')).toEqual([7]);
    expect(statSync(join(dir, 'audit.log.20261122T101502.114Z')).size).toBe(3 * length);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(errors).toEqual([]);
  });

  it('rotates when one byte over the limit, and counts from the size an existing file already has', () => {
    const length = lineLength();
    writeFileSync(file, `${JSON.stringify({ earlier: true }).padEnd(length - 1, ' ')}\n`, { mode: 0o600 });
    const log = openLog({ maxSizeBytes: 3 * length - 1 });
    log.record(legEnded(1));
    log.record(legEnded(2));

    const written = files();
    expect(Object.keys(written)).toEqual(['audit.log', 'audit.log.20261122T101502.114Z']);
    expect(written['audit.log.20261122T101502.114Z']).toMatchObject([{ earlier: true }, { durationS: 1 }]);
    expect(written['audit.log']).toMatchObject([{ durationS: 2 }]);
  });

  it('writes a record larger than the limit whole, into a file of its own', () => {
    const log = openLog({ maxSizeBytes: 100 });
    const huge = 'x'.repeat(300);
    log.record(legEnded(1, { userAgent: huge }));
    log.record(legEnded(2));
    clock = new Date(NOW.getTime() + 1000);
    log.record(legEnded(3, { userAgent: huge }));

    const written = files();
    expect(Object.keys(written)).toEqual(['audit.log', 'audit.log.20261122T101502.114Z', 'audit.log.20261122T101503.114Z']);
    expect(written['audit.log.20261122T101502.114Z']).toMatchObject([{ durationS: 1, userAgent: huge }]);
    expect(written['audit.log.20261122T101503.114Z']).toMatchObject([{ durationS: 2 }]);
    expect(written['audit.log']).toMatchObject([{ durationS: 3, userAgent: huge }]);
  });

  describe('retention', () => {
    const KEPT = [
      'audit.log',
      'audit.log.20260824T101502.115Z', // 1 ms younger than 90 days
      'audit.log.20200101T000000.000Z.gz', // not a name this log gives
      'audit.log.old',
      'other.log.20200101T000000.000Z', // another log's
      'audit.log.2020-01-01T00:00:00.000Z',
    ];
    const EXPIRED = ['audit.log.20260824T101502.113Z', 'audit.log.20200101T000000.000Z'];

    beforeEach(() => {
      for (const name of [...KEPT, ...EXPIRED]) writeFileSync(join(dir, name), `${name}\n`);
      // A directory with a rotated file's name is not one of ours to delete.
      mkdirSync(join(dir, 'audit.log.20200101T000000.001Z'));
    });

    it('deletes only this log’s rotated files older than the retention, at start', () => {
      openLog();
      expect(readdirSync(dir).sort()).toEqual([...KEPT, 'audit.log.20200101T000000.001Z'].sort());
      expect(readFileSync(file, 'utf8')).toBe('audit.log\n');
      expect(errors).toEqual([]);
    });

    it('checks again after each rotation', () => {
      // The active file holds its name and a newline; room for exactly one record more.
      const log = openLog({ maxSizeBytes: 'audit.log\n'.length + lineLength() });
      clock = new Date(NOW.getTime() + 2 * DAY_MS);
      log.record(legEnded(1));
      expect(readdirSync(dir)).toContain('audit.log.20260824T101502.115Z');
      expect(readdirSync(dir)).not.toContain('audit.log.20261122T101502.114Z');

      log.record(legEnded(2)); // rotates the file, which now holds record 1
      expect(readdirSync(dir)).not.toContain('audit.log.20260824T101502.115Z');
      expect(readdirSync(dir)).toContain('audit.log.20261124T101502.114Z');
      expect(readdirSync(dir)).toContain('other.log.20200101T000000.000Z');
      expect(errors).toEqual([]);
    });

    it('checks again once a day until closed', async () => {
      vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
      const log = openLog();
      clock = new Date(NOW.getTime() + DAY_MS);
      vi.advanceTimersByTime(DAY_MS);
      expect(readdirSync(dir)).not.toContain('audit.log.20260824T101502.115Z');

      await log.close();
      writeFileSync(join(dir, 'audit.log.20200101T000000.000Z'), 'old\n');
      vi.advanceTimersByTime(7 * DAY_MS);
      expect(readdirSync(dir)).toContain('audit.log.20200101T000000.000Z');
    });
  });

  describe('remote address masking', () => {
    const ADDRESSES = [
      '192.0.2.77',
      '2001:db8:1:2::5',
      '::ffff:192.0.2.77',
      '::ffff:c000:24d',
      '2001:0:0:5::1',
      'fe80::1%eth0',
      '::1',
      '2001:db8:1:2::5x',
      '192.0.2.777',
      'sip:alice@192.0.2.77',
      '',
    ];

    function maskedWith(mask: AddressMask): (string | undefined)[] {
      const log = openLog({ remoteAddress: mask });
      for (const remoteAddress of ADDRESSES) log.record(legEnded(1, { remoteAddress }));
      return files()['audit.log']!.map((line) => line.remoteAddress as string | undefined);
    }

    it('keeps the address as given under full', () => {
      expect(maskedWith('full')).toEqual(ADDRESSES);
    });

    it('keeps the /24 of IPv4 (mapped IPv6 included) and the /48 of IPv6 under 24, and drops what is no address', () => {
      expect(maskedWith('24')).toEqual([
        '192.0.2.0',
        '2001:db8:1::',
        '192.0.2.0',
        '192.0.2.0',
        '2001::',
        'fe80::',
        '::',
        undefined,
        undefined,
        undefined,
        undefined,
      ]);
      expect(readFileSync(file, 'utf8')).not.toMatch(/77|alice|5x/);
    });

    it('drops the field under none', () => {
      expect(maskedWith('none')).toEqual(ADDRESSES.map(() => undefined));
      expect(readFileSync(file, 'utf8')).not.toContain('remoteAddress');
    });
  });

  it('writes only the fields an audit record has, whatever else the object a caller passes carries', () => {
    const record = { ...legEnded(1), pin: '4711', label: { ...legEnded(1).label!, srtpKey: 'c2VjcmV0LWtleQ' } };
    openLog().record(record as AuditRecord);
    const text = readFileSync(file, 'utf8');
    expect(text).not.toMatch(/pin|4711|srtpKey|c2VjcmV0LWtleQ/);
    expect(JSON.parse(text)).toMatchObject({ event: 'leg-ended', label: { media: 'none' } });
  });

  it('reports a write that fails because the directory is gone, and writes again once it is back', () => {
    const log = openLog();
    log.record(legEnded(1));
    rmSync(dir, { recursive: true });

    expect(() => log.record(legEnded(2))).not.toThrow();
    expect(errors.map((err) => (err as NodeJS.ErrnoException).code)).toEqual(['ENOENT']);

    mkdirSync(dir);
    log.record(legEnded(3));
    expect(files()['audit.log']).toMatchObject([{ durationS: 3 }]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(errors).toHaveLength(1);
  });

  it('reports a write that fails because the file became a directory, and writes again once it is a file', () => {
    const log = openLog({ maxSizeBytes: 100 });
    log.record(legEnded(1));
    rmSync(file);
    mkdirSync(file);

    expect(() => log.record(legEnded(2))).not.toThrow();
    expect(() => log.record(legEnded(3))).not.toThrow();
    expect(errors.map((err) => (err as NodeJS.ErrnoException).code)).toEqual(['EISDIR', 'EISDIR']);
    expect(readdirSync(dir)).toEqual(['audit.log']);

    rmSync(file, { recursive: true });
    log.record(legEnded(4));
    expect(files()['audit.log']).toMatchObject([{ durationS: 4 }]);
    expect(errors).toHaveLength(2);
  });

  it('refuses to start when the file cannot be opened', () => {
    expect(() => openLog({ destination: join(dir, 'missing', 'audit.log') })).toThrow(/ENOENT/);
  });
});

describe('AuditLog to stdout', () => {
  afterEach(() => vi.restoreAllMocks());

  it('writes the masked line to stdout and creates no file', async () => {
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => (lines.push(String(chunk)), true));
    const errors: Error[] = [];
    const log = new AuditLog({
      destination: 'stdout',
      maxSizeBytes: 1,
      retentionDays: 1,
      remoteAddress: '24',
      onError: (err) => errors.push(err),
      now: () => NOW,
    });
    log.record(legEnded(1));
    log.record(legEnded(2));
    await log.close();

    expect(lines.map((line) => JSON.parse(line))).toMatchObject([
      { time: NOW.toISOString(), audit: true, durationS: 1, remoteAddress: '192.0.2.0' },
      { durationS: 2, remoteAddress: '192.0.2.0' },
    ]);
    expect(errors).toEqual([]);
  });
});
