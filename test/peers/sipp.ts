// Driver for sipp (Debian's sip-tester 3.6.1: UDP and TCP only, no TLS — put tls-hop.ts in front for TLS).
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnLogged, waitForListening, type LoggedProcess } from './process.js';

export const SCENARIOS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'scenarios');

export interface SippOptions {
  /** A file path, a scenario of ours by name (`uac-sdes` → scenarios/uac-sdes.xml), or a built-in (`uas`, `uac`). */
  readonly scenario: string;
  /** host:port to send to; a UAS may leave it out. */
  readonly target?: string;
  readonly transport: 'u1' | 't1';
  readonly localPort: number;
  /** sipp binds its control port (default 8888) even when unused: every instance needs its own. */
  readonly controlPort: number;
  /** sipp binds mediaPort and mediaPort+2 even without RTP. */
  readonly mediaPort: number;
  /** Stop after this many calls (`-m`). */
  readonly calls: number;
  /** Calls per second (`-r`). */
  readonly rate?: number;
  /** Global limit: sipp gives up (exit code 1 with -timeout_error) after this; the process is killed 5 s later. */
  readonly timeoutS: number;
  /** The user part of the Request-URI (`-s`). */
  readonly service?: string;
  /** Milliseconds of a `<pause/>` without attributes (`-d`), e.g. the call length in uac-sdes. */
  readonly pauseMs?: number;
  /** Scenario variables (`-set name value`), read in a scenario as `[$name]`. */
  readonly vars?: Readonly<Record<string, string>>;
  /**
   * The digest `uri` of `[authentication]`, e.g. the Request-URI `sip:ivr@127.0.0.1:5060` (`-auth_uri`, which
   * takes it without the scheme: sipp 3.6.1 prepends "sip:"). Without it sipp puts `sip:<remote_ip>:<remote_port>`
   * there, which a callee that checks the digest-uri against the Request-URI (user part included) refuses.
   */
  readonly authUri?: string;
  /** Local address to bind and to put in Via/Contact (`-i`), e.g. 127.0.0.2 to look like another host. */
  readonly sourceAddress?: string;
  readonly extraArgs?: readonly string[];
  /** Directory for logs and stats; a fresh temp directory when omitted. */
  readonly dir?: string;
}

export interface SippMessageCount {
  /** The scenario screen's label: a method or status code (`INVITE`, `200`), or `Pause [ 2000ms]`. */
  readonly label: string;
  readonly direction: 'send' | 'recv' | 'other';
  readonly messages: number;
  /** For a recv line: retransmissions of that message that arrived. */
  readonly retrans: number;
  readonly timeout: number;
  readonly unexpected: number;
}

export interface SippResult {
  /** 0: every call succeeded; 1: some failed; 97/99: exited by command/without calls; 124/137: killed by `timeout`. */
  readonly exitCode: number | null;
  readonly successful: number;
  readonly failed: number;
  /** Retransmissions sipp sent. */
  readonly retransmissions: number | undefined;
  /** The scenario screen's per-message table at exit. */
  readonly messageCounts: readonly SippMessageCount[];
  readonly stdout: string;
  readonly stderr: string;
  readonly statsCsv: string | undefined;
  /** Holds sipp.log, stats.csv, screen.log, messages.log, errors.log. */
  readonly dir: string;
}

export interface SippProcess {
  readonly process: LoggedProcess;
  readonly dir: string;
  /** Resolves once sipp has bound its SIP port (for a UAS that others will call). */
  ready(timeoutMs?: number): Promise<void>;
  readonly result: Promise<SippResult>;
  /** Ends sipp (if still running) and returns its result. */
  stop(): Promise<SippResult>;
}

function scenarioArgs(scenario: string): string[] {
  const ours = join(SCENARIOS_DIR, `${scenario}.xml`);
  if (existsSync(ours)) return ['-sf', ours];
  if (scenario.endsWith('.xml') || scenario.includes('/')) return ['-sf', resolve(scenario)];
  return ['-sn', scenario];
}

function sippArgs(options: SippOptions, dir: string): string[] {
  const args = [...scenarioArgs(options.scenario)];
  if (options.target) args.push(options.target);
  args.push(
    '-t', options.transport,
    '-i', options.sourceAddress ?? '127.0.0.1',
    '-p', String(options.localPort),
    '-cp', String(options.controlPort),
    '-mp', String(options.mediaPort),
    '-m', String(options.calls),
    '-timeout', `${options.timeoutS}s`, '-timeout_error',
    '-nostdin',
    '-trace_stat', '-stf', join(dir, 'stats.csv'), '-fd', '1',
    '-trace_screen', '-screen_file', join(dir, 'screen.log'),
    '-trace_msg', '-message_file', join(dir, 'messages.log'),
    '-trace_err', '-error_file', join(dir, 'errors.log'),
  );
  if (options.rate !== undefined) args.push('-r', String(options.rate));
  if (options.service !== undefined) args.push('-s', options.service);
  if (options.pauseMs !== undefined) args.push('-d', String(options.pauseMs));
  if (options.authUri !== undefined) args.push('-auth_uri', options.authUri.replace(/^sip:/i, ''));
  for (const [name, value] of Object.entries(options.vars ?? {})) args.push('-set', name, value);
  args.push(...(options.extraArgs ?? []));
  return args;
}

/** Values of the last row of a sipp `-trace_stat` CSV (`;`-separated, header first). */
export function parseSippStats(csv: string): Record<string, string> {
  const lines = csv.split('\n').filter((line) => line.trim() !== '');
  const header = lines[0]?.split(';') ?? [];
  const last = lines.length > 1 ? (lines[lines.length - 1] ?? '').split(';') : [];
  return Object.fromEntries(header.map((name, index) => [name, last[index] ?? '']));
}

// A response-time marker column (`B-RTD2`, `E-RTD1`) stands before the counts on lines that start or end one.
const MESSAGE_LINE = /^\s+(\S+)\s+(-+>|<-+)\s+(?:[BE]-RTD\d+\s+)?(\d+)\s+(\d+)(?:\s+(\d+))?(?:\s+(\d+))?\s*$/;
const PAUSE_LINE = /^\s+(Pause \[.*?\])\s+(\d+)\s+(\d+)\s*$/;

/** The per-message table of the last scenario screen in sipp's output or screen file. */
export function parseSippMessageCounts(screen: string): SippMessageCount[] {
  const start = screen.lastIndexOf('Messages  Retrans   Timeout   Unexpected-Msg');
  if (start < 0) return [];
  const counts: SippMessageCount[] = [];
  for (const line of screen.slice(start).split('\n').slice(1)) {
    if (line.startsWith('---')) break;
    const message = MESSAGE_LINE.exec(line);
    if (message) {
      counts.push({
        label: message[1] ?? '',
        direction: message[2]?.endsWith('>') ? 'send' : 'recv',
        messages: Number(message[3]),
        retrans: Number(message[4]),
        timeout: Number(message[5] ?? 0),
        unexpected: Number(message[6] ?? 0),
      });
      continue;
    }
    const pause = PAUSE_LINE.exec(line);
    if (pause) {
      counts.push({ label: pause[1] ?? '', direction: 'other', messages: Number(pause[2]), retrans: 0, timeout: 0, unexpected: Number(pause[3]) });
    }
  }
  return counts;
}

function readIfExists(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}

/** Starts sipp in the background (under `timeout`); use for a UAS or to run several at once. */
export function startSipp(options: SippOptions): SippProcess {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'sipgw-sipp-'));
  const child = spawnLogged(
    'timeout',
    ['--kill-after=5', String(options.timeoutS + 5), 'sipp', ...sippArgs(options, dir)],
    join(dir, 'sipp.log'),
    { cwd: dir, capture: true },
  );
  const result = child.exited.then((exit): SippResult => {
    const statsCsv = readIfExists(join(dir, 'stats.csv'));
    const stats = statsCsv ? parseSippStats(statsCsv) : {};
    const retransmissions = stats['Retransmissions(C)'];
    return {
      exitCode: exit.code,
      successful: Number(stats['SuccessfulCall(C)'] ?? 0),
      failed: Number(stats['FailedCall(C)'] ?? 0),
      retransmissions: retransmissions === undefined ? undefined : Number(retransmissions),
      messageCounts: parseSippMessageCounts(child.output.stdout || (readIfExists(join(dir, 'screen.log')) ?? '')),
      stdout: child.output.stdout,
      stderr: child.output.stderr,
      statsCsv,
      dir,
    };
  });
  return {
    process: child,
    dir,
    result,
    async ready(timeoutMs = 5000) {
      const abort = (): string | undefined => (child.hasExited() ? `sipp exited (see ${child.logPath})` : undefined);
      await waitForListening(options.transport === 't1' ? 'tcp' : 'udp', options.localPort, { timeoutMs, abort });
    },
    async stop() {
      await child.stop();
      return result;
    },
  };
}

/** Runs sipp to completion (bounded by `timeoutS`) and returns its counts. */
export function runSipp(options: SippOptions): Promise<SippResult> {
  return startSipp(options).result;
}

/** Removes a result's directory; keep it when a test failed, to read the SIP trace. */
export function removeSippDir(result: SippResult): void {
  rmSync(result.dir, { recursive: true, force: true });
}

/** Removes the runs' directories, or after a failed test keeps them and says where, for a look at sipp's logs. */
export function removeSippDirs(results: readonly SippResult[], { keepLogs }: { keepLogs: boolean }): void {
  for (const result of results) {
    if (keepLogs) console.warn(`sipp logs kept in ${result.dir}`);
    else removeSippDir(result);
  }
}
