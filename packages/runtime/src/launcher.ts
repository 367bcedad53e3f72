/**
 * The `bootstrap` executable of a provided.al2023 image. It holds the runtime (bootstrap.ts) as
 * text, appended by scripts/bundle.mjs, compiles it through V8's code cache of the image
 * (code-cache.ts) and starts it: Node itself compiles only this small file.
 */
import { readFileSync } from 'node:fs';
import { COMPILE_CACHE_FILL_ENV, compileCacheDirectory } from './cache-directory.js';
import { RuntimeScripts } from './code-cache.js';

/** What the launcher hands the runtime. */
export interface Launch {
  /** The runtime's own scripts and their code cache (the sender is loaded through it too). */
  readonly scripts: RuntimeScripts;
  /** `import()` from this file, which Node compiled as a module (module-import.ts). */
  importModule(url: string): Promise<unknown>;
}

/**
 * Set by scripts/bundle.mjs: the runtime's text closes this file as a comment between
 * `RUNTIME_SOURCE_OPEN` and `RUNTIME_SOURCE_CLOSE` (cheaper to skip than a string literal of the
 * same size is to build), with the SHA-256 of that text.
 */
declare const RUNTIME_SOURCE_OPEN: string;
declare const RUNTIME_SOURCE_CLOSE: string;
declare const RUNTIME_DIGEST: string;

/** The runtime's text, and the line of this file it starts on, less one. */
function runtimeSource(file: string): { source: string; lineOffset: number } {
  const text = readFileSync(file, 'utf8');
  const from = text.lastIndexOf(RUNTIME_SOURCE_OPEN);
  if (from === -1 || !text.endsWith(RUNTIME_SOURCE_CLOSE)) throw new Error(`${file} does not end with the runtime's source: rebuild it (pnpm build)`);
  const start = from + RUNTIME_SOURCE_OPEN.length;
  let lineOffset = 0;
  for (let at = text.indexOf('\n'); at !== -1 && at < start; at = text.indexOf('\n', at + 1)) lineOffset++;
  return { source: text.slice(start, text.length - RUNTIME_SOURCE_CLOSE.length), lineOffset };
}

// This file, even when something else is the main module.
const bootstrapFile = __filename;
const { source, lineOffset } = runtimeSource(bootstrapFile);
const scripts = new RuntimeScripts(compileCacheDirectory(process.env, bootstrapFile), process.env[COMPILE_CACHE_FILL_ENV] === '1');
const runtime = scripts.run('runtime', bootstrapFile, source, RUNTIME_DIGEST, lineOffset) as { start(launch: Launch): void };
runtime.start({ scripts, importModule: (url) => import(url) });
