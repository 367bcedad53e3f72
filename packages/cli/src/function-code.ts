import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { typescriptFileNameProblem, typescriptHandlerProblem } from './handler-hint.js';
import { layoutOf, type ImageLayout } from './image-layout.js';
import type { SamFunction } from './sam-functions.js';
import type { SamTemplate } from './template.js';

/**
 * Where a function's code is on this machine: how `_HANDLER` is read (a JS module or a command)
 * and which built file would be loaded, found the way the bootstrap finds it in the task root.
 */
export type FunctionCode =
  | {
      readonly kind: 'module';
      readonly handler: string;
      /** Host path of the module `_HANDLER` names. */
      readonly file: string;
      /** Variables the image sets with `ENV` (none for zip functions). */
      readonly imageEnv: ReadonlyMap<string, string>;
    }
  | {
      readonly kind: 'command';
      readonly handler: string;
      readonly imageEnv: ReadonlyMap<string, string>;
      /** Finds the host file of a module named relative to the task root (`CUSTOM_RUNTIME_CONFIG`). */
      readonly resolveModule: (spec: string) => ModuleLookup;
    }
  /** The code cannot be found from the template: why, and whether that is an error. */
  | { readonly kind: 'unknown'; readonly level: 'error' | 'info'; readonly message: string };

/** A module named `path/module.export` in the task root, looked up on the host. */
export type ModuleLookup =
  | { readonly found: true; readonly file: string; readonly exportPath: string }
  | { readonly found: false; readonly message: string };

/** The extensions the bootstrap tries for a handler's module, in its order (its handler-loader). */
export const MODULE_EXTENSIONS: readonly string[] = ['', '.js', '.mjs', '.cjs'];
const JS_FILE = /\.[cm]?js$/;

/**
 * `_HANDLER` read as the bootstrap reads `path/module.export`: the module's path in the task
 * root without extension, and the export path (`handlers.get` for nested exports). `undefined`
 * when it is not of that form or leaves the task root.
 */
export function moduleHandler(handler: string, taskRoot: string): { readonly module: string; readonly exportPath: string } | undefined {
  const base = path.posix.basename(handler);
  const dot = base.indexOf('.');
  if (dot <= 0 || dot === base.length - 1 || handler.includes('..')) return undefined;
  return { module: path.posix.resolve(taskRoot || '/', path.posix.dirname(handler), base.slice(0, dot)), exportPath: base.slice(dot + 1) };
}

/**
 * Finds a function's code: for `PackageType: Image`, its Dockerfile (`Metadata.Dockerfile` in
 * `Metadata.DockerContext`) is followed from the task root back to the build context; for zip
 * functions, `CodeUri` is the task root.
 */
export async function functionCode(template: SamTemplate, fn: SamFunction): Promise<FunctionCode> {
  if (fn.packageType === 'Image') return imageCode(template, fn);
  if (fn.codeUri === undefined) {
    return { kind: 'unknown', level: 'info', message: 'CodeUri is not a local path: its code is not in this repository' };
  }
  const root = path.resolve(template.directory, fn.codeUri);
  if (fn.handler === undefined) return { kind: 'unknown', level: 'error', message: 'the function has no Handler' };
  const locate = (containerPath: string): string[] => [path.join(root, containerPath)];
  return classify(fn.handler, '', new Map(), locate, `CodeUri ${fn.codeUri}`, template.directory);
}

async function imageCode(template: SamTemplate, fn: SamFunction): Promise<FunctionCode> {
  const docker = fn.docker;
  if (docker === undefined) {
    return { kind: 'unknown', level: 'info', message: 'no Metadata.DockerContext: the image is not built from this repository' };
  }
  const { context, dockerfile } = docker;
  const text = await readFile(dockerfile, 'utf8').catch(() => undefined);
  if (text === undefined) return { kind: 'unknown', level: 'error', message: `cannot read its Dockerfile ${relative(template.directory, dockerfile)}` };
  const layout: ImageLayout | undefined = layoutOf(text, docker.target, docker.buildArgs);
  if (layout === undefined) {
    return { kind: 'unknown', level: 'error', message: `${relative(template.directory, dockerfile)} has no stage${docker.target !== undefined ? ` named ${docker.target}` : ''}` };
  }
  const handler = fn.command?.[0] ?? layout.final.command?.[0];
  if (handler === undefined) {
    return { kind: 'unknown', level: 'error', message: `no handler: neither ImageConfig.Command nor a CMD in ${relative(template.directory, dockerfile)}` };
  }
  const taskRoot = layout.final.env.get('LAMBDA_TASK_ROOT') || '/var/task';
  const locate = (containerPath: string): string[] => layout.contextPaths(containerPath).map((p) => path.join(context, p));
  return classify(handler, taskRoot, layout.final.env, locate, relative(template.directory, dockerfile), template.directory);
}

/**
 * Reads `_HANDLER` as the bootstrap does: an existing non-JS file is a command; otherwise
 * `path/module.export`, the module tried with each extension.
 */
function classify(
  handler: string,
  taskRoot: string,
  imageEnv: ReadonlyMap<string, string>,
  locate: (containerPath: string) => string[],
  where: string,
  directory: string,
): FunctionCode {
  const resolveModule = (spec: string): ModuleLookup => lookupModule(spec, taskRoot, locate, where, directory);
  // `handler.ts` would be read as module `handler`, export `ts`, and fail at init.
  const fileName = typescriptFileNameProblem(handler);
  if (fileName !== undefined) return { kind: 'unknown', level: 'error', message: fileName };
  const base = path.posix.basename(handler);
  const asFile = locate(path.posix.resolve(taskRoot || '/', handler)).find(isFile);
  if (!base.includes('.') || (asFile !== undefined && !JS_FILE.test(asFile))) {
    return { kind: 'command', handler, imageEnv, resolveModule };
  }
  const lookup = resolveModule(handler);
  if (!lookup.found) return { kind: 'unknown', level: 'error', message: lookup.message };
  return { kind: 'module', handler, file: lookup.file, imageEnv };
}

function lookupModule(
  spec: string,
  taskRoot: string,
  locate: (containerPath: string) => string[],
  where: string,
  directory: string,
): ModuleLookup {
  const named = moduleHandler(spec, taskRoot);
  if (named === undefined) return { found: false, message: `'${spec}' is not a handler of the form path/module.export` };
  const modulePath = named.module;
  const tried: string[] = [];
  for (const extension of MODULE_EXTENSIONS) {
    for (const candidate of locate(modulePath + extension)) {
      if (isFile(candidate)) return { found: true, file: candidate, exportPath: named.exportPath };
      if (extension !== '') tried.push(relative(directory, candidate));
    }
  }
  if (tried.length === 0) {
    return { found: false, message: `cannot tell which file of the build context becomes ${modulePath}.{js,mjs,cjs} (${where})` };
  }
  const source = typescriptHandlerProblem(spec, directory);
  return {
    found: false,
    message: `the module of '${spec}' is not built (looked for ${[...new Set(tried)].join(', ')}): run the build first (npm run build; in this repository pnpm build)${source === undefined ? '' : `; ${source}`}`,
  };
}

function isFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** `file` relative to the template's directory, for messages. */
function relative(directory: string, file: string): string {
  const shown = path.relative(directory, file);
  return shown === '' || shown.startsWith('..') ? file : shown;
}
