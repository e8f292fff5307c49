import { setTimeout as sleep } from 'node:timers/promises';
import { cleanup } from 'node-datachannel';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeBrowser } from '../bench/load/fake-browser.js';
import { until } from '../support/until.js';
import { startGatewayProcess, type GatewayProcess } from './gateway-process.js';

// The WebRTC peer here is libdatachannel itself (node-datachannel on the client side), so the
// answer can be forged in ways no browser would allow.
describe('DTLS certificate of a WebRTC participant', () => {
  let gateway: GatewayProcess;
  const browsers: FakeBrowser[] = [];

  beforeAll(async () => {
    gateway = await startGatewayProcess();
  });

  afterAll(async () => {
    for (const browser of browsers) browser.close();
    cleanup();
    await gateway?.stop();
  });

  function join(name: string, problems: string[], rewriteAnswer?: (sdp: string) => string): FakeBrowser {
    const browser = new FakeBrowser({
      url: `ws://127.0.0.1:${gateway.ports.http}/ws`,
      meetingId: 'demo',
      name,
      senderOf: () => undefined,
      onProblem: (problem) => problems.push(problem),
      rewriteAnswer,
    });
    browsers.push(browser);
    return browser;
  }

  it('drops a participant whose DTLS certificate is not the one its answer names', async () => {
    const honestProblems: string[] = [];
    const honest = join('Honest', honestProblems);
    await honest.joined;
    const forgedProblems: string[] = [];
    // Another certificate's fingerprint: what a machine in the middle of the signalling would put there.
    const forged = join('Forged', forgedProblems, (sdp) => sdp.replace(/^(a=fingerprint:sha-256 )(\S+)$/m, (_line, prefix: string) => prefix + Array(32).fill('AB').join(':')));
    await forged.joined;
    await until(async () => forged.failed, (failed) => failed);
    expect(forgedProblems.join('; ')).toMatch(/signalling closed 1011 media connection failed/);

    // The honest participant stays, alone, and nothing of the forger's reached it.
    await sleep(500);
    expect(honest.failed, honestProblems.join('; ')).toBe(false);
    expect(await gateway.metric('sipgw_meeting_participants', { origin: 'webrtc' })).toBe(1);
  });
});
