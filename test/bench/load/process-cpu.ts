import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const CLK_TCK = (() => {
  try {
    const value = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(value) && value > 0 ? value : 100;
  } catch {
    return 100;
  }
})();

function statCpuMs(file: string): number | undefined {
  try {
    const text = readFileSync(file, 'utf8');
    // The command name may hold spaces; the fields after it are fixed: utime and stime are 14 and 15.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
  } catch {
    return undefined;
  }
}

export interface CpuSample {
  /** utime + stime of all threads (libdatachannel's included), ms. */
  readonly all: number;
  /** utime + stime of the main thread alone, the one JavaScript runs on, ms. */
  readonly main: number;
}

/** A process's CPU at kernel-tick resolution, from /proc; undefined once the process is gone. */
export function processCpu(pid: number): CpuSample | undefined {
  const all = statCpuMs(`/proc/${pid}/stat`);
  // The main thread's ID is the process ID.
  const main = statCpuMs(`/proc/${pid}/task/${pid}/stat`);
  return all === undefined || main === undefined ? undefined : { all, main };
}

/** Busy and total jiffies of the whole machine, all cores (/proc/stat). */
export function machineTicks(): { busy: number; total: number } {
  const [cpu] = readFileSync('/proc/stat', 'utf8').split('\n');
  const values = (cpu ?? '').trim().split(/\s+/).slice(1, 9).map(Number);
  const total = values.reduce((a, b) => a + b, 0);
  // Time waiting for I/O is idle time too.
  return { busy: total - (values[3] ?? 0) - (values[4] ?? 0), total };
}
