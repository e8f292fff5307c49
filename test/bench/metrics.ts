/**
 * What metrics cost, in two parts.
 *
 * Scrape: GET /metrics of a gateway process (its CLI, log level warn), timed at the client (wall ms)
 * and in the gateway (CPU ms per scrape from /proc, over back-to-back scrapes), with 0 legs, then with
 * BENCH_METRICS_LEGS (1 000) echo calls held up at once, then with 0 again after they ended: sipp
 * (uac-sdes, TCP, one connection) → socat (TCP→TLS) → `sip:echo@…`, each call SDES-SRTP, no media sent
 * (media.timeoutS 600 keeps such legs up), BYE after a fixed hold. sipgw_legs_active is read from the
 * scrapes themselves to confirm how many legs were up while they ran.
 *
 * Per packet: one echo leg's media path, SecureRtpStream (AES_CM_128_HMAC_SHA1_80, 160-byte PCMU
 * payloads) with the test-call service's EchoTarget on a real Leg: unprotect, listeners, protect, send.
 * Variant "metrics" gives the stream the events SIP and browser legs get (streamMetricEvents: bound
 * counters of a real createMetrics() registry); "none" and "control" have no events, and the gap
 * between those two is the noise floor of the run. Measured over real loopback UDP (packets from a
 * peer in a child process, so this process's CPU, process.cpuUsage(), is the gateway side alone,
 * syscalls included; blocks of the variants in rotating order) and in-process with a stand-in for the
 * socket pair (no syscalls; the socket pair's header check and latching are left out; packets go to
 * the variants in turn, each timed alone), which resolves far smaller differences on a shared machine.
 * The extra µs measured in-process is then set against the UDP path's cost. A tight loop times one
 * bound-counter increment against one prom-client Counter.inc(labels).
 *
 * Environment (optional): BENCH_METRICS_LEGS=1000 (1–1100), BENCH_METRICS_RATE=200 (calls/s).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Counter } from 'prom-client';
import { Leg, streamMetricEvents, type SecurityLabel } from '../../gateway/calls/index.js';
import {
  PortAllocator,
  RtpSocketPair,
  SecureRtpStream,
  SrtpContext,
  isRtcp,
  type StreamEvents,
  type StreamParams,
  type SrtpSuite,
} from '../../gateway/media/index.js';
import { createMetrics, type Metrics } from '../../gateway/observability/index.js';
import { SrtpMasterKey } from '../../gateway/sdp/index.js';
import { EchoTarget } from '../../gateway/testcall/index.js';
import { startGatewayProcess, sumSamples, type GatewayProcess } from '../interop/gateway-process.js';
import { findFreePortBlock } from '../peers/process.js';
import { startSipp, type SippProcess } from '../peers/sipp.js';
import { startSocatTlsHop, type TlsHop } from '../peers/tls-hop.js';
import { responseTally } from './echo-calls.js';
import { processCpu } from './load/process-cpu.js';

const LEGS = boundedInteger(process.env.BENCH_METRICS_LEGS, 1000, 1, 1100);
const CALL_RATE = boundedInteger(process.env.BENCH_METRICS_RATE, 200, 10, 400);
/** Two ports per leg (RTP, RTCP) and some spare: a port the allocator finds taken is skipped. */
const MEDIA_PORTS = 2400;
const SCRAPES = 30;
const WARMUP_SCRAPES = 5;
const IDLE_MS = 1000;
/** From the last call's ACK to its BYE: room for the scrapes once every call is up. */
const HOLD_AFTER_RAMP_MS = 20_000;

const SUITE: SrtpSuite = 'AES_CM_128_HMAC_SHA1_80';
const PCMU_PAYLOAD_BYTES = 160;
const UDP_GROUPS = 30;
const UDP_BLOCK = 2000;
const WARMUP_GROUPS = 2;
const IN_PROCESS_PACKETS = 100_000;
const IN_PROCESS_BLOCK = 2000;
const WARMUP_BLOCKS = 2;
/** Packets the peer keeps in flight: enough to keep the stream busy, few enough for a 1 MiB socket buffer. */
const WINDOW = 32;
const ROUNDS = 9;
const OPERATIONS = 500_000;

function boundedInteger(text: string | undefined, fallback: number, min: number, max: number): number {
  const value = Number(text);
  return text && Number.isInteger(value) ? Math.min(max, Math.max(min, value)) : fallback;
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

const median = (values: readonly number[]): number => percentile(values, 50);

const fixed = (value: number, digits: number, width: number): string =>
  (Number.isFinite(value) ? value.toFixed(digits) : '-').padStart(width);
const percent = (ratio: number): string => `${ratio >= 0 ? '+' : ''}${(100 * ratio).toFixed(2)} %`;

// ---- part 1: scrape cost ----------------------------------------------------------------------------

interface ScrapeSeries {
  readonly name: string;
  readonly wallMs: readonly number[];
  /** Gateway CPU over the back-to-back scrapes, per scrape, with the idle rate measured just before. */
  readonly cpuMsPerScrape: number;
  readonly idleMsPerS: number;
  readonly bytes: number;
  readonly series: number;
  /** sipgw_legs_active in the first and the last scrape. */
  readonly legsFirst: number;
  readonly legsLast: number;
}

async function scrape(url: string): Promise<{ ms: number; text: string }> {
  const started = performance.now();
  const response = await fetch(url);
  const text = await response.text();
  if (!response.ok) throw new Error(`GET /metrics answered ${response.status}`);
  return { ms: performance.now() - started, text };
}

function gatewayCpuMs(gateway: GatewayProcess): number {
  const sample = processCpu(gateway.pid);
  if (!sample) throw new Error('gateway process gone');
  return sample.all;
}

async function scrapeSeries(gateway: GatewayProcess, name: string): Promise<ScrapeSeries> {
  const url = `http://127.0.0.1:${gateway.ports.http}/metrics`;
  for (let i = 0; i < WARMUP_SCRAPES; i++) await scrape(url);
  const idle0 = gatewayCpuMs(gateway);
  await sleep(IDLE_MS);
  const idleMsPerS = (gatewayCpuMs(gateway) - idle0) / (IDLE_MS / 1000);
  const wallMs: number[] = [];
  const texts: string[] = [];
  const cpu0 = gatewayCpuMs(gateway);
  for (let i = 0; i < SCRAPES; i++) {
    const { ms, text } = await scrape(url);
    wallMs.push(ms);
    if (i === 0 || i === SCRAPES - 1) texts.push(text);
  }
  const cpuMsPerScrape = (gatewayCpuMs(gateway) - cpu0) / SCRAPES;
  const last = texts[texts.length - 1]!;
  return {
    name,
    wallMs,
    cpuMsPerScrape,
    idleMsPerS,
    bytes: Buffer.byteLength(last),
    series: last.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length,
    legsFirst: sumSamples(texts[0]!, 'sipgw_legs_active', {}),
    legsLast: sumSamples(last, 'sipgw_legs_active', {}),
  };
}

/** Polls sipgw_legs_active every 250 ms until `done(legs)` or the deadline; the last value and the highest. */
async function pollLegs(gateway: GatewayProcess, deadlineMs: number, done: (legs: number) => boolean): Promise<{ last: number; highest: number }> {
  let last = await gateway.metric('sipgw_legs_active');
  let highest = last;
  while (!done(last) && performance.now() < deadlineMs) {
    await sleep(250);
    last = await gateway.metric('sipgw_legs_active');
    highest = Math.max(highest, last);
  }
  return { last, highest };
}

function printScrapeTable(rows: readonly ScrapeSeries[], reference: number): void {
  console.log(
    `${'state'.padEnd(22)}${'legs'.padStart(6)}${'p50 ms'.padStart(8)}${'p90 ms'.padStart(8)}${'max ms'.padStart(8)}` +
      `${'gw CPU ms'.padStart(10)}${'idle ms/s'.padStart(10)}${'bytes'.padStart(8)}${'series'.padStart(7)}  p50 ÷ 0-leg mean`,
  );
  for (const row of rows) {
    const legs = row.legsFirst === row.legsLast ? String(row.legsFirst) : `${row.legsFirst}→${row.legsLast}`;
    console.log(
      `${row.name.padEnd(22)}${legs.padStart(6)}${fixed(median(row.wallMs), 2, 8)}${fixed(percentile(row.wallMs, 90), 2, 8)}` +
        `${fixed(Math.max(...row.wallMs), 2, 8)}${fixed(row.cpuMsPerScrape, 2, 10)}${fixed(row.idleMsPerS, 1, 10)}` +
        `${String(row.bytes).padStart(8)}${String(row.series).padStart(7)}  ${(median(row.wallMs) / reference).toFixed(2)}×`,
    );
  }
}

async function measureScrapes(): Promise<void> {
  // Not findFreePortBlock: a free block this large is rare in 10000–15999 while tests run, and each try
  // reads /proc/net per port. 16000–32767 is clear of the tests' and the ephemeral ports, and the gateway
  // skips any pair something else holds.
  const mediaStart = 16_000 + 2 * Math.floor((Math.random() * (32_768 - 16_000 - MEDIA_PORTS)) / 2);
  const base = findFreePortBlock(8);
  const hopPort = base;
  const sippPorts = { local: base + 1, control: base + 2, media: base + 4 }; // sipp binds media and media+2
  const rampMs = (1000 * LEGS) / CALL_RATE;
  const holdMs = rampMs + HOLD_AFTER_RAMP_MS;

  let gateway: GatewayProcess | undefined;
  let hop: TlsHop | undefined;
  let sipp: SippProcess | undefined;
  const cleanup = async (): Promise<void> => {
    await sipp?.stop().catch(() => undefined);
    await hop?.stop().catch(() => undefined);
    await gateway?.stop().catch(() => undefined);
    sipp = hop = gateway = undefined;
  };
  const onSignal = (): void => {
    void cleanup().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    gateway = await startGatewayProcess({
      env: {
        SIPGW_LOG_LEVEL: 'warn',
        SIPGW_MEDIA_PORTS: `${mediaStart}-${mediaStart + MEDIA_PORTS - 1}`,
        SIPGW_MEDIA_TIMEOUT_S: '600',
      },
    });
    hop = await startSocatTlsHop({ listenTcpPort: hopPort, targetTlsPort: gateway.ports.sip.tls });
    console.log(
      `gateway pid ${gateway.pid} (own process, log level warn, ${MEDIA_PORTS} media ports, media timeout 600 s); ` +
        `${SCRAPES} back-to-back scrapes per state after ${WARMUP_SCRAPES} warm-up ones, one keep-alive connection`,
    );
    console.log(
      `calls: sipp uac-sdes → socat :${hopPort} (TCP→TLS) → sip:echo@, ${LEGS} at ${CALL_RATE}/s, ` +
        `each held ${(holdMs / 1000).toFixed(0)} s after its ACK, no media; then BYE`,
    );
    console.log('gw CPU ms = gateway utime+stime per scrape at kernel-tick resolution, the idle rate (measured just before) included\n');

    const rows: ScrapeSeries[] = [await scrapeSeries(gateway, 'before calls')];
    const started = performance.now();
    sipp = startSipp({
      scenario: 'uac-sdes',
      target: `127.0.0.1:${hopPort}`,
      transport: 't1',
      localPort: sippPorts.local,
      controlPort: sippPorts.control,
      mediaPort: sippPorts.media,
      calls: LEGS,
      rate: CALL_RATE,
      timeoutS: Math.ceil((rampMs + holdMs) / 1000) + 30,
      service: 'echo',
      pauseMs: holdMs,
    });
    let sippDone = false;
    const result = sipp.result.finally(() => (sippDone = true));
    const ramp = await pollLegs(gateway, started + rampMs + 15_000, (legs) => legs >= LEGS || sippDone);
    const rampS = (performance.now() - started) / 1000;
    if (ramp.last === LEGS) console.log(`all ${LEGS} legs up ${rampS.toFixed(1)} s after the first INVITE`);
    else console.log(`only ${ramp.last} of ${LEGS} legs up after ${rampS.toFixed(1)} s (at most ${ramp.highest}): scraping with those`);
    rows.push(await scrapeSeries(gateway, `${ramp.last} legs up`));
    const ended = await result;
    sipp = undefined;
    const { last: left } = await pollLegs(gateway, performance.now() + 10_000, (legs) => legs === 0);
    console.log(
      `sipp: ${ended.successful} calls completed, ${ended.failed} failed (exit ${ended.exitCode}); ` +
        `legs active after the BYEs: ${left}`,
    );
    if (ended.failed === 0) rmSync(ended.dir, { recursive: true, force: true });
    else console.log(`failed calls received: ${responseTally(ended.dir) || 'no response (see the logs)'}; sipp logs kept: ${ended.dir}`);
    rows.push(await scrapeSeries(gateway, 'after calls'));

    const idleRows = [rows[0]!, rows[rows.length - 1]!];
    const reference = (median(idleRows[0]!.wallMs) + median(idleRows[1]!.wallMs)) / 2;
    console.log('');
    printScrapeTable(rows, reference);
    const loaded = rows[1]!;
    const idleCpu = (idleRows[0]!.cpuMsPerScrape + idleRows[1]!.cpuMsPerScrape) / 2;
    console.log(
      `\nscrape with ${loaded.legsLast} legs: p50 ${median(loaded.wallMs).toFixed(2)} ms, p90 ${percentile(loaded.wallMs, 90).toFixed(2)} ms ` +
        `(client wall), ${loaded.cpuMsPerScrape.toFixed(2)} ms gateway CPU; ratio to 0 legs (mean of before and after): ` +
        `wall p50 ${(median(loaded.wallMs) / reference).toFixed(2)}×, CPU ${(loaded.cpuMsPerScrape / idleCpu).toFixed(2)}×`,
    );
    console.log(
      `exposition: ${loaded.bytes} bytes, ${loaded.series} series with ${loaded.legsLast} legs ` +
        `(${rows[0]!.bytes} bytes, ${rows[0]!.series} series with 0)`,
    );
  } finally {
    await cleanup();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

// ---- part 2: per-packet cost of recording metrics ----------------------------------------------------

const LABEL: SecurityLabel = { origin: 'sip', signalling: 'tls1.3', media: 'sdes-srtp', suite: SUITE, encrypted: true };

/**
 * "none" and "control" are the same (no events): the gap between them is what this machine cannot resolve
 * in this run. "metrics" has the events legs get.
 */
const VARIANTS = ['none', 'control', 'metrics'] as const;
type Variant = (typeof VARIANTS)[number];
type ByVariant<T> = Record<Variant, T>;

function byVariant<T>(make: (variant: Variant) => T): ByVariant<T> {
  return { none: make('none'), control: make('control'), metrics: make('metrics') };
}

/** The order of the variants in the i-th group: rotating, so that each takes each position in turn. */
function rotation(i: number): Variant[] {
  return VARIANTS.map((_, k) => VARIANTS[(i + k) % VARIANTS.length]!);
}

/** The echo leg of one variant: the stream the gateway would build, with the test-call service on it. */
function echoLeg(socket: RtpSocketPair, remotePort: number, keys: LegKeys, events: StreamEvents): SecureRtpStream {
  const params: StreamParams = {
    kind: 'audio',
    codec: { payloadType: 0, name: 'PCMU', clockRate: 8000, channels: 1 },
    direction: 'sendrecv',
    remote: { address: '127.0.0.1', rtpPort: remotePort, rtcpPort: remotePort },
    rtcpMux: true,
    srtp: { suite: SUITE, remoteKey: keys.remote, localKey: keys.local },
  };
  const stream = new SecureRtpStream(socket, params, events);
  const leg = new Leg(LABEL, () => undefined);
  new EchoTarget().attach(leg);
  leg.addStream(stream);
  return stream;
}

interface LegKeys {
  /** The caller's key, which the gateway decrypts with. */
  readonly remote: SrtpMasterKey;
  readonly local: SrtpMasterKey;
}

const legKeys = (): LegKeys => ({ remote: SrtpMasterKey.generate(SUITE), local: SrtpMasterKey.generate(SUITE) });
const eventsOf = (variant: Variant, metrics: Metrics): StreamEvents => (variant === 'metrics' ? streamMetricEvents(metrics, LABEL.origin) : {});

/** A caller's RTP: consecutive PCMU packets of one SSRC, SRTP-protected with the caller's key. */
class CallerMedia {
  private readonly context: SrtpContext;
  private readonly ssrc = (Math.random() * 0x100000000) >>> 0;
  private sequence = 0;
  private timestamp = 0;

  constructor(key: { key: Buffer; salt: Buffer }) {
    this.context = new SrtpContext(SUITE, key.key, key.salt);
  }

  next(): Buffer {
    const packet = Buffer.alloc(12 + PCMU_PAYLOAD_BYTES, 0xff);
    packet[0] = 0x80;
    packet[1] = 0;
    packet.writeUInt16BE(this.sequence, 2);
    packet.writeUInt32BE(this.timestamp, 4);
    packet.writeUInt32BE(this.ssrc, 8);
    this.sequence = (this.sequence + 1) & 0xffff;
    this.timestamp = (this.timestamp + PCMU_PAYLOAD_BYTES) >>> 0;
    return this.context.protect(packet);
  }
}

function printRatios(perPacket: ByVariant<number>, label: string): void {
  const { none, control, metrics } = perPacket;
  console.log(
    `  ${label}: metrics ÷ none − 1 ${percent(metrics / none - 1)}; control ÷ none − 1 ${percent(control / none - 1)} (the noise floor)`,
  );
}

// The peer runs in a child process (this file again, with PEER_ENV set), so that its sending and
// receiving do not count in the CPU this process spends per relayed packet.
const PEER_ENV = 'SIPGW_BENCH_METRICS_PEER';

type ToPeer =
  | { type: 'open'; keys: { key: Buffer; salt: Buffer }[]; targets: number[] }
  | { type: 'round'; stream: number; packets: number };
type FromPeer = { type: 'opened'; ports: number[] } | { type: 'done'; sent: number; echoed: number };

interface PeerStream {
  readonly media: CallerMedia;
  readonly socket: Socket;
  readonly target: number;
}

/**
 * One round: WINDOW packets in flight, the next sent as each echo returns. A stall (a packet lost) of
 * 200 ms refills the window; with everything sent, it ends the round with what came back.
 */
function peerRound(stream: PeerStream, packets: number): Promise<{ sent: number; echoed: number }> {
  return new Promise((resolve) => {
    let sent = 0;
    let echoed = 0;
    let seen = 0;
    const sendOne = (): void => {
      stream.socket.send(stream.media.next(), stream.target, '127.0.0.1');
      sent++;
    };
    const finish = (): void => {
      clearInterval(stall);
      stream.socket.off('message', onMessage);
      resolve({ sent, echoed });
    };
    const onMessage = (packet: Buffer): void => {
      if (isRtcp(packet)) return;
      echoed++;
      if (sent < packets) sendOne();
      else if (echoed >= packets) finish();
    };
    const stall = setInterval(() => {
      if (echoed === seen) {
        if (sent >= packets) return finish();
        for (let i = 0; i < WINDOW && sent < packets; i++) sendOne();
      }
      seen = echoed;
    }, 200);
    stream.socket.on('message', onMessage);
    for (let i = 0; i < WINDOW && sent < packets; i++) sendOne();
  });
}

function servePeer(): void {
  const streams: PeerStream[] = [];
  const reply = (message: FromPeer): void => void process.send!(message);
  process.on('message', (message: ToPeer) => {
    if (message.type === 'open') {
      void Promise.all(
        message.keys.map(
          (key, index) =>
            new Promise<PeerStream>((resolve) => {
              const socket = createSocket('udp4');
              socket.bind(0, '127.0.0.1', () => resolve({ media: new CallerMedia(key), socket, target: message.targets[index]! }));
            }),
        ),
      ).then((opened) => {
        streams.push(...opened);
        reply({ type: 'opened', ports: opened.map((s) => s.socket.address().port) });
      });
    } else {
      void peerRound(streams[message.stream]!, message.packets).then((counts) => reply({ type: 'done', ...counts }));
    }
  });
  process.once('disconnect', () => {
    for (const { socket } of streams) socket.close();
  });
}

function startPeer(): { child: ChildProcess; request: (message: ToPeer) => Promise<FromPeer> } {
  const child = fork(fileURLToPath(import.meta.url), [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, [PEER_ENV]: '1' },
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const request = (message: ToPeer): Promise<FromPeer> =>
    new Promise((resolve, reject) => {
      const onExit = (code: number | null): void => reject(new Error(`bench peer exited (${code})`));
      child.once('exit', onExit);
      child.once('message', (answer: FromPeer) => {
        child.off('exit', onExit);
        resolve(answer);
      });
      child.send(message);
    });
  return { child, request };
}

/** CPU µs this process spent (all its threads): the work of a block that waits on sockets. */
function cpuMicros(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

/**
 * Blocks of the three variants back to back, in rotating order, so that a machine whose load drifts
 * slows them alike; each group gives one ratio per variant to "none". Returns the median µs per packet
 * of "none", and for the others that times their median ratio.
 */
async function measureUdp(metrics: Metrics): Promise<ByVariant<number>> {
  // One spare port: pairs start on an even port.
  const block = findFreePortBlock(2 * VARIANTS.length + 1);
  const allocator = new PortAllocator(block, block + 2 * VARIANTS.length);
  const sockets: RtpSocketPair[] = [];
  for (const _ of VARIANTS) sockets.push(await RtpSocketPair.open({ allocator, bindAddress: '127.0.0.1' }));
  const keys = VARIANTS.map(legKeys);
  const peer = startPeer();
  const streams: SecureRtpStream[] = [];
  try {
    const opened = await peer.request({
      type: 'open',
      keys: keys.map(({ remote }) => ({ key: remote.key, salt: remote.salt })),
      targets: sockets.map((s) => s.rtpPort),
    });
    if (opened.type !== 'opened') throw new Error('bench peer did not open its sockets');
    VARIANTS.forEach((variant, i) => streams.push(echoLeg(sockets[i]!, opened.ports[i]!, keys[i]!, eventsOf(variant, metrics))));
    const perBlock = byVariant((): number[] => []);
    const ratios = byVariant((): number[] => []);
    let lost = 0;
    for (let group = -WARMUP_GROUPS; group < UDP_GROUPS; group++) {
      const values = byVariant(() => NaN);
      for (const variant of rotation(group + WARMUP_GROUPS)) {
        const cpu0 = cpuMicros();
        const done = await peer.request({ type: 'round', stream: VARIANTS.indexOf(variant), packets: UDP_BLOCK });
        const cpu = cpuMicros() - cpu0;
        if (done.type !== 'done') throw new Error('bench peer answered out of turn');
        lost += done.sent - done.echoed;
        values[variant] = cpu / Math.max(1, done.echoed);
      }
      if (group < 0) continue; // JIT warm-up
      for (const variant of VARIANTS) {
        perBlock[variant].push(values[variant]);
        ratios[variant].push(values[variant] / values.none);
      }
    }
    const counted =
      (await metrics.rtpPackets.value({ direction: 'in', origin: 'sip' })) + (await metrics.rtpPackets.value({ direction: 'out', origin: 'sip' }));
    console.log(
      `real loopback UDP: CPU µs of this process (all threads) per packet echoed (receive, unprotect, EchoTarget, protect, send); ` +
        `${UDP_GROUPS} groups of one ${UDP_BLOCK}-packet block per variant, in rotating order, ${WINDOW} packets in flight`,
    );
    console.log(`${'variant'.padEnd(10)}${'p25'.padStart(8)}${'p50'.padStart(8)}${'p75'.padStart(8)}   ÷ none in the same group: p25, p50, p75`);
    for (const variant of VARIANTS) {
      const quartiles = (values: number[], format: (v: number) => string): string => [25, 50, 75].map((p) => format(percentile(values, p))).join('');
      console.log(
        `${variant.padEnd(10)}${quartiles(perBlock[variant], (v) => fixed(v, 2, 8))}   ` +
          (variant === 'none' ? '' : quartiles(ratios[variant], (v) => fixed(v, 3, 7))),
      );
    }
    const medianRatios = byVariant((variant) => median(ratios[variant]));
    printRatios(medianRatios, 'median of the per-group ratios');
    console.log(`  packets lost on loopback: ${lost}; sipgw_rtp_packets_total in + out counted for the metrics variant: ${counted}`);
    return byVariant((variant) => median(perBlock.none) * medianRatios[variant]);
  } finally {
    for (const stream of streams) stream.close();
    for (const socket of sockets) await socket.close();
    peer.child.disconnect();
  }
}

/** The socket pair's public surface as the stream uses it, with no socket: packets are delivered by hand. */
function socketStandIn(): { socket: RtpSocketPair; deliver: (packet: Buffer) => void } {
  const source: RemoteInfo = { address: '127.0.0.1', port: 40_000, family: 'IPv4', size: 0 };
  let listener: Parameters<RtpSocketPair['onPacket']>[0] = () => undefined;
  const standIn = {
    latchedSource: { address: source.address, port: source.port },
    latchedRtcpSource: undefined,
    onPacket: (l: typeof listener) => (listener = l),
    send: () => undefined,
    sendRtcp: () => undefined,
    close: () => Promise.resolve(),
  };
  return { socket: standIn as unknown as RtpSocketPair, deliver: (packet) => listener(packet, source, false) };
}

/** Mean of the values up to `cut`: a packet the OS preempted or a GC paused says nothing of the path. */
function meanUpTo(values: Float64Array, cut: number): number {
  let sum = 0;
  let count = 0;
  for (const value of values) {
    if (value > cut) continue;
    sum += value;
    count++;
  }
  return sum / count;
}

/**
 * Each packet timed alone, the packets going to the three variants' streams in turn (rotating which
 * goes first), so all variants meet the same moments of a busy machine. Returns the median µs per packet.
 */
function measureInProcess(metrics: Metrics): ByVariant<number> {
  const legs = VARIANTS.map((variant) => {
    const keys = legKeys();
    const { socket, deliver } = socketStandIn();
    const stream = echoLeg(socket, 40_000, keys, eventsOf(variant, metrics));
    return { variant, stream, deliver, caller: new CallerMedia(keys.remote) };
  });
  const timer = new Float64Array(IN_PROCESS_BLOCK);
  for (let i = 0; i < timer.length; i++) {
    const started = performance.now();
    timer[i] = (performance.now() - started) * 1000;
  }
  const timerUs = median([...timer]);
  const perPacket = byVariant(() => new Float64Array(IN_PROCESS_PACKETS));
  // The first blocks (negative offsets) warm up the JIT.
  for (let offset = -WARMUP_BLOCKS * IN_PROCESS_BLOCK; offset < IN_PROCESS_PACKETS; offset += IN_PROCESS_BLOCK) {
    // Protected untimed: that is the caller's work.
    const batches = legs.map(({ caller }) => Array.from({ length: IN_PROCESS_BLOCK }, () => caller.next()));
    for (let i = 0; i < IN_PROCESS_BLOCK; i++) {
      for (let turn = 0; turn < legs.length; turn++) {
        const which = (i + turn) % legs.length;
        const started = performance.now();
        legs[which]!.deliver(batches[which]![i]!);
        const micros = (performance.now() - started) * 1000 - timerUs;
        if (offset >= 0) perPacket[legs[which]!.variant][offset + i] = micros;
      }
    }
  }
  for (const { stream } of legs) stream.close();

  const medians = byVariant((variant) => median([...perPacket[variant]]));
  const cut = 10 * medians.none;
  console.log(
    `in-process, the socket pair stood in for (no syscalls, no socket-pair header check): wall µs per packet echoed, ` +
      `${IN_PROCESS_PACKETS} packets per variant, the variants' streams taking turns, each packet timed alone ` +
      `(the timer's own ${timerUs.toFixed(3)} µs taken off)`,
  );
  console.log(`${'variant'.padEnd(10)}${'p10'.padStart(8)}${'p50'.padStart(8)}${'p90'.padStart(8)}${`mean of ≤ ${cut.toFixed(0)}`.padStart(14)}`);
  const means = byVariant((variant) => meanUpTo(perPacket[variant], cut));
  for (const variant of VARIANTS) {
    const values = [...perPacket[variant]];
    console.log(`${variant.padEnd(10)}${[10, 50, 90].map((p) => fixed(percentile(values, p), 3, 8)).join('')}${fixed(means[variant], 3, 14)}`);
  }
  printRatios(medians, 'p50');
  printRatios(means, 'mean');
  return medians;
}

/** ns per operation, median of ROUNDS interleaved rounds. */
function measureOperations(cases: readonly (readonly [string, () => void])[]): Map<string, number> {
  const samples = new Map(cases.map(([name]) => [name, [] as number[]]));
  for (let round = 0; round <= ROUNDS; round++) {
    for (const [name, op] of cases) {
      const started = process.hrtime.bigint();
      for (let i = 0; i < OPERATIONS; i++) op();
      if (round > 0) samples.get(name)!.push(Number(process.hrtime.bigint() - started) / OPERATIONS);
    }
  }
  return new Map([...samples].map(([name, values]) => [name, median(values)]));
}

async function measurePerPacket(): Promise<void> {
  const metrics = createMetrics();
  console.log(
    `media path: SecureRtpStream ${SUITE}, ${PCMU_PAYLOAD_BYTES}-byte PCMU payloads, EchoTarget on a Leg. Variants: ` +
      `"none" and "control" have no StreamEvents (two of them, to show the noise floor), "metrics" has bound counters ` +
      'of createMetrics() as legs wire them (streamMetricEvents)\n',
  );
  const udp = await measureUdp(metrics);
  console.log('');
  const local = measureInProcess(metrics);

  const events = streamMetricEvents(metrics, LABEL.origin);
  const wireBytes = 12 + PCMU_PAYLOAD_BYTES + 10;
  const labels = { direction: 'in', origin: 'sip' } as const;
  const bound = metrics.rtpPackets.bind(labels);
  const plain = new Counter({ name: 'bench_rtp_packets_total', help: 'bench', labelNames: ['direction', 'origin'], registers: [] });
  const eventsName = 'events of one echoed packet: packetIn + packetOut';
  const boundName = 'bound counter inc()';
  const promName = 'prom-client Counter inc(labels)';
  const costs = measureOperations([
    [eventsName, () => {
      events.packetIn!(wireBytes);
      events.packetOut!(wireBytes);
    }],
    [boundName, () => bound.inc()],
    ['catalogue counter inc(labels), label check', () => metrics.rtpPackets.inc(labels)],
    [promName, () => plain.inc(labels)],
  ]);
  console.log(`\nns per operation in a tight loop (median of ${ROUNDS} rounds × ${OPERATIONS})`);
  for (const [name, ns] of costs) console.log(`  ${name.padEnd(52)}${fixed(ns, 1, 8)}`);
  console.log(`  prom-client inc(labels) ÷ bound inc(): ${(costs.get(promName)! / costs.get(boundName)!).toFixed(1)}×`);

  // The two event-less variants together are the baseline; how far apart they are is the noise floor.
  const baseline = (us: ByVariant<number>): number => (us.none + us.control) / 2;
  const floor = (us: ByVariant<number>): number => Math.abs(us.control - us.none) / baseline(us);
  const extraUs = local.metrics - baseline(local);
  console.log('\nrecording RTP metrics, added per echoed packet (target < 2 %; baseline: mean of "none" and "control"):');
  console.log(
    `  in-process (p50): ${extraUs.toFixed(3)} µs, ${percent(extraUs / baseline(local))} of the in-process path ` +
      `(noise floor ${percent(floor(local))})`,
  );
  console.log(`  that work over the real UDP path (${baseline(udp).toFixed(2)} µs CPU per packet): ${percent(extraUs / baseline(udp))}`);
  console.log(`  UDP A/B directly (median of group ratios): ${percent(udp.metrics / baseline(udp) - 1)} (noise floor ${percent(floor(udp))})`);
  console.log(`  the events alone in a tight loop: ${costs.get(eventsName)!.toFixed(1)} ns`);
}

export async function run(): Promise<void> {
  console.log(`-- scrape cost with 0 and ${LEGS} legs`);
  await measureScrapes();
  console.log('\n-- per-packet cost of recording RTP metrics');
  await measurePerPacket();
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.env[PEER_ENV]) servePeer();
  else await run();
}
