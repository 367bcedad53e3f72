import { types } from 'node:util';
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

/** A config definition as the runtime sees it: something to prefetch during init. */
export interface Prefetchable {
  [PREFETCH](): Promise<void>;
}
interface EnvironmentSource {
  [ENVIRONMENT](event: unknown): Promise<Record<string, string>>;
}

function hasMethod<K extends symbol>(value: unknown, key: K): value is Record<K, (...args: never[]) => unknown> {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return false;
  try {
    return typeof (value as Record<K, unknown>)[key] === 'function';
  } catch {
    // A Proxy export whose get trap throws is not a config definition.
    return false;
  }
}

/**
 * The values of `target`'s own data properties. Getters are never called (an unrelated export
 * getter that throws, or that has side effects, must not break init); a binding still in its
 * temporal dead zone or a Proxy whose traps throw yields nothing.
 */
function dataValues(target: object): unknown[] {
  let keys: Array<string | symbol>;
  try {
    keys = Reflect.ownKeys(target);
  } catch {
    return [];
  }
  const values: unknown[] = [];
  for (const key of keys) {
    try {
      const descriptor = Object.getOwnPropertyDescriptor(target, key);
      if (descriptor !== undefined && 'value' in descriptor) values.push(descriptor.value);
    } catch {
      // An uninitialised binding or a throwing trap: not a definition to prefetch.
    }
  }
  return values;
}

/**
 * Whether `value` is a config definition: `key` is a method found on it or its prototypes as a
 * data property, without running user code (no getter, no Proxy trap). An exported Proxy that
 * answers every key with a function (a lazy singleton) is not one; calling into it failed init.
 */
function isPrefetchable(value: unknown): value is Prefetchable {
  try {
    for (let current: unknown = value, depth = 0; isObject(current) && depth < 64; depth++) {
      if (types.isProxy(current)) return false;
      const descriptor = Object.getOwnPropertyDescriptor(current, PREFETCH);
      if (descriptor !== undefined) return 'value' in descriptor && typeof descriptor.value === 'function';
      current = Object.getPrototypeOf(current);
    }
  } catch {
    // Unreachable without Proxies; not a definition either way.
  }
  return false;
}

function isObject(value: unknown): value is object {
  return (typeof value === 'object' || typeof value === 'function') && value !== null;
}

/** Export values of a module namespace, including those of a CommonJS `module.exports` under `default`. */
function exportedValues(moduleExports: unknown): unknown[] {
  if (!isObject(moduleExports)) return [];
  const values = dataValues(moduleExports);
  const cjs = Object.prototype.hasOwnProperty.call(moduleExports, 'default') ? safeDefault(moduleExports) : undefined;
  if (typeof cjs === 'object' && cjs !== null) values.push(cjs, ...dataValues(cjs));
  return [...new Set(values)];
}

function safeDefault(moduleExports: object): unknown {
  try {
    const descriptor = Object.getOwnPropertyDescriptor(moduleExports, 'default');
    return descriptor !== undefined && 'value' in descriptor ? descriptor.value : undefined;
  } catch {
    return undefined;
  }
}

/** The config definitions among a module's exports (what {@link runInitHooks} prefetches). */
export function configDefinitionsOf(moduleExports: unknown): Prefetchable[] {
  return exportedValues(moduleExports).filter(isPrefetchable);
}

/**
 * Runs the init hooks of the loaded handler before the first `/next`: every exported config
 * definition is prefetched, so secrets are fetched during Lambda's init phase rather than on
 * the first invocation. A failure becomes the init error (e.g. `Runtime.ConfigInvalid`).
 */
export async function runInitHooks(handler: LoadedHandler, env: NodeJS.ProcessEnv, taskRoot: string): Promise<InitResult> {
  if (handler.kind === 'module') {
    const hooks = configDefinitionsOf(handler.moduleExports);
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
