import type { BuildOptions, Plugin } from 'esbuild';

/** Bundles the lean AWS path's SDK pieces alone (see handler-build-options.mjs). */
export function leanAwsPiecesPlugin(): Plugin;

/** Where {@link handlerBuildOptions} bundles what. */
export interface HandlerBuildTarget {
  /** The entry modules: paths, or an object of output names to paths. */
  readonly entryPoints: string[] | Record<string, string>;
  /** The task directory the bundles and their chunks are written to. */
  readonly outdir: string;
  /** Resolve conditions before esbuild's `module` (`source`: workspace packages from TypeScript). */
  readonly conditions?: readonly string[];
}

/** The esbuild options of handler bundles (those of `custom-runtime build`). */
export function handlerBuildOptions(target: HandlerBuildTarget): BuildOptions;
