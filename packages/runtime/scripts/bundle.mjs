// Bundles src/bootstrap.ts into dist/bootstrap: one self-contained executable file that the
// Dockerfiles copy to /var/runtime/bootstrap (no node_modules in the image's runtime dir), and
// dist/init-request-sender.js, copied next to it.
import { createHash } from 'node:crypto';
import { appendFile, chmod, readFile, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const outfile = `${root}dist/bootstrap`;

// dist/ holds only the deployable artifact. In /var/runtime there is no package.json, so Node
// loads the extensionless file as CommonJS; here the package is "type": "module", so dist/
// says commonjs for itself. The library API is emitted by tsc to lib/.
await rm(`${root}dist`, { recursive: true, force: true });

// The runtime, as text: the launcher (src/launcher.ts) compiles it through V8's code cache
// (src/code-cache.ts), as a script where an import() expression cannot load anything. Its own
// imports of files go through src/module-import.ts; the dependencies' dynamic imports of
// built-in modules become require() here.
const runtime = await build({
  entryPoints: [`${root}src/bootstrap.ts`],
  write: false,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  conditions: ['source'],
  supported: { 'dynamic-import': false },
  minifySyntax: true,
  minifyWhitespace: true,
  legalComments: 'none',
  sourcemap: process.env.BOOTSTRAP_SOURCEMAP === '1' ? 'inline' : false,
  logLevel: 'warning',
});
/** Both bundles run as vm scripts, where an import() expression fails. */
function assertNoImportExpression(text, what) {
  if (/\bimport\(/.test(text)) throw new Error(`the ${what} bundle holds an import() expression, which fails in a vm script`);
}
const runtimeSource = runtime.outputFiles[0].text;
assertNoImportExpression(runtimeSource, 'runtime');
// It closes the bootstrap as a comment, which src/launcher.ts reads back.
const SOURCE_OPEN = '\n/* the runtime (src/bootstrap.ts), compiled by src/launcher.ts\n';
const SOURCE_CLOSE = '\n*/\n';
if (runtimeSource.includes('*/') || runtimeSource.includes(SOURCE_OPEN)) throw new Error('the runtime bundle cannot be held in a comment');

await build({
  entryPoints: [`${root}src/launcher.ts`],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  // CommonJS: an extensionless file is loaded as CommonJS by Node 20 and 22 alike.
  format: 'cjs',
  conditions: ['source'],
  define: {
    RUNTIME_SOURCE_OPEN: JSON.stringify(SOURCE_OPEN),
    RUNTIME_SOURCE_CLOSE: JSON.stringify(SOURCE_CLOSE),
    RUNTIME_DIGEST: JSON.stringify(createHash('sha256').update(runtimeSource).digest('hex')),
  },
  banner: { js: '#!/usr/bin/env node' },
  minifySyntax: true,
  minifyWhitespace: true,
  legalComments: 'none',
  logLevel: 'warning',
});
await appendFile(outfile, `${SOURCE_OPEN}${runtimeSource}${SOURCE_CLOSE}`);
await chmod(outfile, 0o755);

// The config package's init-request sender, next to the bootstrap: loaded only when the image
// has a plan of init calls (src/init-requests.ts), so a bootstrap without one never parses it.
await build({
  entryPoints: { 'init-request-sender': '@custom-runtime/config/init-request-sender' },
  outdir: `${root}dist`,
  outExtension: { '.js': '.js' },
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // The SDK pieces' ES module builds, which tree-shake (as in handler bundles: packages/cli's
  // handler-build-options.mjs): the CommonJS ones would bring ~250 KiB the signer never runs.
  conditions: ['source', 'module'],
  mainFields: ['module', 'main'],
  // Compiled by the runtime as a vm script too (src/code-cache.ts): what it imports is bundled.
  supported: { 'dynamic-import': false },
  // The bundle's one read of the global `crypto` (Web Crypto) is @smithy/core's uuid v4, set up
  // when the signer loads and never called by it: on Node 20 that first read loads Web Crypto,
  // about 0.5 ms of every cold start sent ahead. Compiled out: `define` leaves local bindings.
  define: { crypto: 'undefined' },
  minifySyntax: true,
  minifyWhitespace: true,
  legalComments: 'none',
  logLevel: 'warning',
});
assertNoImportExpression(await readFile(`${root}dist/init-request-sender.js`, 'utf8'), 'sender');
await writeFile(`${root}dist/package.json`, `${JSON.stringify({ type: 'commonjs' })}\n`);
