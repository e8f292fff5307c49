import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requirePeer } from '../peers/availability.js';
import { findFreePortBlock } from '../peers/process.js';
import { removeSippDir, runSipp, startSipp } from '../peers/sipp.js';
import { startSocatTlsHop, type TlsHop } from '../peers/tls-hop.js';
import { startGatewayProcess, type GatewayProcess } from './gateway-process.js';

const peer = requirePeer('sipp', 'socat');

describe.skipIf(peer.skip)('a call through its mid-call life (sipp through a TLS hop)', () => {
  let gateway: GatewayProcess;
  let hop: TlsHop;
  let base: number;

  beforeAll(async () => {
    gateway = await startGatewayProcess();
    base = findFreePortBlock(10);
    // The hop verifies the gateway's dev certificate, as a room system that trusts its CA would.
    hop = await startSocatTlsHop({ listenTcpPort: base, targetTlsPort: gateway.ports.sip.tls, caFile: gateway.caFile });
  });

  afterAll(async () => {
    await hop?.stop();
    await gateway?.stop();
  });

  it('accepts session timers, answers hold with recvonly and resume with sendrecv, takes UPDATE and INFO, refuses MESSAGE with 405', async () => {
    const result = await runSipp({
      scenario: 'uac-sdes-midcall',
      target: `127.0.0.1:${base}`,
      transport: 't1',
      localPort: base + 1,
      controlPort: base + 2,
      mediaPort: base + 4,
      calls: 1,
      service: 'echo',
      timeoutS: 20,
    });
    expect(result.successful, result.stdout + result.stderr).toBe(1);
    expect(result.failed).toBe(0);
    removeSippDir(result);
    expect(await gateway.metric('sipgw_legs_active')).toBe(0);
    expect(await gateway.metric('sipgw_tls_handshakes_total', { result: 'ok', version: 'TLSv1.3' })).toBeGreaterThanOrEqual(1);
  });
});

describe.skipIf(peer.skip)('media ports exhausted (sipp through a TLS hop)', () => {
  let gateway: GatewayProcess;
  let hop: TlsHop;
  let base: number;

  beforeAll(async () => {
    // One RTP/RTCP pair (even, odd): room for exactly one single-stream call.
    const block = findFreePortBlock(3);
    const media = block + (block % 2);
    gateway = await startGatewayProcess({ env: { SIPGW_MEDIA_PORTS: `${media}-${media + 1}` } });
    base = findFreePortBlock(20);
    hop = await startSocatTlsHop({ listenTcpPort: base, targetTlsPort: gateway.ports.sip.tls });
  });

  afterAll(async () => {
    await hop?.stop();
    await gateway?.stop();
  });

  it('answers a call it has no media port for with 503 and Retry-After, and counts it as overload', async () => {
    const first = startSipp({
      scenario: 'uac-sdes',
      target: `127.0.0.1:${base}`,
      transport: 't1',
      localPort: base + 1,
      controlPort: base + 2,
      mediaPort: base + 4,
      calls: 1,
      service: 'echo',
      pauseMs: 3000,
      timeoutS: 20,
    });
    await waitForLegs(gateway, 1);
    const second = await runSipp({
      scenario: 'uac-invite-expect',
      target: `127.0.0.1:${base}`,
      transport: 't1',
      localPort: base + 11,
      controlPort: base + 12,
      mediaPort: base + 14,
      calls: 1,
      service: 'echo',
      vars: { expected_status: '503' },
      extraArgs: ['-trace_msg'],
      timeoutS: 15,
    });
    expect(second.successful, second.stdout + second.stderr).toBe(1);
    expect(readFileSync(join(second.dir, 'messages.log'), 'utf8')).toMatch(/SIP\/2\.0 503 [^\r\n]*\r?\n(?:[^\r\n]+\r?\n)*?Retry-After: \d+/);
    expect(await gateway.metric('sipgw_calls_total', { outcome: 'overload' })).toBe(1);
    removeSippDir(second);
    const firstResult = await first.result;
    expect(firstResult.successful).toBe(1);
    removeSippDir(firstResult);
  });
});

async function waitForLegs(gateway: GatewayProcess, count: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if ((await gateway.metric('sipgw_legs_active')) === count) return;
    await sleep(50);
  }
  throw new Error(`legs active never reached ${count}`);
}
