/**
 * Browser participants one meeting sustains, audio only, against the real gateway process: N synthetic
 * browsers (test/bench/load/fake-browser.ts: node-datachannel on the client side, the real WebSocket
 * signalling) join `demo`, each sends a 20 ms Opus packet every 20 ms (one shared timer for all), and
 * each counts what arrives on its N − 1 audio downlinks: sequence gaps are lost, packets that arrive
 * more than 50 ms after their sender sent them are late (all fake browsers share one clock). N grows
 * step by step (the newcomers join, everybody renegotiates, every stream is seen flowing, then a window
 * of WINDOW_S is measured, and a second one if the first had loss) until loss + late reaches 0.1 % at two
 * sizes running, the gateway uses a whole core, the generator itself saturates, or time runs out.
 *
 * Per step: forwarded packets/s, N·(N − 1)·50 expected and as the gateway counted them
 * (sipgw_media_packets_forwarded_total), the gateway's CPU from /proc/<pid>/stat (all its threads,
 * libdatachannel's included, and its main thread alone) as % of one core and per forwarded packet,
 * the generator's own CPU and event-loop utilisation, and the whole machine's. Nothing is pinned: on
 * a small machine generator and gateway share the cores, so the figures hold for this machine's load,
 * printed with them. A browser whose connection fails is replaced (as a user would reload) and counted.
 *
 * Environment (optional): BENCH_BROWSER_SIZES="8,16,24" instead of the default sweep.
 */
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { cleanup, initLogger } from 'node-datachannel';
import { startGatewayProcess, type GatewayProcess } from '../interop/gateway-process.js';
import { FakeBrowser, LATE_MS } from './load/fake-browser.js';
import { opusFrames } from './load/opus-frames.js';
import { machineTicks, processCpu } from './load/process-cpu.js';

const SIZES = parseSizes(process.env.BENCH_BROWSER_SIZES) ?? [2, 4, 8, 12, 16, 20, 22, 24, 26, 28, 30, 32, 36, 40, 48];
const MEETING = 'demo';
const WINDOW_S = 10;
const FRAME_MS = 20;
const TICK_MS = 10;
const LOSS_LIMIT = 0.001;
const GENERATOR_ELU_LIMIT = 0.9;
const CONNECT_TIMEOUT_MS = 20_000;
const CHECK_MS = 500;
/** The whole bench stays under ~3 minutes: no step starts that could not end within this. */
const BUDGET_S = 165;
const FORWARDED = 'sipgw_media_packets_forwarded_total';

function parseSizes(text: string | undefined): number[] | undefined {
  if (!text) return undefined;
  const sizes = text.split(',').map(Number).filter((n) => Number.isInteger(n) && n >= 2 && n <= 100);
  return sizes.length > 0 ? sizes.sort((a, b) => a - b) : undefined;
}

/**
 * The one timer that drives every fake browser's uplink: frame f of each is due at start + 20 f ms.
 * Frames are sent by elapsed time, not by wake-ups, so a late timer sends late rather than fewer.
 */
class FrameClock {
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private frames = 0;
  windowFrames = 0;
  maxLagMs = 0;

  constructor(
    private readonly browsers: readonly FakeBrowser[],
    private readonly payloads: readonly Buffer[],
  ) {}

  start(): void {
    this.startedAt = performance.now();
    this.timer = setInterval(() => this.tick(), TICK_MS);
  }

  startWindow(): void {
    this.windowFrames = 0;
    this.maxLagMs = 0;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private tick(): void {
    const now = performance.now();
    const due = Math.floor((now - this.startedAt) / FRAME_MS) + 1;
    for (; this.frames < due; this.frames++) {
      this.maxLagMs = Math.max(this.maxLagMs, now - (this.startedAt + this.frames * FRAME_MS));
      const payload = this.payloads[this.frames % this.payloads.length]!;
      for (const browser of this.browsers) browser.send(payload);
      this.windowFrames++;
    }
  }
}

interface Step {
  readonly n: number;
  /** NaN for a second window at the same N. */
  readonly connectS: number;
  /** Browsers whose connection failed while this step connected, replaced by new ones. */
  readonly rejoined: number;
  readonly streams: number;
  readonly expected: number;
  readonly lost: number;
  readonly late: number;
  readonly unmatched: number;
  readonly loss: number;
  readonly delayP99: number;
  readonly gatewayPerS: number;
  readonly gatewayPct: number;
  readonly gatewayMainPct: number;
  readonly gatewayUsPerPacket: number;
  readonly generatorPct: number;
  readonly generatorMainPct: number;
  readonly generatorElu: number;
  /** Busy share of the whole machine, all cores, everybody's processes. */
  readonly machinePct: number;
  readonly lagMaxMs: number;
  readonly clean: boolean;
  readonly why: string;
}

class Participants {
  readonly browsers: FakeBrowser[] = [];
  private readonly byId = new Map<string, FakeBrowser>();
  private created = 0;

  constructor(
    private readonly url: string,
    private readonly onProblem: (problem: string) => void,
  ) {}

  /**
   * Brings the meeting to n connected browsers, replacing any whose connection failed (a browser
   * would reload); returns how many were replaced.
   */
  async connect(n: number): Promise<number> {
    const deadline = performance.now() + CONNECT_TIMEOUT_MS;
    let replaced = 0;
    while (true) {
      for (const browser of this.browsers.filter((b) => b.failed)) {
        browser.close();
        this.browsers.splice(this.browsers.indexOf(browser), 1);
        if (browser.id !== undefined) this.byId.delete(browser.id);
        replaced++;
      }
      while (this.browsers.length < n) {
        const browser = new FakeBrowser({
          url: this.url,
          meetingId: MEETING,
          name: `load-${++this.created}`,
          senderOf: (id) => this.byId.get(id),
          onProblem: this.onProblem,
        });
        this.browsers.push(browser);
        // A refused join leaves it failed, replaced on the next round.
        await browser.joined.catch(() => undefined);
        if (browser.id !== undefined) this.byId.set(browser.id, browser);
      }
      // Joined is not connected: wait until every browser sees every other's audio arriving.
      for (const browser of this.browsers) browser.startWindow();
      await sleep(CHECK_MS);
      const short = this.browsers.filter((b) => b.failed || b.streams().length < n - 1).length;
      if (short === 0) return replaced;
      if (performance.now() > deadline) throw new Error(`${short} of ${n} browsers still miss streams after ${CONNECT_TIMEOUT_MS / 1000} s`);
    }
  }

  close(): void {
    for (const browser of this.browsers) browser.close();
  }
}

async function measure(
  gateway: GatewayProcess,
  browsers: readonly FakeBrowser[],
  clock: FrameClock,
  n: number,
  connect: { seconds: number; replaced: number },
): Promise<Step> {
  for (const browser of browsers) browser.startWindow();
  clock.startWindow();
  const forwarded0 = await gateway.metric(FORWARDED, { kind: 'audio' });
  const gateway0 = processCpu(gateway.pid);
  const generator0 = processCpu(process.pid);
  const elu0 = performance.eventLoopUtilization();
  const machine0 = machineTicks();
  const started = performance.now();
  await sleep(WINDOW_S * 1000);
  const wallMs = performance.now() - started;
  const elu = performance.eventLoopUtilization(elu0).utilization;
  const machine1 = machineTicks();
  const generator1 = processCpu(process.pid);
  const gateway1 = processCpu(gateway.pid);
  const forwarded = (await gateway.metric(FORWARDED, { kind: 'audio' })) - forwarded0;
  if (!gateway0 || !gateway1) throw new Error(`the gateway process ${gateway.pid} is gone`);
  if (!generator0 || !generator1) throw new Error('/proc/self is unreadable');
  const pct = (ms: number) => (100 * ms) / wallMs;

  let streams = 0;
  let expected = 0;
  let received = 0;
  let late = 0;
  let unmatched = 0;
  const delays: number[] = [];
  for (const browser of browsers) {
    const summaries = browser.streams();
    streams += summaries.length;
    // A stream that delivered nothing lost everything its sender sent.
    expected += Math.max(0, n - 1 - summaries.length) * clock.windowFrames;
    for (const s of summaries) {
      expected += s.expected;
      received += Math.min(s.received, s.expected);
      late += s.late;
      unmatched += s.unmatched;
      for (const delay of s.delays) delays.push(delay);
    }
  }
  const sortedDelays = Float64Array.from(delays).sort();
  const lost = expected - received;
  const loss = expected > 0 ? (lost + late) / expected : 1;
  const gatewayMs = gateway1.all - gateway0.all;
  const gatewayPct = pct(gatewayMs);
  const problems: string[] = [];
  if (loss >= LOSS_LIMIT) problems.push(`loss + late ${(100 * loss).toFixed(2)} % ≥ ${100 * LOSS_LIMIT} %`);
  if (gatewayPct >= 100) problems.push('gateway ≥ 100 % of one core');
  if (elu > GENERATOR_ELU_LIMIT) problems.push(`generator saturated (event loop ${(100 * elu).toFixed(0)} % busy)`);
  if (unmatched > 0) problems.push(`${unmatched} packets without a send time (renumbered?)`);
  // Late packets alone, while the generator itself stalled that long, may be the generator's own.
  if (problems.length > 0 && clock.maxLagMs >= LATE_MS) problems.push(`generator stalled ${clock.maxLagMs.toFixed(0)} ms`);
  return {
    n,
    connectS: connect.seconds,
    rejoined: connect.replaced,
    streams,
    expected,
    lost,
    late,
    unmatched,
    loss,
    delayP99: sortedDelays.length > 0 ? sortedDelays[Math.floor(0.99 * (sortedDelays.length - 1))]! : NaN,
    gatewayPerS: (1000 * forwarded) / wallMs,
    gatewayPct,
    gatewayMainPct: pct(gateway1.main - gateway0.main),
    gatewayUsPerPacket: forwarded > 0 ? (1000 * gatewayMs) / forwarded : NaN,
    generatorPct: pct(generator1.all - generator0.all),
    generatorMainPct: pct(generator1.main - generator0.main),
    generatorElu: elu,
    machinePct: (100 * (machine1.busy - machine0.busy)) / Math.max(1, machine1.total - machine0.total),
    lagMaxMs: clock.maxLagMs,
    clean: problems.length === 0,
    why: problems.join(', '),
  };
}

const num = (value: number, digits: number, width: number) => (Number.isFinite(value) ? value.toFixed(digits) : '-').padStart(width);

function printHeader(): void {
  console.log(
    `${'N'.padStart(3)}${'conn s'.padStart(7)}${'rejoin'.padStart(7)}${'streams'.padStart(9)}${'expect/s'.padStart(9)}${'gw fwd/s'.padStart(9)}` +
      `${'lost'.padStart(6)}${'late'.padStart(7)}${'loss %'.padStart(8)}${'p99 ms'.padStart(7)}${'gw %'.padStart(6)}${'JS %'.padStart(6)}` +
      `${'µs/pkt'.padStart(7)}${'gen %'.padStart(7)}${'JS %'.padStart(6)}${'ELU'.padStart(6)}${'lag ms'.padStart(7)}${'mach %'.padStart(7)}  verdict`,
  );
}

function printStep(s: Step): void {
  console.log(
    `${num(s.n, 0, 3)}${num(s.connectS, 1, 7)}${num(s.rejoined, 0, 7)}${`${s.streams}/${s.n * (s.n - 1)}`.padStart(9)}${num(s.n * (s.n - 1) * (1000 / FRAME_MS), 0, 9)}` +
      `${num(s.gatewayPerS, 0, 9)}${num(s.lost, 0, 6)}${num(s.late, 0, 7)}${num(100 * s.loss, 3, 8)}${num(s.delayP99, 1, 7)}` +
      `${num(s.gatewayPct, 0, 6)}${num(s.gatewayMainPct, 0, 6)}${num(s.gatewayUsPerPacket, 1, 7)}${num(s.generatorPct, 0, 7)}` +
      `${num(s.generatorMainPct, 0, 6)}${num(100 * s.generatorElu, 0, 5)}%${num(s.lagMaxMs, 0, 7)}${num(s.machinePct, 0, 7)}  ` +
      (s.clean ? 'clean' : s.why),
  );
}

/** Lines of the gateway's output that are errors: pino level ≥ 50, or anything not JSON (a stack trace). */
function gatewayErrors(output: string): string[] {
  return output.split('\n').filter((line) => {
    if (line.trim() === '') return false;
    try {
      return ((JSON.parse(line) as { level?: number }).level ?? 0) >= 50;
    } catch {
      return true;
    }
  });
}

export async function run(): Promise<void> {
  const benchStarted = performance.now();
  const problems = new Map<string, number>();
  const onProblem = (problem: string) => problems.set(problem, (problems.get(problem) ?? 0) + 1);
  // libdatachannel's own errors on the browsers' side name a failure's cause (a DTLS alert, say).
  initLogger('Error', (_level, message) => onProblem(`libdatachannel: ${message}`));
  const steps: Step[] = [];
  let stopped = '';
  let gateway: GatewayProcess | undefined;
  let participants: Participants | undefined;
  let clock: FrameClock | undefined;
  try {
    gateway = await startGatewayProcess({ env: { SIPGW_LOG_LEVEL: 'warn' } });
    const idle0 = processCpu(gateway.pid)?.all ?? NaN;
    await sleep(1000);
    const idlePct = ((processCpu(gateway.pid)?.all ?? NaN) - idle0) / 10;
    const url = `ws://127.0.0.1:${gateway.ports.http}/ws`;
    participants = new Participants(url, onProblem);
    clock = new FrameClock(participants.browsers, opusFrames(50));
    console.log(`gateway pid ${gateway.pid} (own process, log level warn), idle ${idlePct.toFixed(1)} % of one core; signalling ${url}, meeting "${MEETING}"`);
    console.log(
      `each step: join up to N, wait until every browser receives all N − 1 audio streams, then ${WINDOW_S} s measured; ` +
        `late = received more than ${LATE_MS} ms after it was sent; p99: 99th percentile of that delay; ` +
        'a failed window is measured once more at the same N (conn s "-"); the sweep ends when two sizes running fail',
    );
    console.log(
      'gw (gateway) and gen (generator): % of one core, all threads, then JS % for the main thread alone; µs/pkt: gateway CPU ' +
        'per forwarded packet; ELU: the generator\'s event loop busy share; lag: its worst send delay behind the 20 ms schedule ' +
        '(not in the packet delays); mach %: busy share of the whole machine (all cores, all processes)\n',
    );
    printHeader();
    clock.start();
    let lastConnectS = 0;
    for (const n of SIZES) {
      const elapsedS = (performance.now() - benchStarted) / 1000;
      if (elapsedS + 2 * lastConnectS + WINDOW_S + 5 > BUDGET_S) {
        stopped = `time budget (${BUDGET_S} s) reached before N = ${n}`;
        break;
      }
      const connectStarted = performance.now();
      let replaced: number;
      try {
        replaced = await participants.connect(n);
      } catch (err) {
        stopped = `N = ${n} did not connect: ${err instanceof Error ? err.message : String(err)}`;
        break;
      }
      lastConnectS = (performance.now() - connectStarted) / 1000;
      let step = await measure(gateway, participants.browsers, clock, n, { seconds: lastConnectS, replaced });
      printStep(step);
      // A window with a burst of late packets can be the shared machine's doing: the same N gets a
      // second window. A full core or a saturated generator would not pass it either.
      if (!step.clean && step.gatewayPct < 100 && step.generatorElu <= GENERATOR_ELU_LIMIT) {
        step = await measure(gateway, participants.browsers, clock, n, { seconds: NaN, replaced: 0 });
        printStep(step);
      }
      steps.push(step);
      const previous = steps[steps.length - 2];
      // Two sizes failing running are the load's doing; one may still be the machine's.
      if (step.gatewayPct >= 100 || step.generatorElu > GENERATOR_ELU_LIMIT || (!step.clean && previous && !previous.clean)) {
        stopped = `N = ${n}: ${step.why}`;
        break;
      }
    }
    if (!stopped) stopped = `no more sizes after N = ${SIZES[SIZES.length - 1]}`;
  } finally {
    clock?.stop();
    participants?.close();
    await gateway?.stop();
    cleanup();
  }

  console.log(`\nsweep ended: ${stopped}`);
  console.log(`load average at the end: ${loadavg().map((load) => load.toFixed(1)).join(' ')}`);
  const sustained = steps.filter((s) => s.clean).pop();
  if (!sustained) console.log('one core sustains: no N was clean');
  else {
    const capped = sustained === steps[steps.length - 1] ? ' — at least: the sweep stopped before the gateway did' : '';
    console.log(
      `one core sustains N = ${sustained.n} browsers in one meeting${capped}: loss + late ${(100 * sustained.loss).toFixed(3)} %, ` +
        `gateway ${sustained.gatewayPct.toFixed(0)} % of one core`,
    );
    console.log(
      `  forwarded there: ${sustained.gatewayPerS.toFixed(0)} packets/s (N·(N − 1)·50 = ${sustained.n * (sustained.n - 1) * 50}); ` +
        `gateway CPU ${sustained.gatewayUsPerPacket.toFixed(1)} µs per forwarded packet (receive, SRTP, send and idle work included)`,
    );
    // What the measured per-packet cost implies for a full core, for when the generator stopped first.
    const fullCoreN = (1 + Math.sqrt(1 + (4 * 1e6) / (50 * sustained.gatewayUsPerPacket))) / 2;
    console.log(`  extrapolated, NOT measured: at ${sustained.gatewayUsPerPacket.toFixed(1)} µs per packet one core would carry N ≈ ${Math.floor(fullCoreN)}`);
  }
  if (problems.size > 0) {
    console.log('problems the fake browsers saw:');
    for (const [problem, count] of [...problems].slice(0, 10)) console.log(`  ${problem}${count > 1 ? ` ×${count}` : ''}`);
  }
  const errors = gateway ? gatewayErrors(gateway.output()) : [];
  if (errors.length > 0) {
    console.log(`gateway errors in its output (${errors.length} lines, first 20):`);
    for (const line of errors.slice(0, 20)) console.log(`  ${line}`);
  } else console.log('gateway output: no errors');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await run();
