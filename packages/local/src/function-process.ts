import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import {
  startRuntimeApi,
  type InvocationResult,
  type InvokeOptions,
  type RuntimeApiServer,
} from './runtime-api-server.js';

/** Lambda's time between SIGTERM and SIGKILL at shutdown. */
export const DEFAULT_SHUTDOWN_GRACE_MS = 500;

/** Options of {@link startFunction}. */
export interface FunctionOptions {
  /** Path of the `bootstrap` executable; run as is unless `command` is given. */
  readonly bootstrap?: string;
  /** The program to run instead of `bootstrap`, e.g. `process.execPath` to run a script. */
  readonly command?: string;
  /** Arguments for the program, e.g. `[scriptPath]` with `command: process.execPath`. */
  readonly args?: readonly string[];
  /** `LAMBDA_TASK_ROOT` and the working directory; the current directory by default. */
  readonly taskRoot?: string;
  /** `LAMBDA_RUNTIME_DIR`; the bootstrap's directory by default, else the task root. */
  readonly runtimeDir?: string;
  /** `_HANDLER`; not set when absent. */
  readonly handler?: string;
  /** Extra variables; they win over everything else. `undefined` removes a variable. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Pass the parent's whole environment through (default: only `PATH` and `HOME`). */
  readonly inheritEnv?: boolean;
  /** An existing server to use; otherwise one is started, and closed by `stop()`. */
  readonly runtimeApi?: RuntimeApiServer;
  /** `local-function` by default (or the given server's name). */
  readonly functionName?: string;
  /** `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`; 128 by default. */
  readonly memoryMb?: number;
  /** `AWS_REGION`; `us-east-1` by default (or the given server's region). */
  readonly region?: string;
  /** Default timeout of this function's invocations. */
  readonly timeoutMs?: number;
  /** Copy the process's output to this process's stdout/stderr as it arrives. */
  readonly echo?: boolean;
  /** Time between SIGTERM and SIGKILL in `stop()`; {@link DEFAULT_SHUTDOWN_GRACE_MS} by default. */
  readonly shutdownGraceMs?: number;
  /**
   * Initialise for SnapStart: `AWS_LAMBDA_INITIALIZATION_TYPE=snap-start` and a Runtime API that
   * serves `restore/next`; drive the lifecycle with {@link LocalFunction.snapshot} and
   * {@link LocalFunction.restore}. A server given in `runtimeApi` must have been started with
   * `snapStart: true`.
   */
  readonly snapStart?: boolean;
}

/** How the process ended. */
export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A bootstrap process running against a local Runtime API: see {@link startFunction}. */
export interface LocalFunction {
  readonly runtimeApi: RuntimeApiServer;
  readonly process: ChildProcess;
  readonly pid: number;
  /** The environment the process was started with. */
  readonly env: Readonly<Record<string, string>>;
  /**
   * Invokes the function through its Runtime API (the function's `timeoutMs` is the default).
   * Rejects once the process has exited.
   */
  invoke(event: unknown, options?: InvokeOptions): Promise<InvocationResult>;
  /** stdout and stderr captured so far, interleaved in arrival order. */
  logs(): string;
  /** stdout captured so far. */
  stdout(): string;
  /** stderr captured so far. */
  stderr(): string;
  /**
   * Resolves when the logs match: with the matched text for a RegExp, with the whole log for a
   * predicate. Rejects after `timeoutMs` (default 5000) or if the process ends without a match.
   */
  waitForLog(pattern: RegExp | ((logs: string) => boolean), timeoutMs?: number): Promise<string>;
  /** Resolves when the process has exited and its output is read. */
  readonly exited: Promise<ExitInfo>;
  /** Whether the process has exited. */
  readonly hasExited: boolean;
  /**
   * SnapStart (`snapStart: true`): resolves once the runtime finished init and its before-snapshot
   * hooks and waits on `restore/next`, and its process group was then paused with SIGSTOP, the
   * way Lambda freezes the microVM for the snapshot. While paused, change what a restored
   * environment would see differently (credentials served at `AWS_CONTAINER_CREDENTIALS_FULL_URI`,
   * secrets). Rejects if init fails instead.
   */
  snapshot(): Promise<void>;
  /**
   * SnapStart: resumes the paused process (SIGCONT) and answers its `restore/next`, as Lambda does
   * in an environment restored from the snapshot. Takes the snapshot first if that was not done.
   */
  restore(): Promise<void>;
  /**
   * Shuts down like Lambda: when an extension registered, sends `SHUTDOWN` to subscribed
   * extensions and SIGTERM to the process, and SIGKILLs its process group after the grace
   * period; otherwise SIGKILLs at once. Closes the Runtime API server if it was started here.
   * Idempotent.
   */
  stop(): Promise<void>;
}

/**
 * Starts a bootstrap as a child process with the environment Lambda sets for a provided.al2023
 * image (without `AWS_EXECUTION_ENV`, as for an OS-only runtime), against a local Runtime API.
 *
 * When the process exits and the server is its own, invocations still pending end as
 * `Runtime.ExitError`, as Lambda reports them.
 */
export async function startFunction(options: FunctionOptions): Promise<LocalFunction> {
  const command = options.command ?? options.bootstrap;
  if (command === undefined) throw new TypeError('startFunction needs `bootstrap` or `command`');
  const ownsServer = options.runtimeApi === undefined;
  const runtimeApi =
    options.runtimeApi ??
    (await startRuntimeApi({
      functionName: options.functionName ?? 'local-function',
      region: options.region ?? 'us-east-1',
      ...(options.handler !== undefined && { handler: options.handler }),
      ...(options.timeoutMs !== undefined && { timeoutMs: options.timeoutMs }),
      ...(options.snapStart === true && { snapStart: true }),
    }));
  const env = lambdaEnvironment(options, runtimeApi);
  const taskRoot = options.taskRoot ?? process.cwd();

  let child: ChildProcess;
  try {
    // A process group of its own, so stop() can kill whatever the bootstrap started too.
    child = spawn(command, [...(options.args ?? [])], {
      cwd: taskRoot,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    await once(child, 'spawn');
  } catch (err) {
    if (ownsServer) await runtimeApi.close();
    throw err;
  }
  return new RunningFunction(child, runtimeApi, ownsServer, env, options);
}

/**
 * Starts a function, runs `body` with it and always stops it, whatever `body` does.
 */
export async function runFunction<T>(options: FunctionOptions, body: (fn: LocalFunction) => Promise<T>): Promise<T> {
  const fn = await startFunction(options);
  try {
    return await body(fn);
  } finally {
    await fn.stop();
  }
}

function lambdaEnvironment(options: FunctionOptions, runtimeApi: RuntimeApiServer): Record<string, string> {
  const parent = process.env;
  const env: Record<string, string | undefined> = options.inheritEnv
    ? { ...parent }
    : { PATH: parent.PATH ?? '/usr/local/bin:/usr/bin/:/bin:/opt/bin', HOME: parent.HOME };
  // An OS-only runtime has no execution environment name; the parent's must not leak in.
  delete env.AWS_EXECUTION_ENV;
  const functionName = options.functionName ?? runtimeApi.functionName;
  const region = options.region ?? runtimeApi.region;
  const taskRoot = options.taskRoot ?? process.cwd();
  const runtimeDir = options.runtimeDir ?? (options.bootstrap !== undefined ? dirname(options.bootstrap) : taskRoot);
  Object.assign(env, {
    AWS_LAMBDA_RUNTIME_API: runtimeApi.address,
    LAMBDA_TASK_ROOT: taskRoot,
    LAMBDA_RUNTIME_DIR: runtimeDir,
    AWS_LAMBDA_FUNCTION_NAME: functionName,
    AWS_LAMBDA_FUNCTION_VERSION: runtimeApi.functionVersion,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(options.memoryMb ?? 128),
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${functionName}`,
    AWS_LAMBDA_LOG_STREAM_NAME: logStreamName(runtimeApi.functionVersion),
    AWS_LAMBDA_INITIALIZATION_TYPE: options.snapStart === true ? 'snap-start' : 'on-demand',
    TZ: ':UTC',
    LANG: 'en_US.UTF-8',
  });
  if (options.handler !== undefined) env._HANDLER = options.handler;
  Object.assign(env, options.env);
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined) out[key] = value;
  return out;
}

/** Lambda's format: `YYYY/MM/DD/[VERSION]` and 32 hex digits. */
function logStreamName(version: string): string {
  const date = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
  return `${date}/[${version}]${randomBytes(16).toString('hex')}`;
}

/** Children still running, killed if this process exits first so none outlive a test run. */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function track(child: ChildProcess): void {
  running.add(child);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of running) killGroup(c, 'SIGKILL');
  });
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}

interface LogWaiter {
  readonly check: () => boolean;
  readonly fail: (err: Error) => void;
}

class RunningFunction implements LocalFunction {
  readonly pid: number;
  readonly exited: Promise<ExitInfo>;
  private combined = '';
  private out = '';
  private err = '';
  private exitInfo: ExitInfo | undefined;
  private logWaiters = new Set<LogWaiter>();
  private stopping: Promise<void> | undefined;
  private snapshotting: Promise<void> | undefined;
  private restoring: Promise<void> | undefined;
  private paused = false;

  readonly process: ChildProcess;

  constructor(
    child: ChildProcess,
    readonly runtimeApi: RuntimeApiServer,
    private readonly ownsServer: boolean,
    readonly env: Readonly<Record<string, string>>,
    private readonly options: FunctionOptions,
  ) {
    this.process = child;
    this.pid = child.pid as number;
    // Signals to a process that already exited report here; exit is observed through 'exit'.
    child.on('error', () => {});
    track(child);
    this.capture(child, 'stdout');
    this.capture(child, 'stderr');
    this.exited = this.watchExit(child);
  }

  get hasExited(): boolean {
    return this.exitInfo !== undefined;
  }

  logs(): string {
    return this.combined;
  }

  stdout(): string {
    return this.out;
  }

  stderr(): string {
    return this.err;
  }

  invoke(event: unknown, options: InvokeOptions = {}): Promise<InvocationResult> {
    if (this.exitInfo !== undefined) return Promise.reject(new Error(`the function process ${this.pid} has exited`));
    const timeoutMs = options.timeoutMs ?? this.options.timeoutMs;
    return this.runtimeApi.invoke(event, timeoutMs === undefined ? options : { ...options, timeoutMs });
  }

  waitForLog(pattern: RegExp | ((logs: string) => boolean), timeoutMs = 5000): Promise<string> {
    const test = (): string | undefined => {
      if (typeof pattern === 'function') return pattern(this.combined) ? this.combined : undefined;
      return pattern.exec(this.combined)?.[0];
    };
    const found = test();
    if (found !== undefined) return Promise.resolve(found);
    if (this.exitInfo !== undefined) return Promise.reject(this.noMatch(pattern, 'the process exited'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.logWaiters.delete(waiter);
        reject(this.noMatch(pattern, `${timeoutMs} ms passed`));
      }, timeoutMs);
      const waiter: LogWaiter = {
        check: () => {
          const match = test();
          if (match === undefined) return false;
          clearTimeout(timer);
          resolve(match);
          return true;
        },
        fail: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      this.logWaiters.add(waiter);
    });
  }

  stop(): Promise<void> {
    this.stopping ??= this.shutDown();
    return this.stopping;
  }

  snapshot(): Promise<void> {
    if (this.options.snapStart !== true) return Promise.reject(new TypeError('snapshot() needs startFunction({ snapStart: true })'));
    this.snapshotting ??= this.takeSnapshot();
    return this.snapshotting;
  }

  restore(): Promise<void> {
    this.restoring ??= this.snapshot().then(() => {
      this.resume();
      this.runtimeApi.restore();
    });
    return this.restoring;
  }

  private async takeSnapshot(): Promise<void> {
    const exited = this.exited.then((info) => {
      throw new Error(`the function process ${this.pid} exited before the snapshot (${exitMessage(info)})\n${this.combined}`);
    });
    await Promise.race([this.runtimeApi.waitForRestoreNext(), exited]);
    killGroup(this.process, 'SIGSTOP');
    this.paused = true;
  }

  private resume(): void {
    if (!this.paused) return;
    this.paused = false;
    killGroup(this.process, 'SIGCONT');
  }

  private async shutDown(): Promise<void> {
    if (this.exitInfo === undefined) {
      this.resume();
      if (this.runtimeApi.extensions.length > 0) {
        const graceMs = this.options.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS;
        this.runtimeApi.shutdown({ reason: 'spindown', deadlineMs: Date.now() + graceMs });
        this.process.kill('SIGTERM');
        let timer: NodeJS.Timeout | undefined;
        const grace = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, graceMs);
        });
        await Promise.race([this.exited, grace]);
        clearTimeout(timer);
      }
      // The whole group: anything the runtime started dies with it, as in Lambda's sandbox.
      killGroup(this.process, 'SIGKILL');
      await this.exited;
    }
    if (this.ownsServer) await this.runtimeApi.close();
  }

  private capture(child: ChildProcess, name: 'stdout' | 'stderr'): void {
    const stream = child[name];
    if (stream === null) return;
    stream.setEncoding('utf8');
    stream.on('data', (text: string) => {
      this.combined += text;
      if (name === 'stdout') this.out += text;
      else this.err += text;
      if (this.options.echo) (name === 'stdout' ? process.stdout : process.stderr).write(text);
      for (const waiter of this.logWaiters) if (waiter.check()) this.logWaiters.delete(waiter);
    });
  }

  private watchExit(child: ChildProcess): Promise<ExitInfo> {
    return new Promise((resolve) => {
      let settled = false;
      const settle = (info: ExitInfo): void => {
        if (settled) return;
        settled = true;
        this.exitInfo = info;
        running.delete(child);
        if (this.ownsServer) this.runtimeApi.failPending('Runtime.ExitError', exitMessage(info));
        const exitedError = new Error(`waitForLog: the process exited\n${this.combined}`);
        for (const waiter of this.logWaiters) waiter.fail(exitedError);
        this.logWaiters.clear();
        resolve(info);
      };
      // 'close' waits for the output to be read; a grandchild holding the pipes open must not
      // hold the exit up forever, hence the fallback after 'exit'.
      child.once('close', (code: number | null, signal: NodeJS.Signals | null) => settle({ code, signal }));
      child.once('exit', (code: number | null, signal: NodeJS.Signals | null) => {
        setTimeout(() => settle({ code, signal }), 200).unref();
      });
    });
  }

  private noMatch(pattern: RegExp | ((logs: string) => boolean), why: string): Error {
    const what = typeof pattern === 'function' ? 'the predicate' : String(pattern);
    return new Error(`waitForLog: ${why} without a match for ${what}; logs so far:\n${this.combined}`);
  }
}

/** Lambda's wording for a runtime that went away during an invocation. */
function exitMessage(info: ExitInfo): string {
  if (info.signal !== null) return `Runtime exited with error: signal: ${signalName(info.signal)}`;
  if (info.code === 0) return 'Runtime exited without providing a reason';
  return `Runtime exited with error: exit status ${info.code ?? 'unknown'}`;
}

/** Go's names for the signals, which is what Lambda's messages use. */
function signalName(signal: NodeJS.Signals): string {
  const names: Partial<Record<NodeJS.Signals, string>> = {
    SIGKILL: 'killed',
    SIGTERM: 'terminated',
    SIGSEGV: 'segmentation fault',
    SIGABRT: 'aborted',
  };
  return names[signal] ?? signal;
}
