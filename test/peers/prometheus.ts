// Driver for Prometheus 2.42 (Debian's prometheus): a real server scraping the gateway's /metrics, queried over its
// HTTP API, and promtool's linter for an exposition.
//
// Facts found on this machine (prometheus 2.42.0+ds, Debian 12):
// - `--web.listen-address`, `--storage.tsdb.path` and `--config.file` are all it needs; GET /-/ready answers 200
//   once the TSDB is open, about 0.3 s after start.
// - The scrape manager takes in new targets only every 5 s, so even a static target's first sample of `up` appears
//   about 5.7 s after start (measured twice): start it early and poll `up` rather than sleep.
// - An instant query looks back 5 min (the default lookback delta) for the newest sample of each series, so right
//   after a change a query can still return the value of the scrape before it: poll until the expected value.
// - `promtool check metrics` reads the exposition on stdin; it exits 0 and prints nothing when it is clean, exits 3
//   and prints one line per lint problem on stderr (e.g. `foo counter metrics should have "_total" suffix`), and exits
//   1 on a parse error.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFreePortBlock, spawnLogged, waitFor, type LoggedProcess } from './process.js';

export interface PrometheusOptions {
  /** `host:port` of the targets to scrape (their /metrics). */
  readonly targets: readonly string[];
  /** The scrape job's name (default `sipgw`, the one the README tells operators to use). */
  readonly jobName?: string;
  /** Seconds between scrapes (default 1). */
  readonly scrapeIntervalS?: number;
}

/** One series of an instant vector: its labels (`__name__` included when the expression keeps it) and value. */
export interface PrometheusSample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Prometheus {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  readonly jobName: string;
  readonly process: LoggedProcess;
  readonly logPath: string;
  /** Evaluates `expression` now (GET /api/v1/query) as an instant vector; rejects on an API error. */
  query(expression: string): Promise<PrometheusSample[]>;
  /** Resolves once every target has been scraped successfully (`up == 1`), at most `timeoutMs`. */
  waitForTargetsUp(timeoutMs?: number): Promise<void>;
  /** Stops the server; removes its config and TSDB unless `keepLogs`. */
  stop(options?: { keepLogs?: boolean }): Promise<void>;
}

interface QueryResponse {
  status: 'success' | 'error';
  error?: string;
  data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
}

function configYaml(options: PrometheusOptions, jobName: string): string {
  const interval = `${options.scrapeIntervalS ?? 1}s`;
  return [
    'global:',
    `  scrape_interval: ${interval}`,
    `  scrape_timeout: ${interval}`,
    `  evaluation_interval: ${interval}`,
    'scrape_configs:',
    `  - job_name: ${jobName}`,
    '    static_configs:',
    `      - targets: [${options.targets.map((target) => `'${target}'`).join(', ')}]`,
    '',
  ].join('\n');
}

/** Starts Prometheus on a free loopback port with its own config and TSDB, and waits until it is ready. */
export async function startPrometheus(options: PrometheusOptions): Promise<Prometheus> {
  const jobName = options.jobName ?? 'sipgw';
  const dir = mkdtempSync(join(tmpdir(), 'sipgw-prometheus-'));
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, configYaml(options, jobName));
  mkdirSync(join(dir, 'data'));
  const port = findFreePortBlock(1);
  const url = `http://127.0.0.1:${port}`;
  const child = spawnLogged(
    'prometheus',
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    join(dir, 'prometheus.log'),
    { cwd: dir },
  );
  const abort = (): string | undefined => (child.hasExited() ? `prometheus exited (see ${child.logPath})` : undefined);

  const query = async (expression: string): Promise<PrometheusSample[]> => {
    const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expression)}`);
    const body = (await response.json()) as QueryResponse;
    if (body.status !== 'success' || !body.data) throw new Error(`prometheus query ${expression} failed: ${body.error ?? response.status}`);
    if (body.data.resultType !== 'vector') throw new Error(`prometheus query ${expression} gave a ${body.data.resultType}, not a vector`);
    return body.data.result.map(({ metric, value }) => ({ labels: metric, value: Number(value[1]) }));
  };

  const prometheus: Prometheus = {
    url,
    jobName,
    process: child,
    logPath: child.logPath,
    query,
    async waitForTargetsUp(timeoutMs = 15_000) {
      await waitFor(
        async () => {
          const up = await query(`up{job="${jobName}"}`);
          return up.length === options.targets.length && up.every((sample) => sample.value === 1) ? true : undefined;
        },
        { timeoutMs, intervalMs: 250, what: `prometheus to scrape ${options.targets.join(', ')}`, abort },
      );
    },
    async stop({ keepLogs = false } = {}) {
      await child.stop();
      if (keepLogs) console.warn(`prometheus config, TSDB and log kept in ${dir}`);
      else rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await waitFor(async () => ((await fetch(`${url}/-/ready`).catch(() => undefined))?.ok ? true : undefined), {
      timeoutMs: 15_000,
      intervalMs: 100,
      what: `prometheus ready on ${url}`,
      abort,
    });
  } catch (error) {
    await prometheus.stop({ keepLogs: true });
    throw error;
  }
  return prometheus;
}

export interface PromtoolResult {
  /** 0: clean; 3: lint problems; 1: the exposition does not parse. */
  readonly exitCode: number | null;
  /** What promtool printed (stdout and stderr): one line per problem, empty when clean. */
  readonly output: string;
}

/** Runs `promtool check metrics` on a Prometheus text exposition. */
export function promtoolCheckMetrics(exposition: string, timeoutMs = 10_000): Promise<PromtoolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'], timeout: timeoutMs, killSignal: 'SIGKILL' });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ exitCode: code, output }));
    child.stdin.end(exposition);
  });
}
