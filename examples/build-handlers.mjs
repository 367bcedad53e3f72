// `node ../build-handlers.mjs src/handler.ts [src/config.ts ...]`, run from an example's
// directory (its `build` script): bundles each entry into dist/<name>.mjs, the files its
// Dockerfile copies into /var/task. Each bundle is self-contained (workspace packages from
// their TypeScript sources, zod and the AWS SDK included), so the image needs no node_modules.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';

const entries = process.argv.slice(2);
if (entries.length === 0) {
  console.error('usage: node ../build-handlers.mjs src/handler.ts [src/config.ts ...] (from an example directory)');
  process.exit(2);
}

const outdir = path.resolve('dist');
await rm(outdir, { recursive: true, force: true });
await build({
  entryPoints: entries,
  outdir,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  // The AWS SDK is imported on first use by @custom-runtime/config: as a chunk of its own, a
  // function without secrets never loads it. Entries share chunks instead of each carrying
  // a copy.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  // Workspace packages are bundled from src/ (their `source` export), so they need no build.
  // `module` (esbuild's default, dropped once any condition is given): the ES module builds of
  // the @smithy/core subpaths, not their CommonJS ones (whose `node` condition comes first),
  // so the lean AWS path of @custom-runtime/config loads only what it uses.
  conditions: ['source', 'module'],
  // The AWS SDK's ES module build (its `module` field) rather than its CommonJS one: a lazily
  // imported CommonJS module becomes a chunk with a default export only, and
  // @custom-runtime/config reads named exports (`const { KMSClient } = await import(...)`).
  mainFields: ['module', 'main'],
  // Parts of the AWS SDK are CommonJS and require() Node built-ins; an ES module has no
  // `require` of its own.
  banner: {
    js: "import { createRequire as __customRuntimeCreateRequire } from 'node:module';\nconst require = __customRuntimeCreateRequire(import.meta.url);",
  },
  // Smaller files without renaming anything: stack traces stay readable without source maps.
  minifySyntax: true,
  minifyWhitespace: true,
  legalComments: 'none',
  sourcemap: false,
  logLevel: 'warning',
});
