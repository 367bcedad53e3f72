import path from 'node:path';
import { globRegExp } from './dockerignore.js';
import { commandWords, readLeniently, type CopyInstruction, type Dockerfile, type DockerStage } from './dockerfile.js';

/** The stage an image is built from, as `check` reads it. */
export interface StageLayout {
  readonly stage: DockerStage;
  /** `ENV` in effect: the stage's, those it inherits and a Lambda base image's (never printed). */
  readonly env: ReadonlyMap<string, string>;
  /** The words of the `CMD` in effect ({@link commandWords}). */
  readonly command: readonly string[] | undefined;
}

/**
 * Reads a Dockerfile far enough to follow files, leniently (what it cannot read is skipped), and
 * picks the stage that is built: `target`, or the last one.
 *
 * @param buildArgs - `--build-arg` values (SAM's `Metadata.DockerBuildArgs`)
 * @returns `undefined` when the file has no stage or no such target
 */
export function layoutOf(text: string, target: string | undefined, buildArgs: ReadonlyMap<string, string>): ImageLayout | undefined {
  const dockerfile = readLeniently(text, { buildArgs });
  const stage = target === undefined ? dockerfile?.finalStage : dockerfile?.stages.find((s) => s.name === target.toLowerCase());
  return dockerfile === undefined || stage === undefined ? undefined : new ImageLayout(dockerfile, stage);
}

/** The built stage of an image, and where its files come from. */
export class ImageLayout {
  /** The Dockerfile the stage belongs to. */
  readonly dockerfile: Dockerfile;
  /** The stage that is the image. */
  readonly final: StageLayout;

  /** @param stage - The stage that is built, one of `dockerfile`'s. */
  constructor(dockerfile: Dockerfile, stage: DockerStage) {
    this.dockerfile = dockerfile;
    this.final = { stage, env: stage.env, command: commandWords(stage.cmd) };
  }

  /** {@link contextPaths} of a file of the image. */
  contextPaths(containerPath: string): string[] {
    return contextPaths(this.dockerfile, this.final.stage, containerPath);
  }
}

/**
 * Where the file at `containerPath` of `stage` may come from in the build context: paths
 * relative to the context, most likely first (the last `COPY` that could have written it wins).
 * A path written by `RUN` in a stage that copied the whole context (`COPY . /src`) maps to the
 * same place in the context: the host build is assumed to make the same file. Empty when no
 * `COPY` from the context explains the path (a file of a base image, or one a stage makes).
 */
export function contextPaths(dockerfile: Dockerfile, stage: DockerStage, containerPath: string): string[] {
  return candidates(dockerfile, stage, path.posix.normalize(containerPath), 0);
}

function candidates(dockerfile: Dockerfile, stage: DockerStage, containerPath: string, depth: number): string[] {
  if (depth > 20) return [];
  const found: string[] = [];
  for (const copy of [...stage.copies].reverse()) {
    for (const source of [...copy.sources].reverse()) {
      for (const sourcePath of sourcePathsFor(copy, source, containerPath)) {
        if (copy.from === undefined) {
          const relative = path.posix.normalize(sourcePath.replace(/^\/+/, ''));
          if (!relative.startsWith('..')) found.push(relative === '.' ? '' : relative);
        } else {
          // Only an earlier stage can be copied from; another name is an image.
          const from = dockerfile.stage(copy.from);
          if (from !== undefined && from.index < stage.index) {
            found.push(...candidates(dockerfile, from, path.posix.normalize(path.posix.resolve('/', sourcePath)), depth + 1));
          }
        }
      }
    }
  }
  if (stage.baseStage !== undefined) found.push(...candidates(dockerfile, stage.baseStage, containerPath, depth + 1));
  return [...new Set(found)];
}

/**
 * Where the file `source` copied by `copy` lands: into the destination when that is a directory
 * (it ends with `/`, or there are several sources), else at the destination itself. The contents
 * of a directory go into the destination instead.
 */
export function destinationOf(copy: CopyInstruction, source: string): string {
  const intoDirectory = copy.destination.endsWith('/') || copy.sources.length > 1;
  return intoDirectory ? path.posix.join(copy.destination, path.posix.basename(source)) : copy.destination;
}

/**
 * Paths in the copy's source (context or stage) that would land at `containerPath`: a file
 * copied to a directory, a file copied under a new name, or a file inside a copied directory.
 * Which one applies depends on what the source is, which only the host can tell, so every
 * reading that fits is returned.
 */
function sourcePathsFor(copy: CopyInstruction, source: string, containerPath: string): string[] {
  const paths: string[] = [];
  const destination = copy.destination;
  const directory = destination.endsWith('/') ? destination.slice(0, -1) || '/' : destination;
  const normalizedSource = path.posix.normalize(source);
  if (/[*?[]/.test(normalizedSource)) {
    // A wildcard copies each match into the destination directory by its base name.
    if (path.posix.dirname(containerPath) === directory && globRegExp(path.posix.basename(normalizedSource)).test(path.posix.basename(containerPath))) {
      paths.push(path.posix.join(path.posix.dirname(normalizedSource), path.posix.basename(containerPath)));
    }
    return paths;
  }
  const sourceIsDirectoryLike = source.endsWith('/') || normalizedSource === '.';
  // A file: to `dest/` by its base name, or to `dest` itself.
  if (!sourceIsDirectoryLike && containerPath === destinationOf(copy, normalizedSource)) paths.push(normalizedSource);
  // A directory: its contents go into the destination.
  const prefix = directory === '/' ? '/' : `${directory}/`;
  if (containerPath.startsWith(prefix)) paths.push(path.posix.join(normalizedSource, containerPath.slice(prefix.length)));
  return paths;
}
