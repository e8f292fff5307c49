/**
 * Echo calls per second through a TLS hop, at 0 failures: sipp (TCP, one connection) → socat (TCP→TLS, one
 * TLS connection) → the gateway's test-call service (`sip:echo@…`), which answers each SDES-SRTP INVITE.
 * Calls are INVITE / 200 / ACK / BYE / 200 with call length 0 and no media, as in the Kamailio reference
 * (/work/shared/bench/sip-tls). Rates go up until the first one with a failure, a short rate or p99 too high.
 *
 * Per rate: achieved calls/s, failures, INVITE→200 and BYE→200 p50/p99 (sipp -trace_rtt, kernel-tick
 * resolution ≈ 4 ms), and the gateway's CPU ms per call from /proc/<pid>/stat (utime+stime over the run
 * plus a drain). The reference figure (Kamailio as TLS target) was measured earlier on this machine kind,
 * not in this run; the ratio is gateway ms/call ÷ Kamailio ms/call.
 *
 * Environment (optional): BENCH_ECHO_RATES="50,100", BENCH_ECHO_SECONDS=8, BENCH_ECHO_SUSTAIN_S=40 (0: skip).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { startGatewayProcess, type GatewayProcess } from '../interop/gateway-process.js';
import { startSocatTlsHop, type TlsHop } from '../peers/tls-hop.js';
import { findFreePortBlock } from '../peers/process.js';
import { parseSippStats, runSipp, SCENARIOS_DIR, type SippResult } from '../peers/sipp.js';
import { CLK_TCK, groupCpuMs, machineTicks, processCpuMs } from './load/process-cpu.js';

/** uac-sdes with rtd markers: rtd 1 = INVITE→200, rtd 2 = BYE→200. */
const SCENARIO = join(SCENARIOS_DIR, 'uac-sdes.xml');
const KAMAILIO_TABLE = '/work/shared/bench/sip-tls/results-kamailio/table.txt';

const RATES = parseRates(process.env.BENCH_ECHO_RATES) ?? [50, 100, 200, 400, 800, 1200];
const SECONDS = boundedNumber(process.env.BENCH_ECHO_SECONDS, 8, 1, 30);
const WARMUP = { rate: 100, seconds: 3 };
const DRAIN_MS = 2000;
const IDLE_MS = 2000;
const SUSTAIN_S = boundedNumber(process.env.BENCH_ECHO_SUSTAIN_S, 40, 0, 60);
const P99_LIMIT_MS = 50;
const MIN_ACHIEVED = 0.97;
const MEDIA_PORTS = 2000;

function parseRates(text: string | undefined): number[] | undefined {
  if (!text) return undefined;
  const rates = text.split(',').map(Number).filter((r) => Number.isInteger(r) && r > 0 && r <= 5000);
  return rates.length > 0 ? rates.slice(0, 12) : undefined;
}

function boundedNumber(text: string | undefined, fallback: number, min: number, max: number): number {
  const value = Number(text);
  return text && Number.isFinite(value) ? Math.min(max, Math.max(min, value)) : fallback;
}

// ---- one rate ------------------------------------------------------------------------------------------

interface Point {
  readonly offered: number;
  readonly calls: number;
  readonly successful: number;
  readonly failed: number;
  readonly achieved: number;
  readonly answered: number;
  readonly gatewayMsPerCall: number;
  readonly gatewayPct: number;
  readonly hopMsPerCall: number;
  readonly machinePct: number;
  readonly inviteP50?: number;
  readonly inviteP99?: number;
  readonly inviteMax?: number;
  readonly byeP99?: number;
  readonly exitCode: number | null;
  readonly clean: boolean;
  readonly why: string;
  readonly dir: string;
}

interface Rig {
  readonly gateway: GatewayProcess;
  readonly hop: TlsHop;
  readonly hopPort: number;
  readonly sippPorts: { local: number; control: number; media: number };
}

function percentile(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/**
 * sipp -trace_rtt rows: `date_ms;response_time_ms;rtd_no` in `<scenario>_<pid>_rtt.csv`, sorted per rtd.
 * date_ms is when the batch was written, not when the call ran, so only the response times are used.
 */
function readRtt(dir: string): Map<number, number[]> {
  const rtd = new Map<number, number[]>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('_rtt.csv'))) {
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
      const [date, ms, no] = line.split(';').map((s) => Number(s.trim()));
      if (date === undefined || ms === undefined || no === undefined || !Number.isFinite(date) || !Number.isFinite(ms)) continue;
      if (!rtd.has(no)) rtd.set(no, []);
      rtd.get(no)!.push(ms);
    }
  }
  for (const values of rtd.values()) values.sort((a, b) => a - b);
  return rtd;
}

/** What the failed calls received instead, from sipp's errors.log: e.g. `503 to INVITE ×2754`. */
export function responseTally(dir: string): string {
  const file = join(dir, 'errors.log');
  if (!existsSync(file)) return '';
  const counts = new Map<string, number>();
  const pattern = /received 'SIP\/2\.0 (\d{3})[^]*?CSeq: \d+ (\w+)/g;
  for (const match of readFileSync(file, 'utf8').matchAll(pattern)) {
    const key = `${match[1]} to ${match[2]}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([key, n]) => `${key} ×${n}`).join(', ');
}

/** Seconds from sipp's start to its last statistics row (written at exit), from stats.csv's epoch stamps. */
function sippElapsedS(result: SippResult): number | undefined {
  if (!result.statsCsv) return undefined;
  const stats = parseSippStats(result.statsCsv);
  const epoch = (field: string | undefined): number => Number(field?.trim().split(/\s+/).pop());
  const elapsed = epoch(stats.CurrentTime) - epoch(stats.StartTime);
  return Number.isFinite(elapsed) && elapsed > 0 ? elapsed : undefined;
}

async function runRate(rig: Rig, rate: number, seconds: number): Promise<Point> {
  const calls = rate * seconds;
  const dir = mkdtempSync(join(tmpdir(), `sipgw-bench-echo-${rate}-`));
  const answeredBefore = await rig.gateway.metric('sipgw_calls_total', { outcome: 'answered' });
  const gw0 = processCpuMs(rig.gateway.pid);
  const hop0 = groupCpuMs(rig.hop.process.pid);
  const mach0 = machineTicks();
  const started = performance.now();
  const result: SippResult = await runSipp({
    scenario: SCENARIO,
    target: `127.0.0.1:${rig.hopPort}`,
    transport: 't1',
    localPort: rig.sippPorts.local,
    controlPort: rig.sippPorts.control,
    mediaPort: rig.sippPorts.media,
    calls,
    rate,
    timeoutS: seconds + 30,
    service: 'echo',
    pauseMs: 0,
    dir,
    // rtt_freq must divide the number of samples: sipp 3.6.1 drops the last partial batch at exit.
    extraArgs: ['-trace_rtt', '-rtt_freq', String(rate)],
  });
  const sippWallS = (performance.now() - started) / 1000;
  await sleep(DRAIN_MS);
  const gw1 = processCpuMs(rig.gateway.pid);
  const hop1 = groupCpuMs(rig.hop.process.pid);
  const mach1 = machineTicks();
  const wallS = (performance.now() - started) / 1000;
  const answered = (await rig.gateway.metric('sipgw_calls_total', { outcome: 'answered' })) - answeredBefore;

  const refusals = responseTally(dir);
  const rtd = readRtt(dir);
  const invite = rtd.get(1) ?? [];
  const bye = rtd.get(2) ?? [];
  const achieved = result.successful / (sippElapsedS(result) ?? sippWallS);
  const perCall = (ms: number): number => (result.successful > 0 ? ms / result.successful : NaN);
  const inviteP99 = percentile(invite, 99);

  const problems: string[] = [];
  if (result.failed > 0) problems.push(`${result.failed} failed${refusals ? ` (sipp errors.log: ${refusals})` : ''}`);
  if (result.successful + result.failed < calls) problems.push(`${calls - result.successful - result.failed} not placed`);
  if (achieved < MIN_ACHIEVED * rate) problems.push(`achieved < ${MIN_ACHIEVED} × offered`);
  if (inviteP99 !== undefined && inviteP99 >= P99_LIMIT_MS) problems.push(`p99 ${inviteP99} ms ≥ ${P99_LIMIT_MS}`);
  if (invite.length === 0 && result.successful > 0) problems.push('(no rtt samples)');
  const clean = problems.length === 0 || (problems.length === 1 && problems[0] === '(no rtt samples)');
  return {
    offered: rate,
    calls,
    successful: result.successful,
    failed: result.failed + Math.max(0, calls - result.successful - result.failed),
    achieved,
    answered,
    gatewayMsPerCall: perCall(gw1 - gw0),
    gatewayPct: ((gw1 - gw0) / 10) / wallS,
    hopMsPerCall: perCall(hop1 - hop0),
    machinePct: (100 * (mach1.busy - mach0.busy)) / Math.max(1, mach1.total - mach0.total),
    inviteP50: percentile(invite, 50),
    inviteP99,
    inviteMax: invite[invite.length - 1],
    byeP99: percentile(bye, 99),
    exitCode: result.exitCode,
    clean,
    why: problems.join(', '),
    dir,
  };
}

// ---- reference -----------------------------------------------------------------------------------------

interface Reference {
  readonly msPerCall: number;
  readonly maxCleanCps: number;
}

/** Kamailio's median CPU ms/call over its failure-free runs and its max clean rate, from the stored table. */
function kamailioReference(): Reference | undefined {
  if (!existsSync(KAMAILIO_TABLE)) return undefined;
  const text = readFileSync(KAMAILIO_TABLE, 'utf8');
  const ms = /target median ([\d.]+) ms/.exec(text)?.[1];
  const cps = /max clean rate: (\d+) cps/.exec(text)?.[1];
  return ms && cps ? { msPerCall: Number(ms), maxCleanCps: Number(cps) } : undefined;
}

// ---- report --------------------------------------------------------------------------------------------

const fmt = (value: number | undefined, digits = 0, width = 6): string =>
  (value === undefined || !Number.isFinite(value) ? '-' : value.toFixed(digits)).padStart(width);

function median(values: readonly number[]): number | undefined {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? undefined : sorted[Math.floor(sorted.length / 2)];
}

function printHeader(): void {
  console.log(
    `${'offer'.padStart(6)}${'calls'.padStart(7)}${'ok'.padStart(7)}${'fail'.padStart(6)}${'achvd'.padStart(8)}${'gw-ans'.padStart(7)}` +
      `${'inv p50'.padStart(8)}${'p99'.padStart(6)}${'max'.padStart(6)}${'bye p99'.padStart(8)}` +
      `${'gw %'.padStart(6)}${'gw ms/c'.padStart(9)}${'hop ms/c'.padStart(9)}${'mach %'.padStart(7)}  verdict`,
  );
}

function printPoint(p: Point): void {
  console.log(
    `${fmt(p.offered)}${fmt(p.calls, 0, 7)}${fmt(p.successful, 0, 7)}${fmt(p.failed)}${fmt(p.achieved, 1, 8)}${fmt(p.answered, 0, 7)}` +
      `${fmt(p.inviteP50, 0, 8)}${fmt(p.inviteP99)}${fmt(p.inviteMax)}${fmt(p.byeP99, 0, 8)}` +
      `${fmt(p.gatewayPct)}${fmt(p.gatewayMsPerCall, 3, 9)}${fmt(p.hopMsPerCall, 3, 9)}${fmt(p.machinePct, 0, 7)}  ` +
      (p.clean ? `clean${p.why ? ` ${p.why}` : ''}` : `NOT clean: ${p.why}`),
  );
}

// ---- entry point ---------------------------------------------------------------------------------------

export async function run(): Promise<void> {
  const mediaStart = findFreePortBlock(MEDIA_PORTS);
  let base = findFreePortBlock(12);
  for (let i = 0; i < 20 && base + 12 > mediaStart && base < mediaStart + MEDIA_PORTS; i++) base = findFreePortBlock(12);
  const hopPort = base + 1;
  const sippPorts = { local: base + 2, control: base + 3, media: base + 6 }; // sipp binds media and media+2

  let gateway: GatewayProcess | undefined;
  let hop: TlsHop | undefined;
  const keptDirs: string[] = [];
  const points: Point[] = [];
  const sustained: Point[] = [];
  const cleanup = async (): Promise<void> => {
    await hop?.stop().catch(() => undefined);
    hop = undefined;
    await gateway?.stop().catch(() => undefined);
    gateway = undefined;
  };
  const onSignal = (): void => {
    void cleanup().then(() => process.exit(130));
  };
  /** A fresh gateway (no transactions left from earlier runs) and hop, warmed up; logs what it is. */
  const freshRig = async (): Promise<Rig> => {
    await cleanup();
    gateway = await startGatewayProcess({
      env: { SIPGW_LOG_LEVEL: 'warn', SIPGW_MEDIA_PORTS: `${mediaStart}-${mediaStart + MEDIA_PORTS - 1}` },
    });
    hop = await startSocatTlsHop({ listenTcpPort: hopPort, targetTlsPort: gateway.ports.sip.tls });
    const rig: Rig = { gateway, hop, hopPort, sippPorts };
    const warm = await runRate(rig, WARMUP.rate, WARMUP.seconds);
    rmSync(warm.dir, { recursive: true, force: true });
    const idle0 = processCpuMs(gateway.pid);
    await sleep(IDLE_MS);
    const idlePct = (processCpuMs(gateway.pid) - idle0) / (IDLE_MS / 100);
    console.log(
      `fresh gateway pid ${gateway.pid}, TLS :${gateway.ports.sip.tls}; warm-up (JIT) ${WARMUP.rate} cps × ${WARMUP.seconds} s: ` +
        `${warm.successful}/${warm.calls} ok, INVITE→200 p99 ${warm.inviteP99 ?? '-'} ms (not counted); ` +
        `idle afterwards ${idlePct.toFixed(1)} % of one core (included in ms/call)`,
    );
    return rig;
  };
  const keep = (point: Point): void => {
    if (point.clean) rmSync(point.dir, { recursive: true, force: true });
    else keptDirs.push(point.dir);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    console.log(
      `path: sipp uac-sdes (TCP, 1 connection) → socat :${hopPort} (TCP→TLS, nodelay, 1 connection) → gateway ` +
        `(own process, log level warn, ${MEDIA_PORTS} media ports); calls of length 0, no media`,
    );
    console.log(
      `sweep: ${SECONDS} s per rate on one gateway; CPU over run + ${DRAIN_MS / 1000} s drain from /proc (CLK_TCK ${CLK_TCK}); ` +
        `clean = 0 failed, all placed, achieved ≥ ${MIN_ACHIEVED} × offered, INVITE→200 p99 < ${P99_LIMIT_MS} ms`,
    );
    console.log('latencies in ms at sipp clock resolution (one kernel tick, ~4 ms); gw % = % of one core; mach % = all cores (noise)\n');

    let rig = await freshRig();
    printHeader();
    for (const rate of RATES) {
      const point = await runRate(rig, rate, SECONDS);
      points.push(point);
      printPoint(point);
      keep(point);
      if (!point.clean) break;
    }
    const active = await rig.gateway.metric('sipgw_legs_active');
    if (active !== 0) console.log(`note: sipgw_legs_active = ${active} after the drain (calls whose BYE failed; the media timeout ends them)`);

    // The gateway keeps each INVITE server transaction 64×T1 = 32 s after its 2xx (RFC 6026 Timer L) and
    // refuses new requests with 503 beyond a cap of live transactions, so a short point can pass at a rate
    // that fails once 32 s of calls have piled up. Confirm the best sweep rates over a longer run, on a fresh gateway.
    if (SUSTAIN_S > 0) {
      const candidates = points.filter((p) => p.clean).map((p) => p.offered).reverse().slice(0, 2);
      if (candidates.length > 0) console.log(`\nsustained: ${SUSTAIN_S} s at the best sweep rate(s) (longer than the 32 s transaction linger), each on a fresh gateway`);
      for (const rate of candidates) {
        rig = await freshRig();
        printHeader();
        const point = await runRate(rig, rate, SUSTAIN_S);
        sustained.push(point);
        printPoint(point);
        keep(point);
        if (point.clean) break;
      }
    }
  } finally {
    await cleanup();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }

  const clean = points.filter((p) => p.clean);
  const best = clean[clean.length - 1];
  const medianClean = median(clean.map((p) => p.gatewayMsPerCall));
  const held = sustained.find((p) => p.clean);
  console.log('');
  if (!best) console.log('highest clean rate (sweep): none (the lowest rate already failed)');
  else {
    const capped = best === points[points.length - 1] ? ' (every tested rate was clean: the sweep ran out of rates)' : '';
    console.log(`highest clean rate (${SECONDS} s sweep): ${best.offered} cps offered, ${best.achieved.toFixed(1)} achieved${capped}`);
    console.log(`  gateway CPU there: ${best.gatewayMsPerCall.toFixed(3)} ms/call (${best.gatewayPct.toFixed(0)} % of one core); socat hop ${best.hopMsPerCall.toFixed(3)} ms/call`);
    if (best.inviteP50 !== undefined) console.log(`  INVITE→200 p50 ${best.inviteP50} ms, p99 ${best.inviteP99} ms; BYE→200 p99 ${best.byeP99} ms`);
    console.log(`  gateway CPU median over the ${clean.length} clean sweep rate(s): ${medianClean?.toFixed(3)} ms/call`);
  }
  if (SUSTAIN_S > 0 && best) {
    if (held) console.log(`highest clean rate (${SUSTAIN_S} s sustained): ${held.offered} cps, gateway ${held.gatewayMsPerCall.toFixed(3)} ms/call, INVITE→200 p99 ${held.inviteP99 ?? '-'} ms`);
    else console.log(`highest clean rate (${SUSTAIN_S} s sustained): none of ${sustained.map((p) => p.offered).join(', ')} cps held`);
  }
  const ref = kamailioReference();
  if (!ref) console.log(`reference: ${KAMAILIO_TABLE} not found, no ratio`);
  else {
    console.log(
      `reference (NOT measured in this run: Kamailio 5.6 as TLS target, measured earlier on this machine kind, ${KAMAILIO_TABLE}):`,
    );
    console.log(`  ${ref.msPerCall.toFixed(3)} ms CPU/call (median over its failure-free 20 s runs), clean up to ${ref.maxCleanCps} cps (through a Kamailio UDP→TLS bridge, not socat)`);
    if (best) {
      console.log(`  ratio gateway ÷ Kamailio, CPU ms/call at the gateway's highest clean sweep rate: ${(best.gatewayMsPerCall / ref.msPerCall).toFixed(2)}×`);
      if (medianClean !== undefined) console.log(`  ratio gateway ÷ Kamailio, median CPU ms/call over clean sweep rates:         ${(medianClean / ref.msPerCall).toFixed(2)}×`);
      const rate = held ?? best;
      console.log(
        `  ratio highest clean rate gateway ÷ Kamailio: ${(rate.offered / ref.maxCleanCps).toFixed(2)}× ` +
          `(${held ? 'sustained' : 'sweep'} figure; different hop, and capped by the sweep's top rate)`,
      );
    }
  }
  if (keptDirs.length > 0) console.log(`sipp logs of unclean runs kept: ${keptDirs.join(' ')}`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await run();
