import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';

let ticksPerSecond: number | undefined;

/** `getconf CLK_TCK`: the unit of the CPU times in /proc/<pid>/stat (100 on Linux nearly always). */
export function clockTicksPerSecond(): number {
  if (ticksPerSecond !== undefined) return ticksPerSecond;
  let value = Number.NaN;
  try {
    value = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
  } catch {
    // getconf missing: Linux's USER_HZ is 100 on every architecture Lambda runs.
  }
  ticksPerSecond = Number.isInteger(value) && value > 0 ? value : 100;
  return ticksPerSecond;
}

/**
 * User + system CPU time of a process, in clock ticks: fields 14 and 15 of /proc/<pid>/stat.
 * The process name (field 2) may hold spaces and parentheses, so fields are counted after the
 * last ')'.
 */
export async function cpuTicks(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state), so field n is rest[n - 3].
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`cannot parse /proc/${pid}/stat`);
  return utime + stime;
}

/** Resident set size of a process in bytes: `VmRSS` of /proc/<pid>/status. */
export async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (match === null) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}
