/**
 * Where an image keeps what its build compiled ahead: Node 22's compile cache of the handler
 * (compile-cache.ts) and V8's code cache of the runtime's own scripts (code-cache.ts). The
 * launcher reads it before anything else runs, so this file imports nothing but node:path
 * (by name: a default import of a built-in costs the launcher a copy of its exports).
 */
import { dirname, join, resolve } from 'node:path';

/** Next to the bootstrap: `/var/runtime/compile-cache` in an image. */
export const COMPILE_CACHE_DIR_NAME = 'compile-cache';
/** A directory to use instead of the default, or `off`. */
export const COMPILE_CACHE_ENV = 'CUSTOM_RUNTIME_COMPILE_CACHE';
/** Set to `1` at image build: load the named handlers, write the caches, exit. */
export const COMPILE_CACHE_FILL_ENV = 'CUSTOM_RUNTIME_COMPILE_CACHE_FILL';

/** The cache directory for this bootstrap: the variable's, else `compile-cache` next to the bootstrap file. */
export function compileCacheDirectory(env: NodeJS.ProcessEnv, bootstrapFile = process.argv[1] ?? ''): string | 'off' {
  const configured = env[COMPILE_CACHE_ENV];
  if (configured === 'off') return 'off';
  if (configured !== undefined && configured !== '') return resolve(configured);
  return join(dirname(resolve(bootstrapFile)), COMPILE_CACHE_DIR_NAME);
}
