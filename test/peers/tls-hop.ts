// A TCP→TLS hop with socat, so that Debian's sipp (no TLS; `-t t1`) can reach a SIP-TLS listener.
// Each accepted TCP connection gets its own TLS connection to the target (socat forks per connection).
// nodelay on both sides: otherwise Nagle holds back the second of two quick writes (ACK then BYE) by tens of ms.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnLogged, waitForListening, type LoggedProcess } from './process.js';

export interface TlsHopOptions {
  readonly listenTcpPort: number;
  readonly targetTlsPort: number;
  /** Verify the target's certificate against this CA (PEM); without it the hop does not verify. */
  readonly caFile?: string;
  readonly logDir?: string;
}

export interface TlsHop {
  readonly process: LoggedProcess;
  readonly logPath: string;
  /** Stops socat and its per-connection children; removes the log unless `keepLogs`. */
  stop(options?: { keepLogs?: boolean }): Promise<void>;
}

export async function startSocatTlsHop(options: TlsHopOptions): Promise<TlsHop> {
  const ownDir = options.logDir === undefined;
  const dir = options.logDir ?? mkdtempSync(join(tmpdir(), 'sipgw-tlshop-'));
  const verify = options.caFile ? `cafile=${options.caFile},verify=1` : 'verify=0';
  const child = spawnLogged(
    'socat',
    [
      '-d', '-d',
      `TCP-LISTEN:${options.listenTcpPort},bind=127.0.0.1,reuseaddr,fork,nodelay`,
      `OPENSSL:127.0.0.1:${options.targetTlsPort},${verify},nodelay`,
    ],
    join(dir, 'socat.log'),
  );
  const hop: TlsHop = {
    process: child,
    logPath: child.logPath,
    async stop({ keepLogs = false } = {}) {
      await child.stop();
      if (keepLogs) console.warn(`socat TLS hop log kept: ${child.logPath}`);
      else if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await waitForListening('tcp', options.listenTcpPort, {
      timeoutMs: 5000,
      abort: () => (child.hasExited() ? `socat exited (see ${child.logPath})` : undefined),
    });
  } catch (error) {
    await hop.stop({ keepLogs: true });
    throw error;
  }
  return hop;
}
