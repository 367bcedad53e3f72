/**
 * Node's compile cache (`module.enableCompileCache`, Node 22.8 and later) for what the bootstrap loads:
 * the handler module, its chunks and a config module. An image fills it while it is built
 * (`CUSTOM_RUNTIME_COMPILE_CACHE_FILL=1 bootstrap <handler>…`, see the examples' Dockerfiles);
 * at run time the bootstrap reads it, read-only, as `/var/runtime` is in Lambda. On Node 20 none
 * of this does anything.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readlinkSync, statSync, symlinkSync, unlinkSync } from 'node:fs';
import nodeModule from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { COMPILE_CACHE_ENV, compileCacheDirectory } from './cache-directory.js';
import type { RuntimeScripts } from './code-cache.js';
import { findCommand, loadExport } from './handler-loader.js';
import { configDefinitionsOf } from './init-hooks.js';
import { INIT_REQUESTS_FILE, senderFile, writeInitRequests, type PlannedModule } from './init-requests.js';
import { importModule } from './module-import.js';
import { installAwsLambdaGlobal } from './streaming.js';

/** What the bootstrap did with the compile cache at start. */
export type CompileCacheUse =
  | { readonly state: 'unsupported' }
  | { readonly state: 'off' }
  /** No cache for this Node version and architecture was filled in `directory`. */
  | { readonly state: 'absent'; readonly directory: string }
  /** `directory` is what Node reads; `filled` the image's cache when it is reached through a link. */
  | { readonly state: 'enabled'; readonly directory: string; readonly filled: string }
  | { readonly state: 'failed'; readonly directory: string; readonly message: string };

interface EnableResult {
  readonly status: number;
  readonly message?: string;
}

interface CompileCacheApi {
  enableCompileCache(directory: string): EnableResult;
  /** Node 22.10 and later. */
  flushCompileCache?(): void;
  constants: { compileCacheStatus: { ENABLED: number; ALREADY_ENABLED: number } };
}

/** `node:module` when this Node has the compile cache API (22.8+; 22.1–22.7 had only NODE_COMPILE_CACHE). */
function compileCacheApi(): CompileCacheApi | undefined {
  const api = nodeModule as unknown as Partial<CompileCacheApi>;
  return typeof api.enableCompileCache === 'function' && api.constants?.compileCacheStatus !== undefined
    ? (api as CompileCacheApi)
    : undefined;
}

function enabled(api: CompileCacheApi, result: EnableResult): boolean {
  const { ENABLED, ALREADY_ENABLED } = api.constants.compileCacheStatus;
  return result.status === ENABLED || result.status === ALREADY_ENABLED;
}

/**
 * Node keeps its entries in `<dir>/<version>-<arch>-<V8 tag>-<uid>` (nodejs/node
 * src/compile_cache.cc, `CompileCacheHandler::Enable`); this is the part before the V8 tag, which
 * JavaScript cannot read.
 */
function versionPrefix(): string {
  return `${process.version}-${process.arch}-`;
}

/**
 * Uses the image's compile cache, when one was filled for this Node. Node looks for its entries
 * under the uid it runs as, and the image was filled by the build's user (root) while Lambda
 * runs the function as another one; for another uid the filled directories are linked, under
 * that uid's name, from a directory in /tmp (writable in Lambda), so nothing is written next to
 * the bootstrap. Never throws: without a cache the function starts as it would on Node 20.
 */
export function useCompileCache(env: NodeJS.ProcessEnv, bootstrapFile?: string): CompileCacheUse {
  const api = compileCacheApi();
  if (api === undefined) return { state: 'unsupported' };
  const directory = compileCacheDirectory(env, bootstrapFile);
  if (directory === 'off') return { state: 'off' };
  let tagged: string[];
  try {
    tagged = readdirSync(directory).filter((name) => name.startsWith(versionPrefix()));
  } catch {
    return { state: 'absent', directory };
  }
  if (tagged.length === 0) return { state: 'absent', directory };
  const uid = process.getuid?.();
  try {
    let readFrom = directory;
    if (uid !== undefined && !tagged.some((name) => name.endsWith(`-${uid}`))) {
      // One directory per filled cache, so two bootstraps of one machine never share links.
      // node:crypto takes 3 to 7 ms to load: only this path needs it, so only it loads it.
      const { createHash } = nodeModule.createRequire(directory)('node:crypto') as typeof import('node:crypto');
      const id = createHash('sha256').update(directory).digest('hex').slice(0, 12);
      readFrom = path.join(process.getBuiltinModule('node:os').tmpdir(), `custom-runtime-compile-cache-${uid}-${id}`);
      mkdirSync(readFrom, { recursive: true });
      for (const name of tagged) link(path.join(directory, name), path.join(readFrom, name.replace(/-\d+$/, `-${uid}`)));
    }
    const result = api.enableCompileCache(readFrom);
    if (!enabled(api, result)) return { state: 'failed', directory, message: result.message ?? `status ${result.status}` };
    return { state: 'enabled', directory: readFrom, filled: directory };
  } catch (err) {
    return { state: 'failed', directory, message: (err as Error).message };
  }
}

/** `linkPath` → `target`, keeping a link an earlier start in the same environment made. */
function link(target: string, linkPath: string): void {
  try {
    symlinkSync(target, linkPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    if (readlinkSync(linkPath) === target) return;
    unlinkSync(linkPath);
    symlinkSync(target, linkPath);
  }
}

/** chmod a+rX, recursively. */
function readableByAll(target: string): void {
  const info = statSync(target);
  chmodSync(target, info.mode | (info.isDirectory() ? 0o555 : 0o444));
  if (info.isDirectory()) for (const name of readdirSync(target)) readableByAll(path.join(target, name));
}

/** What {@link fillCompileCache} did. */
export interface CompileCacheFill {
  readonly directory: string;
  readonly loaded: readonly string[];
  /** Names whose loading failed, with the error's message (what compiled before the failure is still cached). */
  readonly failed: ReadonlyArray<{ readonly name: string; readonly message: string }>;
}

/**
 * Image build: enables the cache in the bootstrap's cache directory (created if missing), loads
 * each name with `load` and writes the cache to disk. Loading runs a module's top-level code but
 * no init hook and no Runtime API call, so no AWS call is made unless the module's top level
 * makes one. Throws when this Node has no compile cache or it cannot be enabled there.
 */
export async function fillCompileCache(
  env: NodeJS.ProcessEnv,
  names: readonly string[],
  load: (name: string) => Promise<unknown>,
  bootstrapFile?: string,
  /** Loads what the named modules bring along (e.g. their chunks); its failure is reported under `'chunks'`. */
  loadMore?: () => Promise<unknown>,
): Promise<CompileCacheFill> {
  const api = compileCacheApi();
  if (api?.flushCompileCache === undefined) {
    throw new Error(`Node ${process.version} cannot fill a compile cache here (module.enableCompileCache and flushCompileCache: Node 22.10 and later)`);
  }
  const directory = compileCacheDirectory(env, bootstrapFile);
  if (directory === 'off') throw new Error(`${COMPILE_CACHE_ENV}=off: nothing to fill`);
  mkdirSync(directory, { recursive: true });
  const result = api.enableCompileCache(directory);
  if (!enabled(api, result)) throw new Error(`cannot use ${directory} as a compile cache: ${result.message ?? `status ${result.status}`}`);
  const loaded: string[] = [];
  const failed: Array<{ name: string; message: string }> = [];
  for (const name of names) {
    try {
      await load(name);
      loaded.push(name);
    } catch (err) {
      failed.push({ name, message: (err as Error).message });
    }
  }
  if (loadMore !== undefined) {
    try {
      await loadMore();
    } catch (err) {
      failed.push({ name: 'chunks', message: (err as Error).message });
    }
  }
  api.flushCompileCache();
  // Node writes its entries readable by their owner only (0600), and Lambda runs the function as
  // another user than the build's.
  readableByAll(directory);
  return { directory, loaded, failed };
}

/**
 * The chunk files of a bundle next to `modulePath` (`chunks/` of examples/build-handlers.mjs):
 * some are imported only on first use (e.g. the AWS SDK's clients), after the fill has loaded
 * the handler, so the fill imports them itself.
 */
function chunkFiles(modulePath: string): string[] {
  const dir = path.join(path.dirname(modulePath), 'chunks');
  try {
    return readdirSync(dir)
      .filter((name) => /\.m?js$/.test(name))
      .sort()
      .map((name) => path.join(dir, name));
  } catch {
    return [];
  }
}

/**
 * The fill step of an image build (`CUSTOM_RUNTIME_COMPILE_CACHE_FILL=1`): loads every handler
 * named in `names` (arguments, else `_HANDLER`), skipping command handlers, which Node does not
 * load, then the chunks of their bundles. Loading runs the modules' top-level code (as an init
 * does) but no init hook, so no config is fetched. Then plans the init requests and writes the
 * runtime's code cache. Prints what it did on stderr; returns the exit code: 0 unless Node's
 * compile cache cannot be used where Node has one (a module that fails to load at build time is
 * reported, not fatal; Node 20, which has none, still gets the plan and the code cache).
 */
export async function runCompileCacheFill(env: NodeJS.ProcessEnv, names: readonly string[], scripts: RuntimeScripts): Promise<number> {
  const taskRoot = env.LAMBDA_TASK_ROOT || process.cwd();
  const wanted = names.length > 0 ? names : [env._HANDLER ?? ''].filter((name) => name !== '');
  const modules = wanted.filter((name) => findCommand(name, taskRoot) === undefined);
  const say = (line: string): void => void process.stderr.write(`compile cache: ${line}\n`);
  // As at run time: a module may use `awslambda.streamifyResponse` at top level.
  installAwsLambdaGlobal(env);
  const chunks = new Set<string>();
  let code = 0;
  if (compileCacheApi()?.flushCompileCache === undefined) {
    // Not a failure of the build: the plan and the runtime's code cache below work on any Node.
    say(`not filled: Node ${process.version} has no compile cache (module.enableCompileCache and flushCompileCache: Node 22.10 and later), so the handler compiles at each cold start`);
  } else {
    try {
      const fill = await fillCompileCache(env, modules, async (name) => {
        const { modulePath } = await loadExport(name, taskRoot, env);
        for (const chunk of chunkFiles(modulePath)) chunks.add(chunk);
      }, undefined, async () => {
        for (const chunk of chunks) await importModule(pathToFileURL(chunk).href);
      });
      say(`filled ${fill.directory} for ${fill.loaded.length === 0 ? 'no module' : fill.loaded.join(', ')} and ${chunks.size} chunk(s) (Node ${process.version})`);
      for (const { name, message } of fill.failed) say(`${name} did not load at build time (${message}); what compiled before the failure is cached`);
    } catch (err) {
      say((err as Error).message);
      code = 1;
    }
  }
  await planInitRequests(modules, taskRoot, env);
  writeCodeCache(scripts);
  return code;
}

/**
 * The fill's second product, on any Node: the init calls of the handlers' exported config
 * definitions (init-requests.ts). A module that does not load has no calls in it; a definition
 * that cannot say leaves an empty plan. Without calls a function makes them during init.
 */
async function planInitRequests(modules: readonly string[], taskRoot: string, env: NodeJS.ProcessEnv): Promise<void> {
  const say = (line: string): void => void process.stderr.write(`init requests: ${line}\n`);
  const planned = new Map<string, PlannedModule>();
  for (const name of modules) {
    try {
      const { modulePath, moduleExports } = await loadExport(name, taskRoot, env);
      planned.set(name, { modulePath, definitions: configDefinitionsOf(moduleExports) });
    } catch (err) {
      say(`none for ${name} (${(err as Error).message})`);
    }
  }
  try {
    const count = await writeInitRequests(planned, taskRoot);
    say(`${count} call(s) to send ahead of the handler, written to ${INIT_REQUESTS_FILE}`);
  } catch (err) {
    await writeInitRequests(new Map(), taskRoot).catch(() => undefined);
    say(`none written (${(err as Error).message})`);
  }
}

/**
 * The fill's third product, on any Node: V8's code cache of the runtime (written when the
 * launcher compiled it) and of the sender, compiled now (code-cache.ts). Loading the sender runs
 * no request: its module only defines it.
 */
function writeCodeCache(scripts: RuntimeScripts): void {
  const say = (line: string): void => void process.stderr.write(`code cache: ${line}\n`);
  const sender = senderFile();
  try {
    if (existsSync(sender)) scripts.require(sender);
  } catch (err) {
    say(`${path.basename(sender)} did not load (${(err as Error).message})`);
  }
  const reports = scripts.reports();
  const written = reports.filter((r) => r.state === 'written').map((r) => path.basename(r.file!));
  if (written.length > 0) say(`wrote ${written.join(', ')}`);
  for (const { script, state, file, detail } of reports) {
    if (state === 'off') say(`none for ${script} (${COMPILE_CACHE_ENV}=off)`);
    if (state === 'unwritten') say(`could not write ${file} for ${script} (${detail}); it compiles at each cold start`);
  }
}
