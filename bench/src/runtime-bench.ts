import { existsSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { startFunction, startRuntimeApi, type FunctionOptions, type LocalFunction, type RuntimeApiServer } from '@custom-runtime/local';
import { loadAverage } from './machine.js';
import { locateBootstrap, locateRic } from './locate.js';
import { clockTicksPerSecond, cpuTicks, rssBytes } from './proc.js';
import type { Metric, Section, Subject } from './results.js';
import { median } from './stats.js';
import { rotated } from './order.js';

/** How much of each measurement a run does. */
export interface RuntimeSettings {
  readonly rounds: number;
  readonly spawnsPerRound: number;
  /** Invocations before the CPU window; the RSS baseline is read after them. */
  readonly warmupInvocations: number;
  /** Invocations of the CPU and throughput window. */
  readonly measuredInvocations: number;
  /** Invocations of the whole steady-state process; RSS is read again after them. */
  readonly totalInvocations: number;
  readonly largeWarmupInvocations: number;
  readonly largeInvocations: number;
  readonly largeResponseBytes: number;
}

type Log = (line: string) => void;

interface RuntimeSubject extends Subject {
  readonly id: 'ours' | 'ric' | 'floor' | 'oursConfig';
  options(kind: 'small' | 'large', taskRoot: string, settings: RuntimeSettings): FunctionOptions;
}

const run = promisify(execFile);
const BENCH_ROOT = fileURLToPath(new URL('..', import.meta.url));
const FLOOR_CLIENT = join(BENCH_ROOT, 'fixtures', 'floor-client.mjs');
const EVENT = {};

/** The handler both runtimes load, the 1 MiB one and ours with a config; written to a temporary task root. */
function handlerModules(settings: RuntimeSettings): Record<string, string> {
  // The built package, by absolute URL: the task root is a temporary directory with no node_modules.
  const configUrl = pathToFileURL(createRequire(import.meta.url).resolve('@custom-runtime/config')).href;
  return {
    'app.mjs': 'export const handler = async () => ({ ok: true });\n',
    'config-app.mjs':
      `import { defineConfig, env, getConfig } from ${JSON.stringify(configUrl)};\n` +
      "export const config = defineConfig({ greeting: env('GREETING'), stage: env('STAGE') });\n" +
      'export const handler = async () => ({ ok: (await getConfig(config)).greeting === "hello" });\n',
    'large.mjs': `const body = 'x'.repeat(${settings.largeResponseBytes});\nexport const handler = async () => body;\n`,
  };
}

/**
 * The bootstrap as the Dockerfiles install it: copied to a runtime directory of its own, where
 * the image's fill step (`CUSTOM_RUNTIME_COMPILE_CACHE_FILL=1 bootstrap <handlers>`) wrote the
 * runtime's code cache for this Node.
 */
async function installBootstrap(runtimeDir: string, taskRoot: string, log: Log): Promise<string> {
  const bootstrap = join(runtimeDir, 'bootstrap');
  await copyFile(locateBootstrap(), bootstrap);
  const { stderr } = await run(process.execPath, [bootstrap, 'app.handler', 'large.handler', 'config-app.handler'], {
    cwd: taskRoot,
    env: { PATH: process.env.PATH ?? '', CUSTOM_RUNTIME_COMPILE_CACHE_FILL: '1', LAMBDA_TASK_ROOT: taskRoot },
  });
  log(`runtime: ${stderr.trim().replaceAll('\n', '; ')}`);
  return bootstrap;
}

function subjects(bootstrap: string): RuntimeSubject[] {
  const ric = locateRic();
  const handlerName = (kind: 'small' | 'large'): string => (kind === 'small' ? 'app.handler' : 'large.handler');
  return [
    {
      id: 'ours',
      label: 'ours',
      how: `packages/runtime/dist/bootstrap, copied to a runtime directory whose fill step (CUSTOM_RUNTIME_COMPILE_CACHE_FILL=1, as in the Dockerfiles) wrote the runtime's code cache for this Node; run as \`node bootstrap\` with _HANDLER=app.handler`,
      options: (kind, taskRoot) => ({
        command: process.execPath,
        args: [bootstrap],
        runtimeDir: dirname(bootstrap),
        taskRoot,
        handler: handlerName(kind),
      }),
    },
    {
      id: 'ric',
      label: `aws-lambda-ric ${ric.version}`,
      how:
        'its README starts it as `npx aws-lambda-ric app.handler`; here its bin file is run directly with ' +
        '`node <bin> app.handler` (plus _HANDLER and LAMBDA_TASK_ROOT) so the measured pid is the runtime itself, not npx',
      options: (kind, taskRoot) => ({
        command: process.execPath,
        args: [ric.bin, handlerName(kind)],
        runtimeDir: taskRoot,
        taskRoot,
        handler: handlerName(kind),
      }),
    },
    {
      id: 'floor',
      label: 'floor (node:http)',
      how: 'bench/fixtures/floor-client.mjs: a keep-alive node:http client doing only GET /next and POST of prepared response bytes',
      options: (kind, taskRoot, settings) => ({
        command: process.execPath,
        args: [FLOOR_CLIENT],
        taskRoot,
        env: { FLOOR_RESPONSE_BYTES: kind === 'large' ? String(settings.largeResponseBytes) : '0' },
      }),
    },
    {
      id: 'oursConfig',
      label: 'ours + config',
      how:
        'ours with a handler that imports @custom-runtime/config (its built dist/) and exports a definition of 2 env fields, which the bootstrap prefetches and the handler reads with getConfig on every invocation; steady-state figures only',
      ratio: false,
      options: (_kind, taskRoot) => ({
        command: process.execPath,
        args: [bootstrap],
        runtimeDir: dirname(bootstrap),
        taskRoot,
        handler: 'config-app.handler',
        env: { GREETING: 'hello', STAGE: 'bench' },
      }),
    },
  ];
}

/** Resolves once the runtime waits on /next; fails with its logs if it exits or hangs first. */
async function firstPoll(fn: LocalFunction, runtimeApi: RuntimeApiServer, timeoutMs = 15_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no /next within ${timeoutMs} ms; logs:\n${fn.logs()}`)), timeoutMs);
  });
  const exited = fn.exited.then((info) => {
    throw new Error(`the runtime exited (${JSON.stringify(info)}) before its first /next; logs:\n${fn.logs()}`);
  });
  try {
    await Promise.race([runtimeApi.waitForPoll(), hung, exited]);
  } finally {
    clearTimeout(timer);
    exited.catch(() => {});
  }
}

/** Sequential invocations; any outcome other than success stops the run. */
async function invokeMany(fn: LocalFunction, count: number): Promise<number> {
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    const result = await fn.invoke(EVENT);
    if (result.status !== 'success') {
      throw new Error(`invocation ${i} ended ${result.status} ${result.errorType ?? ''}: ${result.text().slice(0, 500)}\n${fn.logs()}`);
    }
    bytes += result.body.length;
  }
  return bytes;
}

async function spawnToFirstNext(subject: RuntimeSubject, taskRoot: string, settings: RuntimeSettings): Promise<number> {
  const runtimeApi = await startRuntimeApi();
  try {
    const started = performance.now();
    const fn = await startFunction({ ...subject.options('small', taskRoot, settings), runtimeApi });
    try {
      await firstPoll(fn, runtimeApi);
      return performance.now() - started;
    } finally {
      await fn.stop();
    }
  } finally {
    await runtimeApi.close();
  }
}

interface SteadyState {
  readonly cpuMicrosPerInvocation: number;
  readonly invocationsPerSecond: number;
  readonly rssAfterWarmup: number;
  readonly rssAfterAll: number;
}

/** Invocations go to the processes of a round in turns of this many. */
const TURN = 250;
const LARGE_TURN = 50;

/** One process per subject, started one after the other and stopped together whatever happens. */
async function withProcesses<T>(
  all: readonly RuntimeSubject[],
  kind: 'small' | 'large',
  taskRoot: string,
  settings: RuntimeSettings,
  body: (fns: readonly LocalFunction[]) => Promise<T>,
): Promise<T> {
  const fns: LocalFunction[] = [];
  try {
    for (const subject of all) {
      const fn = await startFunction(subject.options(kind, taskRoot, settings));
      fns.push(fn);
      await firstPoll(fn, fn.runtimeApi);
    }
    return await body(fns);
  } finally {
    await Promise.all(fns.map((fn) => fn.stop()));
  }
}

/**
 * `count` sequential invocations of each process, in turns: a burst of load elsewhere on the
 * machine then lands on every subject alike. A process waiting for its turn sits in its /next
 * long poll and uses no CPU. Returns each process's wall time (ns) and response bytes.
 */
async function inTurns(fns: readonly LocalFunction[], count: number, turn: number): Promise<{ ns: number[]; bytes: number[] }> {
  const ns = fns.map(() => 0);
  const bytes = fns.map(() => 0);
  for (let done = 0, block = 0; done < count; done += turn, block++) {
    const n = Math.min(turn, count - done);
    // Each block of turns starts with the next process, so none always goes first.
    for (const i of rotated([...fns.keys()], block)) {
      const fn = fns[i] as LocalFunction;
      const started = process.hrtime.bigint();
      bytes[i] = (bytes[i] ?? 0) + (await invokeMany(fn, n));
      ns[i] = (ns[i] ?? 0) + Number(process.hrtime.bigint() - started);
    }
  }
  return { ns, bytes };
}

async function eachPid<T>(fns: readonly LocalFunction[], read: (pid: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (const fn of fns) out.push(await read(fn.pid));
  return out;
}

/** Warm-up, the CPU and throughput window, then on to the total for RSS: all subjects side by side. */
async function steadyState(all: readonly RuntimeSubject[], taskRoot: string, settings: RuntimeSettings): Promise<SteadyState[]> {
  return withProcesses(all, 'small', taskRoot, settings, async (fns) => {
    await inTurns(fns, settings.warmupInvocations, TURN);
    const rssAfterWarmup = await eachPid(fns, rssBytes);
    const ticksBefore = await eachPid(fns, cpuTicks);
    const window = await inTurns(fns, settings.measuredInvocations, TURN);
    const ticksAfter = await eachPid(fns, cpuTicks);
    await inTurns(fns, settings.totalInvocations - settings.warmupInvocations - settings.measuredInvocations, TURN);
    const rssAfterAll = await eachPid(fns, rssBytes);
    return fns.map((_, i) => {
      const cpuSeconds = ((ticksAfter[i] ?? 0) - (ticksBefore[i] ?? 0)) / clockTicksPerSecond();
      return {
        cpuMicrosPerInvocation: (cpuSeconds * 1e6) / settings.measuredInvocations,
        invocationsPerSecond: settings.measuredInvocations / ((window.ns[i] ?? 0) / 1e9),
        rssAfterWarmup: rssAfterWarmup[i] ?? 0,
        rssAfterAll: rssAfterAll[i] ?? 0,
      };
    });
  });
}

/** MiB of response per second through the Runtime API, handler returning a 1 MiB string. */
async function largeResponses(all: readonly RuntimeSubject[], taskRoot: string, settings: RuntimeSettings): Promise<number[]> {
  return withProcesses(all, 'large', taskRoot, settings, async (fns) => {
    const warm = await inTurns(fns, settings.largeWarmupInvocations, LARGE_TURN);
    for (const [i, bytes] of warm.bytes.entries()) {
      if (bytes < settings.largeWarmupInvocations * settings.largeResponseBytes) {
        throw new Error(`${all[i]?.id ?? '?'} answered ${bytes} bytes over the warm-up, expected about ${settings.largeResponseBytes} each`);
      }
    }
    const run = await inTurns(fns, settings.largeInvocations, LARGE_TURN);
    return fns.map((_, i) => (run.bytes[i] ?? 0) / 2 ** 20 / ((run.ns[i] ?? 0) / 1e9));
  });
}

const MIB = 2 ** 20;

function fmt(value: number, digits = 1): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/**
 * Ours, aws-lambda-ric and the floor, against the same Runtime API stand-in and the same
 * handler, alternating subject by subject within each round.
 */
export async function runRuntimeBench(settings: RuntimeSettings, log: Log): Promise<Section> {
  const taskRoot = await mkdtemp(join(tmpdir(), 'bench-task-'));
  const runtimeDir = await mkdtemp(join(tmpdir(), 'bench-runtime-'));
  const removeDirectories = (): Promise<unknown> =>
    Promise.all([rm(taskRoot, { recursive: true, force: true }), rm(runtimeDir, { recursive: true, force: true })]);
  let all: RuntimeSubject[];
  try {
    for (const [name, text] of Object.entries(handlerModules(settings))) await writeFile(join(taskRoot, name), text);
    all = subjects(await installBootstrap(runtimeDir, taskRoot, log));
  } catch (err) {
    // A fill step that fails leaves nothing behind in /tmp.
    await removeDirectories();
    throw err;
  }
  // ours + config is measured in the steady state only.
  const spawned = all.filter((s) => s.id !== 'oursConfig');
  const series = (): Record<string, number[]> => Object.fromEntries(all.map((s) => [s.id, [] as number[]]));
  const cpu = series();
  const rate = series();
  const spawn = series();
  const rss = series();
  const growth = series();
  const large = series();
  const spawnSamples: Record<string, number[][]> = Object.fromEntries(all.map((s) => [s.id, [] as number[][]]));
  // Other processes on the machine skew every figure; the load at each round says how much.
  const roundLoad: number[] = [];
  try {
    log(`runtime: task root ${taskRoot}; CLK_TCK ${clockTicksPerSecond()}`);

    // Page cache, the Node binary and each runtime's modules: the first start of each is slower.
    log('runtime: warm-up (one start and a short run per subject, discarded)');
    for (const subject of spawned) await spawnToFirstNext(subject, taskRoot, settings);
    await steadyState(all, taskRoot, { ...settings, warmupInvocations: 100, measuredInvocations: 500, totalInvocations: 600 });

    for (let round = 1; round <= settings.rounds; round++) {
      const tag = `runtime round ${round}/${settings.rounds}`;
      roundLoad.push(loadAverage());
      const samples: Record<string, number[]> = Object.fromEntries(all.map((s) => [s.id, [] as number[]]));
      for (let i = 0; i < settings.spawnsPerRound; i++) {
        for (const subject of rotated(spawned, i)) samples[subject.id]?.push(await spawnToFirstNext(subject, taskRoot, settings));
      }
      for (const subject of spawned) {
        const values = samples[subject.id] ?? [];
        spawnSamples[subject.id]?.push(values);
        spawn[subject.id]?.push(median(values));
      }
      log(`${tag}: spawn → first /next, median of ${settings.spawnsPerRound}: ${spawned.map((s) => `${s.id} ${fmt(median(samples[s.id] ?? []))} ms`).join(', ')}`);

      // Started, and served first, in an order that rotates from round to round.
      const order = rotated(all, round - 1);
      log(`${tag}: ${order.map((s) => s.id).join(', ')} side by side, ${settings.totalInvocations.toLocaleString('en-US')} invocations each in turns of ${TURN}`);
      const results = await steadyState(order, taskRoot, settings);
      for (const [i, subject] of order.entries()) {
        const result = results[i] as SteadyState;
        cpu[subject.id]?.push(result.cpuMicrosPerInvocation);
        rate[subject.id]?.push(result.invocationsPerSecond);
        rss[subject.id]?.push(result.rssAfterAll / MIB);
        growth[subject.id]?.push((result.rssAfterAll - result.rssAfterWarmup) / MIB);
        log(
          `${tag}: ${subject.id}: ${fmt(result.cpuMicrosPerInvocation)} µs CPU/invocation, ` +
            `${fmt(result.invocationsPerSecond, 0)} invocations/s, RSS ${fmt(result.rssAfterAll / MIB)} MiB ` +
            `(${fmt((result.rssAfterAll - result.rssAfterWarmup) / MIB, 2)} MiB since invocation ${settings.warmupInvocations})`,
        );
      }
      log(`${tag}: 1 MiB responses, ${settings.largeInvocations} invocations each in turns of ${LARGE_TURN}`);
      const largeOrder = rotated(spawned, round - 1);
      const throughput = await largeResponses(largeOrder, taskRoot, settings);
      for (const [i, subject] of largeOrder.entries()) {
        const mibPerSecond = throughput[i] as number;
        large[subject.id]?.push(mibPerSecond);
        log(`${tag}: ${subject.id}: 1 MiB responses ${fmt(mibPerSecond)} MiB/s`);
      }
    }
  } finally {
    await removeDirectories();
  }

  const metric = (id: string, title: string, unit: string, better: Metric['better'], digits: number, rounds: Record<string, number[]>): Metric => ({
    id,
    title,
    unit,
    better,
    digits,
    rounds,
  });
  const n = (value: number): string => value.toLocaleString('en-US');
  return {
    id: 'runtime',
    title: 'Runtime: ours vs aws-lambda-ric vs a bare node:http floor',
    subjects: all.map(({ id, label, how, ratio }) => (ratio === undefined ? { id, label, how } : { id, label, how, ratio })),
    metrics: [
      metric('cpu', `CPU per invocation (user+sys, ${n(settings.measuredInvocations)} sequential)`, 'µs', 'lower', 1, cpu),
      metric('rate', `Sequential invocations per second (same ${n(settings.measuredInvocations)})`, '/s', 'higher', 0, rate),
      metric('spawn', `Spawn → first GET /next (median of ${settings.spawnsPerRound} per round)`, 'ms', 'lower', 1, spawn),
      metric('rss', `RSS after ${n(settings.totalInvocations)} invocations`, 'MiB', 'lower', 1, rss),
      metric('rssGrowth', `RSS growth, invocation ${n(settings.warmupInvocations)} → ${n(settings.totalInvocations)}`, 'MiB', 'lower', 2, growth),
      metric('large', `1 MiB responses (${settings.largeInvocations} sequential)`, 'MiB/s', 'higher', 1, large),
    ],
    notes: [
      'Every process is started with the same Node binary (`process.execPath`) and the environment `startFunction` of @custom-runtime/local sets (AWS_LAMBDA_FUNCTION_VERSION, log group and stream, …).',
      'The Runtime API stand-in runs in the benchmark process: invocations per second and MiB/s include its work; CPU and RSS are the runtime process alone (/proc/<pid>/stat fields 14+15, /proc/<pid>/status VmRSS).',
      `Each round starts a fresh process per subject, all four side by side, and hands them invocations in turns of ${TURN} (a process waiting for its turn sits in its /next long poll and uses no CPU): ${n(settings.warmupInvocations)} warm-up invocations each, the ${n(settings.measuredInvocations)}-invocation CPU window, then on to ${n(settings.totalInvocations)} for RSS. The 1 MiB responses use another set of fresh processes (ours, ric, floor), in turns of ${LARGE_TURN}, after ${settings.largeWarmupInvocations} warm-up invocations each.`,
      'Order: the processes are started, and each block of turns served, in an order that rotates (round by round, block by block), so no subject always goes first.',
      'Spawn → first /next: from `spawn()` (inside startFunction) to the stand-in seeing the first GET /next (`waitForPoll()`), one fresh stand-in per spawn, subjects interleaved spawn by spawn in a rotating order (ours, ric and the floor).',
    ],
    samples: { spawnMs: spawnSamples, loadAverageAtRoundStart: roundLoad },
  };
}
