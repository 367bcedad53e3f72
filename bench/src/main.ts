/**
 * `pnpm bench`: the runtime and the config layer measured side by side with their peers, in one
 * run on one machine. Each section runs in a worker process of its own, so neither inherits the
 * other's heap, JIT state or open connections.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runColdStartBench, type ColdStartSettings } from './cold-start-bench.js';
import { runConfigBench, type ConfigSettings } from './config-bench.js';
import { describeMachine, loadAverage } from './machine.js';
import { markdownReport, textReport } from './report.js';
import type { BenchResults, Section, Settings } from './results.js';
import { runRuntimeBench, type RuntimeSettings } from './runtime-bench.js';
import { runSsmBench, type SsmSettings } from './ssm-bench.js';
import { svgChart } from './svg.js';
import { checkTargets } from './targets.js';

/** A worker's part of the run, and what --only names: `cold` is the cold-start group on both Nodes. */
type Group = 'cold' | 'runtime' | 'config' | 'ssm';
/** In report order: the cold start first. */
const GROUPS: readonly Group[] = ['cold', 'runtime', 'config', 'ssm'];

interface Args {
  readonly json: string | undefined;
  readonly rounds: number;
  readonly spawns: number;
  readonly quick: boolean;
  readonly only: Group | undefined;
  readonly worker: Group | undefined;
  readonly out: string | undefined;
}

const BENCH_ROOT = fileURLToPath(new URL('..', import.meta.url));
const USAGE = 'usage: pnpm bench [--json <file>] [--rounds <n>] [--spawns <n>] [--only cold|runtime|config|ssm] [--quick]';

function parseArgs(argv: readonly string[]): Args {
  let json: string | undefined;
  let rounds = 5;
  let spawns: number | undefined;
  let quick = false;
  let only: Group | undefined;
  let worker: Group | undefined;
  let out: string | undefined;
  const group = (value: string | undefined): Group => {
    const found = GROUPS.find((id) => id === value);
    if (found === undefined) throw new Error(`expected cold, runtime, config or ssm, got ${String(value)}\n${USAGE}`);
    return found;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value\n${USAGE}`);
      return next;
    };
    if (arg === '--json') json = value();
    else if (arg === '--rounds') rounds = Number(value());
    else if (arg === '--spawns') spawns = Number(value());
    else if (arg === '--quick') quick = true;
    else if (arg === '--only') only = group(value());
    else if (arg === '--worker') worker = group(value());
    else if (arg === '--out') out = value();
    else if (arg === '--') continue;
    else throw new Error(`unknown argument ${String(arg)}\n${USAGE}`);
  }
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a positive integer\n${USAGE}`);
  const spawnCount = spawns ?? (quick ? 3 : 15);
  if (!Number.isInteger(spawnCount) || spawnCount < 1) throw new Error(`--spawns must be a positive integer\n${USAGE}`);
  return { json, rounds, spawns: spawnCount, quick, only, worker, out };
}

function runtimeSettings(args: Args): RuntimeSettings {
  const full: RuntimeSettings = {
    rounds: args.rounds,
    spawnsPerRound: 20,
    warmupInvocations: 1_000,
    measuredInvocations: 10_000,
    totalInvocations: 20_000,
    largeWarmupInvocations: 20,
    largeInvocations: 300,
    largeResponseBytes: 2 ** 20,
  };
  if (!args.quick) return full;
  return { ...full, spawnsPerRound: 3, warmupInvocations: 200, measuredInvocations: 1_000, totalInvocations: 2_000, largeWarmupInvocations: 5, largeInvocations: 30 };
}

function coldStartSettings(args: Args): ColdStartSettings {
  return { spawns: args.spawns, latencyMs: 10 };
}

function ssmSettings(args: Args): SsmSettings {
  const full: SsmSettings = { rounds: args.rounds, parameters: 20, latencyMs: 20, oursWarmIterations: 100_000, peerWarmIterations: 10_000 };
  return args.quick ? { ...full, oursWarmIterations: 10_000, peerWarmIterations: 1_000 } : full;
}

function configSettings(args: Args): ConfigSettings {
  const full: ConfigSettings = {
    rounds: args.rounds,
    secrets: 20,
    kmsValues: 5,
    latencyMs: 20,
    oursWarmIterations: 100_000,
    peerWarmIterations: 10_000,
  };
  return args.quick ? { ...full, oursWarmIterations: 10_000, peerWarmIterations: 1_000 } : full;
}

// Workers inherit the start time, so the progress lines of the whole run share one clock.
const EPOCH_ENV = 'BENCH_STARTED_AT_MS';
const started = Number(process.env[EPOCH_ENV]) || Date.now();
process.env[EPOCH_ENV] = String(started);

function log(line: string): void {
  const seconds = ((Date.now() - started) / 1000).toFixed(1).padStart(6);
  process.stdout.write(`[${seconds}s] ${line}\n`);
}

/** Inside a worker: measure one section and write it as JSON for the parent. */
async function worker(args: Args, id: Group): Promise<void> {
  if (args.out === undefined) throw new Error('--worker needs --out');
  // An interrupted worker still kills the runtimes it started (startFunction's exit hook).
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));
  const sections =
    id === 'runtime'
      ? [await runRuntimeBench(runtimeSettings(args), log)]
      : id === 'config'
        ? [await runConfigBench(configSettings(args), log)]
        : id === 'ssm'
          ? [await runSsmBench(ssmSettings(args), log)]
          : await runColdStartBench(coldStartSettings(args), log);
  await writeFile(args.out, JSON.stringify(sections));
}

let current: ChildProcess | undefined;

function runWorker(id: Group, args: Args, out: string): Promise<Section[]> {
  const script = process.argv[1] as string;
  const forwarded = ['--rounds', String(args.rounds), '--spawns', String(args.spawns), ...(args.quick ? ['--quick'] : [])];
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [script, '--worker', id, '--out', out, ...forwarded], { stdio: 'inherit' });
    current = child;
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      current = undefined;
      if (code !== 0) {
        reject(new Error(`the ${id} worker failed (${signal ?? `exit code ${String(code)}`})`));
        return;
      }
      readFile(out, 'utf8').then((text) => resolvePromise(JSON.parse(text) as Section[]), reject);
    });
  });
}

function flatSettings(args: Args): Settings {
  const out: Record<string, number | string | boolean> = { rounds: args.rounds, quick: args.quick };
  for (const [key, value] of Object.entries(coldStartSettings(args))) out[`coldStart.${key}`] = value;
  for (const [key, value] of Object.entries(runtimeSettings(args))) out[`runtime.${key}`] = value;
  for (const [key, value] of Object.entries(configSettings(args))) out[`config.${key}`] = value;
  for (const [key, value] of Object.entries(ssmSettings(args))) out[`ssm.${key}`] = value;
  return out as Settings;
}

async function orchestrate(args: Args): Promise<number> {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (current?.pid !== undefined) current.kill('SIGTERM');
      process.exit(130);
    });
  }
  const startedAt = new Date();
  const machine = describeMachine(startedAt);
  log(`bench: ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}, load average ${machine.loadAverageAtStart}`);
  if (args.quick) log('bench: --quick: reduced counts, for checking the bench itself; not figures to publish');

  const scratch = await mkdtemp(join(tmpdir(), 'bench-results-'));
  const sections: Section[] = [];
  let failed = false;
  try {
    for (const id of GROUPS) {
      if (args.only !== undefined && args.only !== id) continue;
      log(`bench: ${id} section${id === 'cold' ? 's (Node 20 and Node 22)' : ''}, in a worker process`);
      try {
        sections.push(...(await runWorker(id, args, join(scratch, `${id}.json`))));
      } catch (err) {
        failed = true;
        log(`bench: ${(err as Error).message}`);
      }
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }

  const results: BenchResults = {
    machine,
    settings: flatSettings(args),
    sections,
    targets: checkTargets(sections),
    wallSeconds: (Date.now() - started) / 1000,
    loadAverageAtEnd: loadAverage(),
  };
  const markdown = markdownReport(results);
  const resultsDir = join(BENCH_ROOT, 'results');
  await mkdir(resultsDir, { recursive: true });
  await writeFile(join(resultsDir, 'latest.md'), markdown);
  await writeFile(join(resultsDir, 'latest.svg'), svgChart(results));
  await writeFile(join(resultsDir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  // Only a complete, full-size run may replace the committed figures.
  if (!failed && !args.quick && args.only === undefined) await writeFile(join(BENCH_ROOT, 'RESULTS.md'), markdown);
  if (args.json !== undefined) {
    // pnpm runs the script in bench/; a relative path means relative to where `pnpm bench` was typed.
    const path = resolve(process.env.INIT_CWD ?? process.cwd(), args.json);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, `${JSON.stringify(results, null, 2)}\n`);
    log(`bench: raw figures written to ${path}`);
  }
  process.stdout.write(`\n${textReport(results)}\n\n`);
  log(`bench: wrote ${join(resultsDir, 'latest.md')}, latest.svg, latest.json${!failed && !args.quick && args.only === undefined ? ' and bench/RESULTS.md' : ''}`);
  return failed ? 1 : 0;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.worker !== undefined) {
    await worker(args, args.worker);
    process.exit(0);
  }
  process.exit(await orchestrate(args));
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
