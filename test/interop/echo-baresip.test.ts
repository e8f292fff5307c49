import { setTimeout as sleep } from 'node:timers/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { requirePeer } from '../peers/availability.js';
import { startBaresip, type Baresip } from '../peers/baresip.js';
import { makeSelfSignedCertificate } from '../peers/openssl-cert.js';
import { findFreePortBlock } from '../peers/process.js';
import { dominantToneCheck, readWav } from '../peers/wav.js';
import { startGatewayProcess, type GatewayProcess } from './gateway-process.js';

const peer = requirePeer('baresip', 'openssl');

describe.skipIf(peer.skip)('test-call service with baresip as the room system', () => {
  let gateway: GatewayProcess;
  let certDir: string;
  let certificate: string;
  let baresip: Baresip | undefined;

  beforeAll(async () => {
    gateway = await startGatewayProcess();
    certDir = mkdtempSync(join(tmpdir(), 'sipgw-baresip-cert-'));
    certificate = makeSelfSignedCertificate(certDir, 'room.example').combinedPath;
  });

  afterEach(async (context) => {
    await baresip?.stop({ keepLogs: context.task.result?.state === 'fail' });
    baresip = undefined;
  });

  afterAll(async () => {
    await gateway?.stop();
    rmSync(certDir, { recursive: true, force: true });
  });

  async function room(mediaenc: 'srtp-mand' | undefined): Promise<Baresip> {
    const base = findFreePortBlock(60);
    baresip = await startBaresip({
      name: 'room',
      sipPort: base,
      ctrlPort: base + 2,
      rtpPorts: [base + 10, base + 59],
      mediaenc,
      toneHz: 440,
      certificate,
      caFile: gateway.caFile,
    });
    return baresip;
  }

  const echoUri = (): string => `sip:echo@127.0.0.1:${gateway.ports.sip.tls};transport=tls`;

  it('answers an SRTP call over TLS and sends the caller its own 440 Hz tone back, re-encrypted', async () => {
    const authFailuresBefore = await gateway.metric('sipgw_srtp_auth_failures_total');
    const answeredBefore = await gateway.metric('sipgw_calls_total', { origin: 'sip', outcome: 'answered' });
    const rb = await room('srtp-mand');
    await rb.dial(echoUri());
    await rb.waitForEvent('CALL_ESTABLISHED', 15_000);
    const menc = await rb.waitForEvent('CALL_MENC', 5_000);
    expect(menc.param).toContain('AES_CM_128_HMAC_SHA1_80');
    expect(await gateway.metric('sipgw_legs_active', { origin: 'sip', media: 'sdes-srtp' })).toBe(1);

    await sleep(4_000);
    await rb.hangup();
    await rb.waitForEvent('CALL_CLOSED', 10_000);

    const [wavFile] = rb.decodedWavFiles();
    expect(wavFile, 'baresip wrote the audio it decoded from the gateway').toBeDefined();
    const wav = readWav(wavFile!);
    const tone = dominantToneCheck(wav.samples, wav.sampleRate, 440);
    expect(tone.longestRunSeconds).toBeGreaterThanOrEqual(2);

    expect(await gateway.metric('sipgw_srtp_auth_failures_total')).toBe(authFailuresBefore);
    expect(await gateway.metric('sipgw_calls_total', { origin: 'sip', outcome: 'answered' })).toBe(answeredBefore + 1);
    expect(await gateway.metric('sipgw_rtp_packets_total', { direction: 'in', origin: 'sip' })).toBeGreaterThan(100);
    expect(await gateway.metric('sipgw_legs_active', { origin: 'sip', media: 'sdes-srtp' })).toBe(0);
  });

  it('refuses a plain RTP offer over TLS with 488 and says SRTP is required', async () => {
    const refusedBefore = await gateway.metric('sipgw_calls_total', { origin: 'sip', outcome: 'rejected_no_srtp' });
    const rb = await room(undefined);
    await rb.dial(echoUri());
    const closed = await rb.waitForEvent('CALL_CLOSED', 15_000);
    expect(closed.param).toMatch(/^488 /);
    expect(await gateway.metric('sipgw_calls_total', { origin: 'sip', outcome: 'rejected_no_srtp' })).toBe(refusedBefore + 1);
    expect(await gateway.metric('sipgw_legs_active')).toBe(0);
  });
});
