import { afterEach, describe, expect, it } from 'vitest';
import { requirePeer } from '../peers/availability.js';
import { findFreePortBlock } from '../peers/process.js';
import { parseSippMessageCounts, parseSippStats, removeSippDir, runSipp, startSipp, type SippProcess, type SippResult } from '../peers/sipp.js';

describe('sipp output parsing', () => {
  it('reads the last row of a stats CSV', () => {
    const stats = parseSippStats('A;SuccessfulCall(C);FailedCall(C)\n1;0;0\n2;3;1\n');
    expect(stats['SuccessfulCall(C)']).toBe('3');
    expect(stats['FailedCall(C)']).toBe('1');
  });

  it('reads the per-message table of the scenario screen', () => {
    const screen = [
      '                                 Messages  Retrans   Timeout   Unexpected-Msg',
      '      INVITE ---------->         1         0         0                         ',
      '         100 <----------         0         0         0         0               ',
      '         200 <----------         1         2         0         0               ',
      '       Pause [   2000ms]         1                             0        ',
      '         ACK ---------->         1         0                                   ',
      '------- Waiting for active calls to end. Press [q] again to force exit. -------',
    ].join('\n');
    expect(parseSippMessageCounts(screen)).toEqual([
      { label: 'INVITE', direction: 'send', messages: 1, retrans: 0, timeout: 0, unexpected: 0 },
      { label: '100', direction: 'recv', messages: 0, retrans: 0, timeout: 0, unexpected: 0 },
      { label: '200', direction: 'recv', messages: 1, retrans: 2, timeout: 0, unexpected: 0 },
      { label: 'Pause [   2000ms]', direction: 'other', messages: 1, retrans: 0, timeout: 0, unexpected: 0 },
      { label: 'ACK', direction: 'send', messages: 1, retrans: 0, timeout: 0, unexpected: 0 },
    ]);
  });
});

const sipp = requirePeer('sipp');

describe.skipIf(sipp.skip)('sipp scenarios against sipp (UDP, 127.0.0.1)', () => {
  let uas: SippProcess | undefined;
  let results: SippResult[] = [];

  afterEach(async (context) => {
    const failed = context.task.result?.state === 'fail';
    if (uas) results.push(await uas.stop());
    uas = undefined;
    for (const result of results) {
      if (failed) console.warn(`sipp logs kept in ${result.dir}`);
      else removeSippDir(result);
    }
    results = [];
  });

  function ports(): { uas: number; uac: number } {
    const base = findFreePortBlock(12);
    return { uas: base, uac: base + 6 };
  }

  async function startUas(scenario: string, port: number): Promise<SippProcess> {
    uas = startSipp({ scenario, transport: 'u1', localPort: port, controlPort: port + 1, mediaPort: port + 2, calls: 1, timeoutS: 20 });
    await uas.ready();
    return uas;
  }

  async function runUac(scenario: string, uasPort: number, port: number, extra: { pauseMs?: number; vars?: Record<string, string> } = {}): Promise<SippResult> {
    const result = await runSipp({
      scenario,
      target: `127.0.0.1:${uasPort}`,
      transport: 'u1',
      localPort: port,
      controlPort: port + 1,
      mediaPort: port + 2,
      calls: 1,
      timeoutS: 15,
      ...extra,
    });
    results.push(result);
    return result;
  }

  it('uac-sdes completes a call: INVITE with SDES, 200 with SDES, ACK, BYE, 200', async () => {
    const p = ports();
    await startUas('uas-sdes', p.uas);
    const result = await runUac('uac-sdes', p.uas, p.uac, { pauseMs: 200 });
    expect(result).toMatchObject({ exitCode: 0, successful: 1, failed: 0 });
    expect(result.messageCounts.map((count) => count.label)).toContain('BYE');
  });

  it('uac-sdes fails a call whose answer has no SDES key (sipp\'s built-in uas answers RTP/AVP)', async () => {
    const p = ports();
    await startUas('uas', p.uas);
    const result = await runUac('uac-sdes', p.uas, p.uac, { pauseMs: 200 });
    expect(result).toMatchObject({ exitCode: 1, successful: 0, failed: 1 });
    expect(parseSippStats(result.statsCsv ?? '')['FailedRegexpDoesntMatch(C)']).toBe('1');
  });

  it('uac-sdes-noack sees the 200 retransmitted while it withholds the ACK', async () => {
    const p = ports();
    await startUas('uas-sdes', p.uas);
    const result = await runUac('uac-sdes-noack', p.uas, p.uac, { pauseMs: 100 });
    expect(result).toMatchObject({ exitCode: 0, successful: 1 });
    const firstOk = result.messageCounts.find((count) => count.label === '200' && count.direction === 'recv');
    expect(firstOk?.retrans).toBeGreaterThanOrEqual(1);
  });

  it('uac-options gets its 200', async () => {
    const p = ports();
    await startUas('uas-options', p.uas);
    expect(await runUac('uac-options', p.uas, p.uac)).toMatchObject({ exitCode: 0, successful: 1 });
  });

  it('uac-invite-expect passes on the expected refusal and fails on another', async () => {
    const p = ports();
    await startUas('uas-488', p.uas);
    expect(await runUac('uac-invite-expect', p.uas, p.uac, { vars: { expected_status: '488' } })).toMatchObject({ exitCode: 0, successful: 1 });
    results.push(await uas!.stop());
    await startUas('uas-488', p.uas);
    expect(await runUac('uac-invite-expect', p.uas, p.uac, { vars: { expected_status: '404' } })).toMatchObject({ exitCode: 1, failed: 1 });
  });
});
