/**
 * V8's code cache for the runtime's own scripts: the runtime bundled inside the bootstrap
 * (launcher.ts) and the init-request sender next to it. Node 22's compile cache
 * (compile-cache.ts) cannot hold the file that enables it and keeps only what is compiled at
 * import, so a function compiled on its first call is compiled again at every cold start; Node 20
 * has none. The fill step compiles each of these scripts with all its functions and writes V8's
 * cache next to Node's; at a cold start they compile from it, read-only.
 *
 * V8 checks a cache against its own version, its flags, the source's length and its own length,
 * and refuses a mismatch (the script then compiles as usual): v8 src/snapshot/code-serializer.cc,
 * `SerializedCodeData::SanityCheck` and `SourceHash` (the source's length, not its content). The
 * file name carries a digest of the source, so a script changed to the same length never meets
 * an older cache.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { Script } from 'node:vm';

/** What became of one script's cache when it was compiled. */
export type CodeCacheState =
  /** Compiled from the image's cache. */
  | 'used'
  /** V8 refused the cache there (another Node, other V8 flags): compiled as usual. */
  | 'rejected'
  /** No cache for this script, this Node and this architecture. */
  | 'absent'
  /** `CUSTOM_RUNTIME_COMPILE_CACHE=off`. */
  | 'off'
  /** The fill step: compiled with all its functions, for {@link RuntimeScripts.write}. */
  | 'filling';

/** One script the launcher or the runtime compiled, and how. */
export interface CodeCacheReport {
  readonly script: string;
  readonly state: CodeCacheState;
}

type ModuleBody = (exports: unknown, require: NodeJS.Require, module: { exports: unknown }, filename: string, dirname: string) => void;

interface Compiled {
  readonly name: string;
  readonly digest: string;
  readonly script: Script;
}

/** `--no-lazy` while `compile` runs: V8 then compiles every function now, not at its first call. */
function compileWhole(compile: () => Script): Script {
  const v8 = process.getBuiltinModule('node:v8');
  v8.setFlagsFromString('--no-lazy');
  try {
    return compile();
  } finally {
    // Restored before anything else compiles; with it V8's flag hash, which a cache must match
    // at load (code-cache.test.ts checks that the filled caches are used).
    v8.setFlagsFromString('--lazy');
  }
}

function sha256(text: string): string {
  return process.getBuiltinModule('node:crypto').createHash('sha256').update(text).digest('hex');
}

/**
 * The runtime's own scripts, each run as the body of a CommonJS module and compiled through the
 * code cache in `directory`. Never throws for the cache: an unreadable or refused one only
 * means compiling as usual.
 */
export class RuntimeScripts {
  readonly #directory: string | 'off';
  readonly #filling: boolean;
  readonly #compiled: Compiled[] = [];
  readonly #reports: CodeCacheReport[] = [];
  readonly #required = new Map<string, unknown>();

  /** `filling`: the fill step, which compiles whole and {@link write}s. */
  constructor(directory: string | 'off', filling: boolean) {
    this.#directory = directory;
    this.#filling = filling && directory !== 'off';
  }

  /** The cache file of script `name` with source digest `digest`, for this Node and architecture. */
  cacheFile(name: string, digest: string): string | undefined {
    if (this.#directory === 'off') return undefined;
    return join(this.#directory, `${name}-${digest.slice(0, 16)}-${process.version}-${process.arch}.v8cache`);
  }

  /** Runs `source` as the body of a CommonJS module at `filename` and returns its exports. */
  run(name: string, filename: string, source: string, digest: string): unknown {
    const file = this.cacheFile(name, digest);
    let cachedData: Buffer | undefined;
    let state: CodeCacheState = file === undefined ? 'off' : this.#filling ? 'filling' : 'absent';
    if (state === 'absent') {
      try {
        cachedData = readFileSync(file!);
      } catch {
        // absent: the usual case outside a filled image
      }
    }
    // The wrapper Node's CommonJS loader uses, on the source's first line so lines keep their numbers.
    const wrapped = `(function (exports, require, module, __filename, __dirname) {${source}\n})`;
    const compile = (): Script => new Script(wrapped, { filename, cachedData });
    const script = this.#filling ? compileWhole(compile) : compile();
    if (cachedData !== undefined) state = script.cachedDataRejected === true ? 'rejected' : 'used';
    this.#reports.push({ script: name, state });
    if (this.#filling) this.#compiled.push({ name, digest, script });
    const module = { exports: {} as unknown };
    const body = script.runInThisContext() as ModuleBody;
    body.call(module.exports, module.exports, createRequire(filename), module, filename, dirname(filename));
    return module.exports;
  }

  /** `require(file)` for a CommonJS script of the runtime (the sender), through the cache. */
  require(file: string): unknown {
    const resolved = resolve(file);
    if (this.#required.has(resolved)) return this.#required.get(resolved);
    const source = readFileSync(resolved, 'utf8');
    const exports = this.run(basename(resolved), resolved, source, sha256(source));
    this.#required.set(resolved, exports);
    return exports;
  }

  /** Each script compiled so far and what became of its cache. */
  reports(): readonly CodeCacheReport[] {
    return [...this.#reports];
  }

  /** The fill step: writes the cache of every script compiled so far, readable by all; returns the files. */
  write(): string[] {
    if (!this.#filling) return [];
    const written: string[] = [];
    for (const { name, digest, script } of this.#compiled) {
      const file = this.cacheFile(name, digest)!;
      mkdirSync(dirname(file), { recursive: true });
      // Whole or not at all: V8 refuses a cache cut short, but does not checksum one in release
      // builds (v8 src/flags/flag-definitions.h, verify_snapshot_checksum).
      const partial = `${file}.${process.pid}.partial`;
      writeFileSync(partial, script.createCachedData(), { mode: 0o644 });
      renameSync(partial, file);
      written.push(file);
    }
    return written;
  }
}
