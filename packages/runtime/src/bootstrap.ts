/**
 * The runtime the `bootstrap` executable starts (launcher.ts): Lambda runs the bootstrap with
 * `_HANDLER` set from the image's CMD (the Runtime Interface Emulator passes it as the first
 * argument instead).
 */
import { COMPILE_CACHE_FILL_ENV } from './cache-directory.js';
import type { RuntimeScripts } from './code-cache.js';
import { runCompileCacheFill, useCompileCache } from './compile-cache.js';
import { readFunctionInfo } from './context.js';
import { describeError, NodeJsExit } from './errors.js';
import { findCommand, isImportFailure, loadHandler, type LoadedHandler } from './handler-loader.js';
import { getHost } from './host.js';
import { installLogging, logger } from './logging.js';
import { runInitHooks, type InitResult } from './init-hooks.js';
import { closeInitAnswers, sendInitRequestsAhead } from './init-requests.js';
import { installInvokeStore } from './invoke-store.js';
import type { Launch } from './launcher.js';
import { setModuleImporter } from './module-import.js';
import { runLoop, type PendingCall } from './runtime.js';
import { RuntimeApiClient, type Invocation } from './runtime-api.js';
import { armShutdownHooks } from './shutdown.js';
import { failRestore, isSnapStart, snapshotAndRestore } from './snapstart.js';

/** Exit codes the managed runtime uses when a fault escapes the handler. */
const EXIT_UNCAUGHT_EXCEPTION = 129;
const EXIT_UNHANDLED_REJECTION = 128;

function exit(code: number): never {
  process.exit(code);
}

function readConcurrency(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 1;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) {
    logger.warn(`AWS_LAMBDA_MAX_CONCURRENCY=${JSON.stringify(raw)} is not a positive integer; using 1`);
    return 1;
  }
  return value;
}

async function main(scripts: RuntimeScripts): Promise<void> {
  const env = process.env;
  // Before any user module is loaded: those are what the image's compile cache holds.
  if (env[COMPILE_CACHE_FILL_ENV] === '1') exit(await runCompileCacheFill(env, process.argv.slice(2), scripts));
  useCompileCache(env);
  const address = env.AWS_LAMBDA_RUNTIME_API;
  const taskRoot = env.LAMBDA_TASK_ROOT || process.cwd();
  const handlerName = env._HANDLER || process.argv[2] || '';
  // First of all, the image's planned Secrets Manager and KMS calls, answered while the rest of
  // init runs and the handler module loads (init-requests.ts). Not before a SnapStart snapshot:
  // its connections and answers would be restored into another environment.
  const ahead =
    address === undefined || address === '' || isSnapStart(env)
      ? undefined
      : sendInitRequestsAhead(handlerName, env, taskRoot, () => findCommand(handlerName, taskRoot) !== undefined, (file) =>
          scripts.require(file),
        );
  installLogging(env);
  if (address === undefined || address === '') {
    logger.error('AWS_LAMBDA_RUNTIME_API is not set: the bootstrap must be started by Lambda or an emulator');
    exit(1);
  }
  const initClient = new RuntimeApiClient(address);
  const inFlight = new Set<Invocation>();
  const pendingCalls = new Set<PendingCall>();
  let phase: 'init' | 'restore' | 'invocations' = 'init';

  // A fault outside any handler leaves the process in an unknown state: report it where Lambda
  // will see it, then exit so Lambda starts a fresh environment (the managed runtime does too).
  const fatal = (err: unknown, typeHeader: string, code: number): void => {
    // SnapStart, restored but not yet polling: the restore failed (snapstart.ts, failRestore).
    if (phase === 'restore') {
      void failRestore(initClient, err, exit);
      return;
    }
    const initialised = phase === 'invocations';
    const { response } = describeError(err);
    const report = { ...response, errorType: typeHeader };
    try {
      logger.error(`${typeHeader} ${JSON.stringify(report)}`);
    } catch {
      // JSON.stringify replaced by the handler: the post below still reports the fault.
    }
    const posts = initialised
      ? [...inFlight].map((inv) => initClient.postError(inv, report, typeHeader))
      : [initClient.postInitError(report, typeHeader)];
    void Promise.allSettled(posts).then(() => exit(code));
  };
  process.on('uncaughtException', (err) => fatal(err, 'Runtime.UncaughtException', EXIT_UNCAUGHT_EXCEPTION));
  process.on('unhandledRejection', (reason) => {
    // The import's own failure, rejected again by Node 20: its init error is on its way.
    if (phase === 'init' && isImportFailure(reason)) return;
    fatal(reason, 'Runtime.UnhandledPromiseRejection', EXIT_UNHANDLED_REJECTION);
  });

  let handler: LoadedHandler;
  let init: InitResult;
  try {
    // Before the handler module loads: a bundled @aws/lambda-invoke-store must find ours.
    installInvokeStore(env);
    if (ahead !== undefined) {
      await ahead.written;
      // With calls sent ahead, the sockets are warm: the first /next's connection opens while
      // the handler module loads (about 0.2 ms), and at the end of init the request goes out at
      // once. Without them this first socket's setup costs the import what the early connect
      // saves, so it waits for the first /next. (No calls are sent ahead of a SnapStart
      // snapshot, which no connection survives.)
      initClient.preconnect();
      // Node issues the connect from its tick queue: let that run before the import, which on
      // Node 22 holds the event loop until the module has evaluated.
      await new Promise<void>((resolve) => process.nextTick(resolve));
    }
    try {
      handler = await loadHandler(handlerName, taskRoot);
      init = await runInitHooks(handler, env, taskRoot);
    } finally {
      ahead?.drop();
      closeInitAnswers();
    }
    if (getHost().shutdownHooks.length > 0) await armShutdownHooks(address, exit);
  } catch (err) {
    const { response, typeHeader } = describeError(err);
    logger.logError('Init Error', err);
    await initClient.postInitError(response, typeHeader).catch(() => {});
    exit(1);
  }
  if (isSnapStart(env)) {
    await snapshotAndRestore(initClient, init.prefetched, exit, () => {
      phase = 'restore';
    });
  }
  phase = 'invocations';
  reportCodeCache(scripts, env);

  const info = readFunctionInfo(env);
  const concurrency = readConcurrency(env.AWS_LAMBDA_MAX_CONCURRENCY);
  // Lambda Managed Instances do not enforce the invocation timeout: the runtime does.
  const managedInstances =
    (env.AWS_LAMBDA_MAX_CONCURRENCY !== undefined && env.AWS_LAMBDA_MAX_CONCURRENCY !== '') ||
    env.AWS_LAMBDA_INITIALIZATION_TYPE === 'lambda-managed-instances';
  // The event loop emptied with handler promises still pending: nothing can ever settle them.
  // Report each as Runtime.NodeJsExit (the official client's beforeExit listener does the same,
  // src/Runtime.js `_setDefaultExitListener`); the posts and the next /next keep the process alive.
  process.on('beforeExit', () => {
    for (const call of [...pendingCalls]) call.interrupt(new NodeJsExit());
  });
  const loops = Array.from({ length: concurrency }, (_, i) =>
    runLoop({
      client: i === 0 ? initClient : new RuntimeApiClient(address),
      handler,
      commandEnvironment: init.commandEnvironment,
      info,
      traceEnv: concurrency === 1,
      enforceDeadline: managedInstances,
      inFlight,
      pendingCalls,
    }),
  );
  try {
    await Promise.race(loops);
  } catch (err) {
    logger.error(`Runtime API unavailable, exiting: ${err instanceof Error ? err.message : String(err)}`);
    exit(1);
  }
}

/**
 * What the code cache did: at DEBUG when asked for (Text logs print every level, and a cold
 * start's first write costs about 1 ms), and a warning when a cache was there but refused.
 */
function reportCodeCache(scripts: RuntimeScripts, env: NodeJS.ProcessEnv): void {
  const reports = scripts.reports();
  if (/^(DEBUG|TRACE)$/i.test(env.AWS_LAMBDA_LOG_LEVEL ?? '')) {
    logger.debug(`code cache: ${reports.map(({ script, state }) => `${script} ${state}`).join(', ')}`);
  }
  for (const { script, state, file, detail } of reports) {
    if (state !== 'rejected') continue;
    logger.warn(
      `code cache: ${file} (${script}) was not used, ${detail}: it was filled by another Node, with other V8 flags ` +
        '(run the fill step with the function\'s NODE_OPTIONS) or is damaged; the cold start compiled it instead',
    );
  }
}

/** Called by the launcher, once, with what it compiled. */
export function start(launch: Launch): void {
  setModuleImporter(launch.importModule);
  void main(launch.scripts);
}
