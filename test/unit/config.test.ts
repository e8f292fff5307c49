import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, candidateTrunks, loadConfig, type Trunk } from '../../gateway/config/index.js';

const tempDirs: string[] = [];
afterAll(() => tempDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'sipgw-config-'));
  tempDirs.push(dir);
  return dir;
}

function writeConfig(name: string, text: string): { dir: string; file: string } {
  const dir = tempDir();
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return { dir, file };
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('applies defaults when there is no file and no environment', () => {
    const cwd = tempDir();
    expect(loadConfig({ argv: [], env: {}, cwd })).toEqual({
      bind: '127.0.0.1',
      host: '127.0.0.1',
      sip: { udpPort: 5060, tcpPort: 5060, tlsPort: 5061, tls: { requireClientCert: false } },
      http: { port: 8080 },
      media: { ports: { min: 20000, max: 20999 }, timeoutS: 30 },
      trunks: [],
      meetings: [{ id: 'demo', name: 'Demo meeting', policy: 'warn' }],
      admin: {},
      log: { level: 'info' },
      audit: { file: 'stdout', maxSizeMb: 100, retentionDays: 90, remoteAddress: 'full' },
      shutdown: { graceS: 30 },
      certs: { devDir: path.join(cwd, 'certs/dev') },
    });
  });

  it('reads meetings and the admin token from the file, defaulting policy to warn', () => {
    const { file } = writeConfig(
      'gw.yaml',
      [
        'meetings:',
        '  - id: board-room',
        '    name: "  Board room  "',
        '    pin: "0042"',
        '    policy: require',
        '  - id: All_Hands',
        'admin:',
        '  token: s3cret-token-0123456789',
      ].join('\n'),
    );
    const config = loadConfig({ argv: ['--config', file], env: {} });
    expect(config.meetings).toEqual([
      { id: 'board-room', name: 'Board room', pin: '0042', policy: 'require' },
      { id: 'All_Hands', policy: 'warn' },
    ]);
    expect(config.admin).toEqual({ token: 's3cret-token-0123456789' });
  });

  it('reads the audit log and shutdown settings, with the /24 mask written as YAML writes a number', () => {
    const { file } = writeConfig(
      'gw.yaml',
      ['audit:', '  file: /var/log/sipgw/audit.log', '  maxSizeMb: 5', '  retentionDays: 30', '  remoteAddress: 24', 'shutdown:', '  graceS: 0'].join('\n'),
    );
    const config = loadConfig({ argv: ['--config', file], env: {} });
    expect(config.audit).toEqual({ file: '/var/log/sipgw/audit.log', maxSizeMb: 5, retentionDays: 30, remoteAddress: '24' });
    expect(config.shutdown).toEqual({ graceS: 0 });
    expect(loadConfig({ argv: [], env: { SIPGW_AUDIT_REMOTE_ADDRESS: 'none', SIPGW_SHUTDOWN_GRACE_S: '45' } })).toMatchObject({
      audit: { remoteAddress: 'none' },
      shutdown: { graceS: 45 },
    });
  });

  it('rejects audit and shutdown settings out of range, naming the key', () => {
    const load = (env: Record<string, string>) => () => loadConfig({ argv: [], env });
    expect(load({ SIPGW_AUDIT_REMOTE_ADDRESS: '16' })).toThrow('audit.remoteAddress: must be one of full|24|none, got "16"');
    expect(load({ SIPGW_AUDIT_MAX_SIZE_MB: '0' })).toThrow('audit.maxSizeMb: must be a positive number, got 0');
    expect(load({ SIPGW_AUDIT_RETENTION_DAYS: '-1' })).toThrow('audit.retentionDays: must be a positive number');
    expect(load({ SIPGW_SHUTDOWN_GRACE_S: '-5' })).toThrow('shutdown.graceS: must be a non-negative number, got -5');
  });

  it('offers the demo meeting only without a config file', () => {
    expect(loadConfig({ argv: [], env: { SIPGW_HTTP_PORT: '0' } }).meetings.map((m) => m.id)).toEqual(['demo']);
    const { file } = writeConfig('gw.yaml', 'http: { port: 0 }');
    expect(loadConfig({ argv: ['--config', file], env: {} }).meetings).toEqual([]);
    const { file: empty } = writeConfig('gw.json', JSON.stringify({ meetings: [] }));
    expect(loadConfig({ argv: ['--config', empty], env: {} }).meetings).toEqual([]);
  });

  it('takes the admin token from SIPGW_ADMIN_TOKEN over the file', () => {
    const { file } = writeConfig('gw.yaml', 'admin: { token: from-the-file-0123456789 }');
    const config = loadConfig({ argv: ['--config', file], env: { SIPGW_ADMIN_TOKEN: ' from-the-env+/0123456789== ' } });
    expect(config.admin.token).toBe('from-the-env+/0123456789==');
  });

  it('accepts 10000 meetings and refuses more', () => {
    const list = (n: number): string =>
      JSON.stringify({ meetings: Array.from({ length: n }, (_, i) => ({ id: `m${i}` })) });
    expect(loadConfig({ argv: ['--config', writeConfig('gw.json', list(10_000)).file], env: {} }).meetings).toHaveLength(10_000);
    const err = configError(() => loadConfig({ argv: ['--config', writeConfig('gw.json', list(10_001)).file], env: {} }));
    expect(err.message).toBe('meetings: must list at most 10000 meetings, got 10001');
  });

  it.each([
    [{ SIPGW_ADMIN_TOKEN: 'too-short-tok' }, 'admin.token: must be at least 16 characters, got 13 (from SIPGW_ADMIN_TOKEN)'],
    [{ SIPGW_ADMIN_TOKEN: 'has a space in-the-middle' }, 'admin.token: must contain only letters, digits and "-._~+/"'],
    [{ SIPGW_ADMIN_TOKEN: 'padding=in-the-middle' }, 'admin.token: must contain only letters, digits and "-._~+/"'],
  ])('refuses a bad admin token without echoing it %o', (env, message) => {
    const err = configError(() => loadConfig({ argv: [], env, cwd: '/' }));
    expect(err.key).toBe('admin.token');
    expect(err.message).toContain(message);
    expect(err.message).not.toContain(env.SIPGW_ADMIN_TOKEN);
  });

  it('reads a YAML file named by --config, resolving its paths against the file', () => {
    const { dir, file } = writeConfig(
      'gw.yaml',
      [
        'bind: 10.0.0.5',
        'host: gw.example.com',
        'sip:',
        '  udpPort: 0',
        '  tlsPort: 15061',
        '  tls: { cert: tls/server.pem, key: tls/server.key, chain: tls/chain.pem }',
        'media: { ports: { min: 30001, max: 30100 }, timeoutS: 12.5 }',
        'trunks:',
        '  - name: carrier-a',
        '    sources: [192.0.2.0/24, "2001:db8::/32"]',
        '    dids: { "+49 30 1234-56": ivr, "4930123457": { meeting: weekly } }',
        '  - name: carrier-b',
        '    transport: tls',
        '    tlsIdentity: SBC.carrier.example',
        '    digest: { username: gw-b, password: "correct horse" }',
        'meetings: [{ id: weekly, pin: "2468", dialInId: "555123" }]',
        'log: { level: debug }',
      ].join('\n'),
    );
    const config = loadConfig({ argv: ['--config', file], env: {}, cwd: '/' });
    expect(config.bind).toBe('10.0.0.5');
    expect(config.host).toBe('gw.example.com');
    expect(config.sip).toMatchObject({ udpPort: 0, tcpPort: 5060, tlsPort: 15061 });
    expect(config.sip.tls.cert).toBe(path.join(dir, 'tls/server.pem'));
    expect(config.sip.tls.key).toBe(path.join(dir, 'tls/server.key'));
    expect(config.sip.tls.chain).toBe(path.join(dir, 'tls/chain.pem'));
    expect(config.media).toEqual({ ports: { min: 30002, max: 30100 }, timeoutS: 12.5 });
    expect(config.trunks).toEqual([
      {
        name: 'carrier-a',
        sources: ['192.0.2.0/24', '2001:db8::/32'],
        transport: 'udp',
        dids: new Map([
          ['4930123456', { kind: 'ivr' }],
          ['4930123457', { kind: 'meeting', meetingId: 'weekly' }],
        ]),
      },
      {
        name: 'carrier-b',
        sources: [],
        transport: 'tls',
        tlsIdentity: 'sbc.carrier.example',
        digest: { username: 'gw-b', password: 'correct horse' },
        dids: new Map(),
      },
    ]);
    expect(config.meetings).toEqual([{ id: 'weekly', pin: '2468', policy: 'warn', dialInId: '555123' }]);
    expect(config.log.level).toBe('debug');
  });

  it('reads a JSON file named by SIPGW_CONFIG relative to cwd', () => {
    const { dir } = writeConfig('gw.json', JSON.stringify({ http: { port: 0 }, media: { ports: '40000-40010' } }));
    const config = loadConfig({ argv: [], env: { SIPGW_CONFIG: 'gw.json' }, cwd: dir });
    expect(config.http.port).toBe(0);
    expect(config.media.ports).toEqual({ min: 40000, max: 40010 });
  });

  it('lets --config=path win over SIPGW_CONFIG', () => {
    const { file } = writeConfig('a.yml', 'http: { port: 9001 }');
    const config = loadConfig({ argv: [`--config=${file}`], env: { SIPGW_CONFIG: '/nonexistent.yaml' } });
    expect(config.http.port).toBe(9001);
  });

  it('lets environment overrides win over the file', () => {
    const { file } = writeConfig('gw.yaml', 'bind: 10.0.0.5\nhttp: { port: 9001 }\nsip: { tlsPort: 7000 }\n');
    const config = loadConfig({
      argv: ['--config', file],
      env: {
        SIPGW_BIND: '::1',
        SIPGW_HOST: 'sip.example.org',
        SIPGW_HTTP_PORT: '0',
        SIPGW_SIP_TLS_PORT: '5071',
        SIPGW_SIP_UDP_PORT: '5070',
        SIPGW_SIP_TCP_PORT: '5072',
        SIPGW_TLS_CERT: 'c.pem',
        SIPGW_TLS_KEY: 'k.pem',
        SIPGW_MEDIA_PORTS: '21000-21099',
        SIPGW_MEDIA_TIMEOUT_S: '5',
        SIPGW_LOG_LEVEL: 'warn',
      },
      cwd: '/srv/gw',
    });
    expect(config.bind).toBe('::1');
    expect(config.host).toBe('sip.example.org');
    expect(config.http.port).toBe(0);
    expect(config.sip).toMatchObject({ udpPort: 5070, tcpPort: 5072, tlsPort: 5071 });
    expect(config.sip.tls).toMatchObject({ cert: '/srv/gw/c.pem', key: '/srv/gw/k.pem' });
    expect(config.media).toEqual({ ports: { min: 21000, max: 21099 }, timeoutS: 5 });
    expect(config.log.level).toBe('warn');
  });

  it.each([
    [{ SIPGW_SIP_TLS_PORT: 'abc' }, 'sip.tlsPort', 'sip.tlsPort: must be an integer 0-65535, got "abc" (from SIPGW_SIP_TLS_PORT)'],
    [{ SIPGW_HTTP_PORT: '70000' }, 'http.port', 'http.port: must be an integer 0-65535, got 70000'],
    [{ SIPGW_SIP_UDP_PORT: '1.5' }, 'sip.udpPort', 'sip.udpPort: must be an integer 0-65535, got 1.5'],
    [{ SIPGW_BIND: 'localhost' }, 'bind', 'bind: must be an IP address, got "localhost"'],
    [{ SIPGW_BIND: '0.0.0.0' }, 'host', 'host: must be set when bind is the wildcard address 0.0.0.0'],
    [{ SIPGW_HOST: 'bad_host!' }, 'host', 'host: must be a DNS name or IP address'],
    [{ SIPGW_MEDIA_PORTS: '2000' }, 'media.ports', 'media.ports: must be "min-max"'],
    [{ SIPGW_MEDIA_PORTS: '30000-20000' }, 'media.ports', 'must hold at least one even/odd RTP/RTCP pair'],
    [{ SIPGW_MEDIA_PORTS: '20000-70000' }, 'media.ports', 'media.ports: max must be an integer 1024-65535'],
    [{ SIPGW_MEDIA_PORTS: '5000-6000' }, 'media.ports', 'contains sip.udpPort 5060'],
    [{ SIPGW_MEDIA_TIMEOUT_S: '0' }, 'media.timeoutS', 'media.timeoutS: must be a positive number'],
    [{ SIPGW_MEDIA_TIMEOUT_S: 'soon' }, 'media.timeoutS', 'got "soon"'],
    [{ SIPGW_LOG_LEVEL: 'verbose' }, 'log.level', 'log.level: must be one of fatal|error|warn|info|debug|trace|silent'],
    [{ SIPGW_TLS_CERT: 'c.pem' }, 'sip.tls.key', 'sip.tls.key: must be set when sip.tls.cert is set'],
    [{ SIPGW_TLS_REQUIRE_CLIENT_CERT: 'true' }, 'sip.tls.clientCa', 'must be set when sip.tls.requireClientCert'],
    [{ SIPGW_TLS_REQUIRE_CLIENT_CERT: 'maybe' }, 'sip.tls.requireClientCert', 'must be true or false, got "maybe"'],
    [{ SIPGW_HTTP_PORT: '5061' }, 'http.port', 'http.port: port 5061 is already used by sip.tlsPort'],
  ])('rejects bad environment value %o', (env, key, message) => {
    const err = configError(() => loadConfig({ argv: [], env, cwd: '/' }));
    expect(err.key).toBe(key);
    expect(err.message).toContain(message);
  });

  it.each([
    ['sip: { tlsPort: "5061" }', 'sip.tlsPort', 'must be an integer 0-65535, got "5061"'],
    ['sip: 5', 'sip', 'sip: must be a mapping, got 5'],
    ['media: { ports: { min: 20000, max: 20999, step: 2 } }', 'media.ports', 'unknown key "step"'],
    ['trunks: { name: a }', 'trunks', 'trunks: must be a list'],
    ['trunks: [{ name: a, sources: [10.0.0.0/33] }]', 'trunks[0].sources[0]', 'must be an IPv4/IPv6 address or CIDR block, got "10.0.0.0/33"'],
    ['trunks: [{ name: a, sources: [] }]', 'trunks[0].sources', 'must list at least one address or CIDR block when the trunk has no digest credentials'],
    ['trunks: [{ name: a, sources: [10.0.0.1], transport: sctp }]', 'trunks[0].transport', 'must be one of udp|tcp|tls'],
    ['trunks: [{ name: a, sources: [10.0.0.1], tlsIdentity: sbc.example }]', 'trunks[0].tlsIdentity', 'needs transport: tls'],
    ['trunks: [{ name: a, sources: [10.0.0.1], transport: tls }]', 'trunks[0].tlsIdentity', 'must be set for a TLS trunk'],
    ['trunks: [{ name: a, digest: { username: u, password: short } }]', 'trunks[0].digest.password', 'must be a string of 8-128 characters, got 5 characters'],
    ['trunks: [{ name: a, sources: [10.0.0.1], dids: { "123": conference } }]', 'trunks[0].dids.123', 'must be "ivr" or {meeting: <id>}'],
    ['trunks: [{ name: a, sources: [10.0.0.1], dids: { "123": { meeting: nowhere } } }]', 'trunks[0].dids.123.meeting', 'names no configured meeting'],
    ['trunks: [{ name: a, sources: [10.0.0.1], dids: { "+1 23": ivr, "123": ivr } }]', 'trunks[0].dids.+1 23', 'is listed twice'],
    ['meetings: [{ id: a, dialInId: 12 }]', 'meetings[0].dialInId', 'must be a string of 4-16 digits'],
    ['trunks: [{ name: "a b", sources: [10.0.0.1] }]', 'trunks[0].name', 'must be 1-64 letters'],
    ['trunks: [{ name: a, sources: [10.0.0.1] }, { name: a, sources: [10.0.0.2] }]', 'trunks[1].name', 'duplicate trunk name "a"'],
    ['trunks: [{ name: a, sources: [10.0.0.1], password: x }]', 'trunks[0].password', 'unknown key'],
    ['tls: { cert: x }', 'tls', 'tls: unknown key'],
    ['sip: { tls: { cert: a.pem, key: b.pem, ciphers: x } }', 'sip.tls.ciphers', 'sip.tls.ciphers: unknown key'],
    ['sip: [1, 2]', 'sip', 'must be a mapping, got a list'],
    ['meetings: { id: a }', 'meetings', 'meetings: must be a list, got a mapping'],
    ['meetings: [a]', 'meetings[0]', 'must be a mapping with id and optionally name, pin, policy, got "a"'],
    ['meetings: [{ name: x }]', 'meetings[0].id', 'must be 1-64 letters, digits, "_" or "-", got undefined'],
    ['meetings: [{ id: "a b" }]', 'meetings[0].id', 'got "a b"'],
    ['meetings: [{ id: "a.b" }]', 'meetings[0].id', 'got "a.b"'],
    [`meetings: [{ id: ${'x'.repeat(65)} }]`, 'meetings[0].id', 'must be 1-64 letters'],
    ['meetings: [{ id: 42 }]', 'meetings[0].id', 'got 42'],
    ['meetings: [{ id: ECHO }]', 'meetings[0].id', 'meetings[0].id: "echo" is reserved for the test-call service'],
    ['meetings: [{ id: Team }, { id: x }, { id: team }]', 'meetings[2].id', 'duplicate meeting id "team" (same as meetings[0] ignoring case)'],
    ['meetings: [{ id: a, password: x }]', 'meetings[0].password', 'meetings[0].password: unknown key'],
    ['meetings: [{ id: a, name: "" }]', 'meetings[0].name', 'must be 1-100 characters without control characters'],
    ['meetings: [{ id: a, name: "   " }]', 'meetings[0].name', 'must be 1-100 characters'],
    [`meetings: [{ id: a, name: ${'n'.repeat(101)} }]`, 'meetings[0].name', 'must be 1-100 characters'],
    ['meetings: [{ id: a, name: "evil\\u202Eboard" }]', 'meetings[0].name', 'without control characters'],
    ['meetings: [{ id: a, name: "line\\nbreak" }]', 'meetings[0].name', 'without control characters'],
    ['meetings: [{ id: a, name: 7 }]', 'meetings[0].name', 'got 7'],
    ['meetings: [{ id: a, pin: 4711 }]', 'meetings[0].pin', 'must be a string of 4-12 digits (quote it in YAML so leading zeros survive), got a number'],
    ['meetings: [{ id: a, pin: "47a1" }]', 'meetings[0].pin', 'got 4 characters'],
    ['meetings: [{ id: a, pin: "471" }]', 'meetings[0].pin', 'got 3 characters'],
    ['meetings: [{ id: a, pin: "4711471147114" }]', 'meetings[0].pin', 'got 13 characters'],
    ['meetings: [{ id: a, policy: deny }]', 'meetings[0].policy', 'must be one of require|warn|allow, got "deny"'],
    ['admin: { token: short }', 'admin.token', 'admin.token: must be at least 16 characters, got 5'],
    ['admin: { token: 12345678901234567 }', 'admin.token', 'admin.token: must be a string, got a number'],
    ['admin: { user: root }', 'admin.user', 'admin.user: unknown key'],
    ['admin: on', 'admin', 'admin: must be a mapping'],
    ['- 1\n- 2', 'config', 'must contain a mapping at the top level'],
    ['bind: [unclosed', 'config', 'is not valid YAML'],
  ])('rejects bad file content %j', (text, key, message) => {
    const { file } = writeConfig('gw.yaml', text);
    const err = configError(() => loadConfig({ argv: ['--config', file], env: {} }));
    expect(err.key).toBe(key);
    expect(err.message).toContain(message);
  });

  it('rejects a missing file, an unknown extension and a --config without a path', () => {
    expect(configError(() => loadConfig({ argv: ['--config', '/nonexistent/gw.yaml'], env: {} })).message).toBe(
      'config: cannot read /nonexistent/gw.yaml: ENOENT',
    );
    expect(configError(() => loadConfig({ argv: ['--config', 'gw.toml'], env: {}, cwd: '/' })).message).toContain(
      'unsupported extension ".toml"',
    );
    expect(configError(() => loadConfig({ argv: ['--config'], env: {} })).message).toBe(
      'config: --config needs a file path',
    );
  });

  it('rejects invalid JSON with the file name', () => {
    const { file } = writeConfig('gw.json', '{"bind": ');
    expect(configError(() => loadConfig({ argv: ['--config', file], env: {} })).message).toContain(
      `${file} is not valid JSON`,
    );
  });
});

describe('candidateTrunks', () => {
  const trunk = (name: string, sources: string[], transport: Trunk['transport'] = 'udp'): Trunk => ({ name, sources, transport, dids: new Map() });
  const trunks = [
    trunk('carrier-a', ['192.0.2.0/24', '2001:db8:a::/48']),
    trunk('carrier-b', ['198.51.100.7', '::ffff:203.0.113.0/120']),
    trunk('carrier-tls', ['192.0.2.0/24'], 'tls'),
  ];
  const names = (address: string, transport: Trunk['transport'] = 'udp') => candidateTrunks(trunks, address, transport).map((t) => t.name);

  it.each([
    ['192.0.2.1', 'carrier-a'],
    ['192.0.2.255', 'carrier-a'],
    ['::ffff:192.0.2.9', 'carrier-a'],
    ['2001:db8:a:ffff::1', 'carrier-a'],
    ['198.51.100.7', 'carrier-b'],
    ['::ffff:198.51.100.7', 'carrier-b'],
    ['203.0.113.44', 'carrier-b'],
  ])('finds %s in %s', (address, name) => {
    expect(names(address)).toEqual([name]);
  });

  it.each(['192.0.3.1', '198.51.100.8', '2001:db8:b::1', '::1', 'not-an-address', ''])('finds no trunk for %j', (address) => {
    expect(names(address)).toEqual([]);
  });

  it('matches the transport as well as the address', () => {
    expect(names('192.0.2.1', 'tls')).toEqual(['carrier-tls']);
    expect(names('192.0.2.1', 'tcp')).toEqual([]);
  });

  it('lets a trunk without sources (a digest trunk) be any address', () => {
    expect(candidateTrunks([trunk('anywhere', [])], '203.0.113.9', 'udp').map((t) => t.name)).toEqual(['anywhere']);
  });

  it('knows no trunk when none is configured', () => {
    expect(candidateTrunks(loadConfig({ argv: [], env: {} }).trunks, '127.0.0.1', 'udp')).toEqual([]);
  });
});
