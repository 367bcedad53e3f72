import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliError } from './cli-error.js';

/** The packages a function project installs, by short name. */
export const PROJECT_PACKAGES = ['runtime', 'config', 'local', 'cli'] as const;
/** A short name of {@link PROJECT_PACKAGES}. */
export type ProjectPackage = (typeof PROJECT_PACKAGES)[number];

/** Where the tarballs came from, and their file names by package. */
export interface VendoredTarballs {
  readonly source: string;
  readonly files: Readonly<Record<ProjectPackage, string>>;
}

// This package's root: one level above both src/ and dist/.
const PACKAGE_ROOT = fileURLToPath(new URL('..', import.meta.url));
const REPOSITORY_ROOT = path.resolve(PACKAGE_ROOT, '../..');

/**
 * Copies the tarballs of the four packages into `vendor`, from the first place that has them:
 * `given` (a directory of `pnpm pack:all`), the repository's dist/tarballs when this CLI runs
 * from a clone (written by scripts/pack.mjs when missing), or else the installed packages
 * themselves, packed again with `npm pack` (a project made by a project).
 */
export async function vendorTarballs(vendor: string, given: string | undefined): Promise<VendoredTarballs> {
  await mkdir(vendor, { recursive: true });
  if (given !== undefined) return copyFrom(given, vendor);
  const packScript = path.join(REPOSITORY_ROOT, 'scripts/pack.mjs');
  if (existsSync(packScript) && existsSync(path.join(REPOSITORY_ROOT, 'pnpm-workspace.yaml'))) {
    const out = path.join(REPOSITORY_ROOT, 'dist/tarballs');
    // Packed afresh: tarballs left from an older build would carry older code.
    run(process.execPath, [packScript, '--out', out], REPOSITORY_ROOT, 'scripts/pack.mjs (is the repository built? run `pnpm build`)');
    return copyFrom(out, vendor);
  }
  return packInstalled(vendor);
}

function tarballOf(pkg: ProjectPackage, file: string): boolean {
  return new RegExp(`^custom-runtime-${pkg}-\\d+\\.\\d+\\.\\d+.*\\.tgz$`).test(file);
}

async function copyFrom(dir: string, vendor: string): Promise<VendoredTarballs> {
  const names = await readdir(dir).catch(() => {
    throw new CliError(`cannot read the tarball directory ${dir}`);
  });
  const files = {} as Record<ProjectPackage, string>;
  for (const pkg of PROJECT_PACKAGES) {
    const matches = names.filter((name) => tarballOf(pkg, name)).sort();
    const file = matches.at(-1);
    if (file === undefined) throw new CliError(`no tarball of @custom-runtime/${pkg} in ${dir} (make them with \`pnpm pack:all\` in the repository)`);
    await copyFile(path.join(dir, file), path.join(vendor, file));
    files[pkg] = file;
  }
  return { source: dir, files };
}

// Installed packages carry resolved versions and their built files: `npm pack` of their
// directories gives tarballs that install as the originals did.
async function packInstalled(vendor: string): Promise<VendoredTarballs> {
  const require = createRequire(import.meta.url);
  const work = await mkdtemp(path.join(tmpdir(), 'custom-runtime-vendor-'));
  try {
    for (const pkg of PROJECT_PACKAGES) {
      let dir: string;
      try {
        dir = pkg === 'cli' ? PACKAGE_ROOT : path.dirname(require.resolve(`@custom-runtime/${pkg}/package.json`, { paths: [PACKAGE_ROOT] }));
      } catch {
        dir = path.join(PACKAGE_ROOT, '..', pkg);
        if (!existsSync(path.join(dir, 'package.json'))) throw new CliError(`@custom-runtime/${pkg} is not installed next to @custom-runtime/cli: give the tarballs with --tarballs DIR`);
      }
      run('npm', ['pack', dir, '--pack-destination', work, '--loglevel', 'error'], work, `npm pack of @custom-runtime/${pkg}`);
    }
    return await copyFrom(work, vendor);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function run(command: string, args: readonly string[], cwd: string, what: string): void {
  try {
    execFileSync(command, [...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    throw new CliError(`${what} failed${stderr ? `: ${stderr.split('\n').slice(-3).join(' ')}` : ''}`);
  }
}
