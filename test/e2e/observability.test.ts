import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayProcess, sumSamples, type GatewayProcess } from '../interop/gateway-process.js';
import { requirePeer } from '../peers/availability.js';
import type { Baresip } from '../peers/baresip.js';
import { launchChromium, type BrowserParticipant, type ChromiumBrowser } from '../peers/chromium.js';
import { findFreePortBlock } from '../peers/process.js';
import { promtoolCheckMetrics, startPrometheus, type Prometheus } from '../peers/prometheus.js';
import { removeSippDir, startSipp, type SippProcess, type SippResult } from '../peers/sipp.js';
import { writeG711File, writeTrunkScenario } from '../peers/sipp-trunk.js';
import { sine } from '../peers/wav.js';
import { until } from '../support/until.js';
import { dialInRoomSystem } from './room-system.js';

const peer = requirePeer('prometheus', 'promtool', 'sipp', 'baresip', 'openssl', '/usr/bin/chromium');

// Typed by all three participants; it may never show up in a log line or an audit record. Eight digits, so that
// no timestamp, port or id in the output contains it by chance.
const PIN = '58316049';
const MEETING = 'board';
const PHONE_NUMBER = '+1 555 0142';
const TRUNK_ADDRESS = '127.0.0.1';
const ROOM_SUITE = 'AES_CM_128_HMAC_SHA1_80';
// How long the phone stays in after typing its PIN: sipp cannot be told to hang up early, so this covers the
// checks made while everyone is in.
const PHONE_HOLD_MS = 10_000;
// The audit log is rotated once it would pass this (about two records), so that rotated files are searched too.
const AUDIT_MAX_SIZE_MB = 0.001;
const ISO_8601_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

interface AuditLine {
  time: string;
  event: string;
  origin: string;
  meeting?: string;
  outcome: string;
  durationS?: number;
  trunk?: string;
  label?: { signalling: string; media: string; suite: string | null; encrypted: boolean; description: string };
}

describe.skipIf(peer.skip)('an operator watching a meeting with a browser, a room system and a phone (real Prometheus, promtool, audit log)', () => {
  let dir: string;
  let gateway: GatewayProcess;
  let prometheus: Prometheus;
  let chromium: ChromiumBrowser;
  let alice: BrowserParticipant;
  let room: Baresip;
  let phone: SippProcess;
  let phoneResult: SippResult | undefined;
  let startedAt: number;
  /** When the browser's roster first showed all three participants (Unix seconds, Prometheus' clock). */
  let everyoneInAtS = Infinity;
  let failed = false;

  beforeAll(async () => {
    startedAt = Date.now();
    dir = mkdtempSync(join(tmpdir(), 'sipgw-observability-'));
    // Prometheus starts with the gateway, scraping the HTTP port the gateway is told to bind.
    const httpPort = findFreePortBlock(1);
    const [gatewayStart, prometheusStart, chromiumStart] = await Promise.allSettled([
      startGatewayProcess({
        config: {
          trunks: [{ name: 'carrier', sources: [`${TRUNK_ADDRESS}/32`], transport: 'udp', dids: { [PHONE_NUMBER]: { meeting: MEETING } } }],
          meetings: [{ id: MEETING, name: 'Board', pin: PIN, policy: 'warn' }],
          audit: { file: join(dir, 'audit.log'), maxSizeMb: AUDIT_MAX_SIZE_MB },
        },
        // The most a troubleshooting operator would turn on: secrets must stay out even then.
        env: { SIPGW_HTTP_PORT: String(httpPort), SIPGW_LOG_LEVEL: 'debug' },
      }),
      startPrometheus({ targets: [`127.0.0.1:${httpPort}`] }),
      launchChromium(),
    ]);
    // Kept even when another one failed to start, so that afterAll stops it.
    if (gatewayStart.status === 'fulfilled') gateway = gatewayStart.value;
    if (prometheusStart.status === 'fulfilled') prometheus = prometheusStart.value;
    if (chromiumStart.status === 'fulfilled') chromium = chromiumStart.value;
    for (const start of [gatewayStart, prometheusStart, chromiumStart]) if (start.status === 'rejected') throw start.reason;
  });

  afterEach((context) => {
    if (context.task.result?.state === 'fail') failed = true;
  });

  afterAll(async () => {
    const steps: (() => Promise<unknown> | undefined)[] = [
      () => room?.stop({ keepLogs: failed }),
      () => phone?.stop(),
      () => chromium?.close(),
      () => prometheus?.stop({ keepLogs: failed }),
      () => gateway?.stop(),
    ];
    // Every peer is stopped even when one of them fails to stop.
    const results = await Promise.allSettled(steps.map((step) => step()));
    if (phoneResult && !failed) removeSippDir(phoneResult);
    if (failed) console.warn(`audit log and sipp logs kept in ${dir} and ${phone?.dir}`);
    else rmSync(dir, { recursive: true, force: true });
    const errors = results.filter((result) => result.status === 'rejected');
    if (errors.length > 0) throw new AggregateError(errors.map((error) => error.reason), 'peers failed to stop');
  });

  /** The value of a Prometheus expression that yields one series (undefined when it yields none). */
  async function scalar(expression: string): Promise<number | undefined> {
    const samples = await prometheus.query(expression);
    if (samples.length > 1) throw new Error(`${expression} gave ${samples.length} series, expected one`);
    return samples[0]?.value;
  }

  /** Polls Prometheus (it scrapes every second) until `expression` satisfies `accept`; returns the last value. */
  function scraped(expression: string, accept: (value: number | undefined) => boolean, timeoutMs = 10_000): Promise<number | undefined> {
    return until(() => scalar(expression), accept, timeoutMs);
  }

  function auditFiles(): string[] {
    return readdirSync(dir)
      .filter((name) => name === 'audit.log' || name.startsWith('audit.log.'))
      .map((name) => join(dir, name));
  }

  function auditLines(): AuditLine[] {
    return auditFiles()
      .flatMap((file) => readFileSync(file, 'utf8').split('\n'))
      .filter(Boolean)
      .map((line) => JSON.parse(line) as AuditLine);
  }

  /** SDES master keys (base64 key || salt) in the SDP bodies baresip sent and received, from its SIP trace. */
  function sdesKeys(log: string): string[] {
    return [...log.matchAll(/^a=crypto:\d+ \S+ inline:([A-Za-z0-9+/]+={0,2})/gm)].map((match) => match[1]!);
  }

  it('joins a browser, a room system over SIP-TLS with SDES-SRTP and a phone over a UDP trunk, each with the PIN', async () => {
    const url = `http://127.0.0.1:${gateway.ports.http}/`;
    alice = await chromium.join(url, MEETING, 'Alice', { pin: PIN });

    room = await dialInRoomSystem(gateway, dir, MEETING, { toneHz: 440, sipTrace: true });
    await room.sendDigits(`${PIN}#`);
    const menc = await room.waitForEvent('CALL_MENC', 1_000);
    expect(menc.param).toBe(`0,audio,${ROOM_SUITE}`);

    const sippPorts = findFreePortBlock(6);
    phone = startSipp({
      scenario: writeTrunkScenario(
        dir,
        {
          caller: 'Carol',
          audio: { file: writeG711File(join(dir, 'tone.pcmu'), sine(1000, 2, 8000, 0.4), 'pcmu'), law: 'pcmu' },
          steps: [{ pauseMs: 500 }, { digits: `${PIN}#` }, { pauseMs: PHONE_HOLD_MS }],
        },
        'phone',
      ),
      target: `127.0.0.1:${gateway.ports.sip.udp}`,
      transport: 'u1',
      sourceAddress: TRUNK_ADDRESS,
      localPort: sippPorts,
      controlPort: sippPorts + 1,
      mediaPort: sippPorts + 2,
      calls: 1,
      service: PHONE_NUMBER.replace(/ /g, ''),
      timeoutS: 40,
    });

    const rows = await until(() => alice.roster(), (r) => r.length === 3, 15_000);
    everyoneInAtS = Date.now() / 1000;
    expect(rows.map((row) => [row.name, row.origin, row.encrypted]).sort()).toEqual([
      ['Alice', 'webrtc', true],
      ['Carol', 'pstn', false],
      ['room', 'sip', true],
    ]);
  });

  it('serves an exposition that promtool check metrics finds nothing wrong with, during the call', async () => {
    const exposition = await (await fetch(`http://127.0.0.1:${gateway.ports.http}/metrics`)).text();
    // The exposition carries the call's real values, not only the zeroes of a fresh start.
    expect(sumSamples(exposition, 'sipgw_legs_active', {})).toBe(3);
    expect(sumSamples(exposition, 'sipgw_rtp_packets_total', { origin: 'pstn', direction: 'in' })).toBeGreaterThan(0);
    expect(await promtoolCheckMetrics(exposition)).toEqual({ exitCode: 0, output: '' });
  });

  it('lets a real Prometheus scrape every leg with its origin, media encryption and SRTP suite, and the meeting-wide gauges', async () => {
    await prometheus.waitForTargetsUp();
    // A leg is active from its answer but joins the meeting only after its PIN: so the first scrape with three
    // legs may predate the joins. Read a scrape that started after the roster showed everyone.
    expect(await scraped('timestamp(up{job="sipgw"})', (t) => (t ?? 0) > everyoneInAtS)).toBeGreaterThan(everyoneInAtS);
    expect(await scalar('sum(sipgw_legs_active)')).toBe(3);
    expect(await scalar(`sipgw_legs_active{job="sipgw",origin="sip",media="sdes-srtp",suite="${ROOM_SUITE}",encrypted="true"}`)).toBe(1);
    expect(await scalar('sipgw_legs_active{origin="pstn",media="none",suite="none",encrypted="false"}')).toBe(1);
    expect(await scalar('sum(sipgw_legs_active{origin="webrtc",media="dtls-srtp",encrypted="true"})')).toBe(1);
    expect(await scalar('sipgw_meetings_active')).toBe(1);
    expect(await scalar('sipgw_meetings_with_unencrypted_legs')).toBe(1);
    expect(await scalar('sipgw_unencrypted_legs_in_require_meetings')).toBe(0);

    for (const origin of ['sip', 'pstn', 'webrtc']) {
      for (const direction of ['in', 'out']) {
        const rate = `rate(sipgw_rtp_packets_total{origin="${origin}",direction="${direction}"}[5s])`;
        expect(await scraped(rate, (v) => (v ?? 0) > 0), rate).toBeGreaterThan(0);
      }
    }
    for (const direction of ['in', 'out']) expect(await scalar(`sipgw_rtp_bytes_total{origin="webrtc",direction="${direction}"}`)).toBeGreaterThan(0);
    // Chromium's receiver reports on the audio the gateway forwards to it (about every 5 s per stream).
    expect(await scraped('sipgw_rtcp_packet_loss_ratio_count{origin="webrtc"}', (v) => (v ?? 0) > 0, 15_000)).toBeGreaterThan(0);
    expect(await scalar('sipgw_rtcp_jitter_seconds_count{origin="webrtc"}')).toBeGreaterThan(0);

    const answered = await prometheus.query('sum by (origin) (sipgw_calls_total{outcome="answered"})');
    expect(Object.fromEntries(answered.map((sample) => [sample.labels.origin, sample.value]))).toEqual({ sip: 1, pstn: 1, webrtc: 1, h323: 0 });
    expect(await scalar('sipgw_call_setup_seconds_count{origin="sip"}')).toBe(1);
    expect(await scalar('sipgw_sip_requests_total{transport="tls",direction="in",method="INVITE"}')).toBeGreaterThanOrEqual(1);
    expect(await scalar('sum(sipgw_tls_handshakes_total{result="ok"})')).toBeGreaterThanOrEqual(1);
    expect(await scalar('sipgw_pin_attempts_total{result="ok"}')).toBe(3);
    expect(await scalar('sipgw_pin_attempts_total{result="wrong"}')).toBe(0);
    expect(await scalar('sipgw_certificate_expiry_timestamp_seconds{role="server"} - time()')).toBeGreaterThan(0);

    const [build] = await prometheus.query('sipgw_build_info');
    expect(build).toMatchObject({ labels: { job: 'sipgw', node_version: process.version }, value: 1 });
    expect(build!.labels.version).toMatch(/^\d+\.\d+\.\d+/);

    // The room system's RTCP receiver reports on the gateway's sender reports give round-trip times.
    expect(await scraped('sipgw_rtcp_round_trip_seconds_count{origin="sip"}', (v) => (v ?? 0) > 0, 15_000)).toBeGreaterThan(0);
  });

  it('writes one leg-ended record per leg, with its security label, once everyone has hung up', async () => {
    await room.hangup();
    await room.waitForEvent('CALL_CLOSED', 10_000);
    await alice.leave();
    phoneResult = await phone.result;
    expect(phoneResult, phoneResult.stdout).toMatchObject({ successful: 1, failed: 0 });

    const ended = await until(async () => auditLines().filter((line) => line.event === 'leg-ended'), (lines) => lines.length >= 3, 10_000);
    expect(ended.map((line) => line.origin).sort()).toEqual(['pstn', 'sip', 'webrtc']);
    const byOrigin = Object.fromEntries(ended.map((line) => [line.origin, line]));
    expect(byOrigin.sip).toMatchObject({ meeting: MEETING, label: { media: 'sdes-srtp', suite: ROOM_SUITE, encrypted: true } });
    expect(byOrigin.pstn).toMatchObject({ meeting: MEETING, trunk: 'carrier', label: { media: 'none', suite: null, encrypted: false } });
    expect(byOrigin.webrtc).toMatchObject({ meeting: MEETING, label: { media: 'dtls-srtp', encrypted: true } });
    for (const line of ended) {
      expect(line.time).toMatch(ISO_8601_UTC);
      expect(Date.parse(line.time)).toBeGreaterThanOrEqual(startedAt);
      expect(Date.parse(line.time)).toBeLessThanOrEqual(Date.now());
      expect(line.durationS).toBeGreaterThan(0);
    }
    expect(auditLines().filter((line) => line.event !== 'leg-ended')).toEqual([]);
    expect(await until(() => scalar('sum(sipgw_legs_active)'), (v) => v === 0)).toBe(0);
  });

  it('keeps the PIN and the SRTP keys exchanged out of the audit log (rotated files too) and the gateway output', async () => {
    const keys = sdesKeys(readFileSync(room.logPath, 'utf8'));
    // The room system's offer and the gateway's answer: two different AES_CM_128 master keys with salt (30 bytes).
    expect(new Set(keys).size).toBe(2);
    for (const key of keys) expect(Buffer.from(key, 'base64')).toHaveLength(30);

    expect(auditFiles().length).toBeGreaterThan(1);
    const written = [gateway.output(), ...auditFiles().map((file) => readFileSync(file, 'utf8'))].join('\n');
    expect(written).toContain('leg-ended');
    expect(written).not.toContain(PIN);
    for (const key of keys) {
      const bytes = Buffer.from(key, 'base64');
      for (const form of [key, bytes.toString('hex'), bytes.subarray(0, 16).toString('hex'), bytes.subarray(0, 16).toString('base64')]) {
        expect(written).not.toContain(form);
      }
    }
  });
});
