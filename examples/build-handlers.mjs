// `node ../build-handlers.mjs src/handler.ts [src/config.ts ...]`, run from an example's
// directory (its `build` script): bundles each entry into dist/<name>.mjs, the files its
// Dockerfile copies into /var/task. Each bundle is self-contained (workspace packages from
// their TypeScript sources, zod and the AWS SDK included), so the image needs no node_modules.
// The settings are those of `custom-runtime build` (packages/cli/src/handler-build-options.mjs),
// imported from that source file: the image's build stage does not build the CLI.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';
import { handlerBuildOptions } from '../packages/cli/src/handler-build-options.mjs';

const entries = process.argv.slice(2);
if (entries.length === 0) {
  console.error('usage: node ../build-handlers.mjs src/handler.ts [src/config.ts ...] (from an example directory)');
  process.exit(2);
}

const outdir = path.resolve('dist');
await rm(outdir, { recursive: true, force: true });
// `source`: workspace packages are bundled from their TypeScript, so they need no build.
await build(handlerBuildOptions({ entryPoints: entries, outdir, conditions: ['source'] }));
