// Bundles src/bootstrap.ts into dist/bootstrap: one self-contained executable file that the
// Dockerfiles copy to /var/runtime/bootstrap (no node_modules in the image's runtime dir).
import { chmod } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const outfile = `${root}dist/bootstrap`;

await build({
  entryPoints: [`${root}src/bootstrap.ts`],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  // CommonJS: an extensionless file is loaded as CommonJS by Node 20 and 22 alike.
  format: 'cjs',
  conditions: ['source'],
  banner: { js: '#!/usr/bin/env node' },
  minifySyntax: true,
  minifyWhitespace: true,
  legalComments: 'none',
  sourcemap: process.env.BOOTSTRAP_SOURCEMAP === '1' ? 'inline' : false,
  logLevel: 'warning',
});
await chmod(outfile, 0o755);
