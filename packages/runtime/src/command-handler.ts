import type { ChildProcess } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import { CommandFailed, type CommandFailureReason } from './errors.js';
import { logger } from './logging.js';

/** Lambda's limit for a buffered response; more stdout than this fails the invocation. */
export const MAX_RESPONSE_BYTES = 6 * 1024 * 1024;
/** How much of the end of stderr is kept for error messages. */
export const STDERR_TAIL_BYTES = 4 * 1024;
// A stderr "line" longer than this is logged in pieces rather than buffered without bound.
const MAX_LOG_LINE_CHARS = 16 * 1024;
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The command to run: `{ kind: 'command', path }` from handler-loader.ts fits. */
export interface CommandTarget {
  /** Absolute path of the executable; run directly, without a shell. */
  readonly path: string;
}

/** What the command needs from one invocation; runtime-api's `Invocation` fits. */
export interface CommandInvocation {
  readonly requestId: string;
  /** Deadline, in milliseconds since the epoch; the command is killed when it passes. */
  readonly deadlineMs: number;
  readonly invokedFunctionArn: string;
  readonly traceId: string | undefined;
  /** The event bytes, written to the command's stdin. */
  readonly body: Uint8Array;
}

/** Options of {@link runCommand}. */
export interface RunCommandOptions {
  /** The environment the command's is built from (default `process.env`). */
  readonly env?: NodeJS.ProcessEnv;
  /** Extra variables, e.g. from a `CUSTOM_RUNTIME_CONFIG` module; the per-invocation ones win. */
  readonly extraEnv?: Readonly<Record<string, string>>;
  /** Working directory (default: the runtime's, which Lambda sets to the task root). */
  readonly cwd?: string;
  /** Stdout cap in bytes (default {@link MAX_RESPONSE_BYTES}). */
  readonly maxResponseBytes?: number;
  /** Bytes of stderr kept for the error message (default {@link STDERR_TAIL_BYTES}). */
  readonly stderrTailBytes?: number;
  /** Aborting kills the command (e.g. at shutdown); the outcome is a failure with reason `aborted`. */
  readonly signal?: AbortSignal;
  /** Receives each stderr line; default: the runtime log at INFO, tagged with the request id. */
  readonly log?: (line: string) => void;
}

/** How a command invocation ended; a failure is never thrown. */
export type CommandOutcome =
  | { readonly ok: true; readonly stdout: Buffer }
  | { readonly ok: false; readonly error: CommandFailed };

/**
 * The command's environment: `base`, then `extra`, then `AWS_LAMBDA_REQUEST_ID`,
 * `AWS_LAMBDA_DEADLINE_MS`, `AWS_LAMBDA_INVOKED_FUNCTION_ARN` and `_X_AMZN_TRACE_ID` (removed
 * when the invocation has no trace id, so a stale one never leaks in).
 */
export function commandEnvironment(
  base: NodeJS.ProcessEnv,
  invocation: CommandInvocation,
  extra: Readonly<Record<string, string>> = {},
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, ...extra };
  env.AWS_LAMBDA_REQUEST_ID = invocation.requestId;
  env.AWS_LAMBDA_DEADLINE_MS = String(invocation.deadlineMs);
  env.AWS_LAMBDA_INVOKED_FUNCTION_ARN = invocation.invokedFunctionArn;
  if (invocation.traceId) env._X_AMZN_TRACE_ID = invocation.traceId;
  else delete env._X_AMZN_TRACE_ID;
  return env;
}

/** Splits stderr into lines for the log and keeps its last bytes for the error message. */
class StderrCollector {
  readonly #decoder = new StringDecoder('utf8');
  readonly #tailBytes: number;
  readonly #log: (line: string) => void;
  #pending = '';
  #tail: Buffer = Buffer.alloc(0);

  constructor(tailBytes: number, log: (line: string) => void) {
    this.#tailBytes = tailBytes;
    this.#log = log;
  }

  push(chunk: Buffer): void {
    this.#tail = this.#tailBytes > 0 ? Buffer.concat([this.#tail, chunk]).subarray(-this.#tailBytes) : this.#tail;
    this.#pending += this.#decoder.write(chunk);
    let newline = this.#pending.indexOf('\n');
    while (newline >= 0) {
      this.#emit(this.#pending.slice(0, newline));
      this.#pending = this.#pending.slice(newline + 1);
      newline = this.#pending.indexOf('\n');
    }
    while (this.#pending.length > MAX_LOG_LINE_CHARS) {
      this.#emit(this.#pending.slice(0, MAX_LOG_LINE_CHARS));
      this.#pending = this.#pending.slice(MAX_LOG_LINE_CHARS);
    }
  }

  end(): void {
    this.#pending += this.#decoder.end();
    if (this.#pending !== '') this.#emit(this.#pending);
    this.#pending = '';
  }

  /** The kept bytes as text, without a character cut in half at the start. */
  tail(): string {
    return this.#tail.toString('utf8').replace(/^\uFFFD+/, '').trimEnd();
  }

  #emit(line: string): void {
    try {
      this.#log(line.endsWith('\r') ? line.slice(0, -1) : line);
    } catch {
      // A failing log sink must not fail the invocation.
    }
  }
}

/** Names of the variables (or names) of `env` holding a NUL byte. */
function variablesWithNul(env: Readonly<Record<string, string | undefined>>): string[] {
  const found: string[] = [];
  for (const name in env) {
    const value = env[name];
    if (name.includes('\0') || (value !== undefined && value.includes('\0'))) found.push(name);
  }
  return found;
}

/** SIGKILL to the command's process group (it is spawned detached, as its leader), then to it. */
function killTree(child: ChildProcess): void {
  if (child.pid !== undefined) {
    try {
      process.kill(-child.pid, 'SIGKILL');
      return;
    } catch {
      // ESRCH: the group is gone already; fall through to the child itself.
    }
  }
  try {
    child.kill('SIGKILL');
  } catch {
    // Already reaped.
  }
}

function summary(path: string, reason: CommandFailureReason, detail: string): string {
  switch (reason) {
    case 'timeout':
      return `${path} was still running at the invocation deadline and was killed (SIGKILL)`;
    case 'output-too-large':
      return `${path} wrote more than ${detail} bytes to stdout, more than a response can hold, and was killed`;
    case 'aborted':
      return `${path} was killed because the runtime is shutting down`;
    case 'spawn':
      return `${path} could not be started: ${detail}`;
    case 'signal':
      return `${path} was killed by signal ${detail}`;
    case 'exit':
      return `${path} exited with code ${detail}`;
  }
}

function failed(
  path: string,
  reason: CommandFailureReason,
  detail: string,
  result: { exitCode: number | null; signal: NodeJS.Signals | null; stderrTail: string; cause?: unknown },
): CommandOutcome {
  const { stderrTail } = result;
  const message = `${summary(path, reason, detail)}${stderrTail === '' ? ' (stderr was empty)' : `; stderr tail:\n${stderrTail}`}`;
  const details = { path, reason, exitCode: result.exitCode, signal: result.signal, stderrTail };
  const error =
    result.cause === undefined ? new CommandFailed(message, details) : new CommandFailed(message, details, { cause: result.cause });
  return { ok: false, error };
}

/**
 * Runs the executable once for an invocation, without a shell: the event on stdin, stdout
 * collected as the response, each stderr line logged (tagged with the request id) and the last
 * few KiB kept for the error message. The command runs in its own process group; the group is
 * SIGKILLed when the command exits (so background children cannot hold the pipes open), when
 * the deadline passes, when stdout exceeds the cap, or on `signal`. Resolves once the command
 * has exited and been reaped; never rejects.
 *
 * Failures (exit code ≠ 0, death by signal, timeout, output too large, cannot start) are
 * `{ ok: false, error: CommandFailed }` (header `Function.CommandFailed`).
 */
export async function runCommand(
  command: CommandTarget,
  invocation: CommandInvocation,
  options: RunCommandOptions = {},
): Promise<CommandOutcome> {
  const { path } = command;
  const maxBytes = options.maxResponseBytes ?? MAX_RESPONSE_BYTES;
  const log = options.log ?? ((line: string) => logger.line('INFO', invocation.requestId, line));
  const stderr = new StderrCollector(options.stderrTailBytes ?? STDERR_TAIL_BYTES, log);
  const nothing = { exitCode: null, signal: null, stderrTail: '' };

  const remaining = invocation.deadlineMs - Date.now();
  if (Number.isFinite(remaining) && remaining <= 0) return failed(path, 'timeout', '', nothing);
  if (options.signal?.aborted === true) return failed(path, 'aborted', '', nothing);

  // Loaded on first use: a module handler never pays for child_process before its first /next.
  // Not import(), which would start the ES module loader a command handler never needs.
  const { spawn } = process.getBuiltinModule('node:child_process');
  const env = commandEnvironment(options.env ?? process.env, invocation, options.extraEnv);
  const unpassable = variablesWithNul(env);
  if (unpassable.length > 0) {
    // Node's own refusal quotes the value, which may be a secret: name the variables only.
    const names = unpassable.map((name) => JSON.stringify(name)).join(', ');
    return failed(path, 'spawn', `the environment variable ${names} holds a NUL byte, which no process environment can carry (value not shown)`, nothing);
  }
  let child: ChildProcess;
  try {
    child = spawn(path, [], { cwd: options.cwd ?? process.cwd(), env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  } catch (err) {
    // Other synchronous refusals quote the offending argument too: keep the code, drop the text.
    const code = (err as NodeJS.ErrnoException | null)?.code;
    return failed(path, 'spawn', `spawn refused its arguments (${typeof code === 'string' ? code : 'unknown reason'})`, nothing);
  }

  return new Promise<CommandOutcome>((resolve) => {
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    let killedFor: CommandFailureReason | undefined;
    let spawnError: Error | undefined;
    let settled = false;

    const killFor = (reason: CommandFailureReason): void => {
      killedFor ??= reason;
      killTree(child);
    };
    const timer = Number.isFinite(remaining)
      ? setTimeout(() => killFor('timeout'), Math.min(remaining, MAX_TIMER_MS))
      : undefined;
    const onAbort = (): void => killFor('aborted');
    options.signal?.addEventListener('abort', onAbort, { once: true });

    const finish = (outcome: CommandOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      resolve(outcome);
    };

    child.stdout?.on('data', (chunk: Buffer) => {
      if (killedFor !== undefined) return;
      stdoutBytes += chunk.length;
      if (stdoutBytes > maxBytes) {
        stdout.length = 0;
        killFor('output-too-large');
        return;
      }
      stdout.push(chunk);
    });
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
    // The command may exit without reading its stdin (EPIPE): that is not a failure.
    child.stdin?.on('error', () => {});
    child.stdin?.end(invocation.body);

    child.on('error', (err) => {
      spawnError ??= err;
      // Spawning failed: there is no process, so 'close' may never come.
      if (child.pid === undefined) {
        stderr.end();
        finish(failed(path, 'spawn', err.message, { ...nothing, stderrTail: stderr.tail(), cause: err }));
      }
    });
    // Background processes the command left behind would keep stdout/stderr open: end them.
    child.on('exit', () => killTree(child));
    child.on('close', (code: number | null, signal: NodeJS.Signals | null) => {
      stderr.end();
      const result = { exitCode: code, signal, stderrTail: stderr.tail() };
      if (killedFor !== undefined) {
        finish(failed(path, killedFor, String(maxBytes), result));
      } else if (spawnError !== undefined) {
        finish(failed(path, 'spawn', spawnError.message, { ...result, cause: spawnError }));
      } else if (signal !== null) {
        finish(failed(path, 'signal', signal, result));
      } else if (code !== 0) {
        finish(failed(path, 'exit', String(code), result));
      } else {
        finish({ ok: true, stdout: Buffer.concat(stdout, stdoutBytes) });
      }
    });
  });
}
