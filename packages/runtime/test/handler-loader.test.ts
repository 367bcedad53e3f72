import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImportModuleError, MalformedHandlerName } from '../src/errors.js';
import { findCommand, loadHandler, parseHandlerString } from '../src/handler-loader.js';

const here = dirname(fileURLToPath(import.meta.url));
const src = join(here, '..', 'src');
const fixtures = join(here, 'fixtures', 'loader');

// Vitest routes import() through its own module pipeline (different CommonJS interop, syntax
// errors that are not SyntaxError), so module loading is tested in a plain Node process running
// an esbuild bundle of the loader.
let work: string;

const RUNNER = `
import { loadHandler, loadExport, describeError } from './loader.mjs';
const [mode, spec, taskRoot] = process.argv.slice(2);
const root = taskRoot === '-' ? undefined : taskRoot;
try {
  if (mode === 'export') {
    const loaded = await loadExport(spec, root);
    const value = loaded.value;
    process.stdout.write(JSON.stringify({ ok: true, value: {
      type: typeof value,
      symbols: Object.getOwnPropertySymbols(value).map((s) => s.description),
      modulePath: loaded.modulePath,
    } }));
  } else {
    const loaded = await loadHandler(spec, root);
    if (loaded.kind === 'command') {
      process.stdout.write(JSON.stringify({ ok: true, value: loaded }));
    } else {
      const result = await loaded.fn({ n: 1 }, {}, () => {});
      process.stdout.write(JSON.stringify({ ok: true, value: {
        kind: loaded.kind,
        streaming: loaded.streaming,
        highWaterMark: loaded.highWaterMark ?? null,
        arity: loaded.arity,
        modulePath: loaded.modulePath,
        exportNames: Object.keys(loaded.moduleExports),
        result,
      } }));
    }
  }
} catch (err) {
  process.stdout.write(JSON.stringify({ ok: false, error: describeError(err) }));
}
`;

interface Loaded {
  kind: 'module';
  streaming: boolean;
  highWaterMark: number | null;
  arity: number;
  modulePath: string;
  exportNames: string[];
  result: unknown;
}

interface Failed {
  typeHeader: string;
  response: { errorType: string; errorMessage: string; stackTrace: string[] };
}

type RunResult<T> = { ok: true; value: T } | { ok: false; error: Failed };

async function run<T = Loaded>(
  spec: string,
  options: { taskRoot?: string; env?: Record<string, string>; mode?: 'handler' | 'export' } = {},
): Promise<RunResult<T>> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [join(work, 'runner.mjs'), options.mode ?? 'handler', spec, options.taskRoot ?? fixtures],
    { env: { PATH: process.env.PATH ?? '', ...options.env }, cwd: work },
  );
  return JSON.parse(stdout) as RunResult<T>;
}

async function load(spec: string, options: Parameters<typeof run>[1] = {}): Promise<Loaded> {
  const outcome = await run(spec, options);
  if (!outcome.ok) throw new Error(`expected ${spec} to load, got ${JSON.stringify(outcome.error)}`);
  return outcome.value;
}

async function failure(spec: string, options: Parameters<typeof run>[1] = {}): Promise<Failed> {
  const outcome = await run(spec, options);
  if (outcome.ok) throw new Error(`expected ${spec} to fail, got ${JSON.stringify(outcome.value)}`);
  return outcome.error;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'handler-loader-'));
  await build({
    stdin: {
      contents: `export { loadHandler, loadExport } from './handler-loader.js';\nexport { describeError } from './errors.js';`,
      resolveDir: src,
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: join(work, 'loader.mjs'),
    logLevel: 'silent',
  });
  writeFileSync(join(work, 'runner.mjs'), RUNNER);
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe('parseHandlerString', () => {
  it('splits the last segment at its first dot, like the managed runtime', () => {
    expect(parseHandlerString('index.handler')).toEqual({ moduleRoot: '', moduleName: 'index', exportPath: 'handler' });
    expect(parseHandlerString('src/app/main.api.v1.get')).toEqual({
      moduleRoot: 'src/app',
      moduleName: 'main',
      exportPath: 'api.v1.get',
    });
    expect(parseHandlerString('/opt/code/index.handler')).toEqual({
      moduleRoot: '/opt/code',
      moduleName: 'index',
      exportPath: 'handler',
    });
    expect(parseHandlerString('a.b/a.b')).toEqual({ moduleRoot: 'a.b', moduleName: 'a', exportPath: 'b' });
  });

  it('rejects .., missing dots and empty parts with MalformedHandlerName', () => {
    for (const bad of ['', '../index.handler', 'src/../index.handler', 'index', '.handler', 'index.', 'index.a..b', 'index.a.', 'dir/index.handler/']) {
      expect(() => parseHandlerString(bad), bad).toThrow(MalformedHandlerName);
    }
  });
});

describe('command handlers', () => {
  it('recognises an executable file, relative to the task root or absolute', async () => {
    const abs = join(fixtures, 'bin', 'run.sh');
    await expect(loadHandler('bin/run.sh', fixtures)).resolves.toEqual({ kind: 'command', path: abs });
    await expect(loadHandler(abs, '/nonexistent')).resolves.toEqual({ kind: 'command', path: abs });
    expect(findCommand('bin/run.sh', fixtures)).toBe(abs);
  });

  it('falls back to module parsing for files without an execute bit, directories and .js files', async () => {
    expect(findCommand('bin/not-exec.sh', fixtures)).toBeUndefined();
    expect(findCommand('bin', fixtures)).toBeUndefined();
    expect(findCommand('bin/tool.js', fixtures)).toBeUndefined();
    await expect(loadHandler('bin/not-exec.sh', fixtures)).rejects.toThrow(ImportModuleError);
  });

  it('uses LAMBDA_TASK_ROOT when no task root is given', async () => {
    await expect(loadHandler('bin/run.sh', undefined, { env: { LAMBDA_TASK_ROOT: fixtures } })).resolves.toMatchObject({
      kind: 'command',
    });
  });

  it('rejects .. before looking at the file system', async () => {
    await expect(loadHandler('bin/../bin/run.sh', fixtures)).rejects.toThrow(MalformedHandlerName);
    await expect(loadHandler('', fixtures)).rejects.toThrow(MalformedHandlerName);
  });
});

describe('module handlers (plain Node)', () => {
  it('loads a named export from an ES module (.mjs)', async () => {
    const loaded = await load('esm/handler.handler');
    expect(loaded).toMatchObject({ kind: 'module', streaming: false, arity: 1, result: { from: 'esm', event: { n: 1 } } });
    expect(loaded.modulePath).toBe(join(fixtures, 'esm', 'handler.mjs'));
  });

  it('loads a CommonJS module (.cjs) with require: module.exports is the namespace', async () => {
    expect(await load('cjs/handler.handler')).toMatchObject({ result: { from: 'cjs' } });
    // Names built at run time are found too: require returns module.exports itself, as the
    // managed runtime's loader does (aws-lambda-nodejs-runtime-interface-client src/UserFunction.js,
    // `_tryRequireFile`), where import() would only see them under `default`.
    const dynamic = await load('cjs/dynamic.handler');
    expect(dynamic.exportNames).toEqual(['handler']);
    expect(dynamic.result).toBe('from default');
  });

  it('finds exports.default, what tsc emits for `export default`, as index.default', async () => {
    const loaded = await load('tsc-default/index.default');
    expect(loaded.result).toBe('tsc default export');
    expect(loaded.exportNames).toEqual(['default']);
  });

  it('requires an extensionless file even inside a "type": "module" package', async () => {
    // src/UserFunction.js `_tryRequire`: "Extensionless files are loaded via require."
    expect((await load('module-pkg/app.handler')).result).toBe('required extensionless');
  });

  it('honours package.json "type" for .js files', async () => {
    expect((await load('js-module/app.handler')).result).toBe('esm .js');
    expect((await load('js-commonjs/app.handler')).result).toBe('cjs .js');
  });

  it('follows nested paths and nested exports', async () => {
    expect((await load('nested/path/to/mod.api.v1.handler')).result).toBe('deeply nested');
    expect((await load('esm/handler.nested.deep.fn')).result).toBe('nested export');
  });

  it('tries extensions in ric order: exact name, .js, .mjs, .cjs', async () => {
    expect((await load('order/app.handler')).result).toBe('extensionless');
    expect((await load('prec/app.handler')).result).toBe('.js wins');
    expect((await load('prec/only.handler')).result).toBe('.mjs before .cjs');
  });

  it('accepts absolute handler paths and LAMBDA_TASK_ROOT', async () => {
    expect((await load(join(fixtures, 'esm', 'handler.handler'), { taskRoot: work })).result).toMatchObject({ from: 'esm' });
    expect((await load('esm/handler.handler', { taskRoot: '-', env: { LAMBDA_TASK_ROOT: fixtures } })).result).toMatchObject({
      from: 'esm',
    });
  });

  it('resolves a directory module and a package under node_modules, like Node', async () => {
    expect((await load('lib.handler', { taskRoot: join(fixtures, 'dirmod') })).result).toBe('directory index.js');
    const root = join(work, 'pkgroot');
    mkdirSync(join(root, 'node_modules', 'fakepkg'), { recursive: true });
    writeFileSync(join(root, 'package.json'), '{}');
    writeFileSync(join(root, 'node_modules', 'fakepkg', 'index.js'), 'exports.handler = async () => "from node_modules";');
    expect((await load('fakepkg.handler', { taskRoot: root })).result).toBe('from node_modules');
  });

  it('refuses callback-style handlers at init with Runtime.CallbackHandlerDeprecated', async () => {
    // The official client's check (src/function/callback-deprecation.ts L9): argsNum >= 3 and not streaming.
    for (const spec of ['cjs/handler.callback', 'callback/handlers.callback']) {
      const error = await failure(spec);
      expect(error.typeHeader, spec).toBe('Runtime.CallbackHandlerDeprecated');
      expect(error.response.errorMessage).toMatch(/async function that returns its result/);
    }
    expect((await load('callback/handlers.streamingWithThree')).arity).toBe(3);
  });

  it('treats an executable .js file as a module', async () => {
    expect((await load('bin/tool.handler')).result).toBe('executable .js is still a module');
  });
});

describe('streaming detection (plain Node)', () => {
  it('detects awslambda.streamifyResponse used at top level, with its highWaterMark', async () => {
    expect(await load('streaming/managed.handler')).toMatchObject({
      streaming: true,
      highWaterMark: 4096,
      result: 'stream handler ran',
    });
  });

  it('detects the bare Symbol.for marker', async () => {
    expect(await load('streaming/marked.handler')).toMatchObject({ streaming: true, highWaterMark: null });
  });

  it('rejects streaming modes other than response', async () => {
    expect((await failure('streaming/bidi.handler')).typeHeader).toBe('Runtime.MalformedStreamingHandler');
  });

  it('leaves awslambda undefined when opted out', async () => {
    const error = await failure('streaming/managed.handler', { env: { AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA: '1' } });
    expect(error.typeHeader).toBe('Runtime.ImportModuleError');
    expect(error.response.errorMessage).toContain('awslambda is not defined');
  });
});

describe('load failures (plain Node)', () => {
  it('maps a missing module to Runtime.ImportModuleError', async () => {
    const error = await failure('nothing/here.handler');
    expect(error).toMatchObject({ typeHeader: 'Runtime.ImportModuleError', response: { errorType: 'Runtime.ImportModuleError' } });
    expect(error.response.errorMessage).toContain("Cannot find module 'nothing/here'");
  });

  it('maps a missing dependency of the module to Runtime.ImportModuleError', async () => {
    const error = await failure('esm/broken-import.handler');
    expect(error.typeHeader).toBe('Runtime.ImportModuleError');
    expect(error.response.errorMessage).toContain('does-not-exist.mjs');
  });

  it('keeps the original message when the module throws at import', async () => {
    const esm = await failure('throwing/throws.handler');
    expect(esm.typeHeader).toBe('Runtime.ImportModuleError');
    expect(esm.response.errorMessage).toBe('Error: init failed: database unreachable');
    expect(esm.response.stackTrace.join('\n')).toContain('throws.mjs');
    const cjs = await failure('throwing/throws-cjs.handler');
    expect(cjs).toMatchObject({
      typeHeader: 'Runtime.ImportModuleError',
      response: { errorMessage: 'TypeError: cjs init failed' },
    });
  });

  it('rethrows errors that carry their own lambdaErrorType', async () => {
    const error = await failure('throwing/config-error.handler');
    expect(error).toMatchObject({
      typeHeader: 'Runtime.ConfigInvalid',
      response: { errorType: 'Runtime.ConfigInvalid', errorMessage: 'DB_URL is missing' },
    });
  });

  it('maps syntax errors to Runtime.UserCodeSyntaxError, naming the file', async () => {
    for (const spec of ['syntax/bad.handler', join(fixtures, 'syntax', 'bad.handler')]) {
      const error = await failure(spec);
      expect(error.typeHeader).toBe('Runtime.UserCodeSyntaxError');
      expect(error.response.errorMessage).toMatch(/^SyntaxError: /);
      expect(error.response.errorMessage).toContain(join(fixtures, 'syntax', 'bad.mjs'));
    }
    const cjs = await failure('syntax/bad-cjs.handler');
    expect(cjs.typeHeader).toBe('Runtime.UserCodeSyntaxError');
    expect(cjs.response.errorMessage).toContain(join(fixtures, 'syntax', 'bad-cjs.cjs'));
  });

  it('maps a missing export or a non-function to Runtime.HandlerNotFound', async () => {
    const missing = await failure('esm/handler.nope');
    expect(missing).toMatchObject({
      typeHeader: 'Runtime.HandlerNotFound',
      response: { errorMessage: 'esm/handler.nope is undefined or not exported' },
    });
    const notFn = await failure('esm/handler.notAFunction');
    expect(notFn.response.errorMessage).toBe('esm/handler.notAFunction is not a function');
    expect((await failure('esm/handler.nested.missing.fn')).typeHeader).toBe('Runtime.HandlerNotFound');
  });
});

describe('loadExport (plain Node)', () => {
  it('loads a non-function export for CUSTOM_RUNTIME_CONFIG', async () => {
    const outcome = await run<{ type: string; symbols: string[] }>('esm/handler.prefetcher', { mode: 'export' });
    expect(outcome).toMatchObject({ ok: true, value: { type: 'object', symbols: ['@custom-runtime/prefetch'] } });
    const missing = await run('esm/handler.nothing', { mode: 'export' });
    expect(missing).toMatchObject({ ok: false, error: { typeHeader: 'Runtime.HandlerNotFound' } });
  });
});
