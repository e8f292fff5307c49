import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayProcess, type GatewayProcess } from '../interop/gateway-process.js';
import { requirePeer } from '../peers/availability.js';
import { launchChromium, writeToneWav, type BrowserParticipant, type ChromiumBrowser } from '../peers/chromium.js';
import { findFreePortBlock } from '../peers/process.js';
import { removeSippDirs, runSipp, startSipp, type SippOptions, type SippResult } from '../peers/sipp.js';
import { writeG711File, writeTrunkScenario, type TrunkScenarioOptions } from '../peers/sipp-trunk.js';
import { startBaresip, type Baresip } from '../peers/baresip.js';
import { dominantToneCheck, findClip, readWav, sine } from '../peers/wav.js';
import { loadPrompts, type PromptName } from '../../gateway/prompts/index.js';
import { until } from '../support/until.js';
import { dialInRoomSystem } from './room-system.js';

const peer = requirePeer('sipp', 'baresip', 'openssl', '/usr/bin/chromium');

// The digits callers type; none of them may ever show up in a log line or an audit record.
const PIN = '730915';
const WRONG_PINS = ['861204', '552097', '994613'];
const BOARD_DIAL_IN = '4842917';
const SECURE_DIAL_IN = '5309388';
const IVR_NUMBER = '+1 555 0100';
const SECURE_NUMBER = '15550199';
const TRUNK_ADDRESS = '127.0.0.1';
const STRANGER_ADDRESS = '127.0.0.2';
const DIGEST_TRUNK_ADDRESS = '127.0.0.3';
const DIGEST = { username: 'carrier-b', password: 'trunk-secret-7f3e' };
// sipp 3.6 answers only the first challenge, and only MD5.
const DIGEST_CONFIG = { ...DIGEST, algorithm: 'MD5' };
const CALLER_TONE_HZ = 1000;
// A browser's tone in the meeting, apart from the probe frequencies of dominantToneCheck and the join notice's.
const MEETING_TONE_HZ = 1200;
// Calls in a row: a room system deaf after its PIN in half of the calls fails at least one of four 15 times in 16.
const ROOM_CALLS = 4;

const NOTICE = 'Carol joined by phone — this leg is not encrypted';

interface AuditLine {
  event: string;
  origin: string;
  meeting?: string;
  outcome: string;
  status?: number;
  trunk?: string;
  durationS?: number;
  label?: { media: string; encrypted: boolean; description: string };
}

describe.skipIf(peer.skip)('phone callers through a carrier trunk (sipp over UDP, plain RTP, G.711)', () => {
  let gateway: GatewayProcess;
  let dir: string;
  let auditFile: string;
  let chromium: ChromiumBrowser;
  let alice: BrowserParticipant;
  let url: string;
  let base: number;
  let toneFile: string;
  let sippResults: SippResult[] = [];
  const phones: Baresip[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sipgw-dial-in-'));
    auditFile = join(dir, 'audit.log');
    base = findFreePortBlock(40);
    toneFile = writeG711File(join(dir, 'tone.pcmu'), sine(CALLER_TONE_HZ, 2, 8000, 0.4), 'pcmu');
    gateway = await startGatewayProcess({
      config: {
        trunks: [
          { name: 'carrier', sources: [`${TRUNK_ADDRESS}/32`], transport: 'udp', dids: { [IVR_NUMBER]: 'ivr', [SECURE_NUMBER]: { meeting: 'secure' } } },
          { name: 'carrier-b', sources: [`${DIGEST_TRUNK_ADDRESS}/32`], transport: 'udp', digest: DIGEST_CONFIG, dids: { [IVR_NUMBER]: 'ivr' } },
        ],
        meetings: [
          { id: 'board', name: 'Board', pin: PIN, dialInId: BOARD_DIAL_IN, policy: 'warn' },
          { id: 'secure', name: 'Secure', dialInId: SECURE_DIAL_IN, policy: 'require' },
        ],
        audit: { file: auditFile },
      },
    });
    url = `http://127.0.0.1:${gateway.ports.http}/`;
    chromium = await launchChromium();
    alice = await chromium.join(url, 'board', 'Alice', { pin: PIN });
  });

  afterEach((context) => {
    const failed = context.task.result?.state === 'fail';
    removeSippDirs(sippResults, { keepLogs: failed });
    sippResults = [];
  });

  afterAll(async () => {
    for (const phone of phones) await phone.stop();
    await chromium?.close();
    await gateway?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** sipp as the carrier, calling `number` over UDP from `from` with a scenario made for this call. */
  function trunkCall(name: string, number: string, scenario: TrunkScenarioOptions, from = TRUNK_ADDRESS, extra: Partial<SippOptions> = {}): SippOptions {
    const at = base + 4 * sippResults.length + 4 * Math.floor(Math.random() * 8);
    return {
      scenario: writeTrunkScenario(dir, scenario, name),
      target: `127.0.0.1:${gateway.ports.sip.udp}`,
      transport: 'u1',
      sourceAddress: from,
      localPort: at,
      controlPort: at + 1,
      mediaPort: at + 2,
      calls: 1,
      service: number.replace(/ /g, ''),
      timeoutS: 90,
      ...extra,
    };
  }

  /** baresip as a phone behind the carrier: UDP from the trunk's address, plain RTP, PCMU, RFC 4733 digits. */
  async function dialPhone(name: string, number: string): Promise<Baresip> {
    const ports = findFreePortBlock(30);
    const phone = await startBaresip({ name, transport: 'udp', sipPort: ports, ctrlPort: ports + 2, rtpPorts: [ports + 10, ports + 29], toneHz: 440 });
    phones.push(phone);
    await phone.dial(`sip:${number.replace(/ /g, '')}@127.0.0.1:${gateway.ports.sip.udp}`);
    await phone.waitForEvent('CALL_ESTABLISHED', 15_000);
    return phone;
  }

  /** How well a prompt matches what the phone heard (its decoded audio, written by baresip when the call ended). */
  function heard(phone: Baresip, prompt: PromptName): number {
    const [file] = phone.decodedWavFiles();
    if (!file) throw new Error('baresip wrote no decoded audio');
    return findClip(readWav(file).samples, loadPrompts().get(prompt), 8000).correlation;
  }

  function auditLines(): AuditLine[] {
    if (!existsSync(auditFile)) return [];
    return readFileSync(auditFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as AuditLine);
  }

  it('joins a caller who types meeting ID and PIN as SIP INFO, flags the leg everywhere, and clears the flag when it leaves', async () => {
    const caller = startSipp(
      trunkCall('info-dtmf', IVR_NUMBER, {
        caller: 'Carol',
        audio: { file: toneFile, law: 'pcmu' },
        steps: [{ pauseMs: 500 }, { digits: `${BOARD_DIAL_IN}#` }, { pauseMs: 300 }, { digits: `${PIN}#` }, { pauseMs: 14_000 }],
      }),
    );

    const rows = await until(() => alice.roster(), (r) => r.some((row) => row.origin === 'pstn'), 20_000);
    const phone = rows.find((row) => row.origin === 'pstn');
    expect(phone).toMatchObject({ name: 'Carol', description: 'Phone · not encrypted', encrypted: false });
    expect(await alice.bannerVisible()).toBe(true);
    const notices = await alice.notices();
    expect(notices).toContainEqual({ event: 'joined', text: NOTICE, unencrypted: true });
    expect(await gateway.metric('sipgw_legs_active', { origin: 'pstn', media: 'none' })).toBe(1);
    expect(await gateway.metric('sipgw_meetings_with_unencrypted_legs')).toBe(1);
    expect(await gateway.metric('sipgw_dtmf_digits_total', { method: 'info' })).toBe(BOARD_DIAL_IN.length + PIN.length + 2);

    const heard = await until(() => alice.dominantFrequency(phone!.id, 1_000), (tone) => Math.abs(tone.hz - CALLER_TONE_HZ) < 30, 10_000);
    expect(Math.abs(heard.hz - CALLER_TONE_HZ)).toBeLessThan(30);

    const call = await caller.result;
    sippResults.push(call);
    expect(call, call.stdout).toMatchObject({ successful: 1, failed: 0 });
    expect(await until(() => alice.bannerVisible(), (visible) => !visible)).toBe(false);
    expect((await alice.roster()).some((row) => row.origin === 'pstn')).toBe(false);
    expect(await gateway.metric('sipgw_meetings_with_unencrypted_legs')).toBe(0);
    const record = await until(async () => auditLines().find((line) => line.origin === 'pstn' && line.event === 'leg-ended'), Boolean);
    expect(record).toMatchObject({ meeting: 'board', trunk: 'carrier', outcome: 'remote-hangup', label: { media: 'none', encrypted: false, description: 'Phone · not encrypted' } });
  });

  it("refuses the same call from outside the trunk's addresses with 403 before any IVR", async () => {
    const answeredBefore = await gateway.metric('sipgw_calls_total', { outcome: 'answered' });
    const call = await runSipp(trunkCall('stranger', IVR_NUMBER, { refusedWith: 403 }, STRANGER_ADDRESS));
    sippResults.push(call);
    expect(call, call.stdout).toMatchObject({ exitCode: 0, successful: 1, failed: 0 });
    expect(await gateway.metric('sipgw_calls_total', { outcome: 'answered' })).toBe(answeredBefore);
    expect(await gateway.metric('sipgw_calls_total', { origin: 'sip', outcome: 'forbidden' })).toBe(1);
    expect(auditLines()).toContainEqual(expect.objectContaining({ event: 'call-refused', outcome: 'forbidden', status: 403, remoteAddress: STRANGER_ADDRESS }));
  });

  it('refuses a phone caller in a meeting that requires encryption after telling it why, and admits a room system with SRTP', async () => {
    const call = await runSipp(trunkCall('require', SECURE_NUMBER, { caller: 'Dave', audio: { file: toneFile, law: 'pcmu' }, hangup: 'await-bye', awaitByeMs: 20_000 }));
    sippResults.push(call);
    expect(call, call.stdout).toMatchObject({ successful: 1, failed: 0 });
    expect(await gateway.metric('sipgw_policy_refusals_total', { origin: 'pstn' })).toBe(1);
    const refusal = await until(async () => auditLines().find((line) => line.outcome === 'policy-refused'), Boolean);
    expect(refusal).toMatchObject({ event: 'leg-ended', origin: 'pstn', meeting: 'secure', label: { media: 'none', encrypted: false } });
    // The spoken refusal lasts 6.3 s: the BYE came after it.
    expect(refusal!.durationS).toBeGreaterThanOrEqual(6);

    const room = await dialInRoomSystem(gateway, dir, 'secure');
    try {
      expect(await until(() => gateway.metric('sipgw_meeting_participants', { origin: 'sip' }), (n) => n === 1)).toBe(1);
      expect(await gateway.metric('sipgw_policy_refusals_total', { origin: 'sip' })).toBe(0);
    } finally {
      await room.stop();
    }
  });

  it('challenges a digest trunk: a wrong password gets 403, the right one gets through', async () => {
    const authUri = `sip:${IVR_NUMBER.replace(/ /g, '')}@127.0.0.1:${gateway.ports.sip.udp}`;
    const wrong = await runSipp(
      trunkCall('digest-wrong', IVR_NUMBER, { auth: { ...DIGEST, password: 'not-the-secret', expect: 'rejected' } }, DIGEST_TRUNK_ADDRESS, { authUri }),
    );
    sippResults.push(wrong);
    expect(wrong, wrong.stdout).toMatchObject({ successful: 1, failed: 0 });
    expect(wrong.messageCounts.filter((c) => c.direction === 'recv').map((c) => c.label)).toEqual(expect.arrayContaining(['401', '403']));

    const right = await runSipp(
      trunkCall('digest-right', IVR_NUMBER, { auth: { ...DIGEST, expect: 'accepted' }, steps: [{ pauseMs: 500 }] }, DIGEST_TRUNK_ADDRESS, { authUri }),
    );
    sippResults.push(right);
    expect(right, right.stdout).toMatchObject({ successful: 1, failed: 0 });
    expect(await gateway.metric('sipgw_calls_total', { origin: 'pstn', outcome: 'challenged' })).toBe(2);
    expect(gateway.output()).not.toContain(DIGEST.password);
  });

  it('joins a phone that types meeting ID and PIN as RFC 4733 events after the welcome prompt; the browser hears it, it hears the announcement', async () => {
    // A quiet browser, so what the phone hears is the gateway's own audio.
    await alice.page.click('#mute-audio');
    const phone = await dialPhone('Carol', IVR_NUMBER);
    await new Promise((resolve) => setTimeout(resolve, 5_500));
    await phone.sendDigits(`${BOARD_DIAL_IN}#`);
    await phone.sendDigits(`${PIN}#`);

    const rows = await until(() => alice.roster(), (r) => r.some((row) => row.origin === 'pstn'), 20_000);
    const row = rows.find((r) => r.origin === 'pstn');
    expect(row).toMatchObject({ name: 'Carol', description: 'Phone · not encrypted', encrypted: false });
    expect(await alice.bannerVisible()).toBe(true);
    expect(await alice.notices()).toContainEqual({ event: 'joined', text: NOTICE, unencrypted: true });
    expect(await gateway.metric('sipgw_dtmf_digits_total', { method: 'rfc4733' })).toBe(BOARD_DIAL_IN.length + PIN.length + 2);
    const tone = await until(() => alice.dominantFrequency(row!.id, 1_000), (t) => Math.abs(t.hz - 440) < 30, 10_000);
    expect(Math.abs(tone.hz - 440)).toBeLessThan(30);

    // Long enough for the whole announcement to reach the phone.
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    await phone.hangup();
    await phone.waitForEvent('CALL_CLOSED', 10_000);
    expect(await until(() => alice.bannerVisible(), (visible) => !visible)).toBe(false);
    expect(heard(phone, 'welcome')).toBeGreaterThan(0.8);
    expect(heard(phone, 'unencrypted-joined')).toBeGreaterThan(0.8);
    expect(heard(phone, 'goodbye')).toBeLessThan(0.5);
  });

  it('says goodbye and hangs up after three wrong PINs, and logs none of the digits typed', async () => {
    const wrongBefore = await gateway.metric('sipgw_pin_attempts_total', { result: 'wrong' });
    const phone = await dialPhone('Mallory', IVR_NUMBER);
    for (const pin of WRONG_PINS) {
      await phone.sendDigits(`${BOARD_DIAL_IN}#`);
      await phone.sendDigits(`${pin}#`);
    }
    const closed = await phone.waitForEvent('CALL_CLOSED', 30_000);
    expect(closed.param).not.toMatch(/Connection reset by user/);
    expect(heard(phone, 'goodbye')).toBeGreaterThan(0.8);
    expect(await gateway.metric('sipgw_pin_attempts_total', { result: 'wrong' })).toBe(wrongBefore + 3);
    const record = await until(async () => auditLines().find((line) => line.outcome === 'entry-failed'), Boolean);
    expect(record).toMatchObject({ event: 'leg-ended', origin: 'pstn', trunk: 'carrier' });
    expect((await alice.roster()).map((row) => row.name)).toEqual(['Alice']);
    const written = gateway.output() + readFileSync(auditFile, 'utf8');
    for (const digits of [PIN, ...WRONG_PINS, BOARD_DIAL_IN]) expect(written).not.toContain(digits);
  });

  it('lets a room system that types its PIN over the prompt hear the meeting, call after call', async () => {
    const tina = await launchChromium({ fakeAudioFile: writeToneWav(join(dir, `tone-${MEETING_TONE_HZ}.wav`), MEETING_TONE_HZ) });
    try {
      // Alice quiet, so Tina's tone is all the room system hears of the meeting.
      if ((await alice.page.getAttribute('#mute-audio', 'aria-pressed')) !== 'true') await alice.page.click('#mute-audio');
      await tina.join(url, 'board', 'Tina', { pin: PIN });
      const inMeeting = (rows: { origin: string }[]): boolean => rows.some((row) => row.origin === 'sip');
      const calls: { heardS: number; dropped: number }[] = [];
      for (let call = 1; call <= ROOM_CALLS; call++) {
        const room = await dialInRoomSystem(gateway, dir, 'board');
        let heardS = 0;
        try {
          // At once, as a user with the PIN at hand does: the first digit cuts the PIN prompt short.
          await room.sendDigits(`${PIN}#`);
          expect(inMeeting(await until(() => alice.roster(), inMeeting, 10_000))).toBe(true);
          await new Promise((resolve) => setTimeout(resolve, 3_000));
          await room.hangup();
          await room.waitForEvent('CALL_CLOSED', 10_000);
          const [file] = room.decodedWavFiles();
          const wav = readWav(file!);
          heardS = dominantToneCheck(wav.samples, wav.sampleRate, MEETING_TONE_HZ).longestRunSeconds;
          // Packets its jitter buffer refused: "stream: audio: dropping 172 bytes from … (Connection timed out)".
          const dropped = readFileSync(room.logPath, 'utf8').match(/dropping \d+ bytes/g)?.length ?? 0;
          calls.push({ heardS, dropped });
        } finally {
          await room.stop({ keepLogs: heardS < 1.5 });
        }
        expect(inMeeting(await until(() => alice.roster(), (rows) => !inMeeting(rows), 10_000))).toBe(false);
      }
      // Each call heard the tone for most of its 3 s in the meeting (the join notice comes first).
      const described = calls.map(({ heardS, dropped }, i) => `call ${i + 1}: ${heardS.toFixed(1)} s of the tone, ${dropped} packets dropped`).join('; ');
      expect(calls.map(({ heardS }) => heardS >= 1.5), described).toEqual(calls.map(() => true));
    } finally {
      await tina.close();
    }
  }, 90_000);
});
