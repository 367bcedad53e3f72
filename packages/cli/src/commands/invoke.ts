import { constants } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runFunction, type InvocationResult, type LocalFunction } from '@custom-runtime/local';
import { parseOrUsage } from '../args.js';
import { defaultBootstrapPath } from '../bootstrap-path.js';
import { CliError, EXIT_FAILURE, EXIT_OK, UsageError } from '../cli-error.js';
import { handlerFromDockerfile } from '../dockerfile.js';
import type { CommandIo } from '../io.js';

/** Help text of `custom-runtime invoke`. */
export const INVOKE_USAGE = `Usage: custom-runtime invoke [TASK_ROOT] [options]

Runs the function in TASK_ROOT (default: the current directory) once, locally: the built
bootstrap against a local Lambda Runtime API, with the environment Lambda sets for a
provided.al2023 image. Prints the response on stdout (pretty-printed when it is JSON), and the
function's logs and the duration on stderr. A function error prints its type and message and
exits with status 1.

Options:
  --handler H         the handler (_HANDLER): file.export or an executable; default: the CMD of
                      TASK_ROOT/Dockerfile when there is one, else index.handler
  --event JSON        the event
  --event-file FILE   the event, read from FILE
                      (neither: the event is read from standard input when it is piped, else {})
  --env KEY=VALUE     an environment variable for the function (repeatable; never printed)
  --bootstrap PATH    the bootstrap to run; default: dist/bootstrap of @custom-runtime/runtime
  --timeout MS        the invocation's timeout in milliseconds (default 3000)
  --snap-start        initialise for SnapStart, pause the process on restore/next as for the
                      snapshot, restore it, then invoke (before-snapshot and after-restore hooks run)
  --json              print one JSON document: status, response, error, logs, durationMs
  -h, --help          show this help
`;

/** The outcome printed by `invoke --json`. */
export interface InvokeReport {
  /** `success`, `error`, `timeout` or `init-error`. */
  readonly status: InvocationResult['status'];
  /** The handler that ran. */
  readonly handler: string;
  /** The response: parsed when it is JSON, else the text; absent unless `status` is `success`. */
  readonly response?: unknown;
  /** Whether `response` was parsed from JSON (`json`) or is the raw text (`text`). */
  readonly responseFormat?: 'json' | 'text';
  /** E.g. `Function.TypeError` or `Sandbox.Timedout`; absent on success. */
  readonly errorType?: string;
  /** The error's message; absent on success. */
  readonly errorMessage?: string;
  /** The error's stack trace lines, when the runtime sent them. */
  readonly stackTrace?: readonly string[];
  /** Everything the function process wrote to stdout and stderr. */
  readonly logs: string;
  /** From handing the event to the runtime to the outcome. */
  readonly durationMs: number;
}

interface InvokeRequest {
  readonly taskRoot: string;
  readonly handler: string;
  readonly handlerSource: string;
  readonly eventText: string;
  readonly env: Readonly<Record<string, string>>;
  readonly bootstrap: string;
  readonly timeoutMs: number | undefined;
  readonly json: boolean;
  readonly snapStart: boolean;
}

/**
 * `custom-runtime invoke`: runs a function once on the local stand-ins with the built bootstrap.
 * Resolves with the exit status: 0 on success, 1 when the function failed.
 */
export async function invoke(argv: readonly string[], io: CommandIo): Promise<number> {
  const request = await parseRequest(argv, io);
  if (request === 'help') {
    io.stdout(INVOKE_USAGE);
    return EXIT_OK;
  }
  const report = await run(request);
  if (request.json) {
    io.stdout(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    printReport(report, request, io);
  }
  return report.status === 'success' ? EXIT_OK : EXIT_FAILURE;
}

async function run(request: InvokeRequest): Promise<InvokeReport> {
  let outcome: { result: InvocationResult; fn: LocalFunction };
  try {
    outcome = await runFunction(
      {
        bootstrap: request.bootstrap,
        taskRoot: request.taskRoot,
        handler: request.handler,
        env: request.env,
        ...(request.timeoutMs !== undefined && { timeoutMs: request.timeoutMs }),
        ...(request.snapStart && { snapStart: true }),
      },
      async (fn) => {
        // A failed init or before-snapshot hook shows as the invocation's init error.
        if (request.snapStart) await fn.restore().catch(() => {});
        return { result: await fn.invoke(undefined, { rawBody: request.eventText }), fn };
      },
    );
  } catch (error) {
    throw new CliError(`could not run ${request.bootstrap}: ${error instanceof Error ? error.message : 'unknown error'}`);
  }
  const { result, fn } = outcome;
  // Read after runFunction has stopped the process: by then all of its output is in.
  const logs = fn.logs();
  const common = { status: result.status, handler: request.handler, logs, durationMs: result.durationMs };
  if (result.status === 'success') return { ...common, ...parseResponse(result.text()) };
  const restoreError = fn.runtimeApi.restoreError;
  if (restoreError !== undefined) {
    return { ...common, status: 'error', errorType: restoreError.errorType, errorMessage: restoreError.error?.errorMessage ?? '' };
  }
  return {
    ...common,
    errorType: result.errorType ?? 'Unhandled',
    errorMessage: result.error?.errorMessage ?? result.text(),
    ...(result.error !== undefined && result.error.stackTrace.length > 0 && { stackTrace: result.error.stackTrace }),
  };
}

function printReport(report: InvokeReport, request: InvokeRequest, io: CommandIo): void {
  io.stderr(`Handler: ${report.handler} (${request.handlerSource})\n`);
  if (report.logs !== '') io.stderr(`--- logs ---\n${report.logs}${report.logs.endsWith('\n') ? '' : '\n'}--- end of logs ---\n`);
  io.stderr(`Duration: ${report.durationMs.toFixed(2)} ms\n`);
  if (report.status === 'success') {
    const { response, responseFormat } = report;
    io.stdout(responseFormat === 'json' ? `${JSON.stringify(response, null, 2)}\n` : `${String(response)}\n`);
    return;
  }
  io.stderr(`${describeStatus(report.status)}: ${report.errorType}: ${report.errorMessage}\n`);
  for (const line of report.stackTrace ?? []) io.stderr(`    ${line}\n`);
}

function describeStatus(status: InvocationResult['status']): string {
  switch (status) {
    case 'init-error':
      return 'Init error';
    case 'timeout':
      return 'Timed out';
    default:
      return 'Function error';
  }
}

/** JSON responses are parsed (to pretty-print them); anything else stays text. */
function parseResponse(text: string): { response: unknown; responseFormat: 'json' | 'text' } {
  try {
    return { response: JSON.parse(text) as unknown, responseFormat: 'json' };
  } catch {
    return { response: text, responseFormat: 'text' };
  }
}

async function parseRequest(argv: readonly string[], io: CommandIo): Promise<InvokeRequest | 'help'> {
  const { values, positionals } = parseOrUsage('invoke', () =>
    parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        handler: { type: 'string' },
        event: { type: 'string' },
        'event-file': { type: 'string' },
        env: { type: 'string', multiple: true },
        bootstrap: { type: 'string' },
        timeout: { type: 'string' },
        json: { type: 'boolean' },
        'snap-start': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }),
  );
  if (values.help) return 'help';
  if (positionals.length > 1) throw new UsageError('invoke takes one TASK_ROOT at most (see `custom-runtime invoke --help`)');

  const taskRoot = resolve(io.cwd, positionals[0] ?? '.');
  const rootStat = await stat(taskRoot).catch(() => undefined);
  if (rootStat === undefined || !rootStat.isDirectory()) throw new UsageError(`task root ${taskRoot} is not a directory`);

  const { handler, handlerSource } = await chooseHandler(values.handler, taskRoot);
  const eventText = await readEvent(values.event, values['event-file'], io);
  const env = parseEnv(values.env ?? []);
  const bootstrap = values.bootstrap === undefined ? defaultBootstrapPath() : resolve(io.cwd, values.bootstrap);
  await access(bootstrap, constants.X_OK).catch(() => {
    throw new CliError(
      `no executable bootstrap at ${bootstrap}: build it with \`pnpm --filter @custom-runtime/runtime build\` or pass --bootstrap PATH`,
    );
  });
  const snapStart = values['snap-start'] ?? false;
  return { taskRoot, handler, handlerSource, eventText, env, bootstrap, timeoutMs: parseTimeout(values.timeout), json: values.json ?? false, snapStart };
}

async function chooseHandler(given: string | undefined, taskRoot: string): Promise<{ handler: string; handlerSource: string }> {
  if (given !== undefined) {
    if (given.trim() === '') throw new UsageError('--handler is empty');
    return { handler: given, handlerSource: '--handler' };
  }
  const dockerfile = join(taskRoot, 'Dockerfile');
  const text = await readFile(dockerfile, 'utf8').catch(() => undefined);
  const fromCmd = text === undefined ? undefined : handlerFromDockerfile(text);
  if (fromCmd !== undefined) return { handler: fromCmd, handlerSource: `CMD of ${dockerfile}` };
  return { handler: 'index.handler', handlerSource: 'default' };
}

async function readEvent(inline: string | undefined, file: string | undefined, io: CommandIo): Promise<string> {
  if (inline !== undefined && file !== undefined) throw new UsageError('give --event or --event-file, not both');
  let text: string;
  let where: string;
  if (inline !== undefined) {
    [text, where] = [inline, '--event'];
  } else if (file !== undefined) {
    const path = resolve(io.cwd, file);
    text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
      throw new UsageError(`cannot read the event file ${path}: ${error.code ?? 'read error'}`);
    });
    where = `the event file ${path}`;
  } else {
    text = (await io.readStdin()) ?? '';
    where = 'standard input';
    if (text.trim() === '') return '{}';
  }
  try {
    JSON.parse(text);
  } catch {
    // The parser's message quotes the input; the event is not repeated back.
    throw new UsageError(`the event from ${where} is not valid JSON`);
  }
  return text;
}

function parseEnv(pairs: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  pairs.forEach((pair, index) => {
    const equals = pair.indexOf('=');
    if (equals <= 0) throw new UsageError(`--env #${index + 1} is not KEY=VALUE (not shown: it may be a value)`);
    env[pair.slice(0, equals)] = pair.slice(equals + 1);
  });
  return env;
}

function parseTimeout(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const ms = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(ms) || ms <= 0) {
    throw new UsageError(`--timeout must be a whole number of milliseconds above 0, got '${text}'`);
  }
  return ms;
}
