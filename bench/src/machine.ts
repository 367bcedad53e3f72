import { readFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';

/** Where the figures were measured: printed with every table. */
export interface Machine {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly node: string;
  readonly platform: string;
  /** ISO date and time the run started. */
  readonly date: string;
  /** /proc/loadavg's 1-minute figure when the run started: other load skews every figure. */
  readonly loadAverageAtStart: number;
}

function readProc(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

export function describeMachine(startedAt: Date): Machine {
  const cpuinfo = readProc('/proc/cpuinfo');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown';
  return {
    cpuModel: model,
    cores: availableParallelism(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    date: startedAt.toISOString(),
    loadAverageAtStart: loadAverage(),
  };
}

/** The 1-minute load average, NaN where /proc/loadavg is missing. */
export function loadAverage(): number {
  return Number(readProc('/proc/loadavg').split(' ')[0] ?? Number.NaN);
}
