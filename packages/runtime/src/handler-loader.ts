import { readFileSync, statSync, type Stats } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { types } from 'node:util';
import {
  CallbackHandlerDeprecated,
  HandlerNotFound,
  ImportModuleError,
  MalformedHandlerName,
  MalformedStreamingHandler,
  UserCodeSyntaxError,
} from './errors.js';
import { importModule } from './module-import.js';
import { HANDLER_HIGHWATERMARK, HANDLER_STREAMING, STREAM_RESPONSE, installAwsLambdaGlobal } from './streaming.js';

/** A handler function as exported by user code; called by the loop with (event, context) or (event, stream, context). */
export type UserHandler = (...args: unknown[]) => unknown;

/** `_HANDLER` named a JS module export. */
export interface LoadedModuleHandler {
  readonly kind: 'module';
  /** The exported function. */
  readonly fn: UserHandler;
  /** Marked with `awslambda.streamifyResponse` / our `streamifyResponse`: call as (event, responseStream, context). */
  readonly streaming: boolean;
  /** From `streamifyResponse(…, { highWaterMark })`, for the response stream. */
  readonly highWaterMark: number | undefined;
  /** `fn.length`; 3 or more only on a streaming handler (a callback-style handler is refused at load). */
  readonly arity: number;
  /** The module namespace (for init hooks: `@custom-runtime/prefetch` objects among its exports). */
  readonly moduleExports: unknown;
  /** Absolute path of the loaded file. */
  readonly modulePath: string;
}

/** `_HANDLER` named an executable file: run once per invocation (command-handler.ts). */
export interface LoadedCommandHandler {
  readonly kind: 'command';
  /** Absolute path of the executable. */
  readonly path: string;
}

/** What `_HANDLER` resolved to. */
export type LoadedHandler = LoadedModuleHandler | LoadedCommandHandler;

/** `path/to/module.export.nested` split the way the managed Node.js runtime splits it. */
export interface ParsedHandler {
  /** Directory part, relative to the task root or absolute; '' when none. */
  readonly moduleRoot: string;
  /** File name without extension: the last path segment up to its first dot. */
  readonly moduleName: string;
  /** Everything after that dot: an export name, nested with dots. */
  readonly exportPath: string;
}

/** Options of {@link loadHandler}. */
export interface LoadHandlerOptions {
  /** Read for `LAMBDA_TASK_ROOT` (when no task root is given) and `AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA`. */
  readonly env?: NodeJS.ProcessEnv;
  /** Install `globalThis.awslambda` before importing (default true; see installAwsLambdaGlobal). */
  readonly installGlobals?: boolean;
}

/** A module export named by a `module.export` string, not necessarily a function. */
export interface LoadedExport {
  readonly value: unknown;
  readonly moduleExports: unknown;
  readonly modulePath: string;
}

// Same order as ric's module loader: exact name first, then .js (honouring package.json "type"), .mjs, .cjs.
const EXTENSIONS = ['', '.js', '.mjs', '.cjs'] as const;
const JS_FILE = /\.[cm]?js$/;
const FUNCTION_EXPR = /^([^.]*)\.(.*)$/;

function malformed(handler: string, why: string): MalformedHandlerName {
  return new MalformedHandlerName(`'${handler}' is not a valid handler name: ${why}`);
}

/** Rejects what ric rejects before touching the file system: empty strings and `..` anywhere. */
function validate(handler: string): void {
  if (handler === '') throw new MalformedHandlerName('_HANDLER is not set');
  if (handler.includes('..')) {
    throw malformed(handler, 'it contains "..". Use absolute paths when specifying root directories in handler names.');
  }
}

/**
 * Splits a handler string like the managed Node.js runtime: the last path segment is split at
 * its first dot into module name and export path. Throws {@link MalformedHandlerName} on `..`,
 * a missing dot, or empty parts (`.handler`, `index.`, `index.a..b`).
 */
export function parseHandlerString(handler: string): ParsedHandler {
  validate(handler);
  if (handler.endsWith('/')) throw malformed(handler, 'it ends with "/"');
  const base = path.posix.basename(handler);
  const match = FUNCTION_EXPR.exec(base);
  if (match === null) throw malformed(handler, 'expected path/to/module.export');
  const moduleName = match[1] ?? '';
  const exportPath = match[2] ?? '';
  if (moduleName === '') throw malformed(handler, 'the module name is empty');
  if (exportPath.split('.').some((segment) => segment === '')) throw malformed(handler, 'the export name is empty');
  const moduleRoot = handler.slice(0, handler.length - base.length).replace(/\/+$/, '');
  return { moduleRoot, moduleName, exportPath };
}

function statOrUndefined(file: string): Stats | undefined {
  try {
    return statSync(file);
  } catch {
    return undefined;
  }
}

/**
 * The executable `handler` names, if any: an existing regular file (symlinks followed) with an
 * execute bit, relative to `taskRoot` or absolute, that is not a .js/.mjs/.cjs file.
 */
export function findCommand(handler: string, taskRoot: string): string | undefined {
  if (handler === '') return undefined;
  const candidate = path.resolve(taskRoot, handler);
  if (JS_FILE.test(candidate)) return undefined;
  const stats = statOrUndefined(candidate);
  return stats?.isFile() === true && (stats.mode & 0o111) !== 0 ? candidate : undefined;
}

/** The file `handler` (`module.export`) loads from `taskRoot`, as {@link loadHandler} finds it. Throws as it would. */
export function moduleFileOf(handler: string, taskRoot: string): string {
  return resolveModuleFile(taskRoot, parseHandlerString(handler));
}

function resolveModuleFile(taskRoot: string, parsed: ParsedHandler): string {
  const base = path.resolve(taskRoot, parsed.moduleRoot, parsed.moduleName);
  for (const extension of EXTENSIONS) {
    if (statOrUndefined(base + extension)?.isFile() === true) return base + extension;
  }
  const require = createRequire(path.join(taskRoot, '__custom_runtime_loader__.js'));
  const attempts: string[] = [];
  // A directory (index.js, package.json "main"), then a package under node_modules, as ric's fallback does.
  for (const [request, paths] of [
    [base, undefined],
    [parsed.moduleName, [taskRoot, path.resolve(taskRoot, parsed.moduleRoot)]],
  ] as const) {
    try {
      const resolved = require.resolve(request, paths === undefined ? undefined : { paths: [...paths] });
      if (path.isAbsolute(resolved)) return resolved;
      attempts.push(`${request} is a built-in module`);
    } catch (err) {
      attempts.push((err as Error).message.split('\n')[0] ?? String(err));
    }
  }
  const shown = path.join(parsed.moduleRoot, parsed.moduleName);
  throw new ImportModuleError(
    `Cannot find module '${shown}' in ${taskRoot} (tried ${EXTENSIONS.map((e) => `'${shown}${e}'`).join(', ')}` +
      ` and Node resolution: ${attempts.join('; ')})${typescriptHint(base, parsed)}`,
  );
}

// What the managed runtime loads on Node 24 only (src/UserFunction.js, `_tryRequire`, behind
// `_runtimeSupportsTypeScript`); this runtime never loads them.
const TYPESCRIPT_EXTENSIONS = ['.ts', '.mts', '.cts'] as const;

/**
 * The usual reason nothing was found: the task root holds the TypeScript source, not its build.
 * '' when no `<module>.ts`/`.mts`/`.cts` is there. The error stays Runtime.ImportModuleError,
 * the type the managed runtime gives a module it cannot find (src/UserFunction.js,
 * `_loadUserApp`: MODULE_NOT_FOUND becomes ImportModuleError).
 */
function typescriptHint(base: string, parsed: ParsedHandler): string {
  const found = TYPESCRIPT_EXTENSIONS.find((extension) => statOrUndefined(base + extension)?.isFile() === true);
  if (found === undefined) return '';
  const file = path.join(parsed.moduleRoot, parsed.moduleName) + found;
  // `app.ts.handler` reads as module `app`, export `ts.handler`, and `app.ts` as export `ts`:
  // the extension is not part of the handler (and `handler` is the usual export name).
  const [first, ...rest] = parsed.exportPath.split('.');
  const namesExtension = TYPESCRIPT_EXTENSIONS.some((extension) => extension === `.${first}`);
  const exportPath = !namesExtension ? parsed.exportPath : rest.length > 0 ? rest.join('.') : 'handler';
  const handler = `${path.join(parsed.moduleRoot, parsed.moduleName)}.${exportPath}`;
  return (
    `. ${file} is there, but the runtime loads JavaScript only (.js, .mjs, .cjs), not TypeScript: ` +
    `compile or bundle it to .js/.mjs (\`custom-runtime build ${file}\` writes dist/task/${parsed.moduleName}.mjs; ` +
    `copy dist/task/ to the task root) and name the module without an extension in the handler: ${handler}`
  );
}

function isSyntaxError(err: unknown): err is Error {
  if (types.isProxy(err)) return false;
  try {
    return err instanceof SyntaxError || (types.isNativeError(err) && err.name === 'SyntaxError');
  } catch {
    return false;
  }
}

function hasLambdaErrorType(err: unknown): boolean {
  try {
    return typeof err === 'object' && err !== null && typeof (err as { lambdaErrorType?: unknown }).lambdaErrorType === 'string';
  } catch {
    return false;
  }
}

function describeOriginal(err: unknown): string {
  if (types.isProxy(err)) return 'a Proxy was thrown';
  try {
    if (types.isNativeError(err) || err instanceof Error) return `${err.name}: ${err.message}`;
    return String(err);
  } catch {
    return 'a value that could not be described was thrown';
  }
}

/** Node decorates compile errors with `file:line` as the first stack line; keep it in the message. */
function syntaxErrorLocation(err: Error): string | undefined {
  const first = typeof err.stack === 'string' ? err.stack.split('\n', 1)[0] : undefined;
  if (first === undefined || !/:\d+$/.test(first)) return undefined;
  if (first.startsWith('file://')) {
    try {
      const colon = first.lastIndexOf(':');
      return `${fileURLToPath(first.slice(0, colon))}${first.slice(colon)}`;
    } catch {
      return first;
    }
  }
  return path.isAbsolute(first) ? first : undefined;
}

/**
 * Whether `.js` files in `dir` are ES modules, decided as the managed runtime decides it
 * (aws-lambda-nodejs-runtime-interface-client src/UserFunction.js, `_hasFolderPackageJsonTypeModule`):
 * the nearest package.json's "type", not looking past a `node_modules` directory; an unreadable
 * package.json counts as CommonJS.
 */
function isModuleScope(dir: string): boolean {
  for (let folder = dir; ; folder = path.dirname(folder)) {
    if (folder.endsWith(`${path.sep}node_modules`)) return false;
    const manifest = path.join(folder, 'package.json');
    if (statOrUndefined(manifest)?.isFile() === true) {
      try {
        return (JSON.parse(readFileSync(manifest, 'utf8')) as { type?: unknown } | null)?.type === 'module';
      } catch {
        return false;
      }
    }
    if (path.dirname(folder) === folder) return false;
  }
}

/**
 * How the managed runtime loads a file (src/UserFunction.js, `_tryRequire`): `require` for an
 * extensionless file, a `.cjs` file and a `.js` file outside a `"type": "module"` scope (so
 * `module.exports` is the namespace, `exports.default` included); `import()` for `.mjs` and for
 * `.js` in a module scope.
 */
function loadsWithRequire(file: string): boolean {
  const extension = path.extname(file);
  if (extension === '.mjs') return false;
  if (extension === '.js') return !isModuleScope(path.dirname(file));
  return true;
}

// NODE_OPTIONS flags that leave module loading as it is. Anything else (a preload that may call
// `module.register`, whose hooks Node 20's require() skips; --experimental-print-required-tla,
// with which require() runs a module up to its first await; an experimental module kind
// require() refuses; a quoted or underscored spelling) keeps import().
const NEUTRAL_NODE_OPTION = /^(?:--enable-source-maps|--stack-trace-limit=\d+|--max-old-space-size=\d+|--max-semi-space-size=\d+|--no-warnings|--trace-warnings|--unhandled-rejections=[a-z-]+)$/;
let requireEsModules: boolean | undefined;

/**
 * Whether an ES module handler goes through `require()` first (require(esm), unflagged in Node
 * 20.19). Only on Node 20, where the process's first `import()` costs about 3 ms more than
 * `require()` of the same module: the asynchronous loader's first use loads fs/promises, its
 * readline and the loader's module jobs, some twenty internal modules for a one-file bundle. A
 * graph that awaits at top level makes `require()` throw ERR_REQUIRE_ASYNC_MODULE before any of
 * it evaluates, and `import()` then takes the graph already compiled. On Node 22 the gap is under
 * 1 ms and that fallback costs more than it saves, so `import()` stays, as the managed runtime
 * does. Only with no flag on the command line and none in NODE_OPTIONS (read from the process's
 * environment, which Node parsed at start) but {@link NEUTRAL_NODE_OPTION}s.
 */
function requiresEsModules(): boolean {
  if (requireEsModules === undefined) {
    const options = (process.env.NODE_OPTIONS ?? '').split(' ').filter((option) => option !== '');
    requireEsModules =
      (process.features as { require_module?: boolean }).require_module === true &&
      process.versions.node.split('.')[0] === '20' &&
      process.execArgv.length === 0 &&
      options.every((option) => NEUTRAL_NODE_OPTION.test(option));
  }
  return requireEsModules;
}

function isRequireOfAsyncModule(err: unknown): boolean {
  if (!types.isNativeError(err) || types.isProxy(err)) return false;
  try {
    return (err as NodeJS.ErrnoException).code === 'ERR_REQUIRE_ASYNC_MODULE';
  } catch {
    return false;
  }
}

async function loadFile(file: string): Promise<unknown> {
  if (loadsWithRequire(file)) return createRequire(file)(file) as unknown;
  const url = pathToFileURL(file).href;
  if (requiresEsModules()) {
    let loaded: unknown;
    try {
      loaded = createRequire(file)(file);
    } catch (err) {
      if (!isRequireOfAsyncModule(err)) throw err;
      return await importModule(url);
    }
    // A module exporting the name 'module.exports' makes require() return that export; import()
    // gives the namespace the managed runtime looks the handler up in (the module has run).
    return types.isModuleNamespaceObject(loaded) ? loaded : await importModule(url);
  }
  return await importModule(url);
}

// What a handler module threw at import, and the runtime reports as its init error.
const importFailures = new WeakSet<object>();

/**
 * Whether `reason` is what a handler module threw at import, already reported. Node 20 rejects
 * it a second time, as an unhandled rejection, when an `import()` graph holds a CommonJS module
 * that throws (nodejs/node#51603): that one is no new fault.
 */
export function isImportFailure(reason: unknown): boolean {
  return typeof reason === 'object' && reason !== null && importFailures.has(reason);
}

async function importFile(file: string): Promise<unknown> {
  try {
    return await loadFile(file);
  } catch (err) {
    if (typeof err === 'object' && err !== null) importFailures.add(err);
    if (hasLambdaErrorType(err)) throw err;
    if (isSyntaxError(err)) {
      // ESM parse errors carry no location in Node 20; the entry file is the best hint we have.
      const location = syntaxErrorLocation(err) ?? `in ${file} or a module it imports`;
      const wrapped = new UserCodeSyntaxError(`${describeOriginal(err)} (${location})`, { cause: err });
      if (typeof err.stack === 'string') wrapped.stack = err.stack;
      throw wrapped;
    }
    // Not found (a missing dependency) or thrown during evaluation: the original message is kept.
    const wrapped = new ImportModuleError(describeOriginal(err), { cause: err });
    if (types.isNativeError(err) && typeof err.stack === 'string') wrapped.stack = err.stack;
    throw wrapped;
  }
}

function walk(root: unknown, segments: readonly string[]): unknown {
  let current = root;
  for (const segment of segments) {
    if (current === null || (typeof current !== 'object' && typeof current !== 'function')) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

/**
 * Named export first, then the same path under `default`, as the managed runtime does
 * (aws-lambda-nodejs-runtime-interface-client src/function/handler-resolver.ts, `resolveHandler`).
 */
function findExport(moduleExports: unknown, exportPath: string, spec: string): unknown {
  const segments = exportPath.split('.');
  try {
    let value = walk(moduleExports, segments);
    if (!value && typeof moduleExports === 'object' && moduleExports !== null && 'default' in moduleExports) {
      value = walk((moduleExports as { default: unknown }).default, segments);
    }
    return value;
  } catch (err) {
    throw new HandlerNotFound(`${spec} could not be read: ${describeOriginal(err)}`, { cause: err });
  }
}

function callbackMessage(handler: string): string {
  return (
    `${handler} takes a callback (event, context, callback): callback-based handlers are not supported. ` +
    'Make it an async function that returns its result (or throws its error) instead of calling callback, ' +
    'e.g. `export const handler = async (event, context) => { ...; return result; }`. ' +
    'See https://docs.aws.amazon.com/lambda/latest/dg/nodejs-handler.html.'
  );
}

function taskRootOf(taskRoot: string | undefined, env: NodeJS.ProcessEnv): string {
  return path.resolve(taskRoot || env.LAMBDA_TASK_ROOT || process.cwd());
}

/**
 * Loads a module export named `path/to/module.export[.nested]` (the `_HANDLER` grammar) relative
 * to `taskRoot`, without requiring it to be a function. Used for `CUSTOM_RUNTIME_CONFIG`.
 * Throws the same runtime errors as {@link loadHandler}; a missing export is `HandlerNotFound`.
 */
export async function loadExport(spec: string, taskRoot?: string, env: NodeJS.ProcessEnv = process.env): Promise<LoadedExport> {
  const parsed = parseHandlerString(spec);
  const modulePath = resolveModuleFile(taskRootOf(taskRoot, env), parsed);
  const moduleExports = await importFile(modulePath);
  const value = findExport(moduleExports, parsed.exportPath, spec);
  if (value === undefined || value === null) throw new HandlerNotFound(`${spec} is undefined or not exported`);
  return { value, moduleExports, modulePath };
}

function streamingMarks(fn: UserHandler): { streaming: boolean; highWaterMark: number | undefined } {
  const marks = fn as unknown as Record<symbol, unknown>;
  const mode = marks[HANDLER_STREAMING];
  if (!mode) return { streaming: false, highWaterMark: undefined };
  if (mode !== STREAM_RESPONSE) throw new MalformedStreamingHandler('Only response streaming is supported.');
  const raw = marks[HANDLER_HIGHWATERMARK];
  const highWaterMark = raw ? Number(raw) : Number.NaN;
  return { streaming: true, highWaterMark: Number.isFinite(highWaterMark) && highWaterMark > 0 ? highWaterMark : undefined };
}

/**
 * Resolves `_HANDLER` against the task root (`taskRoot`, else `LAMBDA_TASK_ROOT`, else the
 * working directory):
 *
 * 1. an existing executable regular file that is not .js/.mjs/.cjs → `{ kind: 'command' }`;
 * 2. otherwise `path/to/module.export[.nested]` as the managed Node.js runtime reads it: the
 *    module is `<root>/path/to/module` with '', .js, .mjs, .cjs tried in that order, then Node
 *    resolution (a directory, a package); it is loaded with `require` when it is extensionless,
 *    `.cjs`, or `.js` outside a `"type": "module"` scope, with `import()` otherwise (on Node 20
 *    through `require()` first, see `requiresEsModules`); the export
 *    is looked up by name, then under `default`.
 *
 * A handler declaring three or more parameters that is not a streaming handler is a
 * callback-style handler: refused with `Runtime.CallbackHandlerDeprecated`, never run with a
 * missing callback.
 *
 * `globalThis.awslambda` is installed first so that managed-runtime handlers can call
 * `awslambda.streamifyResponse` at top level. Throws `Runtime.MalformedHandlerName`,
 * `Runtime.ImportModuleError` (not found, a missing dependency, or the module threw: original
 * message kept), `Runtime.UserCodeSyntaxError`, `Runtime.HandlerNotFound`,
 * `Runtime.MalformedStreamingHandler`, `Runtime.CallbackHandlerDeprecated`; an error thrown at import that carries its own
 * `lambdaErrorType` (e.g. a config error) is rethrown unchanged.
 */
export async function loadHandler(
  handler: string,
  taskRoot?: string,
  options: LoadHandlerOptions = {},
): Promise<LoadedHandler> {
  const env = options.env ?? process.env;
  const root = taskRootOf(taskRoot, env);
  validate(handler);
  const command = findCommand(handler, root);
  if (command !== undefined) return { kind: 'command', path: command };

  const parsed = parseHandlerString(handler);
  const modulePath = resolveModuleFile(root, parsed);
  if (options.installGlobals !== false) installAwsLambdaGlobal(env);
  const moduleExports = await importFile(modulePath);
  const fn = findExport(moduleExports, parsed.exportPath, handler);
  if (!fn) throw new HandlerNotFound(`${handler} is undefined or not exported`);
  if (typeof fn !== 'function') throw new HandlerNotFound(`${handler} is not a function`);
  const userHandler = fn as UserHandler;
  const marks = streamingMarks(userHandler);
  const arity = userHandler.length;
  // The official client's check (src/function/callback-deprecation.ts): argsNum >= 3 and not streaming.
  if (arity >= 3 && !marks.streaming) throw new CallbackHandlerDeprecated(callbackMessage(handler));
  return {
    kind: 'module',
    fn: userHandler,
    ...marks,
    arity,
    moduleExports,
    modulePath,
  };
}
