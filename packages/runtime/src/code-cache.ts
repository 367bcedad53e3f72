/**
 * V8's code cache for the runtime's own scripts: the runtime bundled inside the bootstrap
 * (launcher.ts) and the init-request sender next to it. Node 22's compile cache
 * (compile-cache.ts) cannot hold the file that enables it and keeps only what is compiled at
 * import, so a function compiled on its first call is compiled again at every cold start; Node 20
 * has none. The fill step compiles each of these scripts with all its functions and writes V8's
 * cache next to Node's; at a cold start they compile from it, read-only.
 *
 * V8 checks a cache against its own version, its flags and the source's length, and refuses a
 * mismatch (the script then compiles as usual): v8 src/snapshot/code-serializer.cc,
 * `SerializedCodeData::SanityCheck` and `SourceHash` (the source's length, not its content). The
 * file name carries a digest of the source: the runtime's is the one its build computed (a
 * bootstrap built from other sources never meets an older cache, a hand edit of its text would),
 * the sender's is computed when it loads. Flags count: a fill run without the function's
 * `NODE_OPTIONS` V8 flags (e.g. `--max-old-space-size`) makes a cache V8 refuses.
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { Script } from 'node:vm';

/** What became of one script's cache when it was compiled. */
export type CodeCacheState =
  /** Compiled from the image's cache. */
  | 'used'
  /** A cache was there, but refused (another Node, other V8 flags, a damaged file): compiled as usual. */
  | 'rejected'
  /** No cache for this script, this Node and this architecture. */
  | 'absent'
  /** `CUSTOM_RUNTIME_COMPILE_CACHE=off`. */
  | 'off'
  /** The fill step: compiled with all its functions and written. */
  | 'written'
  /** The fill step: compiled, but the cache could not be written ({@link CodeCacheReport.detail}). */
  | 'unwritten';

/** One script the launcher or the runtime compiled, and how. */
export interface CodeCacheReport {
  readonly script: string;
  readonly state: CodeCacheState;
  /** The cache file, when there is one. */
  readonly file?: string;
  /** Why it was refused or not written. */
  readonly detail?: string;
}

type ModuleBody = (exports: unknown, require: NodeJS.Require, module: { exports: unknown }, filename: string, dirname: string) => void;

// Ahead of V8's data: a mark and its exact length. V8 itself refuses a cache cut short but takes
// one with bytes appended (and crashes on damaged bytes: it has no checksum in release builds,
// v8 src/flags/flag-definitions.h, verify_snapshot_checksum), so the fill writes files whole.
const MAGIC = 0x38765243; // "CRv8"
const HEADER_BYTES = 8;

function framed(data: Buffer): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt32LE(MAGIC, 0);
  header.writeUInt32LE(data.length, 4);
  return Buffer.concat([header, data]);
}

function unframed(file: Buffer): Buffer | undefined {
  if (file.length < HEADER_BYTES || file.readUInt32LE(0) !== MAGIC || file.readUInt32LE(4) !== file.length - HEADER_BYTES) return undefined;
  return file.subarray(HEADER_BYTES);
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

/** Writes `data` to `file` whole (a rename), readable by every user whatever the umask. */
function writeWhole(file: string, data: Buffer): void {
  const directory = dirname(file);
  mkdirSync(directory, { recursive: true });
  // Lambda runs the function as another user than the build's.
  chmodSync(directory, statSync(directory).mode | 0o555);
  const partial = `${file}.${process.pid}-${Math.random().toString(36).slice(2)}.partial`;
  writeFileSync(partial, data);
  chmodSync(partial, 0o644);
  renameSync(partial, file);
}

/**
 * The runtime's own scripts, each run as the body of a CommonJS module and compiled through the
 * code cache in `directory`. Never throws for the cache: a missing, unreadable or refused one
 * only means compiling as usual.
 */
export class RuntimeScripts {
  readonly #directory: string | 'off';
  readonly #filling: boolean;
  readonly #reports: CodeCacheReport[] = [];
  readonly #required = new Map<string, unknown>();

  /** `filling`: the fill step, which compiles whole and writes each script's cache. */
  constructor(directory: string | 'off', filling: boolean) {
    this.#directory = directory;
    this.#filling = filling && directory !== 'off';
  }

  /** The cache file of script `name` with source digest `digest`, for this Node and architecture. */
  cacheFile(name: string, digest: string): string | undefined {
    if (this.#directory === 'off') return undefined;
    return join(this.#directory, `${name}-${digest.slice(0, 16)}-${process.version}-${process.arch}.v8cache`);
  }

  /**
   * Runs `source` as the body of a CommonJS module at `filename` and returns its exports.
   * `lineOffset`: the line of `filename` that `source` starts on, less one (for stack traces).
   */
  run(name: string, filename: string, source: string, digest: string, lineOffset = 0): unknown {
    const file = this.cacheFile(name, digest);
    let cachedData: Buffer | undefined;
    let report: CodeCacheReport = file === undefined ? { script: name, state: 'off' } : { script: name, state: 'absent', file };
    if (file !== undefined && !this.#filling) {
      let bytes: Buffer | undefined;
      try {
        bytes = readFileSync(file);
      } catch {
        // absent: the usual case outside a filled image
      }
      if (bytes !== undefined) {
        cachedData = unframed(bytes);
        if (cachedData === undefined) report = { script: name, state: 'rejected', file, detail: 'not a whole cache file' };
      }
    }
    // Node's CommonJS wrapper, on a line of its own: with the offset, frames name the file's lines.
    const wrapped = `(function (exports, require, module, __filename, __dirname) {\n${source}\n})`;
    const compile = (): Script => new Script(wrapped, { filename, cachedData, lineOffset: lineOffset - 1 });
    const script = this.#filling ? compileWhole(compile) : compile();
    if (cachedData !== undefined) {
      report = script.cachedDataRejected === true ? { script: name, state: 'rejected', file: file!, detail: 'refused by V8' } : { script: name, state: 'used', file: file! };
    }
    if (this.#filling && file !== undefined) {
      // Written now, before the script runs: what the fill loads later cannot keep it from disk.
      try {
        writeWhole(file, framed(script.createCachedData()));
        report = { script: name, state: 'written', file };
      } catch (err) {
        report = { script: name, state: 'unwritten', file, detail: (err as Error).message };
      }
    }
    this.#reports.push(report);
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
}
