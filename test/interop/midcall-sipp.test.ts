import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requirePeer } from '../peers/availability.js';
import { findFreePortBlock } from '../peers/process.js';
import { removeSippDir, runSipp } from '../peers/sipp.js';
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
