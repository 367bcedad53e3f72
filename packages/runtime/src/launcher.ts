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

declare const RUNTIME_DIGEST: string;

/**
 * The runtime's text closes this file as a comment (scripts/bundle.mjs): cheaper to skip than a
 * string literal of the same size is to build, and read back only by this file.
 */
const SOURCE_OPEN = '\n/* the runtime (src/bootstrap.ts), compiled by src/launcher.ts\n';
const SOURCE_CLOSE = '\n*/\n';

function runtimeSource(file: string): string {
  const text = readFileSync(file, 'utf8');
  const from = text.lastIndexOf(SOURCE_OPEN);
  if (from === -1 || !text.endsWith(SOURCE_CLOSE)) throw new Error(`${file} does not end with the runtime's source: rebuild it (pnpm build)`);
  return text.slice(from + SOURCE_OPEN.length, text.length - SOURCE_CLOSE.length);
}

const bootstrapFile = process.argv[1] ?? '';
const scripts = new RuntimeScripts(compileCacheDirectory(process.env, bootstrapFile), process.env[COMPILE_CACHE_FILL_ENV] === '1');
const runtime = scripts.run('runtime', bootstrapFile, runtimeSource(bootstrapFile), RUNTIME_DIGEST) as { start(launch: Launch): void };
runtime.start({ scripts, importModule: (url) => import(url) });
