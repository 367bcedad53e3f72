import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { MODULE_EXTENSIONS, moduleHandler } from './function-code.js';

const TYPESCRIPT_EXTENSIONS = ['.ts', '.mts', '.cts'];

/**
 * Why a module handler will not load when it names TypeScript: the bootstrap (like the managed
 * Node.js runtime) loads only `.js`, `.mjs`, `.cjs` or extensionless modules, and reports a
 * `.ts` module as a bare Runtime.ImportModuleError. `undefined` when the handler's module is
 * there as JavaScript, or nothing TypeScript explains its absence.
 */
export function typescriptHandlerProblem(handler: string, taskRoot: string): string | undefined {
  const parsed = moduleHandler(handler, taskRoot);
  if (parsed === undefined) return undefined;
  const fileName = typescriptFileNameProblem(handler);
  if (fileName !== undefined) return fileName;
  if (MODULE_EXTENSIONS.some((ext) => isFile(`${parsed.module}${ext}`))) return undefined;
  const base = path.basename(parsed.module);
  for (const ext of TYPESCRIPT_EXTENSIONS) {
    for (const candidate of [`${parsed.module}${ext}`, path.join(taskRoot, 'src', `${base}${ext}`)]) {
      if (existsSync(candidate)) {
        return `handler ${handler} finds ${path.relative(taskRoot, candidate) || candidate} in ${taskRoot}: the runtime loads JavaScript only (.js, .mjs, .cjs), not TypeScript; ${buildFix(path.relative(taskRoot, candidate), parsed.exportPath)}`;
      }
    }
  }
  return undefined;
}

/**
 * A handler written as a TypeScript file name (`handler.ts`, read as module `handler`, export
 * `ts`): the handler is `module.export` of a JavaScript module.
 */
export function typescriptFileNameProblem(handler: string): string | undefined {
  const base = path.posix.basename(handler);
  const ext = path.posix.extname(base);
  if (!TYPESCRIPT_EXTENSIONS.includes(ext) || base.slice(0, -ext.length).includes('.')) return undefined;
  return `handler ${handler} is a file name, not module.export: the runtime runs JavaScript modules only; ${buildFix(handler, 'handler')}`;
}

function buildFix(entry: string, exportName: string): string {
  const name = path.basename(entry, path.extname(entry));
  return `bundle it to JavaScript with \`custom-runtime build ${entry}\` (it writes dist/task/${name}.mjs) and name the bundle's module in the handler: ${name}.${exportName}`;
}

/**
 * Variables a failure message names that are set in the calling shell but were not given to the
 * function: local invokes, like `sam local invoke`, do not pass the shell's variables. One line
 * per variable, saying how to pass it; never its value.
 */
export function shellVariableHints(message: string, shell: Readonly<Record<string, string | undefined>>, given: Readonly<Record<string, string>>): string[] {
  const names = new Set(message.match(/\b[A-Z][A-Z0-9_]{1,}\b/g) ?? []);
  return [...names]
    .filter((name) => shell[name] !== undefined && !Object.hasOwn(given, name) && !name.startsWith('AWS_'))
    .map((name) => `${name} is set in your shell, but invoke does not pass the shell's variables (as sam local invoke does not): pass it with --env ${name}="$${name}" or in the --env-vars file`);
}

function isFile(file: string): boolean {
  return statSync(file, { throwIfNoEntry: false })?.isFile() ?? false;
}
