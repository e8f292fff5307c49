// Process plumbing shared by the peer drivers: spawn with a log file, bounded waits, kill by process group.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface LoggedProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly logPath: string;
  /** Resolves when the process has exited and its output is flushed to the log. */
  readonly exited: Promise<Exit>;
  readonly hasExited: () => boolean;
  /** SIGTERM to the whole process group, SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<Exit>;
}

export interface SpawnLoggedOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Also keep stdout and stderr in memory (for short-lived tools whose output is parsed). */
  readonly capture?: boolean;
}

export interface CapturedOutput {
  stdout: string;
  stderr: string;
}

/**
 * Starts `command` in its own process group with stdout and stderr appended to `logPath`.
 * The group lets stop() reach helpers the peer forks (e.g. socat's per-connection children).
 */
export function spawnLogged(
  command: string,
  args: readonly string[],
  logPath: string,
  options: SpawnLoggedOptions = {},
): LoggedProcess & { readonly output: CapturedOutput } {
  const log = createWriteStream(logPath, { flags: 'a' });
  log.write(`$ ${command} ${args.join(' ')}\n`);
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: CapturedOutput = { stdout: '', stderr: '' };
  child.stdout?.on('data', (chunk: Buffer) => {
    log.write(chunk);
    if (options.capture) output.stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    log.write(chunk);
    if (options.capture) output.stderr += chunk.toString();
  });
  let done = false;
  const exited = new Promise<Exit>((resolve) => {
    const finish = (exit: Exit): void => {
      if (done) return;
      done = true;
      log.end(`\n[exit code=${exit.code} signal=${exit.signal}]\n`, () => resolve(exit));
    };
    child.on('error', (err) => {
      output.stderr += `${err.message}\n`;
      finish({ code: null, signal: null });
    });
    child.on('close', (code, signal) => finish({ code, signal }));
  });
  const pid = child.pid ?? -1;
  const signalGroup = (signal: NodeJS.Signals): void => {
    if (done || pid <= 0) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // the group is already gone
    }
  };
  return {
    child,
    pid,
    logPath,
    exited,
    output,
    hasExited: () => done,
    async stop(graceMs = 3000) {
      signalGroup('SIGTERM');
      const timer = setTimeout(() => signalGroup('SIGKILL'), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

export interface WaitOptions {
  readonly timeoutMs: number;
  readonly intervalMs?: number;
  /** Names the awaited condition in the timeout error. */
  readonly what: string;
  /** Gives up early (e.g. the process under test exited). Returns a reason, or undefined to go on. */
  readonly abort?: () => string | undefined;
}

/** Polls `probe` until it returns a value other than undefined, at most `timeoutMs`. */
export async function waitFor<T>(probe: () => T | undefined | Promise<T | undefined>, options: WaitOptions): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  const interval = options.intervalMs ?? 50;
  while (true) {
    const value = await probe();
    if (value !== undefined) return value;
    const abortReason = options.abort?.();
    if (abortReason !== undefined) throw new Error(`gave up waiting for ${options.what}: ${abortReason}`);
    if (Date.now() >= deadline) throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${options.what}`);
    await sleep(interval);
  }
}

const TCP_LISTEN_STATE = '0A';

// Reads the kernel's socket tables rather than probing: binding a UDP port ourselves would race the peer, and
// connecting to a TCP one would show up at the peer (and, through a hop, at the gateway) as a real connection.
function portListening(protocol: 'tcp' | 'udp', port: number, anyState = false): boolean {
  const hexPort = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const table of [`/proc/net/${protocol}`, `/proc/net/${protocol}6`]) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const [, localAddress, , state] = line.trim().split(/\s+/);
      if (localAddress?.endsWith(hexPort) && (anyState || protocol === 'udp' || state === TCP_LISTEN_STATE)) return true;
    }
  }
  return false;
}

/** Waits until some process listens on TCP `port`, or has bound UDP `port` (any local address). */
export async function waitForListening(
  protocol: 'tcp' | 'udp',
  port: number,
  options: Omit<WaitOptions, 'what'> & { what?: string },
): Promise<void> {
  await waitFor(() => (portListening(protocol, port) ? true : undefined), {
    ...options,
    what: options.what ?? `a ${protocol.toUpperCase()} socket on port ${port}`,
  });
}

/**
 * A block of `count` consecutive ports that nothing on this machine uses over TCP or UDP right now, from
 * 10000–15999 (below the ephemeral range, and clear of the 16000–31999 an rtpengine on the machine may take).
 * Tests running at the same time can still race for a block; they pick at random to make that unlikely.
 */
export function findFreePortBlock(count: number): number {
  for (let attempt = 0; attempt < 100; attempt++) {
    const base = 10000 + Math.floor(Math.random() * (6000 - count));
    let free = true;
    for (let port = base; port < base + count && free; port++) {
      free = !portListening('tcp', port, true) && !portListening('udp', port);
    }
    if (free) return base;
  }
  throw new Error(`no block of ${count} free ports found in 10000-15999`);
}
