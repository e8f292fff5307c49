import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findFreePortBlock } from '../peers/process.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface GatewayPorts {
  sip: { udp: number; tcp: number; tls: number };
  http: number;
}

export interface GatewayProcess {
  readonly ports: GatewayPorts;
  readonly pid: number;
  readonly dir: string;
  /** The dev CA the gateway generated (what a room system would be told to trust). */
  readonly caFile: string;
  /** Everything the gateway wrote to stdout and stderr so far. */
  output(): string;
  /** Sum of a metric's samples whose labels include `labels`, read from GET /metrics. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  /** Sends the process a signal, as an operator or orchestrator would. */
  signal(signal: NodeJS.Signals): void;
  /** The exit code once the process has exited (null when a signal ended it). */
  readonly exited: Promise<number | null>;
  stop(): Promise<void>;
}

/**
 * Starts the gateway as an operator does (its CLI, in its own process) on free ports with its own
 * dev certificate directory, and waits until `GET /readyz` names the ports it bound.
 */
export async function startGatewayProcess(
  options: {
    config?: object;
    env?: Record<string, string>;
    /** Dev certificate directory, e.g. one several gateways share to save generating keys; default a fresh one. */
    certsDir?: string;
  } = {},
): Promise<GatewayProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'sipgw-test-'));
  const certsDir = options.certsDir ?? join(dir, 'certs');
  const mediaStart = findFreePortBlock(200);
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    SIPGW_SIP_UDP_PORT: '0',
    SIPGW_SIP_TCP_PORT: '0',
    SIPGW_SIP_TLS_PORT: '0',
    SIPGW_HTTP_PORT: String(findFreePortBlock(1)),
    SIPGW_MEDIA_PORTS: `${mediaStart}-${mediaStart + 199}`,
    SIPGW_CERTS_DEV_DIR: certsDir,
    SIPGW_LOG_LEVEL: 'info',
    ...options.env,
  };
  if (options.config) {
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify(options.config));
    env.SIPGW_CONFIG = file;
  }
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bin', 'sipgw.ts')], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  let signalled = false;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code, signal) => {
      // A gateway that ended without being told to has crashed: say why, or the failing test never will.
      if (!signalled) console.error(`gateway ${child.pid} exited by itself (code ${code}, signal ${signal}); its last output:\n${output.slice(-4000)}`);
      resolve(code);
    }),
  );

  const httpBase = `http://127.0.0.1:${env.SIPGW_HTTP_PORT}`;
  const ports = await waitForReady(child, httpBase, () => output, 30_000);
  return {
    ports,
    pid: child.pid!,
    dir,
    caFile: join(certsDir, 'ca.pem'),
    output: () => output,
    async metric(name, labels = {}) {
      const text = await (await fetch(`${httpBase}/metrics`)).text();
      return sumSamples(text, name, labels);
    },
    signal(signal) {
      signalled = true;
      child.kill(signal);
    },
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        signalled = true;
        // SIGINT stops at once; SIGTERM would drain calls for the grace period first.
        child.kill('SIGINT');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitForReady(child: ChildProcess, httpBase: string, output: () => string, timeoutMs: number): Promise<GatewayPorts> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`gateway exited with ${child.exitCode}:\n${output()}`);
    const response = await fetch(`${httpBase}/readyz`).catch(() => undefined);
    if (response?.ok) return (await response.json()) as GatewayPorts;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`gateway not ready within ${timeoutMs} ms:\n${output()}`);
}

/** Sum of the samples of `name` in a Prometheus text exposition whose labels include `labels`. */
export function sumSamples(exposition: string, name: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const line of exposition.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const sampleLabels = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => sampleLabels[k] === v)) sum += Number(match[3]);
  }
  return sum;
}
