import { randomBytes, randomInt, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';
import type { GatewayConfig } from '../config/index.js';

type MeetingConfig = GatewayConfig['meetings'][number];
export type EncryptionPolicy = MeetingConfig['policy'];

export interface MeetingRecord {
  readonly id: string;
  name: string;
  policy: EncryptionPolicy;
  hasPin: boolean;
  /** Digits phone callers type at the IVR; absent when the meeting cannot be reached that way. */
  dialInId?: string;
  /** ISO 8601. */
  createdAt: string;
  source: 'config' | 'api';
}

export interface MeetingInput {
  name?: string;
  pin?: string;
  policy?: EncryptionPolicy;
}

export interface MeetingChanges {
  name?: string;
  /** `null` removes the PIN. */
  pin?: string | null;
  policy?: EncryptionPolicy;
}

/** A name, PIN, policy or id the directory refuses; the message names the field and the rule. */
export class MeetingInputError extends Error {
  override readonly name = 'MeetingInputError';

  constructor(
    readonly field: 'id' | 'name' | 'pin' | 'policy',
    problem: string,
  ) {
    super(`${field} ${problem}`);
  }
}

/** The directory already holds `limit` meetings. */
export class MeetingLimitError extends Error {
  override readonly name = 'MeetingLimitError';

  constructor(readonly limit: number) {
    super(`the gateway already holds its maximum of ${limit} meetings`);
  }
}

export const MAX_MEETINGS = 10_000;

const POLICIES: readonly EncryptionPolicy[] = ['require', 'warn', 'allow'];
const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const RESERVED_IDS = new Set(['echo']);

// The PIN space (10^4-10^12) is too small for any KDF cost to stop an offline search, so the hash
// only keeps the digits out of memory and output; the cost stays low because verification runs on
// the event loop that also carries media. Guessing online is the PIN guard's job.
const SCRYPT = { N: 2 ** 11, r: 8, p: 1 };
const HASH_BYTES = 32;

interface PinHash {
  salt: Buffer;
  hash: Buffer;
}

interface Entry {
  record: MeetingRecord;
  pin?: PinHash;
}

function hashPin(pin: string, salt: Buffer = randomBytes(16)): PinHash {
  return { salt, hash: scryptSync(pin, salt, HASH_BYTES, SCRYPT) };
}

function checkName(name: string): string {
  const trimmed = name.trim();
  const length = [...trimmed].length;
  // Names are shown to every participant: no control characters, no bidi overrides that reorder what follows.
  if (length < 1 || length > 100 || /[\p{Cc}\u202A-\u202E\u2066-\u2069]/u.test(trimmed)) {
    throw new MeetingInputError('name', 'must be 1-100 characters without control characters');
  }
  return trimmed;
}

function checkPin(pin: string): string {
  if (!/^\d{4,12}$/.test(pin)) throw new MeetingInputError('pin', 'must be 4-12 digits');
  return pin;
}

function checkPolicy(policy: EncryptionPolicy): EncryptionPolicy {
  if (!POLICIES.includes(policy)) throw new MeetingInputError('policy', `must be one of ${POLICIES.join(', ')}`);
  return policy;
}

/** 10 random digits for the IVR: with the PIN guard's lockouts, too many to walk through by phone. */
function randomDialInId(): string {
  return String(randomInt(1_000_000_000, 10_000_000_000));
}

/** 128 random bits as 26 base32hex characters (0-9 a-v): a case-insensitive lookup keeps every bit. */
function randomId(): string {
  return BigInt(`0x${randomBytes(16).toString('hex')}`).toString(32).padStart(26, '0');
}

/**
 * The meetings callers can join: those in the configuration plus those created through the admin
 * API, held in memory only. PINs are kept as salted scrypt hashes, apart from the records handed out.
 */
export class MeetingDirectory {
  private readonly entries = new Map<string, Entry>();
  /** Dial-in ID → meeting id (lower-cased key of `entries`). */
  private readonly dialIns = new Map<string, string>();
  private readonly deletedListeners: ((id: string) => void)[] = [];
  private readonly changedListeners: ((record: MeetingRecord) => void)[] = [];
  // Unknown meetings cost the same hash as wrong PINs, so timing does not tell them apart.
  private readonly decoy = hashPin('0000');

  constructor(configured: readonly MeetingConfig[]) {
    for (const meeting of configured) {
      if (!ID_PATTERN.test(meeting.id)) throw new MeetingInputError('id', `"${meeting.id}" must be 1-64 of A-Z a-z 0-9 _ -`);
      if (RESERVED_IDS.has(meeting.id.toLowerCase())) throw new MeetingInputError('id', `"${meeting.id}" is reserved`);
      if (this.entries.has(meeting.id.toLowerCase())) throw new MeetingInputError('id', `"${meeting.id}" is configured twice`);
      const dialInId = meeting.dialInId ?? (/^\d{4,16}$/.test(meeting.id) ? meeting.id : undefined);
      if (dialInId !== undefined && this.dialIns.has(dialInId)) throw new MeetingInputError('id', `dial-in ID of "${meeting.id}" is used twice`);
      this.add(meeting.id, meeting, 'config', dialInId);
    }
  }

  /** The meeting a phone caller means by the digits typed at the IVR. */
  findByDialIn(digits: string): MeetingRecord | undefined {
    const id = this.dialIns.get(digits);
    return id === undefined ? undefined : this.get(id);
  }

  /** Whether the meeting asks for a PIN; undefined for an unknown meeting. */
  hasPin(id: string): boolean | undefined {
    const entry = this.entry(id);
    return entry && entry.pin !== undefined;
  }

  /** Ids compare ignoring ASCII case; anything that is not a well-formed id finds nothing. */
  get(id: string): MeetingRecord | undefined {
    const entry = this.entry(id);
    return entry && { ...entry.record };
  }

  list(): MeetingRecord[] {
    return [...this.entries.values()].map((entry) => ({ ...entry.record }));
  }

  /** Throws MeetingInputError for a bad name, PIN or policy and MeetingLimitError when full. */
  create(input: MeetingInput): MeetingRecord {
    let id = randomId();
    while (this.entries.has(id)) id = randomId();
    let dialInId = randomDialInId();
    while (this.dialIns.has(dialInId)) dialInId = randomDialInId();
    return { ...this.add(id, input, 'api', dialInId).record };
  }

  /** Applies all changes or, when one is invalid (MeetingInputError), none. Undefined for an unknown id. */
  update(id: string, changes: MeetingChanges): MeetingRecord | undefined {
    const entry = this.entry(id);
    if (!entry) return undefined;
    const name = changes.name === undefined ? undefined : checkName(changes.name);
    const pin = typeof changes.pin === 'string' ? hashPin(checkPin(changes.pin)) : changes.pin;
    const policy = changes.policy === undefined ? undefined : checkPolicy(changes.policy);
    if (name === undefined && pin === undefined && policy === undefined) return { ...entry.record };

    if (name !== undefined) entry.record.name = name;
    if (policy !== undefined) entry.record.policy = policy;
    if (pin === null) delete entry.pin;
    else if (pin !== undefined) entry.pin = pin;
    entry.record.hasPin = entry.pin !== undefined;
    for (const listener of this.changedListeners) listener({ ...entry.record });
    return { ...entry.record };
  }

  delete(id: string): boolean {
    const entry = this.entry(id);
    if (!entry) return false;
    this.entries.delete(entry.record.id.toLowerCase());
    if (entry.record.dialInId !== undefined) this.dialIns.delete(entry.record.dialInId);
    for (const listener of this.deletedListeners) listener(entry.record.id);
    return true;
  }

  /**
   * True when `pin` is the meeting's PIN or the meeting has none; false for an unknown meeting.
   * The hash runs on libuv's thread pool: a flood of guesses must not stall the media on the event loop.
   */
  async verifyPin(id: string, pin: string): Promise<boolean> {
    const entry = this.entry(id);
    if (entry && !entry.pin) return true;
    const stored = entry?.pin ?? this.decoy;
    const hash = await new Promise<Buffer>((resolve, reject) =>
      scrypt(pin, stored.salt, HASH_BYTES, SCRYPT, (err, key) => (err ? reject(err) : resolve(key))),
    );
    return entry !== undefined && timingSafeEqual(hash, stored.hash);
  }

  /** Called with the meeting's id after it was deleted. */
  onDeleted(listener: (id: string) => void): void {
    this.deletedListeners.push(listener);
  }

  /** Called after an update changed a meeting's name, PIN or policy. */
  onChanged(listener: (record: MeetingRecord) => void): void {
    this.changedListeners.push(listener);
  }

  private entry(id: string): Entry | undefined {
    return ID_PATTERN.test(id) ? this.entries.get(id.toLowerCase()) : undefined;
  }

  private add(id: string, input: MeetingInput, source: MeetingRecord['source'], dialInId: string | undefined): Entry {
    if (this.entries.size >= MAX_MEETINGS) throw new MeetingLimitError(MAX_MEETINGS);
    const name = input.name === undefined ? id : checkName(input.name);
    const policy = checkPolicy(input.policy ?? 'warn');
    const pin = input.pin === undefined ? undefined : hashPin(checkPin(input.pin));
    const entry: Entry = {
      record: { id, name, policy, hasPin: pin !== undefined, createdAt: new Date().toISOString(), source, ...(dialInId ? { dialInId } : {}) },
      ...(pin ? { pin } : {}),
    };
    this.entries.set(id.toLowerCase(), entry);
    if (dialInId !== undefined) this.dialIns.set(dialInId, id.toLowerCase());
    return entry;
  }
}
