import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import YAML from 'yaml';
import { ConfigError } from './config-error.js';
import { isValidSource } from './trust.js';
import type { AddressMask, DidTarget, EncryptionPolicy, GatewayConfig, LogLevel, MeetingConfig, Trunk } from './types.js';

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const POLICIES: readonly EncryptionPolicy[] = ['require', 'warn', 'allow'];
const ADDRESS_MASKS: readonly AddressMask[] = ['full', '24', 'none'];

/** What `npm start` offers without a config file; a config file lists its own meetings. */
const DEFAULT_MEETINGS: readonly MeetingConfig[] = [{ id: 'demo', name: 'Demo meeting', policy: 'warn' }];
const MAX_MEETINGS = 10_000;
const MIN_TOKEN_LENGTH = 16;

/** Keys a config file may contain; `true` marks a leaf whose value the validators check. */
const SHAPE: Shape = {
  bind: true,
  host: true,
  sip: {
    udpPort: true,
    tcpPort: true,
    tlsPort: true,
    tls: { cert: true, key: true, chain: true, clientCa: true, requireClientCert: true },
  },
  http: { port: true },
  media: { ports: true, timeoutS: true },
  trunks: true,
  meetings: true,
  admin: { token: true },
  log: { level: true },
  audit: { file: true, maxSizeMb: true, retentionDays: true, remoteAddress: true },
  shutdown: { graceS: true },
  certs: { devDir: true },
};
interface Shape {
  [key: string]: true | Shape;
}

type EnvKind = 'string' | 'number' | 'boolean';
const ENV_KEYS: Record<string, { key: string; kind: EnvKind }> = {
  SIPGW_BIND: { key: 'bind', kind: 'string' },
  SIPGW_HOST: { key: 'host', kind: 'string' },
  SIPGW_SIP_UDP_PORT: { key: 'sip.udpPort', kind: 'number' },
  SIPGW_SIP_TCP_PORT: { key: 'sip.tcpPort', kind: 'number' },
  SIPGW_SIP_TLS_PORT: { key: 'sip.tlsPort', kind: 'number' },
  SIPGW_TLS_CERT: { key: 'sip.tls.cert', kind: 'string' },
  SIPGW_TLS_KEY: { key: 'sip.tls.key', kind: 'string' },
  SIPGW_TLS_CHAIN: { key: 'sip.tls.chain', kind: 'string' },
  SIPGW_TLS_CLIENT_CA: { key: 'sip.tls.clientCa', kind: 'string' },
  SIPGW_TLS_REQUIRE_CLIENT_CERT: { key: 'sip.tls.requireClientCert', kind: 'boolean' },
  SIPGW_HTTP_PORT: { key: 'http.port', kind: 'number' },
  SIPGW_MEDIA_PORTS: { key: 'media.ports', kind: 'string' },
  SIPGW_MEDIA_TIMEOUT_S: { key: 'media.timeoutS', kind: 'number' },
  SIPGW_ADMIN_TOKEN: { key: 'admin.token', kind: 'string' },
  SIPGW_LOG_LEVEL: { key: 'log.level', kind: 'string' },
  SIPGW_AUDIT_FILE: { key: 'audit.file', kind: 'string' },
  SIPGW_AUDIT_MAX_SIZE_MB: { key: 'audit.maxSizeMb', kind: 'number' },
  SIPGW_AUDIT_RETENTION_DAYS: { key: 'audit.retentionDays', kind: 'number' },
  SIPGW_AUDIT_REMOTE_ADDRESS: { key: 'audit.remoteAddress', kind: 'string' },
  SIPGW_SHUTDOWN_GRACE_S: { key: 'shutdown.graceS', kind: 'number' },
  SIPGW_CERTS_DEV_DIR: { key: 'certs.devDir', kind: 'string' },
};

export interface LoadConfigOptions {
  /** Command-line arguments after the script name; `--config path` or `--config=path` selects the file. */
  argv?: string[];
  env?: NodeJS.ProcessEnv;
  /** Base for the config file path, environment paths and defaults. */
  cwd?: string;
}

/**
 * Reads the config file (YAML or JSON by extension), applies defaults and `SIPGW_*` overrides,
 * and validates the result. Throws ConfigError naming the first bad key.
 */
export function loadConfig(opts: LoadConfigOptions = {}): GatewayConfig {
  const argv = opts.argv ?? process.argv.slice(2);
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();

  const file = configFilePath(argv, env);
  const fileValues = file === undefined ? {} : readConfigFile(path.resolve(cwd, file));
  checkKnownKeys(fileValues, SHAPE, '');
  const values = new Values(fileValues, file === undefined ? cwd : path.dirname(path.resolve(cwd, file)), cwd);
  values.applyEnv(env);
  return validate(values, file !== undefined);
}

function configFilePath(argv: string[], env: NodeJS.ProcessEnv): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg.startsWith('--config=')) return nonEmptyPath(arg.slice('--config='.length), '--config');
    if (arg === '--config') return nonEmptyPath(argv[i + 1], '--config');
  }
  const fromEnv = env.SIPGW_CONFIG;
  return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv;
}

function nonEmptyPath(value: string | undefined, flag: string): string {
  if (value === undefined || value === '' || value.startsWith('--')) {
    throw new ConfigError('config', `${flag} needs a file path`);
  }
  return value;
}

function readConfigFile(file: string): Record<string, unknown> {
  const ext = path.extname(file).toLowerCase();
  if (ext !== '.yaml' && ext !== '.yml' && ext !== '.json') {
    throw new ConfigError('config', `${file}: unsupported extension "${ext}", use .yaml, .yml or .json`);
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError('config', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let parsed: unknown;
  try {
    parsed = ext === '.json' ? JSON.parse(text) : YAML.parse(text);
  } catch (err) {
    const firstLine = (err as Error).message.split('\n')[0];
    throw new ConfigError('config', `${file} is not valid ${ext === '.json' ? 'JSON' : 'YAML'}: ${firstLine}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (!isMapping(parsed)) throw new ConfigError('config', `${file} must contain a mapping at the top level`);
  return parsed;
}

function checkKnownKeys(node: Record<string, unknown>, shape: Shape, prefix: string): void {
  for (const [name, value] of Object.entries(node)) {
    const key = prefix + name;
    const sub = Object.hasOwn(shape, name) ? shape[name] : undefined;
    if (sub === undefined) throw new ConfigError(key, 'unknown key');
    if (sub === true || value === undefined || value === null) continue;
    if (!isMapping(value)) throw new ConfigError(key, `must be a mapping, got ${describe(value)}`);
    checkKnownKeys(value, sub, `${key}.`);
  }
}

interface Value {
  value: unknown;
  /** Directory relative paths resolve against. */
  baseDir: string;
  /** Environment variable the value came from, for error messages. */
  envName?: string;
}

/** The file's values with environment overrides on top, looked up by dotted key. */
class Values {
  private readonly overrides = new Map<string, Value>();

  constructor(
    private readonly file: Record<string, unknown>,
    private readonly fileDir: string,
    readonly cwd: string,
  ) {}

  applyEnv(env: NodeJS.ProcessEnv): void {
    for (const [name, { key, kind }] of Object.entries(ENV_KEYS)) {
      const raw = env[name];
      if (raw === undefined || raw === '') continue;
      this.overrides.set(key, { value: coerce(raw.trim(), kind), baseDir: this.cwd, envName: name });
    }
  }

  get(key: string): Value | undefined {
    const override = this.overrides.get(key);
    if (override) return override;
    let node: unknown = this.file;
    for (const part of key.split('.')) {
      if (!isMapping(node)) return undefined;
      node = node[part];
    }
    return node === undefined || node === null ? undefined : { value: node, baseDir: this.fileDir };
  }
}

/** Turns an environment string into the type the key expects; unparseable text is left for the validator to report. */
function coerce(raw: string, kind: EnvKind): unknown {
  if (kind === 'number') return /^[+-]?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw;
  if (kind === 'boolean') {
    if (/^(true|1|yes)$/i.test(raw)) return true;
    if (/^(false|0|no)$/i.test(raw)) return false;
  }
  return raw;
}

function validate(values: Values, fromFile: boolean): GatewayConfig {
  const fail = (key: string, problem: string): never => {
    const envName = values.get(key)?.envName;
    throw new ConfigError(key, envName === undefined ? problem : `${problem} (from ${envName})`);
  };

  const port = (key: string, fallback: number): number => {
    const v = values.get(key)?.value;
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 65535) {
      return fail(key, `must be an integer 0-65535, got ${describe(v)}`);
    }
    return v;
  };

  const string = (key: string): string | undefined => {
    const v = values.get(key)?.value;
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v.trim() === '') return fail(key, `must be a non-empty string, got ${describe(v)}`);
    return v.trim();
  };

  const filePath = (key: string): string | undefined => {
    const found = values.get(key);
    const p = string(key);
    return p === undefined || found === undefined ? undefined : path.resolve(found.baseDir, p);
  };

  const bind = string('bind') ?? '127.0.0.1';
  if (isIP(bind) === 0) fail('bind', `must be an IP address, got ${describe(bind)}`);

  const host = string('host') ?? defaultHost(bind, fail);
  if (isIP(host) === 0 && !isHostName(host)) fail('host', `must be a DNS name or IP address, got ${describe(host)}`);

  const requireClientCertValue = values.get('sip.tls.requireClientCert')?.value ?? false;
  if (typeof requireClientCertValue !== 'boolean') {
    fail('sip.tls.requireClientCert', `must be true or false, got ${describe(requireClientCertValue)}`);
  }
  const tls = {
    cert: filePath('sip.tls.cert'),
    key: filePath('sip.tls.key'),
    chain: filePath('sip.tls.chain'),
    clientCa: filePath('sip.tls.clientCa'),
    requireClientCert: requireClientCertValue as boolean,
  };
  if (tls.cert !== undefined && tls.key === undefined) fail('sip.tls.key', 'must be set when sip.tls.cert is set');
  if (tls.key !== undefined && tls.cert === undefined) fail('sip.tls.cert', 'must be set when sip.tls.key is set');
  if (tls.chain !== undefined && tls.cert === undefined) fail('sip.tls.cert', 'must be set when sip.tls.chain is set');
  if (tls.requireClientCert && tls.clientCa === undefined) {
    fail('sip.tls.clientCa', 'must be set when sip.tls.requireClientCert is true');
  }

  const sip = {
    udpPort: port('sip.udpPort', 5060),
    tcpPort: port('sip.tcpPort', 5060),
    tlsPort: port('sip.tlsPort', 5061),
    tls,
  };
  const http = { port: port('http.port', 8080) };
  const mediaPorts = portRange(values.get('media.ports')?.value, (problem) => fail('media.ports', problem));

  const timeoutS = values.get('media.timeoutS')?.value ?? 30;
  if (typeof timeoutS !== 'number' || !Number.isFinite(timeoutS) || timeoutS <= 0) {
    fail('media.timeoutS', `must be a positive number of seconds, got ${describe(timeoutS)}`);
  }

  const number = (key: string, fallback: number, min: 'positive' | 'zero'): number => {
    const value = values.get(key)?.value ?? fallback;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (min === 'positive' && value === 0)) {
      fail(key, `must be a ${min === 'positive' ? 'positive' : 'non-negative'} number, got ${describe(value)}`);
    }
    return value as number;
  };
  // YAML reads an unquoted `24` as a number.
  const maskValue = values.get('audit.remoteAddress')?.value;
  const remoteAddress = maskValue === undefined ? 'full' : String(maskValue);
  if (!(ADDRESS_MASKS as readonly string[]).includes(remoteAddress)) {
    fail('audit.remoteAddress', `must be one of ${ADDRESS_MASKS.join('|')}, got ${describe(remoteAddress)}`);
  }

  const level = string('log.level') ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    fail('log.level', `must be one of ${LOG_LEVELS.join('|')}, got ${describe(level)}`);
  }

  // TCP-based listeners share one port space on the bind address; 0 never collides.
  const tcpListeners: [string, number][] = [
    ['sip.tcpPort', sip.tcpPort],
    ['sip.tlsPort', sip.tlsPort],
    ['http.port', http.port],
  ];
  for (let i = 0; i < tcpListeners.length; i++) {
    for (let j = i + 1; j < tcpListeners.length; j++) {
      const [keyA, a] = tcpListeners[i] as [string, number];
      const [keyB, b] = tcpListeners[j] as [string, number];
      if (a !== 0 && a === b) fail(keyB, `port ${b} is already used by ${keyA}`);
    }
  }
  if (sip.udpPort >= mediaPorts.min && sip.udpPort <= mediaPorts.max) {
    fail('media.ports', `range ${mediaPorts.min}-${mediaPorts.max} contains sip.udpPort ${sip.udpPort}`);
  }

  const configuredMeetings = meetings(values.get('meetings')?.value, fromFile, fail);
  return {
    bind,
    host,
    sip,
    http,
    media: { ports: mediaPorts, timeoutS: timeoutS as number },
    trunks: trunks(values.get('trunks')?.value, new Set(configuredMeetings.map((m) => m.id.toLowerCase())), fail),
    meetings: configuredMeetings,
    admin: adminToken(values.get('admin.token')?.value, fail),
    log: { level: level as LogLevel },
    audit: {
      file: string('audit.file') === 'stdout' ? 'stdout' : (filePath('audit.file') ?? 'stdout'),
      maxSizeMb: number('audit.maxSizeMb', 100, 'positive'),
      retentionDays: number('audit.retentionDays', 90, 'positive'),
      remoteAddress: remoteAddress as AddressMask,
    },
    shutdown: { graceS: number('shutdown.graceS', 30, 'zero') },
    certs: { devDir: filePath('certs.devDir') ?? path.resolve(values.cwd, 'certs/dev') },
  };
}

function defaultHost(bind: string, fail: (key: string, problem: string) => never): string {
  if (bind === '0.0.0.0' || bind === '::') {
    return fail('host', `must be set when bind is the wildcard address ${bind}: peers need a name to reach`);
  }
  return bind;
}

/** Accepts `{min, max}` or `"min-max"`; an odd `min` rounds up so RTP gets even ports and RTCP the odd one above. */
function portRange(value: unknown, fail: (problem: string) => never): { min: number; max: number } {
  if (value === undefined) return { min: 20000, max: 20999 };
  let min: unknown;
  let max: unknown;
  if (typeof value === 'string') {
    const match = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(value);
    if (!match) return fail(`must be "min-max" such as "20000-20999", got ${describe(value)}`);
    min = Number(match[1]);
    max = Number(match[2]);
  } else if (isMapping(value)) {
    const extra = Object.keys(value).find((k) => k !== 'min' && k !== 'max');
    if (extra !== undefined) return fail(`unknown key "${extra}" (expected min and max)`);
    min = value.min;
    max = value.max;
  } else {
    return fail(`must be {min, max} or "min-max", got ${describe(value)}`);
  }
  for (const [name, v] of [['min', min], ['max', max]] as const) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1024 || v > 65535) {
      return fail(`${name} must be an integer 1024-65535, got ${describe(v)}`);
    }
  }
  const evenMin = (min as number) + ((min as number) % 2);
  if (evenMin + 1 > (max as number)) {
    return fail(`must hold at least one even/odd RTP/RTCP pair, got ${min}-${max}`);
  }
  return { min: evenMin, max: max as number };
}

const TRUNK_KEYS = ['name', 'sources', 'transport', 'digest', 'tlsIdentity', 'dids'];
const TRUNK_TRANSPORTS: readonly Trunk['transport'][] = ['udp', 'tcp', 'tls'];

/** Carriers write numbers as +49 30 1234-56 or 4930123456: compare without `+` and visual separators (RFC 3966). */
export function normalizeNumber(number: string): string {
  // User parameters (`+4930123;npdi;rn=…`, RFC 4694) say nothing about which number it is.
  return number.split(';')[0]!.replace(/[\s\-.()]/g, '').replace(/^\+/, '');
}

function trunks(value: unknown, meetingIds: ReadonlySet<string>, fail: (key: string, problem: string) => never): Trunk[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) return fail('trunks', `must be a list, got ${describe(value)}`);
  const seen = new Set<string>();
  return value.map((entry: unknown, i) => {
    const key = `trunks[${i}]`;
    if (!isMapping(entry)) return fail(key, `must be a mapping with name and sources, got ${describe(entry)}`);
    const extra = Object.keys(entry).find((k) => !TRUNK_KEYS.includes(k));
    if (extra !== undefined) fail(`${key}.${extra}`, 'unknown key');
    const { name, sources = [], transport = 'udp', digest, tlsIdentity, dids } = entry;
    if (typeof name !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(name)) {
      fail(`${key}.name`, `must be 1-64 letters, digits or "_.-", got ${describe(name)}`);
    }
    if (seen.has(name as string)) fail(`${key}.name`, `duplicate trunk name ${describe(name)}`);
    seen.add(name as string);
    if (!(TRUNK_TRANSPORTS as readonly unknown[]).includes(transport)) {
      fail(`${key}.transport`, `must be one of ${TRUNK_TRANSPORTS.join('|')}, got ${describe(transport)}`);
    }
    if (!Array.isArray(sources)) fail(`${key}.sources`, `must be a list of addresses or CIDR blocks, got ${describe(sources)}`);
    const checked = (sources as unknown[]).map((source, j) => {
      if (typeof source !== 'string' || !isValidSource(source.trim())) {
        return fail(`${key}.sources[${j}]`, `must be an IPv4/IPv6 address or CIDR block, got ${describe(source)}`);
      }
      return source.trim();
    });
    const trunk: Trunk = {
      name: name as string,
      sources: checked,
      transport: transport as Trunk['transport'],
      dids: trunkDids(dids, `${key}.dids`, meetingIds, fail),
    };
    if (digest !== undefined) trunk.digest = trunkDigest(digest, `${key}.digest`, fail);
    // Anyone could claim to be a trunk that names no address and asks for no password.
    if (checked.length === 0 && !trunk.digest) fail(`${key}.sources`, 'must list at least one address or CIDR block when the trunk has no digest credentials');
    // Without it a TLS trunk would claim every room system calling from its addresses.
    if (trunk.transport === 'tls' && tlsIdentity === undefined) fail(`${key}.tlsIdentity`, 'must be set for a TLS trunk: the name in its client certificate');
    if (tlsIdentity !== undefined) {
      if (trunk.transport !== 'tls') fail(`${key}.tlsIdentity`, 'needs transport: tls');
      if (typeof tlsIdentity !== 'string' || !isHostName(tlsIdentity.trim())) {
        fail(`${key}.tlsIdentity`, `must be the DNS name in the carrier's client certificate, got ${describe(tlsIdentity)}`);
      }
      trunk.tlsIdentity = (tlsIdentity as string).trim().toLowerCase();
    }
    return trunk;
  });
}

function trunkDigest(value: unknown, key: string, fail: (key: string, problem: string) => never): NonNullable<Trunk['digest']> {
  if (!isMapping(value)) return fail(key, `must be a mapping with username and password, got ${describe(value)}`);
  const extra = Object.keys(value).find((k) => !['username', 'password', 'algorithm'].includes(k));
  if (extra !== undefined) fail(`${key}.${extra}`, 'unknown key');
  const { username, password, algorithm } = value;
  if (typeof username !== 'string' || !/^[A-Za-z0-9_.+-]{1,64}$/.test(username)) {
    fail(`${key}.username`, `must be 1-64 letters, digits or "_.+-", got ${describe(username)}`);
  }
  if (typeof password !== 'string' || password.length < 8 || password.length > 128) {
    fail(`${key}.password`, `must be a string of 8-128 characters, got ${describeSecret(password)}`);
  }
  if (algorithm !== undefined && algorithm !== 'SHA-256' && algorithm !== 'MD5') {
    fail(`${key}.algorithm`, `must be SHA-256 or MD5, got ${describe(algorithm)}`);
  }
  return { username: username as string, password: password as string, ...(algorithm ? { algorithm: algorithm as 'SHA-256' | 'MD5' } : {}) };
}

function trunkDids(
  value: unknown,
  key: string,
  meetingIds: ReadonlySet<string>,
  fail: (key: string, problem: string) => never,
): Map<string, DidTarget> {
  if (value === undefined) return new Map();
  if (!isMapping(value)) return fail(key, `must map each number the trunk delivers to "ivr" or {meeting: <id>}, got ${describe(value)}`);
  const dids = new Map<string, DidTarget>();
  for (const [number, target] of Object.entries(value)) {
    const normalized = normalizeNumber(number);
    if (!/^[A-Za-z0-9*#_~-]{1,64}$/.test(normalized)) fail(`${key}.${number}`, 'must be a number (digits, optionally with + and separators) or a SIP user');
    if (dids.has(normalized)) fail(`${key}.${number}`, 'is listed twice');
    if (target === 'ivr') dids.set(normalized, { kind: 'ivr' });
    else if (isMapping(target) && Object.keys(target).length === 1 && typeof target.meeting === 'string') {
      if (!meetingIds.has(target.meeting.toLowerCase())) fail(`${key}.${number}.meeting`, `names no configured meeting: ${describe(target.meeting)}`);
      dids.set(normalized, { kind: 'meeting', meetingId: target.meeting });
    } else fail(`${key}.${number}`, `must be "ivr" or {meeting: <id>}, got ${describe(target)}`);
  }
  return dids;
}

function meetings(
  value: unknown,
  fromFile: boolean,
  fail: (key: string, problem: string) => never,
): MeetingConfig[] {
  if (value === undefined) return fromFile ? [] : DEFAULT_MEETINGS.map((meeting) => ({ ...meeting }));
  if (!Array.isArray(value)) return fail('meetings', `must be a list, got ${describe(value)}`);
  if (value.length > MAX_MEETINGS) fail('meetings', `must list at most ${MAX_MEETINGS} meetings, got ${value.length}`);
  const seen = new Map<string, number>();
  return value.map((entry: unknown, i) => {
    const key = `meetings[${i}]`;
    if (!isMapping(entry)) return fail(key, `must be a mapping with id and optionally name, pin, policy, got ${describe(entry)}`);
    const extra = Object.keys(entry).find((k) => !['id', 'name', 'pin', 'policy', 'dialInId'].includes(k));
    if (extra !== undefined) fail(`${key}.${extra}`, 'unknown key');
    const { id, name, pin, policy = 'warn', dialInId } = entry;
    if (typeof id !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(id)) {
      return fail(`${key}.id`, `must be 1-64 letters, digits, "_" or "-", got ${describe(id)}`);
    }
    const folded = id.toLowerCase();
    if (folded === 'echo') fail(`${key}.id`, '"echo" is reserved for the test-call service');
    const first = seen.get(folded);
    if (first !== undefined) fail(`${key}.id`, `duplicate meeting id ${describe(id)} (same as meetings[${first}] ignoring case)`);
    seen.set(folded, i);
    if (name !== undefined && !isMeetingName(name)) {
      fail(`${key}.name`, `must be 1-100 characters without control characters, got ${describe(name)}`);
    }
    // Never echo the value: a malformed PIN is usually the intended one with a typo.
    if (pin !== undefined && (typeof pin !== 'string' || !/^\d{4,12}$/.test(pin))) {
      fail(`${key}.pin`, `must be a string of 4-12 digits (quote it in YAML so leading zeros survive), got ${describeSecret(pin)}`);
    }
    if (!(POLICIES as readonly unknown[]).includes(policy)) {
      fail(`${key}.policy`, `must be one of ${POLICIES.join('|')}, got ${describe(policy)}`);
    }
    if (dialInId !== undefined && (typeof dialInId !== 'string' || !/^\d{4,16}$/.test(dialInId))) {
      fail(`${key}.dialInId`, `must be a string of 4-16 digits (quote it in YAML), got ${describe(dialInId)}`);
    }
    return {
      id,
      ...(name === undefined ? {} : { name: (name as string).trim() }),
      ...(pin === undefined ? {} : { pin: pin as string }),
      policy: policy as EncryptionPolicy,
      ...(dialInId === undefined ? {} : { dialInId: dialInId as string }),
    };
  });
}

/** Names are shown to every participant: no control characters, no bidi overrides that reorder what follows. */
function isMeetingName(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  const trimmed = value.trim();
  const length = [...trimmed].length;
  return length >= 1 && length <= 100 && !/[\p{Cc}\u202A-\u202E\u2066-\u2069]/u.test(trimmed);
}

/** The token never appears in an error: only its length or type. */
function adminToken(value: unknown, fail: (key: string, problem: string) => never): GatewayConfig['admin'] {
  if (value === undefined) return {};
  if (typeof value !== 'string') return fail('admin.token', `must be a string, got ${describeSecret(value)}`);
  const token = value.trim();
  if (token.length < MIN_TOKEN_LENGTH) {
    fail('admin.token', `must be at least ${MIN_TOKEN_LENGTH} characters, got ${token.length}`);
  }
  // RFC 6750 b64token: what a client can send in `Authorization: Bearer` unquoted.
  if (!/^[A-Za-z0-9\-._~+/]+=*$/.test(token)) {
    fail('admin.token', 'must contain only letters, digits and "-._~+/", optionally ending in "="');
  }
  return { token };
}

function isHostName(name: string): boolean {
  return (
    name.length <= 253 &&
    name.split('.').every((label) => /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(label))
  );
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Like describe, but says only what kind of value a secret is, never its text. */
function describeSecret(value: unknown): string {
  if (typeof value === 'string') return `${value.length} characters`;
  return typeof value === 'object' ? describe(value) : `a ${typeof value}`;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}..."` : text;
}
