// Graceful drain on SIGTERM, against the gateway process: baresip as a room system in an echo call over SIP-TLS
// with SDES-SRTP, Chromium as a browser in a meeting, sipp through a socat TLS hop as a new caller, and a load
// balancer's OPTIONS probe over TLS.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureDevCertificates } from '../../certs/index.js';
import { startGatewayProcess, type GatewayProcess } from '../interop/gateway-process.js';
import { requirePeer } from '../peers/availability.js';
import type { Baresip } from '../peers/baresip.js';
import { launchChromium, type ChromiumBrowser } from '../peers/chromium.js';
import { findFreePortBlock, waitFor } from '../peers/process.js';
import { removeSippDirs, runSipp, type SippResult } from '../peers/sipp.js';
import { startSocatTlsHop, type TlsHop } from '../peers/tls-hop.js';
import { dialInRoomSystem } from './room-system.js';

const peer = requirePeer('baresip', 'openssl', 'sipp', 'socat', '/usr/bin/chromium');

const GRACE_S = 6;
const SHUTDOWN_MESSAGE = 'The gateway is shutting down. Please join again in a moment.';

/** Resolves with the process's exit code, or rejects when it has not exited within `ms`. */
function exitWithin(gateway: GatewayProcess, ms: number): Promise<number | null> {
  return Promise.race([
    gateway.exited,
    sleep(ms, undefined, { ref: false }).then(() => Promise.reject(new Error(`the gateway did not exit within ${ms} ms`))),
  ]);
}

/** One OPTIONS out of dialog over TLS, as a load balancer probes; resolves with the response's head. */
function probeWithOptions(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const { port: local } = socket.address() as { port: number };
      socket.write(
        [
          `OPTIONS sip:127.0.0.1:${port};transport=tls SIP/2.0`,
          `Via: SIP/2.0/TLS 127.0.0.1:${local};branch=z9hG4bK-drain-probe;rport`,
          'From: <sip:probe@127.0.0.1>;tag=probe',
          `To: <sip:127.0.0.1:${port}>`,
          'Call-ID: drain-probe@127.0.0.1',
          'CSeq: 1 OPTIONS',
          'Max-Forwards: 70',
          'Content-Length: 0',
          '',
          '',
        ].join('\r\n'),
      );
    });
    let received = '';
    socket.setTimeout(5000, () => socket.destroy(new Error('no answer to OPTIONS within 5 s')));
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.end();
      resolve(received.slice(0, end));
    });
    socket.on('error', reject);
  });
}

function header(head: string, name: string): string | undefined {
  const line = head.split('\r\n').find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line?.slice(name.length + 1).trim();
}

/** The head of the first SIP response with `status` in sipp's `-trace_msg` file. */
function receivedResponse(result: SippResult, status: number): string | undefined {
  const log = readFileSync(join(result.dir, 'messages.log'), 'utf8');
  const start = log.indexOf(`SIP/2.0 ${status} `);
  if (start < 0) return undefined;
  return log.slice(start).replace(/\r/g, '').split('\n\n')[0]!.replace(/\n/g, '\r\n');
}

describe.skipIf(peer.skip)('graceful drain on SIGTERM', () => {
  let certDir: string;
  /** One gateway process per test, since each test ends its process; started together to save time. */
  let gateways: GatewayProcess[] = [];
  let gateway: GatewayProcess | undefined;
  let hop: TlsHop | undefined;
  let room: Baresip | undefined;
  let chromium: ChromiumBrowser | undefined;
  let sippResults: SippResult[] = [];

  beforeAll(async () => {
    certDir = mkdtempSync(join(tmpdir(), 'sipgw-drain-cert-'));
    const certsDir = join(certDir, 'gateway');
    await ensureDevCertificates(certsDir, ['127.0.0.1']);
    const graces = [GRACE_S, 30, 30, 30];
    const started = await Promise.allSettled(
      graces.map((graceS) => startGatewayProcess({ certsDir, env: { SIPGW_SHUTDOWN_GRACE_S: String(graceS) } })),
    );
    gateways = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    const failure = started.find((result) => result.status === 'rejected');
    if (failure) throw failure.reason;
  });

  afterEach(async (context) => {
    const failed = context.task.result?.state === 'fail';
    if (failed && gateway) console.warn(`gateway output:\n${gateway.output()}`);
    await room?.stop({ keepLogs: failed });
    await chromium?.close();
    await hop?.stop({ keepLogs: failed });
    await gateway?.stop();
    removeSippDirs(sippResults, { keepLogs: failed });
    room = undefined;
    chromium = undefined;
    hop = undefined;
    gateway = undefined;
    sippResults = [];
  });

  afterAll(async () => {
    for (const gw of gateways) await gw.stop();
    rmSync(certDir, { recursive: true, force: true });
  });

  /** A room system in an echo call over SIP-TLS with SDES-SRTP, once media flows both ways. */
  async function roomSystemInCall(gw: GatewayProcess): Promise<Baresip> {
    room = await dialInRoomSystem(gw, certDir, 'echo');
    await waitFor(async () => ((await gw.metric('sipgw_rtp_packets_total', { direction: 'out', origin: 'sip' })) > 25 ? true : undefined), {
      timeoutMs: 5000,
      what: 'echoed RTP to the room system',
    });
    return room;
  }

  const rtpPackets = (gw: GatewayProcess): Promise<number> => gw.metric('sipgw_rtp_packets_total', { origin: 'sip' });

  it('refuses new calls with 503 and Retry-After while the call in progress goes on, then ends it with BYE at the grace period and exits 0', async () => {
    const gw = (gateway = gateways[0]!);
    const hopPort = findFreePortBlock(1);
    hop = await startSocatTlsHop({ listenTcpPort: hopPort, targetTlsPort: gw.ports.sip.tls, caFile: gw.caFile });
    const rb = await roomSystemInCall(gw);
    const url = `http://127.0.0.1:${gw.ports.http}/`;
    chromium = await launchChromium();
    const alice = await chromium.join(url, 'demo', 'Alice');
    expect(await gw.metric('sipgw_draining')).toBe(0);

    const signalledAt = Date.now();
    gw.signal('SIGTERM');
    const readyz = await waitFor(
      async () => {
        const res = await fetch(`http://127.0.0.1:${gw.ports.http}/readyz`);
        return res.status === 503 ? res.json() : undefined;
      },
      { timeoutMs: 2000, what: '/readyz to answer 503' },
    );
    expect(readyz).toEqual({ ready: false, draining: true, sip: gw.ports.sip, http: gw.ports.http });
    expect(await gw.metric('sipgw_draining')).toBe(1);

    // A new room system's INVITE, through the TLS hop.
    const base = findFreePortBlock(6);
    const sentAfterS = (Date.now() - signalledAt) / 1000;
    const refused = await runSipp({
      scenario: 'uac-invite-expect',
      target: `127.0.0.1:${hopPort}`,
      transport: 't1',
      localPort: base,
      controlPort: base + 1,
      mediaPort: base + 2,
      service: 'echo',
      calls: 1,
      timeoutS: 10,
      vars: { expected_status: '503' },
    });
    sippResults.push(refused);
    expect(refused, refused.stdout).toMatchObject({ exitCode: 0, successful: 1, failed: 0 });
    const answeredAfterS = (Date.now() - signalledAt) / 1000;
    // The seconds until this instance is gone, rounded up (the drain starts a moment after the signal).
    const retryAfter = Number(header(receivedResponse(refused, 503) ?? '', 'Retry-After'));
    expect(retryAfter).toBeGreaterThanOrEqual(Math.max(1, Math.floor(GRACE_S - answeredAfterS)));
    expect(retryAfter).toBeLessThanOrEqual(Math.ceil(GRACE_S - sentAfterS) + 1);
    expect(await gw.metric('sipgw_calls_total', { origin: 'sip', outcome: 'draining' })).toBe(1);

    const probe = await probeWithOptions(gw.ports.sip.tls);
    expect(probe.split('\r\n')[0]).toBe('SIP/2.0 503 Service Unavailable');
    expect(Number(header(probe, 'Retry-After'))).toBeGreaterThanOrEqual(1);

    expect(await chromium.joinRefused(url, 'demo', 'Bob')).toBe(SHUTDOWN_MESSAGE);
    expect(await gw.metric('sipgw_calls_total', { origin: 'webrtc', outcome: 'draining' })).toBe(1);

    // The call in progress keeps its media during the grace period.
    const packetsBefore = await rtpPackets(gw);
    await sleep(1000);
    expect((await rtpPackets(gw)) - packetsBefore, 'RTP packets in and out in one second of the drain').toBeGreaterThan(50);
    expect(await gw.metric('sipgw_legs_active', { origin: 'sip' })).toBe(1);
    expect(await gw.metric('sipgw_legs_active', { origin: 'webrtc' })).toBe(1);
    expect(rb.events.some((event) => event.type === 'CALL_CLOSED'), 'the call is still up').toBe(false);
    expect(await alice.page.isHidden('#error'), 'the browser has been told nothing yet').toBe(true);

    await rb.waitForEvent('CALL_CLOSED', (GRACE_S + 5) * 1000);
    const byeAfterMs = Date.now() - signalledAt;
    expect(byeAfterMs).toBeGreaterThanOrEqual((GRACE_S - 1) * 1000);
    expect(byeAfterMs).toBeLessThanOrEqual((GRACE_S + 2) * 1000);
    // The browser is told then too.
    const shown = await alice.page.waitForFunction(() => {
      const error = document.querySelector<HTMLElement>('#error');
      return error && !error.hidden ? error.textContent : undefined;
    });
    expect(await shown.jsonValue()).toBe(SHUTDOWN_MESSAGE);
    expect(await exitWithin(gw, 3000)).toBe(0);

    const audit = gw
      .output()
      .split('\n')
      .filter((line) => line.includes('"audit":true'))
      .map((line) => JSON.parse(line) as { event: string; origin: string; outcome: string; status?: number });
    expect(audit).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ event: 'call-refused', outcome: 'draining', status: 503 }),
        expect.objectContaining({ event: 'call-refused', origin: 'webrtc', outcome: 'draining' }),
        expect.objectContaining({ event: 'leg-ended', origin: 'sip', outcome: 'shutdown' }),
        expect.objectContaining({ event: 'leg-ended', origin: 'webrtc', outcome: 'shutdown' }),
      ]),
    );
  });

  it('exits 0 at once on SIGTERM when no call is up', async () => {
    const gw = (gateway = gateways[1]!);
    gw.signal('SIGTERM');
    expect(await exitWithin(gw, 2000)).toBe(0);
  });

  it('exits 0 as soon as the last call hangs up during the drain', async () => {
    const gw = (gateway = gateways[2]!);
    const rb = await roomSystemInCall(gw);
    gw.signal('SIGTERM');
    await waitFor(async () => ((await gw.metric('sipgw_draining')) === 1 ? true : undefined), { timeoutMs: 2000, what: 'the drain to start' });
    await rb.hangup();
    expect(await exitWithin(gw, 2000)).toBe(0);
  });

  it('ends the call and exits 0 at once on a second SIGTERM during the drain', async () => {
    const gw = (gateway = gateways[3]!);
    const rb = await roomSystemInCall(gw);
    gw.signal('SIGTERM');
    await waitFor(async () => ((await gw.metric('sipgw_draining')) === 1 ? true : undefined), { timeoutMs: 2000, what: 'the drain to start' });
    gw.signal('SIGTERM');
    await rb.waitForEvent('CALL_CLOSED', 2000);
    expect(await exitWithin(gw, 2000)).toBe(0);
  });
});
