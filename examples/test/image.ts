/**
 * An example image's file layout, assembled on the host from its Dockerfile: the final stage's
 * `COPY` instructions carried out into a directory that stands for the image's `/`, with the
 * files the build stages would produce taken from the repository (built by `pnpm build`, and
 * the C program compiled here with the host's `cc`). The Node.js the image copies from the
 * Lambda Node.js image is the one thing not reproduced: the host's `node` runs the bootstrap.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmod, cp, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { contextPaths, destinationOf, lambdaBaseImage, parseDockerfile, type CopyInstruction, type Dockerfile, type DockerStage, type SamFunction } from '@custom-runtime/cli';

/** Where a compile stage works: its `/src/<path>` is `<path>` of the repository on the host. */
export const BUILD_STAGE_ROOT = '/src/';

/** What the image of one Dockerfile holds, laid out under {@link AssembledImage.root}. */
export interface AssembledImage {
  readonly dockerfile: Dockerfile;
  /** Stands for the image's `/`. */
  readonly root: string;
  /** `<root>/var/runtime/bootstrap`. */
  readonly bootstrap: string;
  /** `<root>/var/task`. */
  readonly taskRoot: string;
  /** The final stage's `ENV`, with what a Lambda base image sets (`LAMBDA_TASK_ROOT`, `LAMBDA_RUNTIME_DIR`). */
  readonly env: ReadonlyMap<string, string>;
  /** The variables the Dockerfile itself sets or changes, not those of its base image. */
  readonly ownEnv: ReadonlyMap<string, string>;
  /** The `CMD` words of the final stage (exec form only: the bootstrap takes a handler, not a shell line). */
  readonly cmd: readonly string[];
  /** Destinations left to the host: Node.js copied from a Lambda Node.js stage. */
  readonly hostProvided: readonly string[];
}

/** The Dockerfile an image function of the template is built from. */
export function dockerfileOf(fn: SamFunction): string {
  if (fn.docker === undefined) throw new Error(`${fn.logicalId} is not an image built from this repository (Metadata.DockerContext)`);
  return fn.docker.dockerfile;
}

/** Reads and parses a Dockerfile, named relative to `repoRoot` in errors. */
export async function readDockerfile(file: string, repoRoot: string): Promise<Dockerfile> {
  return parseDockerfile(await readFile(file, 'utf8'), { file: path.relative(repoRoot, file) });
}

/** Whether a stage is a Lambda Node.js image (or built on one) used as the source of `node`. */
export function isNodeStage(stage: DockerStage): boolean {
  return /^public\.ecr\.aws\/lambda\/nodejs:\d+/.test(stage.image);
}

/** Where the host holds what a `COPY` copies; `'host'` when the host provides it. */
export function hostSource(dockerfile: Dockerfile, copy: CopyInstruction, source: string, repoRoot: string): string | 'host' {
  const where = `${dockerfile.file}:${copy.line}`;
  if (copy.from === undefined) {
    // The build context is the repository root (template.yaml: DockerContext: .).
    if (path.posix.isAbsolute(source) || source.split('/').includes('..')) {
      throw new Error(`${where}: COPY source ${source} leaves the build context`);
    }
    return path.join(repoRoot, source);
  }
  const stage = dockerfile.stage(copy.from);
  if (stage === undefined) throw new Error(`${where}: COPY --from=${copy.from} names no stage of this Dockerfile`);
  if (isNodeStage(stage) && source.startsWith('/var/lang/')) return 'host';
  // What the stage has from the context (`COPY . .`): the host's `pnpm build` makes it in place.
  const [fromContext] = contextPaths(dockerfile, stage, source);
  if (fromContext !== undefined) return path.join(repoRoot, fromContext);
  // What the stage compiles: compileStagePrograms makes it at the same path of the repository.
  const compiled = compileSteps(dockerfile).find((step) => step.stage === copy.from && `${BUILD_STAGE_ROOT}${step.output}` === source);
  if (compiled !== undefined) return path.join(repoRoot, compiled.output);
  throw new Error(
    `${where}: cannot tell where ${source} of stage ${copy.from} is on the host ` +
      '(known: what the stage copies from the context, what it compiles, /var/lang of a Lambda Node.js stage)',
  );
}

/** One source of a final-stage `COPY`, and what it puts in the image. */
export interface PlannedCopy {
  readonly copy: CopyInstruction;
  readonly source: string;
  /** Where the host holds it; `'host'` for Node.js, which the host's `node` stands in for. */
  readonly hostPath: string | 'host';
  /** Whether `hostPath` exists now. */
  readonly exists: boolean;
  /** The files it puts in the image (none when it does not exist or is host-provided). */
  readonly files: readonly ImageFile[];
}

/** A file of the image and where the host has it. */
export interface ImageFile {
  readonly imagePath: string;
  readonly hostPath: string;
}

/** What the final stage copies, source by source, without copying anything. */
export async function planImage(dockerfile: Dockerfile, repoRoot: string): Promise<PlannedCopy[]> {
  const planned: PlannedCopy[] = [];
  for (const copy of dockerfile.finalStage.copies) {
    for (const source of copy.sources) {
      const hostPath = hostSource(dockerfile, copy, source, repoRoot);
      if (hostPath === 'host') {
        planned.push({ copy, source, hostPath, exists: true, files: [] });
        continue;
      }
      const info = await stat(hostPath).catch(() => undefined);
      let files: ImageFile[] = [];
      if (info?.isDirectory() === true) {
        const base = copy.destination.endsWith('/') ? copy.destination : `${copy.destination}/`;
        files = (await filesUnder(hostPath)).map((relative) => ({ imagePath: `${base}${relative}`, hostPath: path.join(hostPath, relative) }));
      } else if (info !== undefined) {
        files = [{ imagePath: destinationOf(copy, source), hostPath }];
      }
      planned.push({ copy, source, hostPath, exists: info !== undefined, files });
    }
  }
  return planned;
}

/** Files under `dir`, as POSIX paths relative to it (Node 20.10 has no Dirent.parentPath). */
async function filesUnder(dir: string, prefix = ''): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) files.push(...(await filesUnder(path.join(dir, entry.name), `${prefix}${entry.name}/`)));
    else files.push(`${prefix}${entry.name}`);
  }
  return files;
}

/**
 * Carries out the final stage's `COPY` instructions into `root`. Fails, naming the Dockerfile
 * line and the missing host path, when something to copy is not there (e.g. `pnpm build` not
 * run, or the C program not compiled: see {@link compileStagePrograms}).
 */
export async function assembleImage(dockerfilePath: string, repoRoot: string, root: string): Promise<AssembledImage> {
  const dockerfile = await readDockerfile(dockerfilePath, repoRoot);
  const final = dockerfile.finalStage;
  const hostProvided: string[] = [];
  for (const planned of await planImage(dockerfile, repoRoot)) {
    const { copy, source, hostPath } = planned;
    if (hostPath === 'host') {
      hostProvided.push(copy.destination);
      continue;
    }
    if (!planned.exists) {
      const from = copy.from === undefined ? '' : `COPY --from=${copy.from} `;
      throw new Error(`${dockerfile.file}:${copy.line}: ${from}${source} is not on the host at ${hostPath} (run \`pnpm build\` first?)`);
    }
    for (const file of planned.files) {
      const target = path.join(root, file.imagePath);
      await mkdir(path.dirname(target), { recursive: true });
      await cp(file.hostPath, target);
      // COPY keeps the mode of the source (unless --chmod says otherwise): the execute bit matters.
      const mode = copy.chmod === undefined ? (await stat(file.hostPath)).mode & 0o7777 : Number.parseInt(copy.chmod, 8);
      await chmod(target, mode);
    }
  }
  const cmd = final.cmd;
  if (cmd === undefined || cmd.form !== 'exec' || cmd.args.length === 0) {
    throw new Error(`${dockerfile.file}: the final stage needs CMD ["<handler>"] (exec form): the bootstrap takes the handler from it`);
  }
  return {
    dockerfile,
    root,
    bootstrap: path.join(root, 'var/runtime/bootstrap'),
    taskRoot: path.join(root, 'var/task'),
    env: final.env,
    ownEnv: new Map([...final.env].filter(([name, value]) => lambdaBaseImage(final.image).env.get(name) !== value)),
    cmd: cmd.args,
    hostProvided,
  };
}

/** One compiler invocation found in a stage's `RUN`. */
export interface CompileStep {
  readonly stage: string;
  /** The compiler's arguments, paths relative to the stage's working directory. */
  readonly args: readonly string[];
  /** The `-o` output, relative to the working directory. */
  readonly output: string;
}

/**
 * The `gcc ...` commands of the stages the final stage copies from, as the host should run them
 * with `cc` (the stage must work in {@link BUILD_STAGE_ROOT}, which maps to the repository).
 */
export function compileSteps(dockerfile: Dockerfile): CompileStep[] {
  const steps: CompileStep[] = [];
  const used = new Set(dockerfile.finalStage.copies.map((c) => c.from).filter((f): f is string => f !== undefined));
  for (const ref of used) {
    const stage = dockerfile.stage(ref);
    if (stage === undefined || isNodeStage(stage)) continue;
    for (const run of stage.runs) {
      const command = run.form === 'shell' ? run.command : run.args.join(' ');
      for (const part of command.split(/&&|;/).map((p) => p.trim())) {
        const words = part.split(/\s+/);
        if (words[0] !== 'gcc' && words[0] !== 'cc') continue;
        if (`${stage.workdir}/` !== BUILD_STAGE_ROOT) {
          throw new Error(`${dockerfile.file}: stage ${ref} compiles in ${stage.workdir}; the tests expect WORKDIR ${BUILD_STAGE_ROOT.slice(0, -1)}`);
        }
        const args = words.slice(1);
        const o = args.indexOf('-o');
        const output = o >= 0 ? args[o + 1] : undefined;
        if (output === undefined) throw new Error(`${dockerfile.file}: stage ${ref}: "${part}" has no -o output`);
        steps.push({ stage: ref, args, output });
      }
    }
  }
  return steps;
}

/** Whether the host has a C compiler `cc`. */
export function hasCompiler(): boolean {
  return spawnSync('cc', ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * Compiles, with the host's `cc`, what the Dockerfile's compile stages compile with AL2023's
 * gcc, to the same paths (relative to the repository instead of /src). Throws a clear error
 * when the host has no `cc`.
 */
export async function compileStagePrograms(dockerfile: Dockerfile, repoRoot: string): Promise<string[]> {
  const steps = compileSteps(dockerfile);
  if (steps.length > 0 && !hasCompiler()) {
    throw new Error(
      `${dockerfile.file} compiles a C program (${steps.map((s) => s.output).join(', ')}) and this host has no C compiler \`cc\`: ` +
        'install gcc or clang to run this test (the image itself compiles with AL2023\'s gcc)',
    );
  }
  const outputs: string[] = [];
  for (const step of steps) {
    const output = path.join(repoRoot, step.output);
    await mkdir(path.dirname(output), { recursive: true });
    // Compiled next to the target and renamed into place: test files (or test runs) that need
    // the program at the same time never see half a file.
    const partial = `${output}.${process.pid}-${Date.now()}.partial`;
    const args = step.args.map((arg, i) => (i > 0 && step.args[i - 1] === '-o' ? partial : arg));
    try {
      execFileSync('cc', args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
      await rename(partial, output);
    } catch (error) {
      const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim() ?? '';
      throw new Error(`${dockerfile.file}: cc ${step.args.join(' ')} failed${stderr === '' ? '' : `:\n${stderr}`}`);
    } finally {
      await rm(partial, { force: true });
    }
    outputs.push(output);
  }
  return outputs;
}
