import path from 'node:path';
import { commandWords, parseCopy, parseDockerfile, parseEnv, substitute, type CopyInstruction, type DockerStage } from './dockerfile.js';

/** What a stage of an image build leaves behind that `check` needs: no file contents. */
export interface StageLayout {
  readonly stage: DockerStage;
  /** The stage this one is built `FROM`, when it is an earlier stage of the same file. */
  readonly parent: StageLayout | undefined;
  /** Variables set by `ENV` here or in a parent stage (values are never printed). */
  readonly env: ReadonlyMap<string, string>;
  /** The working directory at the end of the stage (a child stage starts there). */
  readonly workdir: string;
  /** The `CMD` in effect, here or inherited from a parent stage. */
  readonly command: readonly string[] | undefined;
  /** `COPY`/`ADD` instructions in order, paths substituted, destinations made absolute. */
  readonly copies: readonly ResolvedCopy[];
}

/** A `COPY` whose destination is absolute. */
export interface ResolvedCopy extends CopyInstruction {
  /** Destination ending with `/` (a directory) or naming the copied file itself. */
  readonly destination: string;
}

// Variables the Lambda base images (public.ecr.aws/lambda/*) set, for `${LAMBDA_TASK_ROOT}/`.
const LAMBDA_BASE_ENV: ReadonlyMap<string, string> = new Map([
  ['LAMBDA_TASK_ROOT', '/var/task'],
  ['LAMBDA_RUNTIME_DIR', '/var/runtime'],
]);

/**
 * Evaluates a Dockerfile far enough to follow files: `ARG`, `ENV`, `WORKDIR`, `COPY`, `ADD` and
 * `CMD` of the stage that is built (`target` or the last one) and of the stages it copies from.
 *
 * @param buildArgs - `--build-arg` values (SAM's `Metadata.DockerBuildArgs`)
 * @returns the target stage, or `undefined` when the file has no stage or no such target
 */
export function layoutOf(text: string, target: string | undefined, buildArgs: ReadonlyMap<string, string>): ImageLayout | undefined {
  const file = parseDockerfile(text);
  const globalArgs = new Map<string, string>();
  for (const instruction of file.globalArgs) declareArg(instruction.args, globalArgs, buildArgs);
  const layouts: StageLayout[] = [];
  for (const stage of file.stages) layouts.push(evaluate(stage, layouts, globalArgs, buildArgs));
  const chosen = target === undefined ? layouts[layouts.length - 1] : layouts.find((l) => l.stage.name === target.toLowerCase());
  return chosen === undefined ? undefined : new ImageLayout(chosen, layouts);
}

/** The built stage of an image, and where its files come from. */
export class ImageLayout {
  /** The stage that is the image. */
  readonly final: StageLayout;
  readonly #stages: readonly StageLayout[];

  /** @internal Use {@link layoutOf}. */
  constructor(final: StageLayout, stages: readonly StageLayout[]) {
    this.final = final;
    this.#stages = stages;
  }

  /**
   * Where the file at `containerPath` in the image may come from in the build context: paths
   * relative to the context, most likely first (the last `COPY` that could have written it
   * wins). A path written by `RUN` in a stage that copied the whole context (`COPY . /src`)
   * maps to the same place in the context: the host build is assumed to make the same file.
   * Empty when no `COPY` from the context explains the path (a file of a base image).
   */
  contextPaths(containerPath: string): string[] {
    return this.#candidates(this.final, path.posix.normalize(containerPath), 0);
  }

  #candidates(layout: StageLayout, containerPath: string, depth: number): string[] {
    if (depth > 20) return [];
    const found: string[] = [];
    for (const copy of [...layout.copies].reverse()) {
      for (const source of [...copy.sources].reverse()) {
        for (const sourcePath of sourcePathsFor(copy, source, containerPath)) {
          if (copy.from === undefined) {
            const relative = path.posix.normalize(sourcePath.replace(/^\/+/, ''));
            if (!relative.startsWith('..')) found.push(relative === '.' ? '' : relative);
          } else {
            const from = this.#stageNamed(copy.from, layout);
            if (from !== undefined) found.push(...this.#candidates(from, path.posix.normalize(path.posix.resolve('/', sourcePath)), depth + 1));
          }
        }
      }
    }
    if (layout.parent !== undefined) found.push(...this.#candidates(layout.parent, containerPath, depth + 1));
    return [...new Set(found)];
  }

  #stageNamed(reference: string, before: StageLayout): StageLayout | undefined {
    const byIndex = /^\d+$/.test(reference) ? this.#stages[Number(reference)] : undefined;
    const stage = byIndex ?? this.#stages.find((l) => l.stage.name === reference.toLowerCase());
    return stage !== undefined && stage.stage.index < before.stage.index ? stage : undefined;
  }
}

function evaluate(
  stage: DockerStage,
  earlier: readonly StageLayout[],
  globalArgs: ReadonlyMap<string, string>,
  buildArgs: ReadonlyMap<string, string>,
): StageLayout {
  const baseName = substitute(stage.base, globalArgs).toLowerCase();
  const parent = earlier.find((l) => l.stage.name === baseName);
  const lambdaBase = parent === undefined && /(^|\/)lambda\//.test(baseName);
  const env = new Map<string, string>(parent?.env ?? (lambdaBase ? LAMBDA_BASE_ENV : []));
  const args = new Map<string, string>();
  let workdir = parent !== undefined ? parent.workdir : lambdaBase ? '/var/task' : '/';
  let command = parent?.command;
  const copies: ResolvedCopy[] = [];
  const vars = (): Map<string, string> => new Map([...args, ...env]);
  for (const instruction of stage.instructions) {
    switch (instruction.keyword) {
      case 'ARG':
        declareArg(instruction.args, args, buildArgs, globalArgs);
        break;
      case 'ENV':
        for (const [key, value] of parseEnv(instruction.args)) env.set(key, substitute(value, vars()));
        break;
      case 'WORKDIR':
        workdir = path.posix.resolve(workdir, substitute(instruction.args.trim(), vars()));
        break;
      case 'COPY':
      case 'ADD': {
        const copy = parseCopy(instruction.args);
        if (copy === undefined) break;
        const variables = vars();
        const destination = substitute(copy.destination, variables);
        const absolute = path.posix.resolve(workdir, destination) + (destination.endsWith('/') || destination === '.' ? '/' : '');
        copies.push({
          from: copy.from === undefined ? undefined : substitute(copy.from, variables),
          sources: copy.sources.map((s) => substitute(s, variables)),
          destination: absolute === '//' ? '/' : absolute,
        });
        break;
      }
      case 'CMD':
        command = commandWords(instruction.args);
        break;
      default:
        break;
    }
  }
  return { stage, parent, env, workdir, command, copies };
}

function declareArg(
  args: string,
  into: Map<string, string>,
  buildArgs: ReadonlyMap<string, string>,
  globalArgs: ReadonlyMap<string, string> = new Map(),
): void {
  const match = /^([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$/s.exec(args.trim());
  if (match === null) return;
  const name = match[1]!;
  const value = buildArgs.get(name) ?? (match[2] !== undefined ? substitute(match[2].replace(/^"(.*)"$/s, '$1'), into) : globalArgs.get(name));
  if (value !== undefined) into.set(name, value);
}

/**
 * Paths in the copy's source (context or stage) that would land at `containerPath`: a file
 * copied to a directory, a file copied under a new name, or a file inside a copied directory.
 * Which one applies depends on what the source is, which only the host can tell, so every
 * reading that fits is returned.
 */
function sourcePathsFor(copy: ResolvedCopy, source: string, containerPath: string): string[] {
  const paths: string[] = [];
  const destination = copy.destination;
  const intoDirectory = destination.endsWith('/') || copy.sources.length > 1;
  const directory = destination.endsWith('/') ? destination.slice(0, -1) || '/' : destination;
  const normalizedSource = path.posix.normalize(source);
  const glob = /[*?[]/.test(normalizedSource);
  if (glob) {
    // A wildcard copies each match into the destination directory by its base name.
    if (path.posix.dirname(containerPath) === directory && matchesGlob(path.posix.basename(containerPath), path.posix.basename(normalizedSource))) {
      paths.push(path.posix.join(path.posix.dirname(normalizedSource), path.posix.basename(containerPath)));
    }
    return paths;
  }
  const sourceIsDirectoryLike = source.endsWith('/') || normalizedSource === '.';
  if (!sourceIsDirectoryLike) {
    // A file: to `dest/` by its base name, or to `dest` itself.
    const target = intoDirectory ? path.posix.join(directory, path.posix.basename(normalizedSource)) : destination;
    if (containerPath === target) paths.push(normalizedSource);
  }
  // A directory: its contents go into the destination.
  const prefix = directory === '/' ? '/' : `${directory}/`;
  if (containerPath.startsWith(prefix)) paths.push(path.posix.join(normalizedSource, containerPath.slice(prefix.length)));
  return paths;
}

function matchesGlob(name: string, pattern: string): boolean {
  const regex = pattern.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
  return new RegExp(`^${regex}$`).test(name);
}
