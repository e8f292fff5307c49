import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHttpServer, type ReadyState } from '../../gateway/http/index.js';
import { createMetrics } from '../../gateway/observability/index.js';

describe('operations HTTP server', () => {
  let server: Server;
  let base: string;
  let ready: ReadyState | undefined;
  let draining: boolean;
  let metrics: ReturnType<typeof createMetrics>;

  beforeEach(async () => {
    ready = undefined;
    draining = false;
    metrics = createMetrics();
    server = createHttpServer({ metrics, readiness: () => ready, draining: () => draining });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('serves Prometheus text from the gateway registry at /metrics', async () => {
    metrics.calls.inc({ origin: 'sip', outcome: 'answered' });
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    expect(text).toContain('# TYPE sipgw_calls_total counter');
    expect(text).toContain('sipgw_calls_total{origin="sip",outcome="answered"} 1');
  });

  it('answers /healthz with ok', async () => {
    const res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('answers /readyz with 503 until ready, then the bound ports', async () => {
    const before = await fetch(`${base}/readyz`);
    expect(before.status).toBe(503);
    expect(await before.json()).toEqual({ ready: false });

    ready = { sip: { udp: 40001, tcp: 40002, tls: 40003 }, http: 40004 };
    const after = await fetch(`${base}/readyz?verbose=1`);
    expect(after.status).toBe(200);
    expect(await after.json()).toEqual({ ready: true, sip: { udp: 40001, tcp: 40002, tls: 40003 }, http: 40004 });
  });

  it('answers /readyz with 503 and draining while a drain runs, still naming the ports', async () => {
    ready = { sip: { udp: 40001, tcp: 40002, tls: 40003 }, http: 40004 };
    draining = true;
    const res = await fetch(`${base}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ ready: false, draining: true, sip: { udp: 40001, tcp: 40002, tls: 40003 }, http: 40004 });
  });

  it('answers HEAD with headers and no body', async () => {
    const res = await fetch(`${base}/healthz`, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(Number(res.headers.get('content-length'))).toBeGreaterThan(0);
    expect(await res.text()).toBe('');
  });

  it('answers unknown paths with a JSON 404', async () => {
    const res = await fetch(`${base}/admin`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'not found' });
  });

  it.each(['POST', 'PUT', 'DELETE', 'PATCH'])('refuses %s with 405 and Allow', async (method) => {
    const res = await fetch(`${base}/metrics`, { method, body: method === 'DELETE' ? null : 'x' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD');
    expect(await res.json()).toEqual({ error: 'method not allowed' });
  });

  it('answers 500 without detail when collecting metrics fails, and keeps serving', async () => {
    const broken = createHttpServer({
      metrics: { registry: { ...metrics.registry, metrics: () => Promise.reject(new Error('boom')) } as never },
      readiness: () => undefined,
    });
    await new Promise<void>((resolve) => broken.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(broken.address() as AddressInfo).port}`;
    try {
      const res = await fetch(`${url}/metrics`);
      expect(res.status).toBe(500);
      expect(await res.text()).toBe('{"error":"internal error"}');
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
    } finally {
      broken.closeAllConnections();
      await new Promise((resolve) => broken.close(resolve));
    }
  });
});
