import { writeSync } from 'node:fs';
import { formatWithOptions, inspect, types, type InspectOptions } from 'node:util';
import { tableView } from './console-table.js';
import { errorName, renderValue } from './errors.js';
import { currentInvocation } from './host.js';

/**
 * Log levels, lowest first, as in the managed runtime (`AWS_LAMBDA_LOG_LEVEL`). `console.trace`
 * logs at TRACE (without a stack trace, like ric), `console.log` at INFO.
 */
export type LogLevel = 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'FATAL';

/** `AWS_LAMBDA_LOG_FORMAT`: `Text` (default) or `JSON`, case-insensitive. */
export type LogFormat = 'TEXT' | 'JSON';

/** The effective logging settings. */
export interface LoggingConfig {
  readonly format: LogFormat;
  /** Records below this level are dropped. */
  readonly minLevel: LogLevel;
}

/**
 * Where finished records go. `record` is one log call: a text line (fields separated by tabs,
 * newlines still in it) or a JSON object, without a trailing newline.
 */
export type LogSink = (record: string, level: LogLevel, format: LogFormat) => void;

/** Options of {@link installLogging}. */
export interface InstallLoggingOptions {
  /** Replaces the default destination (stdout, or the telemetry fd when Lambda provides one). */
  readonly sink?: LogSink;
}

const PRIORITY: Readonly<Record<LogLevel, number>> = { TRACE: 1, DEBUG: 2, INFO: 3, WARN: 4, ERROR: 5, FATAL: 6 };
// Level bits of the telemetry frame type, as ric sets them.
const TLV_MASK: Readonly<Record<LogLevel, number>> = {
  TRACE: 0b00100,
  DEBUG: 0b01000,
  INFO: 0b01100,
  WARN: 0b10000,
  ERROR: 0b10100,
  FATAL: 0b11000,
};

function isLogLevel(value: string): value is LogLevel {
  return Object.prototype.hasOwnProperty.call(PRIORITY, value);
}

/**
 * Reads the settings the way ric does: `AWS_LAMBDA_LOG_FORMAT=JSON` (any case) selects JSON,
 * anything else Text; a valid `AWS_LAMBDA_LOG_LEVEL` (any case) filters in both formats, and
 * without one nothing is filtered. Lambda sets `AWS_LAMBDA_LOG_LEVEL` (INFO unless configured)
 * whenever the function uses the JSON format, so "INFO and above" is the effective JSON default.
 */
export function readLoggingConfig(env: NodeJS.ProcessEnv): LoggingConfig {
  const format: LogFormat = env.AWS_LAMBDA_LOG_FORMAT?.toUpperCase() === 'JSON' ? 'JSON' : 'TEXT';
  const level = env.AWS_LAMBDA_LOG_LEVEL?.toUpperCase() ?? '';
  return { format, minLevel: isLogLevel(level) ? level : 'TRACE' };
}

const SLEEP_CELL = new Int32Array(new SharedArrayBuffer(4));

/** Writes all of `data`, synchronously; gives up silently (logging must never throw). */
function writeAllSync(fd: number, data: Buffer): void {
  let offset = 0;
  let retries = 0;
  while (offset < data.length) {
    try {
      offset += writeSync(fd, data, offset);
    } catch (err) {
      // A pipe left non-blocking by a parent can refuse a write for a moment.
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN' && retries < 1000) {
        retries += 1;
        Atomics.wait(SLEEP_CELL, 0, 0, 1);
        continue;
      }
      return;
    }
  }
}

/**
 * A sink writing one line per record to `fd` (default stdout), synchronously like ric so that
 * nothing is lost when the process is frozen or exits. Newlines inside a record become `\r`, so
 * one log call is one CloudWatch event.
 */
export function createFdSink(fd = 1): LogSink {
  return (record) => writeAllSync(fd, Buffer.from(`${record.replace(/\n/g, '\r')}\n`, 'utf8'));
}

/**
 * A sink writing Lambda's telemetry frames (`_LAMBDA_TELEMETRY_LOG_FD`, as the managed runtime
 * does): a 16-byte header (type with level bits, length, timestamp in µs) then the record, which
 * may keep its newlines since the frame delimits it. A JSON frame holds exactly the record; a
 * text frame ends with a newline, as the official client writes them
 * (aws-lambda-nodejs-runtime-interface-client src/logging/telemetry-logger.ts, `logTextMessge` /
 * `logJsonMessge`).
 */
export function createTelemetrySink(fd: number): LogSink {
  return (record, level, format) => {
    const body = Buffer.from(format === 'JSON' ? record : `${record}\n`, 'utf8');
    const header = Buffer.alloc(16);
    header.writeUInt32BE(((format === 'JSON' ? 0xa55a0002 : 0xa55a0003) | TLV_MASK[level]) >>> 0, 0);
    header.writeUInt32BE(body.length, 4);
    header.writeBigInt64BE(BigInt(Date.now()) * 1000n, 8);
    writeAllSync(fd, Buffer.concat([header, body]));
  };
}

interface State {
  readonly config: LoggingConfig;
  readonly sink: LogSink;
}

let state: State | undefined;

function current(): State {
  state ??= { config: readLoggingConfig(process.env), sink: createFdSink(1) };
  return state;
}

function formatArgs(args: readonly unknown[]): string {
  try {
    return formatWithOptions({ colors: false }, ...args);
  } catch {
    // One argument's own rendering threw: each is rendered on its own, still through its own
    // inspector, and the one that throws becomes a placeholder.
    return args.map((arg) => renderValue(arg)).join(' ');
  }
}

/** `value instanceof Error`, false for a Proxy (whose getPrototypeOf trap may throw) and on any throw. */
function isErrorInstance(value: unknown): value is Error {
  if (typeof value !== 'object' || value === null || types.isProxy(value)) return false;
  try {
    return value instanceof Error;
  } catch {
    return false;
  }
}

/**
 * The `errorType` of an error in a JSON record, by the official client's rule
 * (src/logging/formatter.ts, `jsonErrorReplacer`): `constructor.name`, `UnknownError` when the
 * constructor is null or undefined.
 */
function jsonErrorType(value: Error): unknown {
  try {
    return (value.constructor as { name?: unknown } | null | undefined)?.name ?? 'UnknownError';
  } catch {
    return 'UnknownError';
  }
}

function stackArray(stack: unknown): string[] {
  return typeof stack === 'string' ? stack.split('\n') : [];
}

const INSPECT_CUSTOM = inspect.custom as symbol;

/**
 * ric's JSON view of an Error (its type, message and stack lines, plus its enumerable fields),
 * and one more rule: an object with its own `util.inspect.custom` and no `toJSON` (JSON.stringify
 * has already applied a `toJSON`) is written as its inspector renders it, so that a redacting
 * object stays redacted in JSON records too.
 */
function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (typeof (value as Record<symbol, unknown>)[INSPECT_CUSTOM] === 'function') return renderValue(value);
  if (isErrorInstance(value)) {
    return Object.assign(
      { errorType: jsonErrorType(value), errorMessage: value.message, stackTrace: stackArray(value.stack) },
      value,
    );
  }
  return value;
}

function formatJson(level: LogLevel, requestId: string | undefined, tenantId: string | undefined, args: readonly unknown[]): string {
  const record: Record<string, unknown> = { timestamp: new Date().toISOString(), level, requestId };
  if (tenantId) record.tenantId = tenantId;
  if (args.length === 1) {
    // A single argument stays structured (objects are logged as JSON, as in the managed runtime).
    record.message = args[0];
    try {
      return JSON.stringify(record, jsonReplacer);
    } catch {
      record.message = formatArgs(args);
      return JSON.stringify(record);
    }
  }
  record.message = formatArgs(args);
  const error = args.find(isErrorInstance);
  if (error !== undefined) {
    try {
      record.errorType = jsonErrorType(error);
      record.errorMessage = error.message;
      record.stackTrace = stackArray(error.stack);
    } catch {
      // Throwing getters on the error: the formatted message already carries what could be read.
    }
  }
  return JSON.stringify(record);
}

/** `raw`: `args` is one preformatted string, not to go through util.format (`%%` would shrink). */
function emit(level: LogLevel, requestId: string | undefined, args: readonly unknown[], raw = false): void {
  const { config, sink } = current();
  if (PRIORITY[level] < PRIORITY[config.minLevel]) return;
  try {
    const record =
      config.format === 'JSON'
        ? formatJson(level, requestId, currentInvocation()?.context.tenantId, args)
        : `${new Date().toISOString()}\t${requestId ?? 'undefined'}\t${level}\t${raw ? String(args[0]) : formatArgs(args)}`;
    sink(record, level, config.format);
  } catch {
    // Logging must never break the caller.
  }
}

function emitCurrent(level: LogLevel, args: readonly unknown[], raw = false): void {
  emit(level, currentInvocation()?.requestId, args, raw);
}

/** ric's text rendering of an error: JSON with type, message, code, enumerable fields, stack lines. */
function textErrorJson(err: Error): string {
  try {
    return JSON.stringify(err, (_key, value: unknown) => {
      if (typeof value === 'object' && value !== null && typeof (value as Record<symbol, unknown>)[INSPECT_CUSTOM] === 'function') {
        return renderValue(value);
      }
      if (!(value instanceof Error)) return value;
      const head: Record<string, unknown> = {
        errorType: errorName(value),
        errorMessage: value.message,
        code: (value as { code?: unknown }).code,
      };
      const view: Record<string, unknown> = Object.assign(head, value);
      if (typeof value.stack === 'string') view.stack = value.stack.split('\n');
      return view;
    });
  } catch {
    // A circular or unserialisable property: the official client's fallback (src/utils/error.ts,
    // `formatError`) keeps type, message and the whole stack as `trace`.
    let stack: unknown;
    let message: unknown;
    try {
      stack = err.stack;
      message = err.message;
    } catch {
      // Throwing getters: what could not be read stays empty.
    }
    return JSON.stringify({
      errorType: errorName(err),
      errorMessage: typeof message === 'string' ? message : renderValue(message),
      trace: typeof stack === 'string' ? stack.split('\n') : [],
    });
  }
}

/** The runtime's own logger. Its lines carry metadata only: never an event or a response body. */
export interface RuntimeLogger {
  /** Whether records at `level` are currently written. */
  isEnabled(level: LogLevel): boolean;
  trace(message: unknown, ...params: unknown[]): void;
  debug(message: unknown, ...params: unknown[]): void;
  info(message: unknown, ...params: unknown[]): void;
  warn(message: unknown, ...params: unknown[]): void;
  error(message: unknown, ...params: unknown[]): void;
  fatal(message: unknown, ...params: unknown[]): void;
  /**
   * Logs preformatted text for a given invocation, for output captured outside its async scope
   * (a command's stderr). `text` is not a format string.
   */
  line(level: LogLevel, requestId: string | undefined, text: string): void;
  /**
   * Logs a failure at ERROR like ric's `Invoke Error` / `Init Error` lines: Text gives
   * `<message> \t{"errorType":…,"errorMessage":…,"stack":[…]}`, JSON gives a record whose
   * `message` is the error object.
   */
  logError(message: string, error: unknown): void;
  /**
   * `console.dir`: one INFO record holding `util.inspect(value, options)`, always with the
   * value's own `util.inspect.custom` (Node's own `console.dir` would skip it).
   */
  dir(value: unknown, options?: InspectOptions): void;
}

/** The logger the runtime uses for its own lines; same format, level and destination as `console`. */
export const logger: RuntimeLogger = {
  isEnabled: (level) => PRIORITY[level] >= PRIORITY[current().config.minLevel],
  trace: (...args: unknown[]) => emitCurrent('TRACE', args),
  debug: (...args: unknown[]) => emitCurrent('DEBUG', args),
  info: (...args: unknown[]) => emitCurrent('INFO', args),
  warn: (...args: unknown[]) => emitCurrent('WARN', args),
  error: (...args: unknown[]) => emitCurrent('ERROR', args),
  fatal: (...args: unknown[]) => emitCurrent('FATAL', args),
  line: (level, requestId, text) => emit(level, requestId, [text], true),
  logError: (message, error) => {
    try {
      const err = isErrorInstance(error) ? error : new Error(renderValue(error));
      if (current().config.format === 'JSON') emitCurrent('ERROR', [err]);
      else emitCurrent('ERROR', [`${message} \t${textErrorJson(err)}`], true);
    } catch {
      emitCurrent('ERROR', [`${message} \t{"errorType":"Error","errorMessage":"the error could not be rendered","trace":[]}`], true);
    }
  },
  dir: (value, options) => {
    let text: string;
    try {
      // Node's console.dir passes customInspect: false; an object's own inspector always wins here.
      text = inspect(value, { ...(typeof options === 'object' && options !== null ? options : {}), customInspect: true, colors: false });
    } catch {
      text = renderValue(value);
    }
    emitCurrent('INFO', [text], true);
  },
};

type ConsoleMethod = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'log' | 'fatal' | 'dir' | 'table';
type PatchableConsole = Record<ConsoleMethod, ((...args: unknown[]) => void) | undefined>;

let originalConsole: Partial<PatchableConsole> | undefined;

/**
 * Reads the logging settings from `env`, then routes `console.trace/debug/info/log/warn/error`
 * (and ric's `console.fatal`, `console.dir`, see {@link RuntimeLogger.dir}, and `console.table`,
 * see console-table.ts) through them.
 * Each call becomes one record:
 *
 * - Text: `<ISO timestamp>\t<requestId or 'undefined'>\t<LEVEL>\t<util.format of the arguments>`;
 * - JSON: `{timestamp, level, requestId, tenantId?, message}`; a single argument is kept as a
 *   value (an Error becomes `{errorType, errorMessage, stackTrace, …}`), several are formatted
 *   into a string and the first Error among them adds `errorType`, `errorMessage`, `stackTrace`.
 *
 * The request id is the one of the invocation in the current async scope (host.ts), so it is
 * right with concurrent invocations. Records go synchronously to stdout (all levels), or to
 * the telemetry fd when Lambda passes `_LAMBDA_TELEMETRY_LOG_FD` (the variable is then removed
 * from `env`, as ric does, so child processes do not see it). Calling it again reconfigures.
 */
export function installLogging(env: NodeJS.ProcessEnv = process.env, options: InstallLoggingOptions = {}): LoggingConfig {
  const config = readLoggingConfig(env);
  let sink = options.sink;
  if (sink === undefined) {
    const telemetryFd = Number(env._LAMBDA_TELEMETRY_LOG_FD ?? Number.NaN);
    if (env._LAMBDA_TELEMETRY_LOG_FD !== undefined) delete env._LAMBDA_TELEMETRY_LOG_FD;
    sink = Number.isInteger(telemetryFd) && telemetryFd >= 0 ? createTelemetrySink(telemetryFd) : createFdSink(1);
  }
  state = { config, sink };

  const target = console as unknown as PatchableConsole;
  originalConsole ??= {
    trace: target.trace,
    debug: target.debug,
    info: target.info,
    warn: target.warn,
    error: target.error,
    log: target.log,
    fatal: target.fatal,
    dir: target.dir,
    table: target.table,
  };
  target.trace = logger.trace;
  target.debug = logger.debug;
  target.info = logger.info;
  target.log = logger.info;
  target.warn = logger.warn;
  target.error = logger.error;
  target.fatal = logger.fatal;
  target.dir = logger.dir as (...args: unknown[]) => void;
  const table = originalConsole.table;
  target.table = (data: unknown, ...rest: unknown[]) => {
    const view = tableView(data);
    // Node's table formats the rows and hands the result to console.log, patched above.
    if ('table' in view && table !== undefined) table.call(console, view.table, ...rest);
    else emitCurrent('INFO', ['text' in view ? view.text : renderValue(data)], true);
  };
  return config;
}

/** Puts the original `console` methods back and returns to the defaults (for tests). */
export function uninstallLogging(): void {
  if (originalConsole !== undefined) {
    const target = console as unknown as PatchableConsole;
    for (const [name, fn] of Object.entries(originalConsole) as Array<[ConsoleMethod, PatchableConsole[ConsoleMethod]]>) {
      if (fn === undefined) delete (target as Partial<PatchableConsole>)[name];
      else target[name] = fn;
    }
    originalConsole = undefined;
  }
  state = undefined;
}
