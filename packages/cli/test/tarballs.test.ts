/**
 * The tarballs of `pnpm pack:all` (scripts/pack.mjs) as npm sees them: workspace versions
 * resolved, only built files and docs, executables executable, and an `npm install` of them in
 * a folder with no workspace around it (third-party packages come from the npm registry;
 * --prefer-offline takes them from npm's cache when it has them).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeRun, packTarballs, runCommand, toolsOnlyPath, userEnvironment } from './helpers.js';

const PACKAGES = ['runtime', 'config', 'local', 'cli'];
let tarballs: string;
const work = mkdtempSync(path.join(tmpdir(), 'custom-runtime-install-'));

beforeAll(() => {
  tarballs = packTarballs();
}, 60_000);

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  if (tarballs !== undefined) rmSync(tarballs, { recursive: true, force: true });
});

function tarballOf(pkg: string): string {
  const file = readdirSync(tarballs).find((name) => name.startsWith(`custom-runtime-${pkg}-`));
  if (file === undefined) throw new Error(`no tarball of ${pkg} in ${tarballs}`);
  return path.join(tarballs, file);
}

/** `tar -tvzf`: mode string and path of each entry. */
function listing(file: string): Array<{ mode: string; path: string }> {
  return execFileSync('tar', ['-tvzf', file], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((line) => {
      const fields = line.trim().split(/\s+/);
      return { mode: fields[0]!, path: fields[fields.length - 1]! };
    });
}

function manifest(file: string): Record<string, unknown> {
  return JSON.parse(execFileSync('tar', ['-xzOf', file, 'package/package.json'], { encoding: 'utf8' })) as Record<string, unknown>;
}

describe('the tarballs', () => {
  it('ship only built files, package.json and docs', () => {
    for (const pkg of PACKAGES) {
      const paths = listing(tarballOf(pkg)).map((entry) => entry.path);
      const allowed = pkg === 'runtime' ? /^package\/(dist|lib)\/|^package\/(package\.json|README\.md)$/ : /^package\/dist\/|^package\/(package\.json|README\.md)$/;
      expect(paths.filter((p) => !allowed.test(p)), pkg).toEqual([]);
      expect(paths.some((p) => /\/(src|test)\//.test(p) || p.endsWith('.ts') && !p.endsWith('.d.ts')), pkg).toBe(false);
    }
    expect(listing(tarballOf('cli')).map((e) => e.path)).toContain('package/README.md');
  });

  it('keep dist/bootstrap and the bin executable (pnpm pack alone drops the bit)', () => {
    const mode = (pkg: string, file: string): string | undefined => listing(tarballOf(pkg)).find((e) => e.path === `package/${file}`)?.mode;
    expect(mode('runtime', 'dist/bootstrap')).toBe('-rwxr-xr-x');
    expect(mode('cli', 'dist/main.js')).toBe('-rwxr-xr-x');
    expect(mode('runtime', 'lib/index.js')).toBe('-rw-r--r--');
  });

  it('carry the workspace versions instead of workspace:*, and exports without the source condition', () => {
    for (const pkg of PACKAGES) {
      const text = JSON.stringify(manifest(tarballOf(pkg)));
      expect(text, pkg).not.toContain('workspace:');
      expect(text, pkg).not.toContain('"source"');
    }
    const cli = manifest(tarballOf('cli'));
    expect((cli.dependencies as Record<string, string>)['@custom-runtime/config']).toBe(manifest(tarballOf('config')).version);
    expect(cli.bin).toEqual({ 'custom-runtime': './dist/main.js' });
  });

  it('pass npm pack --dry-run without a warning', () => {
    // A user's environment: not the npm_config_* variables pnpm sets for its scripts.
    const env = userEnvironment(toolsOnlyPath());
    for (const pkg of PACKAGES) {
      const unpacked = mkdtempSync(path.join(work, `${pkg}-`));
      execFileSync('tar', ['-xzf', tarballOf(pkg), '-C', unpacked]);
      const result = execFileSync('npm', ['pack', '--dry-run', '--json'], { cwd: path.join(unpacked, 'package'), env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      expect(JSON.parse(result)[0].name, pkg).toBe(`@custom-runtime/${pkg}`);
      // execFileSync hands back stdout only; npm writes its warnings to stderr.
      const stderr = execFileSync('sh', ['-c', 'npm pack --dry-run 2>&1 >/dev/null | grep -i "warn" || true'], { cwd: path.join(unpacked, 'package'), env, encoding: 'utf8' });
      expect(stderr, pkg).toBe('');
    }
  });

  it('install with plain npm in a folder outside any workspace, with no C/C++ toolchain or Python on the PATH', async () => {
    const project = mkdtempSync(path.join(work, 'project-'));
    writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'uses-tarballs', version: '1.0.0', private: true, type: 'module' }));
    const env = userEnvironment(toolsOnlyPath());
    const install = await runCommand('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', ...PACKAGES.map(tarballOf)], { cwd: project, env });
    expect(install.code, describeRun('npm install', install)).toBe(0);

    const bootstrap = path.join(project, 'node_modules/@custom-runtime/runtime/dist/bootstrap');
    expect(statSync(bootstrap).mode & 0o111).toBe(0o111);
    const help = await runCommand(path.join(project, 'node_modules/.bin/custom-runtime'), ['--help'], { cwd: project, env });
    expect(help.code, describeRun('custom-runtime --help', help)).toBe(0);
    expect(help.stdout).toMatch(/^Usage: custom-runtime <command>/);
    const imports = await runCommand(
      'node',
      ['--input-type=module', '-e', "const c = await import('@custom-runtime/config'); const r = await import('@custom-runtime/runtime'); const l = await import('@custom-runtime/local'); console.log(typeof c.defineConfig, typeof r.currentInvocation, typeof l.startKms);"],
      { cwd: project, env },
    );
    expect(imports.stdout.trim(), describeRun('imports', imports)).toBe('function function function');

    // @custom-runtime/local is a project's development dependency, not the CLI's: without it,
    // invoke says what to install.
    rmSync(path.join(project, 'node_modules/@custom-runtime/local'), { recursive: true, force: true });
    const invoke = await runCommand(path.join(project, 'node_modules/.bin/custom-runtime'), ['invoke', '--payload', '{}'], { cwd: project, env });
    expect(invoke.code).toBe(1);
    expect(invoke.stderr).toBe(
      'custom-runtime invoke: local invokes need the stand-ins of @custom-runtime/local, which is not installed next to @custom-runtime/cli: npm install --save-dev @custom-runtime/local\n',
    );
  }, 120_000);
});
