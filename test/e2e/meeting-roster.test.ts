import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayProcess, type GatewayProcess } from '../interop/gateway-process.js';
import { requirePeer } from '../peers/availability.js';
import { until } from '../support/until.js';
import { dialInRoomSystem } from './room-system.js';
import type { Baresip } from '../peers/baresip.js';
import { launchChromium, type BrowserParticipant, type ChromiumBrowser } from '../peers/chromium.js';
import { findFreePortBlock } from '../peers/process.js';
import { removeSippDir, runSipp, startSipp, type SippProcess, type SippResult } from '../peers/sipp.js';
import { startSocatTlsHop, type TlsHop } from '../peers/tls-hop.js';

const rosterPeers = requirePeer('baresip', 'openssl', '/usr/bin/chromium');
const adminPeers = requirePeer('sipp', 'socat', '/usr/bin/chromium');


const noticeTexts = async (browser: BrowserParticipant): Promise<string[]> => (await browser.notices()).map((n) => `${n.event}: ${n.text}`);

describe.skipIf(rosterPeers.skip)('a browser joining and leaving a meeting with two browsers and a room system (baresip)', () => {
  let gateway: GatewayProcess;
  let dir: string;
  let chromium: ChromiumBrowser;
  let room: Baresip;
  let alice: BrowserParticipant;
  let bob: BrowserParticipant;
  let carol: BrowserParticipant;
  let url: string;

  beforeAll(async () => {
    gateway = await startGatewayProcess();
    dir = mkdtempSync(join(tmpdir(), 'sipgw-roster-'));
    url = `http://127.0.0.1:${gateway.ports.http}/`;
    chromium = await launchChromium();
    alice = await chromium.join(url, 'demo', 'Alice');
    bob = await chromium.join(url, 'demo', 'Bob');
    room = await dialInRoomSystem(gateway, dir, 'demo');
    for (const browser of [alice, bob]) await until(() => browser.participantCount(), (n) => n === 3);
  });

  afterAll(async () => {
    await room?.stop();
    await chromium?.close();
    await gateway?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('shows both browsers already in the join notice naming the newcomer, and counts 4', async () => {
    expect(await alice.participantCount()).toBe(3);
    carol = await chromium.join(url, 'demo', 'Carol');
    for (const browser of [alice, bob]) {
      const notices = await until(() => noticeTexts(browser), (n) => n.includes('joined: Carol joined'));
      expect(notices).toContain('joined: Carol joined');
      expect(await until(() => browser.participantCount(), (n) => n === 4)).toBe(4);
      expect((await browser.roster()).map((r) => r.name).sort()).toEqual(['Alice', 'Bob', 'Carol', 'room']);
    }
    // Alice saw everyone arrive after her, Bob those after him; Carol is told of nobody, herself included.
    expect(await noticeTexts(alice)).toEqual(['joined: Bob joined', 'joined: room joined', 'joined: Carol joined']);
    expect(await noticeTexts(bob)).toEqual(['joined: room joined', 'joined: Carol joined']);
    expect(await noticeTexts(carol)).toEqual([]);
    expect(await carol.participantCount()).toBe(4);
    expect(await gateway.metric('sipgw_meeting_participants', { origin: 'webrtc' })).toBe(3);
  });

  it('counts 3 again and shows the leave notice naming the browser that left', async () => {
    await carol.leave();
    for (const browser of [alice, bob]) {
      expect(await until(() => browser.participantCount(), (n) => n === 3)).toBe(3);
      const notices = await until(() => noticeTexts(browser), (n) => n.includes('left: Carol left'));
      expect(notices[notices.length - 1]).toBe('left: Carol left');
      expect((await browser.roster()).map((r) => r.name).sort()).toEqual(['Alice', 'Bob', 'room']);
    }
    expect(await gateway.metric('sipgw_meeting_participants', { origin: 'webrtc' })).toBe(2);
    expect(await gateway.metric('sipgw_meeting_participants', { origin: 'sip' })).toBe(1);
  });
});

describe.skipIf(adminPeers.skip)('a meeting made and deleted through the admin API, with a browser and a SIP caller (sipp over TLS) in it', () => {
  const token = randomBytes(16).toString('hex');
  let gateway: GatewayProcess;
  let chromium: ChromiumBrowser;
  let hop: TlsHop;
  let base: number;
  let api: string;
  let url: string;
  let meetingId: string;
  let dana: BrowserParticipant;
  let caller: SippProcess;
  const sippResults: SippResult[] = [];

  interface Answer {
    status: number;
    headers: Headers;
    body: Record<string, unknown> | undefined;
  }

  async function request(method: string, path: string, options: { token?: string | null; body?: unknown } = {}): Promise<Answer> {
    const headers: Record<string, string> = {};
    const bearer = options.token === undefined ? token : options.token;
    if (bearer !== null) headers.Authorization = `Bearer ${bearer}`;
    if (options.body !== undefined) headers['Content-Type'] = 'application/json';
    const response = await fetch(`${api}${path}`, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
  }

  const listedIds = async (): Promise<string[]> => ((await request('GET', '/meetings')).body?.meetings as { id: string }[]).map((m) => m.id);

  beforeAll(async () => {
    gateway = await startGatewayProcess({ env: { SIPGW_ADMIN_TOKEN: token } });
    api = `http://127.0.0.1:${gateway.ports.http}/api`;
    url = `http://127.0.0.1:${gateway.ports.http}/`;
    base = findFreePortBlock(20);
    hop = await startSocatTlsHop({ listenTcpPort: base, targetTlsPort: gateway.ports.sip.tls, caFile: gateway.caFile });
    chromium = await launchChromium();
  });

  afterAll(async () => {
    await caller?.stop();
    for (const result of sippResults) removeSippDir(result);
    await chromium?.close();
    await hop?.stop();
    await gateway?.stop();
  });

  it('refuses requests without the token or with a wrong one (401, with a Bearer challenge) and changes nothing', async () => {
    const before = await listedIds();
    expect(before).toEqual(['demo']);
    for (const bad of [null, 'not-the-right-token-at-all', `${token}x`]) {
      const created = await request('POST', '/meetings', { token: bad, body: { name: 'Sneaky' } });
      expect(created.status).toBe(401);
      expect(created.headers.get('www-authenticate')).toBe('Bearer realm="sipgw"');
      expect(created.body?.error).toEqual(expect.any(String));
      expect((await request('GET', '/meetings', { token: bad })).status).toBe(401);
      expect((await request('DELETE', '/meetings/demo', { token: bad })).status).toBe(401);
    }
    expect(await listedIds()).toEqual(before);
  });

  it('creates a meeting with a random 128-bit id (201) that the list then shows', async () => {
    const created = await request('POST', '/meetings', { body: { name: 'Weekly sync' } });
    expect(created.status).toBe(201);
    meetingId = String(created.body?.id);
    expect(meetingId).toMatch(/^[0-9a-v]{26}$/);
    expect(created.headers.get('location')).toBe(`/api/meetings/${meetingId}`);
    expect(created.body).toMatchObject({ name: 'Weekly sync', policy: 'warn', hasPin: false, source: 'api', participants: 0 });

    const other = await request('POST', '/meetings', { body: {} });
    expect(other.status).toBe(201);
    expect(other.body?.id).not.toBe(meetingId);
    expect((await request('DELETE', `/meetings/${String(other.body?.id)}`)).status).toBe(204);

    expect(await listedIds()).toEqual(['demo', meetingId]);
  });

  it('lets a browser join it by that id, and answers a SIP call to it', async () => {
    dana = await chromium.join(url, meetingId, 'Dana');
    expect(await dana.page.textContent('#meeting-title')).toBe('Weekly sync');

    caller = startSipp({
      scenario: 'uac-sdes-await-bye',
      target: `127.0.0.1:${base}`,
      transport: 't1',
      localPort: base + 1,
      controlPort: base + 2,
      mediaPort: base + 4,
      calls: 1,
      service: meetingId,
      timeoutS: 30,
    });
    const roster = await until(() => dana.roster(), (rows) => rows.length === 2);
    expect(roster.map((r) => r.origin).sort()).toEqual(['sip', 'webrtc']);
    expect(await dana.participantCount()).toBe(2);
    expect(await gateway.metric('sipgw_calls_total', { origin: 'sip', outcome: 'answered' })).toBe(1);
    expect((await request('GET', `/meetings/${meetingId}`)).body).toMatchObject({ id: meetingId, participants: 2 });
  });

  it('keeps the meeting and everyone in it when a delete comes without the right token', async () => {
    expect((await request('DELETE', `/meetings/${meetingId}`, { token: 'wrong-token-wrong-token' })).status).toBe(401);
    expect((await request('DELETE', `/meetings/${meetingId}`, { token: null })).status).toBe(401);
    expect(await listedIds()).toContain(meetingId);
    expect(await dana.participantCount()).toBe(2);
    expect(await dana.page.isVisible('#error')).toBe(false);
  });

  it('deletes it (204): the browser shows that the meeting ended, the SIP caller gets a BYE, and the list no longer has it', async () => {
    const deleted = await request('DELETE', `/meetings/${meetingId}`);
    expect(deleted.status).toBe(204);
    expect(deleted.body).toBeUndefined();

    const shown = await until(
      async () => ((await dana.page.isVisible('#error')) ? await dana.page.textContent('#error') : null),
      (text) => text !== null,
    );
    expect(shown).toBe('The meeting was ended.');
    expect(await dana.page.isVisible('#join-form')).toBe(true);

    const call = await caller.result;
    sippResults.push(call);
    expect(call, call.stdout).toMatchObject({ successful: 1, failed: 0 });
    expect(call.messageCounts.find((c) => c.label === 'BYE' && c.direction === 'recv')?.messages).toBe(1);

    expect(await listedIds()).toEqual(['demo']);
    expect((await request('GET', `/meetings/${meetingId}`)).status).toBe(404);
    expect(await until(() => gateway.metric('sipgw_legs_active'), (n) => n === 0)).toBe(0);
  });

  it('answers a SIP call to the deleted meeting with 404, and a browser cannot join it', async () => {
    const call = await runSipp({
      scenario: 'uac-invite-expect',
      target: `127.0.0.1:${base}`,
      transport: 't1',
      localPort: base + 7,
      controlPort: base + 8,
      mediaPort: base + 10,
      calls: 1,
      service: meetingId,
      vars: { expected_status: '404' },
      timeoutS: 15,
    });
    sippResults.push(call);
    expect(call, call.stdout).toMatchObject({ exitCode: 0, successful: 1, failed: 0 });
    expect(await gateway.metric('sipgw_calls_total', { origin: 'sip', outcome: 'not_found' })).toBe(1);
    expect(await chromium.joinRefused(url, meetingId, 'Erin')).toBe('There is no meeting with this ID, or the PIN is wrong.');
  });
});
