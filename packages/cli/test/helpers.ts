/**
 * Helpers of the tests that run the packages as a user gets them: the tarballs of
 * scripts/pack.mjs, commands run with a PATH that has no C/C++ toolchain or Python, output kept.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root. */
export const REPOSITORY = fileURLToPath(new URL('../../../', import.meta.url));

/** What a finished command left. */
export interface Finished {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `command` to its end; never rejects for a non-zero exit (the caller asserts it). */
export function runCommand(command: string, args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv; stdin?: string }): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], { cwd: options.cwd, env: options.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    // A child that exits without reading its input is not an error of the test.
    child.stdin.on('error', () => {});
    child.stdin.end(options.stdin ?? '');
  });
}

/** `Finished` as a message for a failed assertion. */
export function describeRun(what: string, run: Finished): string {
  return `${what} exited ${run.code}\n--- stdout ---\n${run.stdout.slice(-4000)}\n--- stderr ---\n${run.stderr.slice(-4000)}`;
}

/** Writes the four tarballs into a new temporary directory with scripts/pack.mjs; returns it. */
export function packTarballs(): string {
  const out = mkdtempSync(path.join(tmpdir(), 'custom-runtime-tarballs-'));
  const run = spawnSync(process.execPath, [path.join(REPOSITORY, 'scripts/pack.mjs'), '--out', out], { cwd: REPOSITORY, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`scripts/pack.mjs failed (run \`pnpm build\` first?):\n${run.stderr}`);
  return out;
}

/**
 * The tools of a machine with only Node.js, npm (pnpm installed with it), git and the shell's
 * utilities: no cmake, cc, gcc, g++, make or python3. (pnpm's bin shims use sed; the examples'
 * shell scripts use wc, sha256sum, cut, tr.)
 */
export const USER_TOOLS = ['node', 'npm', 'npx', 'pnpm', 'git', 'sh', 'bash', 'env', 'tar', 'gzip', 'cat', 'ls', 'mkdir', 'rm', 'cp', 'mv', 'ln', 'chmod', 'touch', 'mktemp', 'uname', 'dirname', 'basename', 'readlink', 'realpath', 'sed', 'grep', 'head', 'tail', 'tr', 'cut', 'wc', 'sort', 'uniq', 'tee', 'xargs', 'find', 'sha256sum', 'date', 'sleep', 'id', 'printf', 'test', 'true', 'false', 'expr'];

/**
 * A directory of symlinks to `tools` (found on this machine's PATH), to be the whole PATH of a
 * child: what it cannot find there, it cannot run. Throws when a tool is missing here.
 */
export function toolsOnlyPath(tools: readonly string[] = USER_TOOLS): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'custom-runtime-path-'));
  const bin = path.join(dir, 'bin');
  mkdirSync(bin);
  for (const tool of tools) {
    // `command -v` of a shell builtin (printf, test) answers its name: link the file if there is one.
    const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
    const file = found.startsWith('/') ? found : ['/usr/bin', '/bin'].map((dir) => path.join(dir, tool)).find((candidate) => existsSync(candidate));
    if (file === undefined) {
      if (found !== '') continue;
      throw new Error(`${tool} is not on this machine's PATH`);
    }
    symlinkSync(file, path.join(bin, tool));
  }
  return bin;
}

/**
 * The environment of a user's shell with `bin` as its whole PATH: HOME (npm's cache and
 * config), the npm registry settings, and nothing of this repository's tooling.
 */
export function userEnvironment(bin: string): NodeJS.ProcessEnv {
  const keep = ['HOME', 'USER', 'LANG', 'TMPDIR', 'npm_config_registry', 'NPM_CONFIG_REGISTRY', 'npm_config_cache', 'NPM_CONFIG_CACHE', 'HTTPS_PROXY', 'HTTP_PROXY', 'NO_PROXY', 'https_proxy', 'http_proxy', 'no_proxy'];
  const env: NodeJS.ProcessEnv = { PATH: bin };
  for (const name of keep) if (process.env[name] !== undefined) env[name] = process.env[name];
  return env;
}
