import { constants, existsSync } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { runFunction, type InvocationResult, type LocalFunction } from '@custom-runtime/local';
import { parseOrUsage } from '../args.js';
import { defaultBootstrapPath } from '../bootstrap-path.js';
import { CliError, EXIT_FAILURE, EXIT_OK, UsageError } from '../cli-error.js';
import { definitionsOf } from '../definitions.js';
import { handlerFromDockerfile } from '../dockerfile.js';
import { MODULE_EXTENSIONS, moduleHandler } from '../function-code.js';
import { readEnvVarsFile, templateVariables } from '../function-environment.js';
import { shellVariableHints, typescriptHandlerProblem } from '../handler-hint.js';
import { resolveDynamicReferences } from '../intrinsics.js';
import type { CommandIo } from '../io.js';
import { parseJsonText } from '../json-text.js';
import { localImage } from '../local-image.js';
import { readSeed, startSeededStandIns, type LocalSeed } from '../local-seed.js';
import { SEED_FILE } from '../project-files.js';
import { samFunctions, type SamFunction } from '../sam-functions.js';
import { readTemplate, type SamTemplate } from '../template.js';

/** Help text of `custom-runtime invoke`. */
export const INVOKE_USAGE = `Usage: custom-runtime invoke [TASK_ROOT] [options]

Runs a function once, locally, as Lambda runs a provided.al2023 image: the bootstrap against a
local Lambda Runtime API, with the environment Lambda sets. Prints the response on stdout
(pretty-printed when it is JSON), and the function's logs and the duration on stderr. A
function error prints its type and message and exits with status 1.

Which function:
  With a template (./template.yaml, or --template), like sam local invoke: the function's
  Dockerfile (Metadata.DockerContext / Dockerfile) is followed back to the host, so the task
  root is the directory its COPY puts in /var/task (e.g. dist/task of \`custom-runtime build\`)
  and the bootstrap is the one it puts in /var/runtime/bootstrap; the handler is
  ImageConfig.Command or the CMD; the variables are its Environment.Variables with parameters
  at their defaults.
  With TASK_ROOT (or no template): that directory, the CMD of TASK_ROOT/Dockerfile as handler.

Secrets Manager, KMS and Parameter Store:
  When the function reads a secret, a KMS value or a parameter (ssm(), ssmPath(): its config
  definition says so) or the seed file has values, local stand-ins of those services are
  started on 127.0.0.1 and the function's SDK is pointed at them (endpoints and dummy
  credentials). The seed file (default: ./local-seed.json when it exists) holds their values:
    { "secrets": { "NAME": "SecretString" or {JSON object} },
      "kms": { "VARIABLE": "plaintext" or {"plaintext": "...", "encryptionContext": {...}} },
      "parameters": { "/NAME": "String" or ["StringList", "items"]
                      or {"type": "String" | "StringList" | "SecureString", "value": "..."} } }
  A template variable set to !Ref of a secret whose Name is NAME gets the stand-in's ARN.
  Each kms VARIABLE is set to a fresh ciphertext of its plaintext, encrypted with the
  encryption context {"LambdaFunctionName": <function name>} (the Lambda console's) unless
  one is given.

Variables of this shell are not passed to the function (as with sam local invoke); a
failure that names one that is set here says how to pass it.

Options:
  -e, --event FILE      the event, read from FILE ('-': standard input)
  --event-file FILE     the same as --event FILE
  --payload JSON        the event, inline
                        (none of these: the event is read from standard input when it is
                        piped, else {})
  --env-vars FILE       variables in SAM CLI's format: {"Parameters": {...}} for every function,
                        {"<LogicalId or function name>": {...}} for one (wins over Parameters)
  --env KEY=VALUE       a variable for the function (repeatable; wins over the others; never
                        printed)
  --function ID         the template's function to run (its logical id; needed when there are
                        several)
  --function-name NAME  the function's name (AWS_LAMBDA_FUNCTION_NAME, the KMS context); default:
                        the template's FunctionName when it is a plain string, else the logical
                        id, else local-function
  --template FILE       the SAM template (default: template.yaml or template.yml when present
                        and no TASK_ROOT is given)
  --seed FILE           the stand-ins' values (default: local-seed.json when present)
  --handler H           the handler (_HANDLER): file.export or an executable
  --bootstrap PATH      the bootstrap to run; default: the image's (see above), else
                        dist/bootstrap of @custom-runtime/runtime
  --timeout MS          the invocation's timeout in milliseconds (default: the template's
                        Timeout, else 3000)
  --snap-start          initialise for SnapStart, pause the process on restore/next as for the
                        snapshot, restore it, then invoke (before-snapshot and after-restore
                        hooks run)
  --json                print one JSON document: status, response, error, logs, durationMs
  -h, --help            show this help
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

/** The options of `invoke`, in one place: a new one is a line here and a use in {@link parseRequest}. */
const INVOKE_OPTIONS = {
  handler: { type: 'string' },
  event: { type: 'string', short: 'e' },
  'event-file': { type: 'string' },
  payload: { type: 'string' },
  'env-vars': { type: 'string' },
  env: { type: 'string', multiple: true },
  function: { type: 'string' },
  'function-name': { type: 'string' },
  template: { type: 'string' },
  seed: { type: 'string' },
  bootstrap: { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
  'snap-start': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

type InvokeValues = ReturnType<typeof parseArgs<{ options: typeof INVOKE_OPTIONS; allowPositionals: true; strict: true }>>['values'];

// Set for every local invoke: the images run Node 22, where the SDK does not warn; here the
// local Node may be 20, and its NodeVersionSupportWarning (about SDK releases of 2027) would be
// logged as an ERROR line of the function on every invoke, which says nothing about the image.
const SDK_WARNING_OFF = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };

// Variables of an image's ENV that describe the image's file system, not the function's config.
const IMAGE_ONLY = new Set(['PATH', 'LD_LIBRARY_PATH', 'LAMBDA_TASK_ROOT', 'LAMBDA_RUNTIME_DIR', 'LANG', 'TZ']);

interface InvokeRequest {
  readonly taskRoot: string;
  readonly handler: string;
  readonly handlerSource: string;
  readonly eventText: string;
  /** AWS_LAMBDA_FUNCTION_NAME, and the KMS seed's encryption context. */
  readonly functionName: string;
  readonly bootstrap: string;
  readonly timeoutMs: number | undefined;
  readonly json: boolean;
  /** Snapshot and restore before the invocation, as SnapStart does. */
  readonly snapStart: boolean;
  readonly seed: LocalSeed | undefined;
  /** Which stand-ins the function's config reads. */
  readonly reads: { readonly secrets: boolean; readonly kms: boolean; readonly parameters: boolean };
  /** The template's variables to evaluate once the stand-ins exist. */
  readonly template: { readonly template: SamTemplate; readonly fn: SamFunction } | undefined;
  /** Variables by precedence, lowest first: the image's ENV, the template's, --env-vars, the stand-ins', --env. */
  readonly imageEnv: Readonly<Record<string, string>>;
  readonly fileEnv: Readonly<Record<string, string>>;
  readonly flagEnv: Readonly<Record<string, string>>;
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
  const wantSecrets = request.reads.secrets || (request.seed?.secrets.size ?? 0) > 0;
  const wantKms = request.reads.kms || (request.seed?.kms.size ?? 0) > 0;
  const wantParameters = request.reads.parameters || (request.seed?.parameters.size ?? 0) > 0;
  const standIns = await startSeededStandIns(request.seed, { secrets: wantSecrets, kms: wantKms, parameters: wantParameters }, request.functionName);
  let report: InvokeReport;
  let env: Record<string, string>;
  try {
    env = { ...request.imageEnv };
    if (request.template !== undefined) {
      const { template, fn } = request.template;
      const refs: Record<string, string> = {};
      // Why a resource has no local value, for the notes below.
      const advice = new Map<string, string>();
      const seedName = request.seed === undefined ? SEED_FILE : relative(io.cwd, request.seed.file) || request.seed.file;
      for (const [id, resource] of template.resources) {
        if (resource.type === 'AWS::SecretsManager::Secret') {
          const name = resource.properties.Name;
          const arn = typeof name === 'string' ? standIns.secretArns.get(name) : undefined;
          if (arn !== undefined) refs[id] = arn;
          else if (typeof name === 'string') advice.set(id, `the secret ${id} (Name ${name}) is not in ${seedName}: add "${name}" under "secrets"`);
          else advice.set(id, `the secret ${id} has no plain Name to seed it under: give it one, or set the variable to a seeded name with --env`);
        }
        if (resource.type === 'AWS::KMS::Key' && standIns.keyId !== undefined) refs[id] = standIns.keyId;
        if (resource.type === 'AWS::Serverless::Function') refs[id] = id === fn.logicalId ? request.functionName : id;
      }
      const variables = templateVariables(template, fn, refs);
      for (const [name, value] of Object.entries(variables.values)) env[name] = resolveLocalReferences(value, request.seed, `${fn.logicalId}.${name}`);
      for (const { name, reason } of variables.skipped) {
        if (!Object.hasOwn(request.fileEnv, name) && !Object.hasOwn(request.flagEnv, name) && !Object.hasOwn(standIns.env, name)) {
          const because = [...advice].find(([id]) => new RegExp(`\\b${id}\\b`).test(reason))?.[1];
          io.stderr(`note: ${name} is not set locally: ${because ?? `${reason}; give it with --env or --env-vars`}\n`);
        }
      }
    }
    Object.assign(env, request.fileEnv, standIns.env, request.flagEnv, SDK_WARNING_OFF);
    report = await run(request, env);
  } finally {
    await standIns.close();
  }
  if (request.json) {
    io.stdout(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    printReport(report, request, io);
  }
  if (report.status !== 'success') {
    for (const hint of failureHints(report, request, env, standIns.contexts, io)) io.stderr(`hint: ${hint}\n`);
  }
  return report.status === 'success' ? EXIT_OK : EXIT_FAILURE;
}

/** `{{resolve:secretsmanager:...}}` in a template variable, resolved from the seed as CloudFormation would at deploy time. */
function resolveLocalReferences(value: string, seed: LocalSeed | undefined, where: string): string {
  if (!value.includes('{{resolve:')) return value;
  return resolveDynamicReferences(
    value,
    (secretId) => {
      const name = secretId.startsWith('arn:') ? secretId.split(':').slice(6).join(':').replace(/-[A-Za-z0-9]{6}$/, '') : secretId;
      const found = seed?.secrets.get(name);
      if (found === undefined) throw new CliError(`${where} resolves the secret ${name} at deploy time: give it a value under "secrets" in the seed file`);
      return found;
    },
    where,
  );
}

async function run(request: InvokeRequest, env: Readonly<Record<string, string>>): Promise<InvokeReport> {
  let outcome: { result: InvocationResult; fn: LocalFunction };
  try {
    outcome = await runFunction(
      {
        bootstrap: request.bootstrap,
        taskRoot: request.taskRoot,
        handler: request.handler,
        functionName: request.functionName,
        env,
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

/** What may explain a failure: a TypeScript handler, a variable of the shell, a KMS context. */
function failureHints(
  report: InvokeReport,
  request: InvokeRequest,
  env: Readonly<Record<string, string>>,
  contexts: ReadonlyMap<string, Readonly<Record<string, string>>>,
  io: CommandIo,
): string[] {
  const hints: string[] = [];
  const message = report.errorMessage ?? '';
  const tsProblem = report.errorType?.includes('ImportModuleError') || report.errorType?.includes('HandlerNotFound') ? typescriptHandlerProblem(request.handler, request.taskRoot) : undefined;
  if (tsProblem !== undefined) hints.push(tsProblem);
  hints.push(...shellVariableHints(message, io.env, env));
  if (/kms|ciphertext|encryption context/i.test(message)) {
    for (const [variable, context] of contexts) {
      if (message.includes(variable)) hints.push(`${variable} was encrypted by the local KMS with the encryption context ${JSON.stringify(context)} (function name ${request.functionName}); the function decrypts with the context its kms() field declares`);
    }
  }
  return hints;
}

/** Lambda's Text log format keeps a multi-line message in one event with `\r` separators: a terminal wants new lines. */
export function terminalLogs(logs: string): string {
  return logs.replace(/\r(?!\n)/g, '\n    ');
}

function printReport(report: InvokeReport, request: InvokeRequest, io: CommandIo): void {
  io.stderr(`Handler: ${report.handler} (${request.handlerSource})\n`);
  const logs = terminalLogs(report.logs);
  if (logs !== '') io.stderr(`--- logs ---\n${logs}${logs.endsWith('\n') ? '' : '\n'}--- end of logs ---\n`);
  io.stderr(`Duration: ${report.durationMs.toFixed(2)} ms\n`);
  if (report.status === 'success') {
    const { response, responseFormat } = report;
    io.stdout(responseFormat === 'json' ? `${JSON.stringify(response, null, 2)}\n` : `${String(response)}\n`);
    return;
  }
  io.stderr(`${describeStatus(report.status)}: ${report.errorType}: ${terminalLogs(report.errorMessage ?? '')}\n`);
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
  const { values, positionals } = parseOrUsage('invoke', () => parseArgs({ args: [...argv], allowPositionals: true, strict: true, options: INVOKE_OPTIONS }));
  if (values.help) return 'help';
  if (positionals.length > 1) throw new UsageError('takes one TASK_ROOT at most (see `custom-runtime invoke --help`)');

  const target = await chooseTarget(values, positionals[0], io);
  const eventText = await readEvent(values, io);
  const flagEnv = parseEnv(values.env ?? []);
  const functionName = values['function-name'] ?? target.functionName;
  if (functionName.trim() === '') throw new UsageError('--function-name is empty');
  const ids = [...new Set([target.fn?.logicalId, functionName].filter((id): id is string => id !== undefined))];
  const fileEnv = values['env-vars'] === undefined ? {} : await readEnvVarsFile(resolve(io.cwd, values['env-vars']), ids);
  const bootstrap = values.bootstrap !== undefined ? resolve(io.cwd, values.bootstrap) : (target.bootstrap ?? defaultBootstrapPath());
  await access(bootstrap, constants.X_OK).catch(() => {
    throw new CliError(
      `no executable bootstrap at ${bootstrap}: ${target.bootstrap !== undefined ? 'build it (npm run build), ' : 'install @custom-runtime/runtime next to @custom-runtime/cli, '}or pass --bootstrap PATH`,
    );
  });
  const typescript = typescriptHandlerProblem(target.handler, target.taskRoot);
  if (typescript !== undefined) throw new CliError(typescript);
  const seedFile = values.seed !== undefined ? resolve(io.cwd, values.seed) : existsSync(join(io.cwd, SEED_FILE)) ? join(io.cwd, SEED_FILE) : undefined;
  const seed = seedFile === undefined ? undefined : await readSeed(seedFile);
  return {
    taskRoot: target.taskRoot,
    handler: target.handler,
    handlerSource: target.handlerSource,
    eventText,
    functionName,
    bootstrap,
    timeoutMs: parseTimeout(values.timeout) ?? target.timeoutMs,
    json: values.json ?? false,
    snapStart: values['snap-start'] ?? false,
    seed,
    reads: await configReads(target.taskRoot, target.handler),
    template: target.fn === undefined || target.template === undefined ? undefined : { template: target.template, fn: target.fn },
    fileEnv,
    flagEnv,
    imageEnv: Object.fromEntries([...target.imageEnv].filter(([name]) => !IMAGE_ONLY.has(name))),
  };
}

interface Target {
  readonly taskRoot: string;
  readonly handler: string;
  readonly handlerSource: string;
  readonly bootstrap: string | undefined;
  readonly functionName: string;
  readonly timeoutMs: number | undefined;
  readonly imageEnv: ReadonlyMap<string, string>;
  readonly template: SamTemplate | undefined;
  readonly fn: SamFunction | undefined;
}

async function chooseTarget(values: InvokeValues, taskRootArg: string | undefined, io: CommandIo): Promise<Target> {
  const templateFile = values.template !== undefined ? resolve(io.cwd, values.template) : taskRootArg === undefined ? ['template.yaml', 'template.yml'].map((f) => join(io.cwd, f)).find((f) => existsSync(f)) : undefined;
  if (templateFile === undefined) {
    if (values.function !== undefined) throw new UsageError('--function needs a template: none in the current directory, give --template FILE');
    const taskRoot = resolve(io.cwd, taskRootArg ?? '.');
    const rootStat = await stat(taskRoot).catch(() => undefined);
    if (rootStat === undefined || !rootStat.isDirectory()) throw new UsageError(`task root ${taskRoot} is not a directory`);
    const { handler, handlerSource } = await chooseHandler(values.handler, taskRoot);
    return { taskRoot, handler, handlerSource, bootstrap: undefined, functionName: 'local-function', timeoutMs: undefined, imageEnv: new Map(), template: undefined, fn: undefined };
  }
  const template = await readTemplate(templateFile);
  const functions = samFunctions(template);
  const shown = relative(io.cwd, templateFile) || templateFile;
  let fn: SamFunction | undefined;
  if (values.function !== undefined) {
    fn = functions.find((f) => f.logicalId === values.function);
    if (fn === undefined) throw new UsageError(`${shown} has no function ${values.function} (its functions: ${functions.map((f) => f.logicalId).join(', ') || 'none'})`);
  } else if (functions.length === 1) {
    fn = functions[0];
  } else {
    throw new UsageError(`${shown} has ${functions.length === 0 ? 'no functions' : `${functions.length} functions (${functions.map((f) => f.logicalId).join(', ')}): choose one with --function ID`}`);
  }
  const image = await localImage(template, fn!);
  const taskRoot = taskRootArg !== undefined ? resolve(io.cwd, taskRootArg) : image.taskRoot;
  const name = fn!.resource.properties.FunctionName;
  return {
    taskRoot,
    handler: values.handler ?? image.handler,
    handlerSource: values.handler !== undefined ? '--handler' : `${image.from}, task root ${relative(io.cwd, taskRoot) || '.'}`,
    bootstrap: image.bootstrap,
    functionName: typeof name === 'string' && name !== '' ? name : fn!.logicalId,
    timeoutMs: fn!.timeoutSeconds === undefined ? undefined : fn!.timeoutSeconds * 1000,
    imageEnv: image.imageEnv,
    template,
    fn,
  };
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

/** Whether the handler module's config definitions read Secrets Manager, KMS or Parameter Store (imported as `check` does). */
async function configReads(taskRoot: string, handler: string): Promise<{ secrets: boolean; kms: boolean; parameters: boolean }> {
  const parsed = moduleHandler(handler, taskRoot);
  const file = parsed === undefined ? undefined : MODULE_EXTENSIONS.filter((ext) => ext !== '').map((ext) => `${parsed.module}${ext}`).find((f) => existsSync(f));
  if (file === undefined) return { secrets: false, kms: false, parameters: false };
  const found = await definitionsOf(file);
  if (!found.ok) return { secrets: false, kms: false, parameters: false };
  const kinds = new Set(found.definitions.flatMap((d) => d.fields.flatMap((f) => f.sources.map((s) => s.kind))));
  return { secrets: kinds.has('secretsmanager'), kms: kinds.has('kms'), parameters: kinds.has('ssm') || kinds.has('ssm-path') };
}

async function readEvent(values: InvokeValues, io: CommandIo): Promise<string> {
  const given = (['event', 'event-file', 'payload'] as const).filter((name) => values[name] !== undefined);
  if (given.length > 1) throw new UsageError(`give one of --event, --event-file and --payload, not ${given.map((n) => `--${n}`).join(' and ')}`);
  const file = values.event ?? values['event-file'];
  let text: string;
  let where: string;
  if (values.payload !== undefined) {
    [text, where] = [values.payload, '--payload'];
  } else if (file !== undefined && file !== '-') {
    const path = resolve(io.cwd, file);
    text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
      // SAM's -e takes a file; an inline document is the likely mistake.
      const inline = /^\s*[[{"]/.test(file) ? ': --event takes a file, as in sam local invoke; give inline JSON with --payload JSON' : '';
      throw new UsageError(`cannot read the event file ${inline === '' ? path : '(the --event value)'}: ${error.code ?? 'read error'}${inline}`);
    });
    where = `the event file ${path}`;
  } else {
    text = (await io.readStdin()) ?? '';
    where = 'standard input';
    if (text.trim() === '') return '{}';
  }
  // The parser's message can quote the input; the event is not repeated back.
  parseJsonText(text, `the event from ${where}`);
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
