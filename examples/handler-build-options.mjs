// The esbuild settings of the handler bundles, shared by build-handlers.mjs (the examples'
// images) and the cold-start bench (bench/src/cold-start-bench.ts), so both bench subjects and
// the examples are built alike. They are those of `custom-runtime build`
// (packages/cli/src/handler-bundle.ts): change both together.
import { build } from 'esbuild';

// The SDK pieces the lean AWS path of @custom-runtime/config imports (its aws/ directory).
const LEAN_AWS_PIECES = /^(@smithy\/signature-v4|@aws-sdk\/credential-provider-http)$/;
const LEAN_AWS_IMPORTER = /[\\/]config[\\/](src|dist)[\\/]aws[\\/]/;

/**
 * Bundles each SDK piece the lean AWS path imports on its own, as one self-contained module: in
 * the handler's build they share @smithy/core's barrel modules with the SDK clients, and
 * esbuild's chunks follow reachability, not use, so the signer's chunk would carry ~130 KiB the
 * signer never runs. See leanAwsPiecesPlugin in packages/cli/src/handler-bundle.ts.
 */
export function leanAwsPiecesPlugin() {
  return {
    name: 'lean-aws-pieces',
    setup(pluginBuild) {
      pluginBuild.onResolve({ filter: LEAN_AWS_PIECES }, (args) =>
        LEAN_AWS_IMPORTER.test(args.importer) ? { path: args.path, namespace: 'lean-aws-piece', pluginData: args.resolveDir } : undefined,
      );
      pluginBuild.onLoad({ filter: /.*/, namespace: 'lean-aws-piece' }, async (args) => {
        const resolveDir = String(args.pluginData);
        const alone = await build({
          stdin: { contents: `export * from ${JSON.stringify(args.path)};`, resolveDir, loader: 'js' },
          bundle: true,
          write: false,
          platform: 'node',
          target: 'node20',
          format: 'esm',
          conditions: ['module'],
          mainFields: ['module', 'main'],
          minifySyntax: true,
          minifyWhitespace: true,
          legalComments: 'none',
          logLevel: 'silent',
        });
        return { contents: alone.outputFiles[0]?.text ?? '', loader: 'js', resolveDir };
      });
    },
  };
}

/** The build options for `entryPoints` (an array or an object of names) bundled into `outdir`. */
export function handlerBuildOptions(entryPoints, outdir) {
  return {
    entryPoints,
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
      js: "const require = process.getBuiltinModule('node:module').createRequire(import.meta.url);",
    },
    // Smaller files without renaming anything: stack traces stay readable without source maps.
    minifySyntax: true,
    minifyWhitespace: true,
    legalComments: 'none',
    sourcemap: false,
    logLevel: 'warning',
    plugins: [leanAwsPiecesPlugin()],
  };
}
