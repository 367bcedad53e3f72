import type { BuildOptions, Plugin } from 'esbuild';

/** Bundles the lean AWS path's SDK pieces alone (see handler-build-options.mjs). */
export function leanAwsPiecesPlugin(): Plugin;

/** The esbuild options of the handler bundles (those of `custom-runtime build`). */
export function handlerBuildOptions(entryPoints: string[] | Record<string, string>, outdir: string): BuildOptions;
