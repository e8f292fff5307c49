import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Registry } from 'prom-client';
import { handleAdminApi, type AdminApiDeps, type ApiReply } from './admin-api.js';

/** Ports actually bound (after any `0` was resolved), served at /readyz so tests never guess. */
export interface ReadyState {
  sip: { udp: number; tcp: number; tls: number };
  http: number;
}

export interface HttpServerDeps extends AdminApiDeps {
  metrics: { registry: Registry };
  /** Undefined until every listener is up. */
  readiness: () => ReadyState | undefined;
  /** True once a drain has begun: not ready for new calls, though the ports are still served. */
  draining?: () => boolean;
  /** Directory of the web client's files; default `gateway/http/client` in the package. */
  clientDir?: string;
}

interface Reply {
  status: number;
  /** Absent for 204. */
  content?: { type: string; body: string | Buffer };
  headers?: Record<string, string>;
}

const ALLOWED_METHODS = 'GET, HEAD';

const CLIENT_TYPES = new Map([
  ['.html', 'text/html; charset=utf-8'],
  ['.js', 'text/javascript; charset=utf-8'],
  ['.css', 'text/css; charset=utf-8'],
  ['.svg', 'image/svg+xml'],
  ['.ico', 'image/x-icon'],
  ['.wav', 'audio/wav'],
]);

/** One plain name in the client directory: no separators, no dotfiles, hence no `..`. */
const CLIENT_FILE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

const CLIENT_HEADERS = {
  'Cache-Control': 'no-cache',
  'Content-Security-Policy':
    "default-src 'self'; connect-src 'self' ws: wss:; media-src 'self' blob:; img-src 'self' data:; " +
    "style-src 'self'; script-src 'self'; frame-ancestors 'none'",
  'Referrer-Policy': 'no-referrer',
};

function json(status: number, value: unknown, headers?: Record<string, string>): Reply {
  return {
    status,
    content: { type: 'application/json; charset=utf-8', body: JSON.stringify(value) },
    ...(headers ? { headers } : {}),
  };
}

function fromApi(reply: ApiReply): Reply {
  if (reply.body === undefined) return { status: reply.status, ...(reply.headers ? { headers: reply.headers } : {}) };
  return json(reply.status, reply.body, reply.headers);
}

/** Walks up from this module to the package root, so the path holds from source (tsx) and from dist/. */
function packageClientDir(): string | undefined {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
  return path.join(dir, 'gateway', 'http', 'client');
}

async function clientFile(dir: string | undefined, pathname: string): Promise<Reply> {
  let name: string;
  try {
    name = pathname === '/' ? 'index.html' : decodeURIComponent(pathname.slice(1));
  } catch {
    return json(404, { error: 'not found' });
  }
  const type = CLIENT_TYPES.get(path.extname(name).toLowerCase());
  if (dir === undefined || type === undefined || !CLIENT_FILE_NAME.test(name)) return json(404, { error: 'not found' });
  try {
    return { status: 200, content: { type, body: await readFile(path.join(dir, name)) }, headers: CLIENT_HEADERS };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR') return json(404, { error: 'not found' });
    throw err;
  }
}

async function route(deps: HttpServerDeps, clientDir: string | undefined, req: http.IncomingMessage, pathname: string): Promise<Reply> {
  if (pathname === '/api' || pathname.startsWith('/api/')) return fromApi(await handleAdminApi(deps, req, pathname));
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return json(405, { error: 'method not allowed' }, { Allow: ALLOWED_METHODS });
  }
  switch (pathname) {
    case '/metrics':
      return {
        status: 200,
        content: { type: deps.metrics.registry.contentType, body: await deps.metrics.registry.metrics() },
      };
    case '/healthz':
      return json(200, { status: 'ok' });
    case '/readyz': {
      const state = deps.readiness();
      if (!state) return json(503, { ready: false });
      const ports = { sip: state.sip, http: state.http };
      return deps.draining?.() ? json(503, { ready: false, draining: true, ...ports }) : json(200, { ready: true, ...ports });
    }
    default:
      return clientFile(clientDir, pathname);
  }
}

async function handle(deps: HttpServerDeps, clientDir: string | undefined, req: http.IncomingMessage): Promise<Reply> {
  const target = req.url ?? '/';
  let pathname: string;
  try {
    // Prefixing keeps an origin-form `//x` a path; as a relative URL it would name a host.
    pathname = new URL(target.startsWith('/') ? `http://localhost${target}` : target).pathname;
  } catch {
    return json(400, { error: 'bad request target' });
  }
  try {
    return await route(deps, clientDir, req, pathname);
  } catch {
    return json(500, { error: 'internal error' });
  }
}

/**
 * The gateway's HTTP endpoint: /metrics, /healthz, /readyz, the admin API under /api/ and the web
 * client under /. The caller listens on it and handles WebSocket upgrades itself.
 */
export function createHttpServer(deps: HttpServerDeps): http.Server {
  const clientDir = deps.clientDir ?? packageClientDir();
  return http.createServer((req, res) => {
    void handle(deps, clientDir, req).then((reply) => {
      const content = reply.content;
      res.writeHead(reply.status, {
        ...(content ? { 'Content-Type': content.type, 'Content-Length': Buffer.byteLength(content.body) } : {}),
        'Cache-Control': 'no-store',
        'X-Content-Type-Options': 'nosniff',
        ...reply.headers,
      });
      res.end(req.method === 'HEAD' ? undefined : content?.body);
      // Whatever of the body the handler did not read is drained so keep-alive connections stay usable.
      req.resume();
    });
  });
}
