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
  if (MODULE_EXTENSIONS.some((ext) => isFile(`${parsed.module}${ext}`))) return undefined;
  const fix = (name: string): string =>
    `bundle it to JavaScript with \`custom-runtime build ${name}\` (it writes dist/task/${path.basename(name, path.extname(name))}.mjs) and name the bundle's module in the handler: ${path.basename(name, path.extname(name))}.${parsed.exportPath.split('.').pop() === 'ts' ? 'handler' : parsed.exportPath}`;
  // `handler.ts` read as module `handler`, export `ts`: a file name given as the handler.
  const base = path.basename(parsed.module);
  if (TYPESCRIPT_EXTENSIONS.includes(`.${parsed.exportPath}`)) {
    return `handler ${handler} is a file name, not module.export: the runtime runs JavaScript modules only; ${fix(`${base}.${parsed.exportPath}`)}`;
  }
  for (const ext of TYPESCRIPT_EXTENSIONS) {
    for (const candidate of [`${parsed.module}${ext}`, path.join(taskRoot, 'src', `${base}${ext}`)]) {
      if (existsSync(candidate)) {
        return `handler ${handler} finds ${path.relative(taskRoot, candidate) || candidate} in ${taskRoot}: the runtime loads JavaScript only (.js, .mjs, .cjs), not TypeScript; ${fix(path.relative(taskRoot, candidate))}`;
      }
    }
  }
  return undefined;
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
