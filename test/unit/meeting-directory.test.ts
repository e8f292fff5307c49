import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  MAX_MEETINGS,
  MeetingDirectory,
  MeetingInputError,
  MeetingLimitError,
  type MeetingRecord,
} from '../../gateway/fabric/directory.js';

function inputError(fn: () => unknown): MeetingInputError {
  try {
    fn();
  } catch (err) {
    if (err instanceof MeetingInputError) return err;
    throw err;
  }
  throw new Error('expected a MeetingInputError');
}

describe('MeetingDirectory', () => {
  it('holds the configured meetings, named by their id when unnamed', () => {
    const directory = new MeetingDirectory([
      { id: 'demo', name: 'Demo meeting', policy: 'warn' },
      { id: 'Board-Room', pin: '0042', policy: 'require' },
    ]);
    const list = directory.list();
    expect(list).toMatchObject([
      { id: 'demo', name: 'Demo meeting', policy: 'warn', hasPin: false, source: 'config' },
      { id: 'Board-Room', name: 'Board-Room', policy: 'require', hasPin: true, source: 'config' },
    ]);
    for (const record of list) expect(new Date(record.createdAt).toISOString()).toBe(record.createdAt);
  });

  it('finds meetings ignoring case, and nothing for ids that are not well formed', () => {
    const directory = new MeetingDirectory([{ id: 'Board-Room', policy: 'warn' }]);
    expect(directory.get('board-room')?.id).toBe('Board-Room');
    expect(directory.get('BOARD-ROOM')?.id).toBe('Board-Room');
    expect(directory.get('board')).toBeUndefined();
    expect(directory.get('Board-Room/..')).toBeUndefined();
    expect(directory.get('')).toBeUndefined();
    // U+212A KELVIN SIGN lower-cases to "k": only ASCII ids may match.
    const kelvin = new MeetingDirectory([{ id: 'kiosk', policy: 'warn' }]);
    expect(kelvin.get('\u212Aiosk')).toBeUndefined();
  });

  it('creates meetings with 128-bit random base32 ids and the defaults', () => {
    const directory = new MeetingDirectory([]);
    const ids = new Set<string>();
    for (let i = 0; i < 200; i++) ids.add(directory.create({}).id);
    expect(ids.size).toBe(200);
    for (const id of ids) expect(id).toMatch(/^[0-9a-v]{26}$/);
    // 26 base32 characters carry 130 bits; the first one holds only the top 3 of 128.
    expect([...ids].every((id) => '01234567'.includes(id[0] as string))).toBe(true);
    const record = directory.create({ name: '  Weekly sync ', pin: '123456', policy: 'require' });
    expect(record).toMatchObject({ name: 'Weekly sync', policy: 'require', hasPin: true, source: 'api' });
    expect(directory.create({})).toMatchObject({ policy: 'warn', hasPin: false });
    expect(directory.get(record.id.toUpperCase())).toEqual(record);
  });

  it('names an unnamed created meeting by its id', () => {
    const record = new MeetingDirectory([]).create({});
    expect(record.name).toBe(record.id);
  });

  it.each([
    [{ name: '' }, 'name must be 1-100 characters without control characters'],
    [{ name: 'x'.repeat(101) }, 'name must be 1-100'],
    [{ name: 'tab\there' }, 'without control characters'],
    [{ name: 'abc\u202Edef' }, 'without control characters'],
    [{ pin: '123' }, 'pin must be 4-12 digits'],
    [{ pin: '1234567890123' }, 'pin must be 4-12 digits'],
    [{ pin: '12a4' }, 'pin must be 4-12 digits'],
    [{ pin: '١٢٣٤' }, 'pin must be 4-12 digits'],
    [{ policy: 'deny' as never }, 'policy must be one of require, warn, allow'],
  ])('refuses to create %o and stores nothing', (input, message) => {
    const directory = new MeetingDirectory([]);
    expect(inputError(() => directory.create(input)).message).toContain(message);
    expect(directory.list()).toEqual([]);
  });

  it('accepts a 100-character name counted in characters, not UTF-16 units', () => {
    expect(new MeetingDirectory([]).create({ name: '😀'.repeat(100) }).name).toBe('😀'.repeat(100));
  });

  it.each([
    [[{ id: 'a b', policy: 'warn' as const }], 'id "a b" must be 1-64'],
    [[{ id: 'Echo', policy: 'warn' as const }], 'id "Echo" is reserved'],
    [[{ id: 'x', policy: 'warn' as const }, { id: 'X', policy: 'allow' as const }], 'id "X" is configured twice'],
  ])('refuses a bad configuration %j', (configured, message) => {
    expect(inputError(() => new MeetingDirectory(configured)).message).toContain(message);
  });

  it('verifies PINs, and treats a meeting without PIN as open and an unknown one as closed', async () => {
    const directory = new MeetingDirectory([
      { id: 'locked', pin: '0042', policy: 'warn' },
      { id: 'open', policy: 'warn' },
    ]);
    expect(await directory.verifyPin('locked', '0042')).toBe(true);
    expect(await directory.verifyPin('LOCKED', '0042')).toBe(true);
    expect(await directory.verifyPin('locked', '42')).toBe(false);
    expect(await directory.verifyPin('locked', '00420')).toBe(false);
    expect(await directory.verifyPin('locked', '')).toBe(false);
    expect(await directory.verifyPin('open', 'anything')).toBe(true);
    expect(await directory.verifyPin('nobody', '0042')).toBe(false);
    expect(await directory.verifyPin('nobody', '0000')).toBe(false);
  });

  it('never carries the PIN in a record, its JSON or its inspection', () => {
    const directory = new MeetingDirectory([{ id: 'locked', pin: '918273', policy: 'warn' }]);
    const created = directory.create({ pin: '564738' });
    const records = [...directory.list(), directory.get('locked'), created];
    const shown = JSON.stringify(records) + inspect(records, { depth: 5, showHidden: true }) + inspect(directory, { depth: 5 });
    expect(shown).not.toContain('918273');
    expect(shown).not.toContain('564738');
    expect(Object.keys(created).sort()).toEqual(['createdAt', 'dialInId', 'hasPin', 'id', 'name', 'policy', 'source']);
  });

  it('finds meetings by the digits phone callers type: configured, numeric ids, and a random 10 digits for created ones', () => {
    const directory = new MeetingDirectory([
      { id: 'board', dialInId: '424242', policy: 'warn' },
      { id: '8080', policy: 'warn' },
      { id: 'web-only', policy: 'warn' },
    ]);
    expect(directory.findByDialIn('424242')?.id).toBe('board');
    expect(directory.findByDialIn('8080')?.id).toBe('8080');
    expect(directory.get('web-only')?.dialInId).toBeUndefined();
    const created = directory.create({});
    expect(created.dialInId).toMatch(/^[1-9]\d{9}$/);
    expect(directory.findByDialIn(created.dialInId!)?.id).toBe(created.id);
    expect(directory.findByDialIn('4242')).toBeUndefined();
    directory.delete(created.id);
    expect(directory.findByDialIn(created.dialInId!)).toBeUndefined();
    expect(() => new MeetingDirectory([{ id: 'a', dialInId: '1234', policy: 'warn' }, { id: '1234', policy: 'warn' }])).toThrow(MeetingInputError);
  });

  it('hands out copies: changing one changes nothing inside', async () => {
    const directory = new MeetingDirectory([{ id: 'demo', policy: 'warn' }]);
    const record = directory.get('demo') as MeetingRecord;
    record.policy = 'allow';
    record.hasPin = true;
    expect(directory.get('demo')).toMatchObject({ policy: 'warn', hasPin: false });
    expect(await directory.verifyPin('demo', '1')).toBe(true);
  });

  it('updates name, PIN and policy, tells listeners, and clears a PIN with null', async () => {
    const directory = new MeetingDirectory([{ id: 'demo', policy: 'warn' }]);
    const changed: MeetingRecord[] = [];
    directory.onChanged((record) => changed.push(record));

    const updated = directory.update('DEMO', { name: 'Renamed', pin: '2468', policy: 'require' });
    expect(updated).toMatchObject({ id: 'demo', name: 'Renamed', policy: 'require', hasPin: true });
    expect(updated).not.toHaveProperty('pin');
    expect(await directory.verifyPin('demo', '2468')).toBe(true);
    expect(await directory.verifyPin('demo', '1357')).toBe(false);

    directory.update('demo', { pin: '1357' });
    expect(await directory.verifyPin('demo', '2468')).toBe(false);
    expect(await directory.verifyPin('demo', '1357')).toBe(true);

    expect(directory.update('demo', { pin: null })).toMatchObject({ hasPin: false, name: 'Renamed' });
    expect(await directory.verifyPin('demo', 'whatever')).toBe(true);
    expect(changed.map((r) => [r.name, r.policy, r.hasPin])).toEqual([
      ['Renamed', 'require', true],
      ['Renamed', 'require', true],
      ['Renamed', 'require', false],
    ]);

    expect(directory.update('demo', {})).toMatchObject({ name: 'Renamed' });
    expect(changed).toHaveLength(3);
    expect(directory.update('missing', { name: 'x' })).toBeUndefined();
  });

  it('applies no change when any part of an update is invalid', async () => {
    const directory = new MeetingDirectory([{ id: 'demo', pin: '1111', policy: 'warn' }]);
    const changed: MeetingRecord[] = [];
    directory.onChanged((record) => changed.push(record));
    expect(inputError(() => directory.update('demo', { name: 'New', pin: '2222', policy: 'never' as never })).field).toBe('policy');
    expect(inputError(() => directory.update('demo', { name: 'New', pin: 'x' })).field).toBe('pin');
    expect(inputError(() => directory.update('demo', { name: '', policy: 'allow' })).field).toBe('name');
    expect(directory.get('demo')).toMatchObject({ name: 'demo', policy: 'warn', hasPin: true });
    expect(await directory.verifyPin('demo', '1111')).toBe(true);
    expect(changed).toEqual([]);
  });

  it('deletes a meeting and tells listeners its id', () => {
    const directory = new MeetingDirectory([{ id: 'Demo', policy: 'warn' }]);
    const deleted: string[] = [];
    directory.onDeleted((id) => deleted.push(id));
    expect(directory.delete('demo')).toBe(true);
    expect(directory.delete('demo')).toBe(false);
    expect(directory.get('Demo')).toBeUndefined();
    expect(directory.list()).toEqual([]);
    expect(deleted).toEqual(['Demo']);
  });

  it(`holds at most ${MAX_MEETINGS} meetings, configured ones included`, () => {
    const configured = Array.from({ length: MAX_MEETINGS - 1 }, (_, i) => ({ id: `m${i}`, policy: 'warn' as const }));
    const directory = new MeetingDirectory(configured);
    const last = directory.create({});
    expect(() => directory.create({})).toThrow(MeetingLimitError);
    expect(directory.list()).toHaveLength(MAX_MEETINGS);
    directory.delete(last.id);
    expect(directory.create({}).source).toBe('api');
    expect(() => new MeetingDirectory([...configured, { id: 'x', policy: 'warn' }, { id: 'y', policy: 'warn' }])).toThrow(
      MeetingLimitError,
    );
  });
});
