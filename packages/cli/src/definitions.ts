import { pathToFileURL } from 'node:url';
import { inspectConfig, type FieldInfo } from '@custom-runtime/config';

/** A config definition exported by a handler module, described by `inspectConfig`. */
export interface FoundDefinition {
  /** The export's name (`config`), or the `CUSTOM_RUNTIME_CONFIG` export path. */
  readonly exportName: string;
  readonly fields: readonly FieldInfo[];
}

/** What a module holds: its definitions, and exports that look like one but cannot be read. */
export type DefinitionsOfModule =
  | { readonly ok: true; readonly definitions: readonly FoundDefinition[]; readonly unreadable: readonly string[] }
  | { readonly ok: false; readonly message: string };

// docs/design.md: the runtime prefetches every export carrying this method.
const PREFETCH = Symbol.for('@custom-runtime/prefetch');

/**
 * Imports a built module and collects its config definitions: every export (and, for a CommonJS
 * module, every property of `module.exports`) with a `@custom-runtime/prefetch` method, or only
 * the export at `exportPath` (a `CUSTOM_RUNTIME_CONFIG` target). The module runs in this process,
 * as it runs at init: its top-level code must not need the Lambda environment.
 */
export async function definitionsOf(file: string, exportPath?: string): Promise<DefinitionsOfModule> {
  let namespace: unknown;
  try {
    namespace = await import(pathToFileURL(file).href);
  } catch (error) {
    return { ok: false, message: `importing ${file} failed: ${error instanceof Error ? error.message.split('\n')[0] : 'a non-Error was thrown'}` };
  }
  const candidates: Array<[string, unknown]> =
    exportPath === undefined ? exportedEntries(namespace) : [[exportPath, exportAt(namespace, exportPath)]];
  if (exportPath !== undefined && candidates[0]![1] == null) return { ok: false, message: `${file} exports nothing at ${exportPath}` };
  const definitions: FoundDefinition[] = [];
  const unreadable: string[] = [];
  const seen = new Set<unknown>();
  for (const [name, value] of candidates) {
    if (seen.has(value) || !hasPrefetch(value)) {
      if (exportPath !== undefined && !hasPrefetch(value)) return { ok: false, message: `${exportPath} in ${file} is not a config definition (defineConfig)` };
      continue;
    }
    seen.add(value);
    try {
      definitions.push({ exportName: name, fields: inspectConfig(value as Parameters<typeof inspectConfig>[0]) });
    } catch (error) {
      unreadable.push(`${name}: ${error instanceof Error ? error.message : 'cannot be inspected'}`);
    }
  }
  return { ok: true, definitions, unreadable };
}

function hasPrefetch(value: unknown): boolean {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as Record<symbol, unknown>)[PREFETCH] === 'function';
}

function exportedEntries(namespace: unknown): Array<[string, unknown]> {
  if (typeof namespace !== 'object' || namespace === null) return [];
  const entries: Array<[string, unknown]> = Object.entries(namespace);
  const cjs = (namespace as { default?: unknown }).default;
  if (typeof cjs === 'object' && cjs !== null) entries.push(...Object.entries(cjs).map(([key, value]): [string, unknown] => [`default.${key}`, value]));
  return entries;
}

// The bootstrap's lookup: the dotted path among the named exports, then under `default`.
function exportAt(namespace: unknown, exportPath: string): unknown {
  const walk = (root: unknown): unknown =>
    exportPath.split('.').reduce<unknown>((current, segment) => (typeof current === 'object' && current !== null ? (current as Record<string, unknown>)[segment] : undefined), root);
  return walk(namespace) ?? walk((namespace as { default?: unknown } | null)?.default);
}
