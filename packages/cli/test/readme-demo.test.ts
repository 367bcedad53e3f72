/**
 * The README's demo command on a machine with only Node.js and npm: from a clean copy of the
 * repository (its git-tracked and unignored files, outside this checkout), on a PATH without
 * cmake, cc, g++, make or python3, `pnpm install --frozen-lockfile` builds nothing native and
 * `pnpm demo` exits 0. (`npm install --global pnpm@10.34.9`, the first part of the command, is
 * what put pnpm on this machine.) Packages come from pnpm's store, or the npm registry
 * (--prefer-offline).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeRun, REPOSITORY, runCommand, toolsOnlyPath, userEnvironment } from './helpers.js';

const clone = mkdtempSync(path.join(tmpdir(), 'custom-runtime-clone-'));

afterAll(() => rmSync(clone, { recursive: true, force: true }));

describe("the README's demo command", () => {
  it('installs without building native code and runs the demo, with no C/C++ toolchain or Python', async () => {
    const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: REPOSITORY, encoding: 'utf8' }).split('\0').filter((f) => f !== '');
    for (const file of files) {
      mkdirSync(path.dirname(path.join(clone, file)), { recursive: true });
      // A file deleted in the checkout but not yet in git is not part of a clone of it.
      try {
        cpSync(path.join(REPOSITORY, file), path.join(clone, file), { verbatimSymlinks: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
    const env = userEnvironment(toolsOnlyPath());
    const install = await runCommand('pnpm', ['install', '--frozen-lockfile', '--prefer-offline'], { cwd: clone, env });
    expect(install.code, describeRun('pnpm install', install)).toBe(0);
    const output = install.stdout + install.stderr;
    expect(output).not.toMatch(/node-gyp|cmake|gyp info|WARN/i);

    const demo = await runCommand('pnpm', ['demo'], { cwd: clone, env });
    expect(demo.code, describeRun('pnpm demo', demo)).toBe(0);
    expect(demo.stdout).toMatch(/\[7\/7\] Done\n\s+demo finished in [\d.]+ s; stand-ins stopped/);
    expect(demo.stdout + demo.stderr).not.toContain('NodeVersionSupportWarning');
  }, 180_000);
});
