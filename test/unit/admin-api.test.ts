import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MAX_MEETINGS, MeetingDirectory } from '../../gateway/fabric/directory.js';
import { createHttpServer, type HttpServerDeps } from '../../gateway/http/index.js';
import { createMetrics } from '../../gateway/observability/index.js';

const TOKEN = 'test-admin-token-0123456789abcdef';
const AUTH = { Authorization: `Bearer ${TOKEN}` };
const JSON_AUTH = { ...AUTH, 'Content-Type': 'application/json' };
const CSP =
  "default-src 'self'; connect-src 'self' ws: wss:; media-src 'self' blob:; img-src 'self' data:; " +
  "style-src 'self'; script-src 'self'; frame-ancestors 'none'";

const root = mkdtempSync(path.join(tmpdir(), 'sipgw-admin-'));
const clientDir = path.join(root, 'client');

beforeAll(() => {
  mkdirSync(path.join(clientDir, 'sub'), { recursive: true });
  writeFileSync(path.join(root, 'package.json'), '{"name":"outside-the-client-dir"}');
  writeFileSync(path.join(root, 'secret.html'), 'outside-the-client-dir');
  writeFileSync(path.join(clientDir, 'index.html'), '<!doctype html><title>client</title>');
  writeFileSync(path.join(clientDir, 'app.js'), 'console.log(1);');
  writeFileSync(path.join(clientDir, 'style.css'), 'body{}');
  writeFileSync(path.join(clientDir, 'icon.svg'), '<svg/>');
  writeFileSync(path.join(clientDir, 'favicon.ico'), Buffer.from([0, 0, 1, 0]));
  writeFileSync(path.join(clientDir, 'tone.wav'), Buffer.from('RIFF'));
  writeFileSync(path.join(clientDir, 'notes.txt'), 'not served');
  writeFileSync(path.join(clientDir, '.hidden.js'), 'not served');
  writeFileSync(path.join(clientDir, 'sub', 'nested.js'), 'not served');
  mkdirSync(path.join(clientDir, 'folder.js'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function start(deps: Partial<HttpServerDeps> = {}): Promise<{ base: string; port: number }> {
  const server = createHttpServer({ metrics: createMetrics(), readiness: () => undefined, clientDir, ...deps });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return { base: `http://127.0.0.1:${port}`, port };
}

async function startApi(directory = new MeetingDirectory([{ id: 'demo', name: 'Demo meeting', policy: 'warn' }])) {
  const participants = new Map<string, number>([['demo', 3]]);
  const { base, port } = await start({ meetings: directory, adminToken: TOKEN, participants: (id) => participants.get(id) ?? 0 });
  return { base, port, directory };
}

/** Sends the request target exactly as written; fetch would normalise dot segments first. */
function rawRequest(
  port: number,
  target: string,
  options: { method?: string; headers?: Record<string, string>; chunks?: Buffer[] } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: target, method: options.method ?? 'GET', headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    for (const chunk of options.chunks ?? []) req.write(chunk);
    req.end();
  });
}

describe('admin API: authentication', () => {
  it.each([
    ['no Authorization header', {}, 'missing bearer token'],
    ['another scheme', { Authorization: `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}` }, 'missing bearer token'],
    ['a wrong token', { Authorization: 'Bearer wrong-token-0123456789abcdef' }, 'invalid bearer token'],
    ['a prefix of the token', { Authorization: `Bearer ${TOKEN.slice(0, -1)}` }, 'invalid bearer token'],
    ['the token and more', { Authorization: `Bearer ${TOKEN}x` }, 'invalid bearer token'],
    ['an empty bearer', { Authorization: 'Bearer ' }, 'missing bearer token'],
  ])('answers 401 with a challenge for %s, and changes nothing', async (_what, headers, error) => {
    const { base, directory } = await startApi();
    for (const [method, target] of [
      ['GET', '/api/meetings'],
      ['POST', '/api/meetings'],
      ['DELETE', '/api/meetings/demo'],
      ['GET', '/api/unknown'],
    ] as const) {
      const res = await fetch(`${base}${target}`, {
        method,
        headers: { ...headers, 'Content-Type': 'application/json' },
        ...(method === 'POST' ? { body: '{}' } : {}),
      });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="sipgw"');
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect((await res.json()).error).toContain(error);
    }
    expect(directory.list().map((m) => m.id)).toEqual(['demo']);
  });

  it('accepts the scheme in any case', async () => {
    const { base } = await startApi();
    const res = await fetch(`${base}/api/meetings`, { headers: { Authorization: `bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
  });

  it('refuses every request while no token is configured, saying so', async () => {
    const { base } = await start({ meetings: new MeetingDirectory([]) });
    for (const auth of [{}, { Authorization: 'Bearer ' }, AUTH]) {
      const res = await fetch(`${base}/api/meetings`, { headers: auth });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="sipgw"');
      expect((await res.json()).error).toBe(
        'the admin API is disabled: no admin token is configured (admin.token or SIPGW_ADMIN_TOKEN)',
      );
    }
  });

  it('answers unknown API paths 404 once authenticated', async () => {
    const { base } = await startApi();
    for (const target of ['/api', '/api/', '/api/rooms', '/api/meetings/', '/api/meetings/demo/participants', '/api/meetings/%E0%A4%A']) {
      const res = await fetch(`${base}${target}`, { headers: AUTH });
      expect(res.status, target).toBe(404);
    }
  });

  it('never sends the token back', async () => {
    const { base } = await startApi();
    for (const target of ['/api/meetings', '/api/nothing', '/']) {
      const res = await fetch(`${base}${target}`, { headers: AUTH });
      expect(JSON.stringify([...res.headers]) + (await res.text())).not.toContain(TOKEN);
    }
  });
});

describe('admin API: meetings', () => {
  it('lists meetings with their live participant count', async () => {
    const { base } = await startApi();
    const res = await fetch(`${base}/api/meetings`, { headers: AUTH });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = await res.json();
    expect(body).toEqual({
      meetings: [
        {
          id: 'demo',
          name: 'Demo meeting',
          policy: 'warn',
          hasPin: false,
          participants: 3,
          createdAt: expect.any(String),
          source: 'config',
        },
      ],
    });
  });

  it('creates, reads, updates and deletes a meeting', async () => {
    const { base, directory } = await startApi();
    const deleted: string[] = [];
    directory.onDeleted((id) => deleted.push(id));

    const created = await fetch(`${base}/api/meetings`, {
      method: 'POST',
      headers: JSON_AUTH,
      body: JSON.stringify({ name: 'Board', pin: '0042', policy: 'require' }),
    });
    expect(created.status).toBe(201);
    const record = await created.json();
    expect(record).toMatchObject({ name: 'Board', policy: 'require', hasPin: true, participants: 0, source: 'api' });
    expect(record).not.toHaveProperty('pin');
    expect(record.id).toMatch(/^[0-9a-v]{26}$/);
    expect(created.headers.get('location')).toBe(`/api/meetings/${record.id}`);
    expect(await directory.verifyPin(record.id, '0042')).toBe(true);

    const read = await fetch(`${base}${created.headers.get('location')}`, { headers: AUTH });
    expect(read.status).toBe(200);
    expect(await read.json()).toEqual(record);
    expect((await fetch(`${base}/api/meetings/${record.id.toUpperCase()}`, { headers: AUTH })).status).toBe(200);

    const patched = await fetch(`${base}/api/meetings/${record.id}`, {
      method: 'PATCH',
      headers: JSON_AUTH,
      body: JSON.stringify({ name: 'Board room', pin: null, policy: 'allow' }),
    });
    expect(patched.status).toBe(200);
    expect(await patched.json()).toEqual({ ...record, name: 'Board room', policy: 'allow', hasPin: false });

    const removed = await fetch(`${base}/api/meetings/${record.id}`, { method: 'DELETE', headers: AUTH });
    expect(removed.status).toBe(204);
    expect(removed.headers.get('content-type')).toBeNull();
    expect(await removed.text()).toBe('');
    expect(deleted).toEqual([record.id]);

    expect((await fetch(`${base}/api/meetings/${record.id}`, { headers: AUTH })).status).toBe(404);
    const again = await fetch(`${base}/api/meetings/${record.id}`, { method: 'DELETE', headers: AUTH });
    expect(again.status).toBe(404);
    expect(await again.json()).toEqual({ error: 'no such meeting' });
  });

  it('creates a meeting from an empty object with the defaults, with a charset on the content type', async () => {
    const { base } = await startApi();
    const res = await fetch(`${base}/api/meetings`, {
      method: 'POST',
      headers: { ...AUTH, 'Content-Type': 'Application/JSON; charset="UTF-8"' },
      body: '{}',
    });
    expect(res.status).toBe(201);
    const record = await res.json();
    expect(record).toMatchObject({ name: record.id, policy: 'warn', hasPin: false });
  });

  it('sets a PIN on a configured meeting, keeping the other fields', async () => {
    const { base, directory } = await startApi();
    const res = await fetch(`${base}/api/meetings/DEMO`, { method: 'PATCH', headers: JSON_AUTH, body: '{"pin":"123456"}' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: 'demo', name: 'Demo meeting', hasPin: true, participants: 3 });
    expect(await directory.verifyPin('demo', '123456')).toBe(true);
  });

  it('answers PATCH on an unknown meeting 404', async () => {
    const { base } = await startApi();
    const res = await fetch(`${base}/api/meetings/nope`, { method: 'PATCH', headers: JSON_AUTH, body: '{"name":"x"}' });
    expect(res.status).toBe(404);
  });

  it.each([
    ['POST', 'not json', 'body is not valid JSON'],
    ['POST', '', 'body is not valid JSON'],
    ['POST', '[]', 'body must be a JSON object'],
    ['POST', 'null', 'body must be a JSON object'],
    ['POST', '"name"', 'body must be a JSON object'],
    ['POST', '{"name":"x","owner":"me"}', 'unknown field "owner"; a meeting has name, pin and policy'],
    ['POST', '{"__proto__":{"pin":"1234"}}', 'unknown field "__proto__"'],
    ['POST', '{"id":"chosen"}', 'unknown field "id"'],
    ['POST', '{"name":42}', 'name must be a string'],
    ['POST', '{"name":null}', 'name must be a string'],
    ['POST', '{"name":""}', 'name must be 1-100 characters without control characters'],
    ['POST', '{"name":"a\\u0000b"}', 'name must be 1-100 characters without control characters'],
    ['POST', '{"pin":1234}', 'pin must be a string of 4-12 digits'],
    ['POST', '{"pin":null}', 'pin must be a string of 4-12 digits'],
    ['POST', '{"pin":"12"}', 'pin must be 4-12 digits'],
    ['POST', '{"pin":"12 34"}', 'pin must be 4-12 digits'],
    ['POST', '{"policy":"deny"}', 'policy must be one of require, warn, allow'],
    ['POST', '{"policy":1}', 'policy must be one of require, warn, allow'],
    ['PATCH', '{"pin":"abcd"}', 'pin must be 4-12 digits'],
    ['PATCH', '{"pin":false}', 'pin must be a string of 4-12 digits, or null to remove the PIN'],
    ['PATCH', '{"name":"ok","policy":null}', 'policy must be one of require, warn, allow'],
    ['PATCH', '{"name":"ok","pin":"1"}', 'pin must be 4-12 digits'],
    ['PATCH', '{"name":"ok","extra":1}', 'unknown field "extra"'],
  ])('answers %s %s with 400 and changes nothing', async (method, body, error) => {
    const { base, directory } = await startApi();
    const before = directory.list();
    const target = method === 'POST' ? '/api/meetings' : '/api/meetings/demo';
    const res = await fetch(`${base}${target}`, { method, headers: JSON_AUTH, body });
    expect(res.status).toBe(400);
    expect((await res.json()).error).toContain(error);
    expect(directory.list()).toEqual(before);
  });

  it('answers a body that is not UTF-8 with 400', async () => {
    const { base } = await startApi();
    const res = await fetch(`${base}/api/meetings`, {
      method: 'POST',
      headers: JSON_AUTH,
      body: Buffer.from([0x7b, 0x22, 0x6e, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]),
    });
    expect(res.status).toBe(400);
    expect((await res.json()).error).toContain('body is not valid JSON');
  });

  it.each([
    ['no Content-Type', AUTH],
    ['text/plain', { ...AUTH, 'Content-Type': 'text/plain' }],
    ['a form', { ...AUTH, 'Content-Type': 'application/x-www-form-urlencoded' }],
    ['JSON in Latin-1', { ...AUTH, 'Content-Type': 'application/json; charset=iso-8859-1' }],
    ['application/jsonx', { ...AUTH, 'Content-Type': 'application/jsonx' }],
  ])('answers POST and PATCH with %s 415', async (_what, headers) => {
    const { base, directory } = await startApi();
    const post = await fetch(`${base}/api/meetings`, { method: 'POST', headers, body: '{"name":"x"}' });
    expect(post.status).toBe(415);
    expect(post.headers.get('accept-post')).toBe('application/json');
    expect((await post.json()).error).toBe('Content-Type must be application/json');
    const patch = await fetch(`${base}/api/meetings/demo`, { method: 'PATCH', headers, body: '{"name":"x"}' });
    expect(patch.status).toBe(415);
    expect(patch.headers.get('accept-patch')).toBe('application/json');
    expect(directory.list()).toHaveLength(1);
    expect(directory.get('demo')?.name).toBe('Demo meeting');
  });

  it('answers a body over 16 KiB with 413, by Content-Length or while streaming, and keeps serving', async () => {
    const { base, port, directory } = await startApi();
    const big = JSON.stringify({ name: 'x'.repeat(16 * 1024) });
    const declared = await fetch(`${base}/api/meetings`, { method: 'POST', headers: JSON_AUTH, body: big });
    expect(declared.status).toBe(413);
    expect((await declared.json()).error).toBe('body larger than 16384 bytes');

    const streamed = await rawRequest(port, '/api/meetings/demo', {
      method: 'PATCH',
      headers: { ...JSON_AUTH, 'Transfer-Encoding': 'chunked' },
      chunks: Array.from({ length: 5 }, () => Buffer.alloc(4096, 0x20)),
    });
    expect(streamed.status).toBe(413);

    const exact = JSON.stringify({ name: 'ok' }).padEnd(16 * 1024, ' ');
    expect((await fetch(`${base}/api/meetings`, { method: 'POST', headers: JSON_AUTH, body: exact })).status).toBe(201);
    expect(directory.list().map((m) => m.name)).toEqual(['Demo meeting', 'ok']);
  });

  it.each([
    ['PUT', '/api/meetings', 'GET, HEAD, POST'],
    ['DELETE', '/api/meetings', 'GET, HEAD, POST'],
    ['PATCH', '/api/meetings', 'GET, HEAD, POST'],
    ['POST', '/api/meetings/demo', 'GET, HEAD, PATCH, DELETE'],
    ['PUT', '/api/meetings/demo', 'GET, HEAD, PATCH, DELETE'],
  ])('answers %s %s with 405 and Allow', async (method, target, allow) => {
    const { base, directory } = await startApi();
    const res = await fetch(`${base}${target}`, { method, headers: JSON_AUTH, body: '{"name":"x"}' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe(allow);
    expect(await res.json()).toEqual({ error: 'method not allowed' });
    expect(directory.list().map((m) => m.name)).toEqual(['Demo meeting']);
  });

  it('answers HEAD like GET without a body', async () => {
    const { base } = await startApi();
    const res = await fetch(`${base}/api/meetings/demo`, { method: 'HEAD', headers: AUTH });
    expect(res.status).toBe(200);
    expect(Number(res.headers.get('content-length'))).toBeGreaterThan(0);
    expect(await res.text()).toBe('');
  });

  it(`answers 409 once ${MAX_MEETINGS} meetings exist`, async () => {
    const configured = Array.from({ length: MAX_MEETINGS - 1 }, (_, i) => ({ id: `m${i}`, policy: 'warn' as const }));
    const { base } = await startApi(new MeetingDirectory(configured));
    const post = (): Promise<Response> => fetch(`${base}/api/meetings`, { method: 'POST', headers: JSON_AUTH, body: '{}' });
    expect((await post()).status).toBe(201);
    const full = await post();
    expect(full.status).toBe(409);
    expect((await full.json()).error).toBe(`the gateway already holds its maximum of ${MAX_MEETINGS} meetings; delete one first`);
  });

  it('answers 404 for the API when no directory is wired in', async () => {
    const { base } = await start({ adminToken: TOKEN });
    expect((await fetch(`${base}/api/meetings`, { headers: AUTH })).status).toBe(404);
  });
});

describe('web client files', () => {
  it('serves index.html at / with the security headers', async () => {
    const { base } = await start();
    const res = await fetch(`${base}/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('<!doctype html><title>client</title>');
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('content-security-policy')).toBe(CSP);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
  });

  it.each([
    ['/index.html', 'text/html; charset=utf-8'],
    ['/app.js', 'text/javascript; charset=utf-8'],
    ['/style.css', 'text/css; charset=utf-8'],
    ['/icon.svg', 'image/svg+xml'],
    ['/favicon.ico', 'image/x-icon'],
    ['/tone.wav', 'audio/wav'],
  ])('serves %s as %s', async (target, type) => {
    const { base } = await start();
    const res = await fetch(`${base}${target}?v=1`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(type);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(readFileSync(path.join(clientDir, target)));
  });

  it('answers HEAD with the headers only', async () => {
    const { base } = await start();
    const res = await fetch(`${base}/app.js`, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe('15');
    expect(await res.text()).toBe('');
  });

  it.each([
    '/missing.js',
    '/notes.txt',
    '/.hidden.js',
    '/sub/nested.js',
    '/sub%2fnested.js',
    '/folder.js',
    '/..%2fpackage.json',
    '/..%2fsecret.html',
    '/%2e%2e%2fsecret.html',
    '/%2e%2e/secret.html',
    '/../secret.html',
    '/..\\secret.html',
    '/..%5csecret.html',
    '/%2e%2e%5csecret.html',
    '/%252e%252e%252fsecret.html',
    `/${encodeURIComponent(path.join(root, 'secret.html'))}`,
    '/index.html%00.js',
    '/%E0%A4%A',
    '//secret.html',
  ])('answers %s with 404 and never a file from outside', async (target) => {
    const { port } = await start();
    const res = await rawRequest(port, target);
    expect(res.status).toBe(404);
    expect(res.body).toBe('{"error":"not found"}');
  });

  it('resolves dot segments in the URL to the client directory root, not above it', async () => {
    const { port } = await start();
    for (const target of ['/%2e%2e/', '/../', '/a/%2e%2e/%2e%2e/index.html']) {
      const res = await rawRequest(port, target);
      expect(res.status, target).toBe(200);
      expect(res.body).toBe('<!doctype html><title>client</title>');
    }
  });

  it('refuses methods other than GET and HEAD', async () => {
    const { base } = await start();
    const res = await fetch(`${base}/index.html`, { method: 'POST', body: 'x' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD');
  });

  it('answers 404 for files while the client directory does not exist', async () => {
    const { base } = await start({ clientDir: path.join(root, 'absent') });
    expect((await fetch(`${base}/`)).status).toBe(404);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it("defaults to the package's gateway/http/client directory", async () => {
    const { base } = await start({ clientDir: undefined });
    const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
    const res = await fetch(`${base}/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(readFileSync(path.join(repo, 'gateway/http/client/index.html'), 'utf8'));
  });
});
