import { InitError } from './errors.js';
import { loadExport, type LoadedHandler } from './handler-loader.js';

// The contract with @custom-runtime/config (docs/design.md, "The host object"): the runtime
// knows these symbols, never the config package itself.
const PREFETCH = Symbol.for('@custom-runtime/prefetch');
const ENVIRONMENT = Symbol.for('@custom-runtime/environment');

/** Supplies extra environment variables for one command-handler invocation. */
export type EnvironmentProvider = (event: unknown) => Promise<Record<string, string>>;

/** What init hooks leave for the loop. */
export interface InitResult {
  /** Set when `CUSTOM_RUNTIME_CONFIG` attached a config definition to a command handler. */
  readonly commandEnvironment: EnvironmentProvider | undefined;
  /** What was prefetched (config definitions): SnapStart refreshes them after a restore. */
  readonly prefetched: readonly unknown[];
}

interface Prefetchable {
  [PREFETCH](): Promise<void>;
}
interface EnvironmentSource {
  [ENVIRONMENT](event: unknown): Promise<Record<string, string>>;
}

function hasMethod<K extends symbol>(value: unknown, key: K): value is Record<K, (...args: never[]) => unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as Record<K, unknown>)[key] === 'function'
  );
}

/** Export values of a module namespace, including those of a CommonJS `module.exports` object. */
function exportedValues(moduleExports: unknown): unknown[] {
  if (typeof moduleExports !== 'object' || moduleExports === null) return [];
  const values = Object.values(moduleExports);
  const cjs = (moduleExports as { default?: unknown }).default;
  if (typeof cjs === 'object' && cjs !== null) values.push(cjs, ...Object.values(cjs));
  return [...new Set(values)];
}

/**
 * Runs the init hooks of the loaded handler before the first `/next`: every exported config
 * definition is prefetched, so secrets are fetched during Lambda's init phase rather than on
 * the first invocation. A failure becomes the init error (e.g. `Runtime.ConfigInvalid`).
 */
export async function runInitHooks(handler: LoadedHandler, env: NodeJS.ProcessEnv, taskRoot: string): Promise<InitResult> {
  if (handler.kind === 'module') {
    const hooks = exportedValues(handler.moduleExports).filter((v): v is Prefetchable => hasMethod(v, PREFETCH));
    await Promise.all(hooks.map((hook) => hook[PREFETCH]()));
    return { commandEnvironment: undefined, prefetched: hooks };
  }
  const spec = env.CUSTOM_RUNTIME_CONFIG;
  if (spec === undefined || spec === '') return { commandEnvironment: undefined, prefetched: [] };
  const { value } = await loadExport(spec, taskRoot, env);
  if (!hasMethod(value, ENVIRONMENT)) {
    throw new InitError(`CUSTOM_RUNTIME_CONFIG=${spec} does not name a config definition (defineConfig)`);
  }
  const source = value as unknown as EnvironmentSource;
  const prefetched = hasMethod(value, PREFETCH) ? [value] : [];
  if (hasMethod(value, PREFETCH)) await (value as unknown as Prefetchable)[PREFETCH]();
  return { commandEnvironment: (event) => source[ENVIRONMENT](event), prefetched };
}
