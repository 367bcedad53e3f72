/**
 * The compile-cache step of an example image: the final stage's
 * `RUN CUSTOM_RUNTIME_COMPILE_CACHE_FILL=1 /var/runtime/bootstrap <handler>…`, carried out on an
 * assembled layout (image.ts) with a Node 22 binary (test-support's NODE22) standing in for
 * the image's.
 */
import { execFile } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Dockerfile } from '@custom-runtime/cli';
import type { AssembledImage } from './image.js';

const run = promisify(execFile);

/** The variable that turns the bootstrap into the fill step. */
export const FILL_VARIABLE = 'CUSTOM_RUNTIME_COMPILE_CACHE_FILL';
/** Where the bootstrap keeps the cache in an image. */
export const CACHE_DIR = '/var/runtime/compile-cache';

/** A fill step: the variables it sets, the program (an image path) and its arguments. */
export interface FillStep {
  readonly line: string;
  readonly variables: Readonly<Record<string, string>>;
  readonly program: string;
  readonly args: readonly string[];
}

/** The final stage's `RUN` that fills the compile cache, if it has one (shell form, `VAR=value … program args`). */
export function fillStep(dockerfile: Dockerfile): FillStep | undefined {
  for (const runInstruction of dockerfile.finalStage.runs) {
    const command = runInstruction.form === 'shell' ? runInstruction.command : runInstruction.args.join(' ');
    if (!command.includes(`${FILL_VARIABLE}=`)) continue;
    const words = command.trim().split(/\s+/);
    const variables: Record<string, string> = {};
    while (words.length > 0 && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0] as string)) {
      const word = words.shift() as string;
      const eq = word.indexOf('=');
      variables[word.slice(0, eq)] = word.slice(eq + 1);
    }
    const [program, ...args] = words;
    if (program === undefined) throw new Error(`${dockerfile.file}: "${command}" runs no program`);
    return { line: command, variables, program, args };
  }
  return undefined;
}

/** The image path `imagePath` in the assembled layout. */
export function onHost(image: AssembledImage, imagePath: string): string {
  return path.join(image.root, imagePath);
}

/**
 * Carries out the fill step as the image build would: the program (the bootstrap) run by
 * `node`, in the task root, with the image's environment (paths mapped into the layout) and the
 * step's variables. Returns what it printed on stderr.
 */
export async function carryOutFill(image: AssembledImage, step: FillStep, node: string): Promise<string> {
  if (step.program !== '/var/runtime/bootstrap') throw new Error(`the fill step runs ${step.program}, not /var/runtime/bootstrap`);
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp' };
  for (const [name, value] of image.env) {
    if (name === 'PATH' || name === 'LD_LIBRARY_PATH') continue;
    env[name] = value.startsWith('/var/') ? onHost(image, value) : value;
  }
  Object.assign(env, step.variables);
  const { stderr } = await run(node, [image.bootstrap, ...step.args], { cwd: image.taskRoot, env });
  return stderr;
}

/** Every file under `dir`, relative to it, sorted (symbolic links followed). */
export async function filesIn(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if ((await stat(full)).isDirectory()) out.push(...(await filesIn(full, `${prefix}${entry.name}/`)));
    else out.push(`${prefix}${entry.name}`);
  }
  return out.sort();
}
