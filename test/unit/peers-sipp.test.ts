import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { requirePeer } from '../peers/availability.js';
import { startBaresip, type Baresip } from '../peers/baresip.js';
import { findFreePortBlock } from '../peers/process.js';
import { parseSippMessageCounts, parseSippStats, removeSippDirs, runSipp, startSipp, type SippProcess, type SippResult } from '../peers/sipp.js';
import { trunkScenarioXml, writeG711File, writeTrunkScenario, type TrunkScenarioOptions } from '../peers/sipp-trunk.js';
import { chirpClip, findClip, readWav } from '../peers/wav.js';

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
    removeSippDirs(results, { keepLogs: failed });
    results = [];
  });

  function ports(): { uas: number; uac: number } {
    const base = findFreePortBlock(12);
    return { uas: base, uac: base + 6 };
  }

  async function startUas(scenario: string, port: number, extraArgs: string[] = []): Promise<SippProcess> {
    uas = startSipp({ scenario, transport: 'u1', localPort: port, controlPort: port + 1, mediaPort: port + 2, calls: 1, timeoutS: 20, extraArgs });
    await uas.ready();
    return uas;
  }

  async function runUac(
    scenario: string,
    uasPort: number,
    port: number,
    extra: { pauseMs?: number; vars?: Record<string, string>; service?: string; authUri?: string } = {},
  ): Promise<SippResult> {
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

/** The digits of the INFO requests (application/dtmf-relay) a sipp UAS received, from its messages.log, in order. */
function infoDigits(messagesLog: string): string {
  const seen = new Set<string>();
  let digits = '';
  for (const block of messagesLog.split(/^-{20,}.*$/m)) {
    if (!/message received/.test(block) || !/^INFO /m.test(block)) continue;
    const cseq = /^CSeq:\s*(\d+)/m.exec(block)?.[1];
    const signal = /^Signal=\s*(\S)/m.exec(block)?.[1];
    if (cseq === undefined || signal === undefined || seen.has(cseq)) continue; // a retransmission
    seen.add(cseq);
    digits += signal;
  }
  return digits;
}

describe('sipp-trunk scenario generator', () => {
  it('sends one INFO per digit, with the pauses asked for', () => {
    const xml = trunkScenarioXml({ steps: [{ digits: '12#', gapMs: 300 }, { pauseMs: 2000 }, { digits: '*9' }] });
    expect(xml.match(/^ {6}INFO \[next_url\]/gm)).toHaveLength(5);
    expect([...xml.matchAll(/^ {6}Signal=(.)$/gm)].map((match) => match[1]).join('')).toBe('12#*9');
    expect([...xml.matchAll(/<pause milliseconds="(\d+)"\/>/g)].map((match) => Number(match[1]))).toEqual([300, 300, 2000, 250]);
    expect(xml).toContain('m=audio [media_port] RTP/AVP 0 8 101');
    expect(xml).toMatch(/<send retrans="500">\s*<!\[CDATA\[\s*BYE /);
  });

  it('rejects what sipp could not run or would misread', () => {
    expect(() => trunkScenarioXml({ steps: [{ digits: '12x' }] })).toThrow(/DTMF/);
    expect(() => trunkScenarioXml({ steps: [{ digits: '1' }, { pauseMs: 500 }], hangup: 'await-bye' })).toThrow(/pause/);
    expect(() => trunkScenarioXml({ auth: { username: 'trunk', password: 'a b]', expect: 'accepted' } })).toThrow(/token/);
    expect(() => trunkScenarioXml({ audio: { file: '/tmp/a,b.pcmu', law: 'pcmu' } })).toThrow(/comma/);
    expect(() => trunkScenarioXml({ codecs: ['pcma'], audio: { file: '/tmp/a.pcmu', law: 'pcmu' } })).toThrow(/not offered/);
  });
});

describe.skipIf(sipp.skip)('sipp as a trunk caller (sipp-trunk.ts) against sipp callees (UDP, 127.0.0.1)', () => {
  let uas: SippProcess | undefined;
  let results: SippResult[] = [];
  let dirs: string[] = [];

  afterEach(async (context) => {
    const failed = context.task.result?.state === 'fail';
    if (uas) results.push(await uas.stop());
    uas = undefined;
    removeSippDirs(results, { keepLogs: failed });
    results = [];
    if (!failed) for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    dirs = [];
  });

  async function call(
    uasScenario: string,
    options: TrunkScenarioOptions,
    { uasArgs = [], sourceAddress }: { uasArgs?: string[]; sourceAddress?: string } = {},
  ): Promise<{ caller: SippResult; callee: SippResult }> {
    const dir = mkdtempSync(join(tmpdir(), 'sipgw-trunk-'));
    dirs.push(dir);
    const base = findFreePortBlock(12);
    uas = startSipp({ scenario: uasScenario, transport: 'u1', localPort: base, controlPort: base + 1, mediaPort: base + 2, calls: 1, timeoutS: 20, extraArgs: uasArgs });
    await uas.ready();
    const caller = await runSipp({
      scenario: writeTrunkScenario(dir, options),
      target: `127.0.0.1:${base}`,
      service: 'ivr',
      authUri: `sip:ivr@127.0.0.1:${base}`,
      sourceAddress,
      transport: 'u1',
      localPort: base + 6,
      controlPort: base + 7,
      mediaPort: base + 8,
      calls: 1,
      timeoutS: 15,
    });
    results.push(caller);
    const callee = await uas.stop();
    uas = undefined;
    results.push(callee);
    return { caller, callee };
  }

  it('types the digits as one INFO each (application/dtmf-relay, answered 200), in order, then hangs up', async () => {
    const { caller, callee } = await call('uas-trunk-answer', { steps: [{ digits: '4711#' }, { pauseMs: 300 }, { digits: '*0' }] }, { sourceAddress: '127.0.0.2' });
    expect(caller).toMatchObject({ exitCode: 0, successful: 1, failed: 0 });
    expect(callee).toMatchObject({ successful: 1, failed: 0 });
    expect(infoDigits(readFileSync(join(callee.dir, 'messages.log'), 'utf8'))).toBe('4711#*0');
    const log = readFileSync(join(callee.dir, 'messages.log'), 'utf8');
    expect(log).toContain('Content-Type: application/dtmf-relay');
    expect(log).toMatch(/\r\n\r\nSignal=4\r\nDuration=160\r\n/);
    // From the -i address, signalling and media alike (a trunk's configured source address).
    expect(log).toMatch(/^Via: SIP\/2\.0\/UDP 127\.0\.0\.2:\d+;/m);
    expect(log).toMatch(/^c=IN IP4 127\.0\.0\.2\r?$/m);
  });

  it("waits for the callee's BYE and answers it (hangup: 'await-bye')", async () => {
    const { caller, callee } = await call('uas-trunk-hangup', { steps: [{ digits: '12' }], hangup: 'await-bye', awaitByeMs: 5000 });
    expect(caller).toMatchObject({ exitCode: 0, successful: 1 });
    expect(callee).toMatchObject({ successful: 1 });
    expect(caller.messageCounts.find((count) => count.label === 'BYE')?.direction).toBe('recv');
  });

  it('fails the call when the awaited BYE does not come', async () => {
    const { caller } = await call('uas-trunk-answer', { hangup: 'await-bye', awaitByeMs: 1000 });
    expect(caller).toMatchObject({ exitCode: 1, failed: 1 });
  });

  it('answers a digest challenge: the right password gets 200 (uas-trunk-digest checks it with verifyauth)', async () => {
    const { caller, callee } = await call('uas-trunk-digest', { auth: { username: 'trunk', password: 's3cret', expect: 'accepted' }, steps: [{ digits: '1' }] });
    expect(caller).toMatchObject({ exitCode: 0, successful: 1 });
    expect(callee).toMatchObject({ successful: 1 });
    const log = readFileSync(join(caller.dir, 'messages.log'), 'utf8');
    expect(log).toMatch(/^Authorization: Digest username="trunk",realm="sipgw",.*uri="sip:ivr@127\.0\.0\.1:\d+"/m);
    expect(log).toMatch(/^CSeq: 2 INVITE/m);
  });

  it("a wrong password passes only when the scenario expects the rejection (expect: 'rejected')", async () => {
    const rejected = await call('uas-trunk-digest', { auth: { username: 'trunk', password: 'wrong', expect: 'rejected' } });
    expect(rejected.caller).toMatchObject({ exitCode: 0, successful: 1 });
    expect(rejected.callee).toMatchObject({ successful: 1 }); // it got the ACK of its 403
    const hoped = await call('uas-trunk-digest', { auth: { username: 'trunk', password: 'wrong', expect: 'accepted' } });
    expect(hoped.caller).toMatchObject({ exitCode: 1, failed: 1 });
  });

  it('refusedWith passes on exactly that status', async () => {
    expect((await call('uas-488', { refusedWith: 488 })).caller).toMatchObject({ exitCode: 0, successful: 1 });
    expect((await call('uas-488', { refusedWith: 403 })).caller).toMatchObject({ exitCode: 1, failed: 1 });
  });
});

const sippAndBaresip = requirePeer('sipp', 'baresip');

describe.skipIf(sippAndBaresip.skip)('sipp as a trunk caller against baresip (UDP, plain RTP)', () => {
  let callee: Baresip | undefined;
  let result: SippResult | undefined;
  let dir = '';

  afterEach(async (context) => {
    const failed = context.task.result?.state === 'fail';
    await callee?.stop({ keepLogs: failed });
    callee = undefined;
    if (result) removeSippDirs([result], { keepLogs: failed });
    result = undefined;
    if (dir && !failed) rmSync(dir, { recursive: true, force: true });
    dir = '';
  });

  it('streams its audio file (found in what baresip decoded) and types INFO digits (baresip reports them)', async () => {
    dir = mkdtempSync(join(tmpdir(), 'sipgw-trunk-'));
    const base = findFreePortBlock(40);
    callee = await startBaresip({ name: 'callee', transport: 'udp', sipPort: base, ctrlPort: base + 2, rtpPorts: [base + 10, base + 39], answerMode: 'auto' });
    const clip = chirpClip(2, 8000, 11);
    result = await runSipp({
      scenario: writeTrunkScenario(dir, {
        audio: { file: writeG711File(join(dir, 'clip.pcmu'), clip, 'pcmu'), law: 'pcmu' },
        steps: [{ digits: '12#' }, { pauseMs: 4000 }],
      }),
      target: `127.0.0.1:${base}`,
      service: 'callee',
      transport: 'u1',
      localPort: base + 4,
      controlPort: base + 5,
      mediaPort: base + 6,
      calls: 1,
      timeoutS: 20,
    });
    expect(result).toMatchObject({ exitCode: 0, successful: 1 });
    await callee.waitForEvent('CALL_CLOSED', 5000);
    const digits = callee.events.filter((event) => event.type === 'CALL_DTMF_START').map((event) => event.param);
    expect(digits).toEqual(['1', '2', '#']);

    const [wavPath] = callee.decodedWavFiles();
    const heard = readWav(wavPath!);
    expect(heard.sampleRate).toBe(8000);
    expect(heard.samples.length / 8000).toBeGreaterThan(3.5);
    expect(findClip(heard.samples, clip, 8000).correlation).toBeGreaterThan(0.9);
    expect(findClip(heard.samples, chirpClip(2, 8000, 12), 8000).correlation).toBeLessThan(0.3);
  });
});
