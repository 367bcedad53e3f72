import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { CliError } from './cli-error.js';
import { layoutOf } from './image-layout.js';
import type { SamFunction } from './sam-functions.js';
import type { SamTemplate } from './template.js';

/** A template function's code as this machine holds it, for running it locally. */
export interface LocalImage {
  /** `_HANDLER`: ImageConfig.Command, else the image's CMD (zip: Handler). */
  readonly handler: string;
  /** The host directory that becomes /var/task (zip: CodeUri). */
  readonly taskRoot: string;
  /** The host file that becomes /var/runtime/bootstrap, when the context has it. */
  readonly bootstrap: string | undefined;
  /** Variables the image sets with `ENV` (never printed). */
  readonly imageEnv: ReadonlyMap<string, string>;
  /** How it was found, for the user. */
  readonly from: string;
}

// A name no COPY mentions: where it would land tells which host directory is the task root.
const PROBE = '.custom-runtime-probe';

/**
 * Follows a function's Dockerfile (Metadata.DockerContext / Dockerfile) from /var/task and
 * /var/runtime/bootstrap back to the build context, as `check` does, so that the files
 * `npm run build` wrote run as the image would run them.
 *
 * @throws {@link CliError} saying what cannot be found
 */
export async function localImage(template: SamTemplate, fn: SamFunction): Promise<LocalImage> {
  if (fn.packageType === 'Zip') {
    if (fn.codeUri === undefined || fn.handler === undefined) throw new CliError(`${fn.logicalId} has no local CodeUri and Handler to run`);
    return { handler: fn.handler, taskRoot: path.resolve(template.directory, fn.codeUri), bootstrap: undefined, imageEnv: new Map(), from: `CodeUri of ${fn.logicalId}` };
  }
  const docker = fn.docker;
  if (docker === undefined) throw new CliError(`${fn.logicalId} has no Metadata.DockerContext: its image is not built from here`);
  const text = await readFile(docker.dockerfile, 'utf8').catch(() => {
    throw new CliError(`cannot read ${docker.dockerfile}, the Dockerfile of ${fn.logicalId}`);
  });
  const layout = layoutOf(text, docker.target, docker.buildArgs);
  if (layout === undefined) throw new CliError(`${docker.dockerfile} has no stage to build`);
  const handler = fn.command?.[0] ?? layout.final.command?.[0];
  if (handler === undefined) throw new CliError(`${fn.logicalId} has no handler: neither ImageConfig.Command nor a CMD in ${docker.dockerfile}`);
  const containerRoot = layout.final.env.get('LAMBDA_TASK_ROOT') || '/var/task';
  const taskRoot = layout
    .contextPaths(path.posix.join(containerRoot, PROBE))
    .map((p) => path.dirname(path.join(docker.context, p)))
    .find(isDirectory);
  if (taskRoot === undefined) {
    throw new CliError(`no directory of ${docker.context} becomes ${containerRoot} by the COPY instructions of ${docker.dockerfile}: build first (npm run build), or give TASK_ROOT`);
  }
  const bootstrap = layout
    .contextPaths('/var/runtime/bootstrap')
    .map((p) => path.join(docker.context, p))
    .find(isFile);
  return { handler, taskRoot, bootstrap, imageEnv: layout.final.env, from: `${path.relative(template.directory, docker.dockerfile) || docker.dockerfile} of ${fn.logicalId}` };
}

function isDirectory(dir: string): boolean {
  return statSync(dir, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

function isFile(file: string): boolean {
  return statSync(file, { throwIfNoEntry: false })?.isFile() ?? false;
}
