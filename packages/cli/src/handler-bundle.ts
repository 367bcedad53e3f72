import { chmod, copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { build, type BuildFailure, type Plugin } from 'esbuild';
import { CliError } from './cli-error.js';

/** What {@link bundleHandlers} writes. */
export interface BundleResult {
  /** The bundles, one `<name>.mjs` per entry, in the task directory. */
  readonly files: readonly string[];
  /** The directory the image copies to /var/task. */
  readonly taskDir: string;
  /** Where the bootstrap was copied, when it was. */
  readonly bootstrap?: string;
}

/** Options of {@link bundleHandlers}. */
export interface BundleOptions {
  /** The entry modules (TypeScript or JavaScript), absolute. */
  readonly entries: readonly string[];
  /** The task directory: emptied, then filled with the bundles and their shared chunks. */
  readonly taskDir: string;
  /** A bootstrap to copy (mode 0755) to `to`, with a package.json saying it is CommonJS. */
  readonly bootstrap?: { readonly from: string; readonly to: string };
  /** The directory paths in messages are relative to (the command's working directory). */
  readonly workingDir: string;
  /** Extra resolve conditions (`source` bundles workspace packages from their TypeScript). */
  readonly conditions?: readonly string[];
}

// The banner an ES module bundle needs for the CommonJS parts of the AWS SDK: they require()
// Node built-ins, and an ES module has no `require` of its own. Without it the bundle fails at
// init with `Dynamic require of "node:https" is not supported`.
const REQUIRE_BANNER =
  "const require = process.getBuiltinModule('node:module').createRequire(import.meta.url);";

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
export function leanAwsPiecesPlugin(): Plugin {
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

/**
 * Bundles handler modules for a provided.al2023 image with the settings that work for the AWS
 * SDK: self-contained ES modules (`.mjs`, so no package.json is needed in /var/task), the SDK's
 * ES module build, a `require` for its CommonJS parts, and the lazily imported SDK clients as
 * shared chunks (a function that reads no secret never loads them).
 *
 * @throws {@link CliError} naming the file and line of the first build error
 */
export async function bundleHandlers(options: BundleOptions): Promise<BundleResult> {
  const { entries, taskDir } = options;
  await rm(taskDir, { recursive: true, force: true });
  try {
    await build({
      entryPoints: [...entries],
      absWorkingDir: options.workingDir,
      outdir: taskDir,
      outExtension: { '.js': '.mjs' },
      bundle: true,
      platform: 'node',
      // The images run Node 22; Node 20 must run the bundle too (local invokes, tests).
      target: 'node20',
      format: 'esm',
      splitting: true,
      chunkNames: 'chunks/[name]-[hash]',
      // `module` is esbuild's default, dropped once any condition is given: without it the
      // @smithy/core subpaths resolve to their CommonJS builds (their `node` condition comes
      // first), which cannot be tree-shaken, and the lean AWS path loads about 200 KiB more.
      conditions: [...(options.conditions ?? []), 'module'],
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
      logLevel: 'silent',
      plugins: [leanAwsPiecesPlugin()],
    });
  } catch (error) {
    const failure = error as Partial<BuildFailure>;
    const first = failure.errors?.[0];
    if (first === undefined) throw error;
    const where = first.location === null || first.location === undefined ? '' : `${first.location.file}:${first.location.line}:${first.location.column}: `;
    const more = (failure.errors?.length ?? 1) > 1 ? ` (and ${(failure.errors?.length ?? 1) - 1} more)` : '';
    throw new CliError(`bundling failed: ${where}${first.text}${more}`);
  }
  const files = entries.map((entry) => path.join(taskDir, `${path.basename(entry, path.extname(entry))}.mjs`));
  if (options.bootstrap === undefined) return { files, taskDir };
  const runtimeDir = path.dirname(options.bootstrap.to);
  await mkdir(runtimeDir, { recursive: true });
  await copyFile(options.bootstrap.from, options.bootstrap.to);
  await chmod(options.bootstrap.to, 0o755);
  // The bootstrap is CommonJS without an extension: next to a project's `"type": "module"` it
  // would be read as an ES module. In the image /var/runtime has no package.json.
  await writeFile(path.join(runtimeDir, 'package.json'), `${JSON.stringify({ type: 'commonjs' })}\n`);
  return { files, taskDir, bootstrap: options.bootstrap.to };
}
