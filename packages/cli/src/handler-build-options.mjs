// The esbuild settings of handler bundles: those of `custom-runtime build` (handler-bundle.ts),
// also used by the examples' images (examples/build-handlers.mjs) and the cold-start bench, so
// all three build alike. Plain JavaScript without imports (the plugin's nested build uses the
// esbuild it is given): the examples' image build imports it from this source file, unbuilt.

// The banner an ES module bundle needs for the CommonJS parts of the AWS SDK: they require()
// Node built-ins, and an ES module has no `require` of its own. Without it the bundle fails at
// init with `Dynamic require of "node:https" is not supported`.
const REQUIRE_BANNER = "const require = process.getBuiltinModule('node:module').createRequire(import.meta.url);";

// The SDK pieces the lean AWS path of @custom-runtime/config imports (its aws/ directory).
const LEAN_AWS_PIECES = /^(@smithy\/signature-v4|@aws-sdk\/credential-provider-http)$/;
const LEAN_AWS_IMPORTER = /[\\/]config[\\/](src|dist)[\\/]aws[\\/]/;

/**
 * Bundles each SDK piece the lean AWS path imports on its own, as one self-contained module.
 * In the handler's build those pieces share @smithy/core's barrel modules with the SDK clients
 * (the fallback), and esbuild's chunks follow reachability, not use: the signer's chunk then
 * carries ~130 KiB of client, protocol and serde code the signer never runs, read and compiled
 * on every cold start. Bundled alone, tree shaking leaves ~25 KiB. The SDK clients keep their
 * own copy, loaded only when the fallback is.
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
        const alone = await pluginBuild.esbuild.build({
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

/**
 * The build options of handler bundles for a provided.al2023 image: self-contained ES modules
 * (`.mjs`, so no package.json is needed in /var/task), the SDK's ES module build, a `require`
 * for its CommonJS parts, and the lazily imported SDK clients as shared chunks (a function that
 * reads no secret never loads them).
 */
export function handlerBuildOptions({ entryPoints, outdir, conditions = [] }) {
  return {
    entryPoints,
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    // The images run Node 22; Node 20 must run the bundle too (local invokes, tests).
    target: 'node20',
    format: 'esm',
    // Entries share chunks instead of each carrying a copy.
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    // `module` is esbuild's default, dropped once any condition is given: without it the
    // @smithy/core subpaths resolve to their CommonJS builds (their `node` condition comes
    // first), which cannot be tree-shaken, and the lean AWS path loads about 200 KiB more.
    conditions: [...conditions, 'module'],
    // The ES module build (`module`) rather than the CommonJS one: a lazily imported CommonJS
    // module becomes a chunk with a default export only, and @custom-runtime/config reads
    // named exports from `await import('@aws-sdk/client-kms')`.
    mainFields: ['module', 'main'],
    banner: { js: REQUIRE_BANNER },
    // Smaller files without renaming: stack traces stay readable without source maps.
    minifySyntax: true,
    minifyWhitespace: true,
    legalComments: 'none',
    sourcemap: false,
    logLevel: 'warning',
    plugins: [leanAwsPiecesPlugin()],
  };
}
