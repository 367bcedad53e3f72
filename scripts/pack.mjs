// `pnpm pack:all [--out DIR]`: writes installable tarballs of the published packages
// (@custom-runtime/runtime, config, local, cli) to DIR (default dist/tarballs), after `pnpm build`.
//
// Two steps per package, each doing what the other cannot:
// - `pnpm pack` rewrites `workspace:*` to the versions of the workspace, so the tarball installs
//   with plain npm outside this repository; but it stores every file as 0644 except `bin`
//   entries, so dist/bootstrap loses its execute bit.
// - so the tarball is unpacked, the executables are marked 0755, and `npm pack` packs it again
//   (npm keeps the execute bit and checks the manifest as `npm publish` would).
// Prints one line per tarball: its path. Exits non-zero, naming the package, on any failure.
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The packages a user installs, in dependency order; each with the files that must be executable. */
export const PACKAGES = [
  { name: '@custom-runtime/runtime', dir: 'packages/runtime', executables: ['dist/bootstrap'] },
  { name: '@custom-runtime/config', dir: 'packages/config', executables: [] },
  { name: '@custom-runtime/local', dir: 'packages/local', executables: [] },
  { name: '@custom-runtime/cli', dir: 'packages/cli', executables: ['dist/main.js'] },
];

const { values } = parseArgs({ options: { out: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
if (values.help) {
  console.log('Usage: node scripts/pack.mjs [--out DIR]   (default DIR: dist/tarballs; run `pnpm build` first)');
  process.exit(0);
}
const out = path.resolve(values.out ?? path.join(root, 'dist/tarballs'));
await mkdir(out, { recursive: true });

const work = await mkdtemp(path.join(tmpdir(), 'custom-runtime-pack-'));
try {
  for (const pkg of PACKAGES) {
    const dir = path.join(root, pkg.dir);
    for (const file of pkg.executables) {
      await stat(path.join(dir, file)).catch(() => {
        throw new Error(`${pkg.name}: ${file} is missing: run \`pnpm build\` first`);
      });
    }
    const staging = path.join(work, path.basename(pkg.dir));
    await mkdir(staging);
    run('pnpm', ['pack', '--pack-destination', staging], dir, pkg.name);
    const [tarball] = (await readdir(staging)).filter((name) => name.endsWith('.tgz'));
    if (tarball === undefined) throw new Error(`${pkg.name}: pnpm pack wrote no tarball`);
    run('tar', ['-xzf', tarball], staging, pkg.name);
    const unpacked = path.join(staging, 'package');
    const manifest = JSON.parse(await readFile(path.join(unpacked, 'package.json'), 'utf8'));
    for (const [field, deps] of Object.entries({ dependencies: manifest.dependencies, peerDependencies: manifest.peerDependencies })) {
      for (const [dep, range] of Object.entries(deps ?? {})) {
        if (String(range).startsWith('workspace:')) throw new Error(`${pkg.name}: ${field}.${dep} is still ${range} after pnpm pack`);
      }
    }
    for (const file of pkg.executables) await chmod(path.join(unpacked, file), 0o755);
    const written = run('npm', ['pack', '--pack-destination', out, '--loglevel', 'error'], unpacked, pkg.name).trim().split('\n').pop();
    console.log(path.join(out, written));
  }
} finally {
  await rm(work, { recursive: true, force: true });
}

function run(command, args, cwd, pkg) {
  try {
    return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    throw new Error(`${pkg}: ${command} ${args.join(' ')} failed:\n${error.stderr ?? error.message}`);
  }
}
