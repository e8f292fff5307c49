import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Kernel ticks per second, the unit of /proc CPU times. */
export const CLK_TCK = (() => {
  try {
    const value = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(value) && value > 0 ? value : 100;
  } catch {
    return 100;
  }
})();

/** Fields of a /proc stat file after the command name (which may hold spaces): index 0 is field 3 (state). */
function statFields(file: string): string[] | undefined {
  try {
    const text = readFileSync(file, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** utime + stime (fields 14 and 15) in ms; `children` adds reaped children's (16 and 17). */
function statCpuMs(file: string, children = false): number | undefined {
  const fields = statFields(file);
  if (!fields) return undefined;
  const ticks = Number(fields[11]) + Number(fields[12]) + (children ? Number(fields[13]) + Number(fields[14]) : 0);
  return (ticks * 1000) / CLK_TCK;
}

/** utime + stime of one process (all its threads), in ms; `children` adds reaped children's. NaN once gone. */
export function processCpuMs(pid: number, children = false): number {
  return statCpuMs(`/proc/${pid}/stat`, children) ?? NaN;
}

/** CPU ms of every process in group `pgrp`, reaped children included (socat forks per connection). */
export function groupCpuMs(pgrp: number): number {
  let sum = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(`/proc/${entry}/stat`);
    if (fields && Number(fields[2]) === pgrp) sum += processCpuMs(Number(entry), true);
  }
  return sum;
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
