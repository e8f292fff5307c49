import http from 'node:http';
import type { Registry } from 'prom-client';

/** Ports actually bound (after any `0` was resolved), served at /readyz so tests never guess. */
export interface ReadyState {
  sip: { udp: number; tcp: number; tls: number };
  http: number;
}

export interface HttpServerDeps {
  metrics: { registry: Registry };
  /** Undefined until every listener is up. */
  readiness: () => ReadyState | undefined;
}

interface Reply {
  status: number;
  body: string;
  contentType: string;
  headers?: Record<string, string>;
}

const ALLOWED_METHODS = 'GET, HEAD';

function json(status: number, value: unknown, headers?: Record<string, string>): Reply {
  return {
    status,
    body: JSON.stringify(value),
    contentType: 'application/json; charset=utf-8',
    ...(headers ? { headers } : {}),
  };
}

async function route(deps: HttpServerDeps, pathname: string): Promise<Reply> {
  switch (pathname) {
    case '/metrics':
      return { status: 200, body: await deps.metrics.registry.metrics(), contentType: deps.metrics.registry.contentType };
    case '/healthz':
      return json(200, { status: 'ok' });
    case '/readyz': {
      const state = deps.readiness();
      return state ? json(200, { ready: true, sip: state.sip, http: state.http }) : json(503, { ready: false });
    }
    default:
      return json(404, { error: 'not found' });
  }
}

async function handle(deps: HttpServerDeps, req: http.IncomingMessage): Promise<Reply> {
  let pathname: string;
  try {
    pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
  } catch {
    return json(400, { error: 'bad request target' });
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return json(405, { error: 'method not allowed' }, { Allow: ALLOWED_METHODS });
  }
  try {
    return await route(deps, pathname);
  } catch {
    return json(500, { error: 'internal error' });
  }
}

/** The operations endpoint: /metrics, /healthz and /readyz. The caller listens on it. */
export function createHttpServer(deps: HttpServerDeps): http.Server {
  return http.createServer((req, res) => {
    void handle(deps, req).then((reply) => {
      res.writeHead(reply.status, {
        'Content-Type': reply.contentType,
        'Content-Length': Buffer.byteLength(reply.body),
        'Cache-Control': 'no-store',
        ...reply.headers,
      });
      res.end(req.method === 'HEAD' ? undefined : reply.body);
    });
    // Request bodies are never read; drain them so keep-alive connections stay usable.
    req.resume();
  });
}
