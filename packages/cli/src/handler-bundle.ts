import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { build, type BuildFailure } from 'esbuild';
import { CliError } from './cli-error.js';
import { handlerBuildOptions } from './handler-build-options.mjs';

/** What {@link bundleHandlers} writes. */
export interface BundleResult {
  /** The bundles, one `<name>.mjs` per entry, in the task directory. */
  readonly files: readonly string[];
  /** The directory the image copies to /var/task. */
  readonly taskDir: string;
  /** Where the bootstrap was copied, when it was. */
  readonly bootstrap?: string;
}

// packages/runtime/src/init-requests.ts, INIT_REQUEST_SENDER_FILE.
const INIT_REQUEST_SENDER = 'init-request-sender.js';

/** Options of {@link bundleHandlers}. */
export interface BundleOptions {
  /** The entry modules (TypeScript or JavaScript), absolute. */
  readonly entries: readonly string[];
  /** The task directory: emptied, then filled with the bundles and their shared chunks. */
  readonly taskDir: string;
  /** A bootstrap to copy (mode 0755) to `to`, with a package.json saying it is CommonJS. */
  readonly bootstrap?: { readonly from: string; readonly to: string };
  /** The directory paths in messages are relative to (the command's working directory). */
  readonly workingDir: string;
  /** Extra resolve conditions (`source` bundles workspace packages from their TypeScript). */
  readonly conditions?: readonly string[];
}

/**
 * Bundles handler modules for a provided.al2023 image with the settings of
 * handler-build-options.mjs (the ones that work for the AWS SDK), then copies the bootstrap.
 *
 * @throws {@link CliError} naming the file and line of the first build error
 */
export async function bundleHandlers(options: BundleOptions): Promise<BundleResult> {
  const { entries, taskDir } = options;
  await rm(taskDir, { recursive: true, force: true });
  try {
    await build({
      ...handlerBuildOptions({ entryPoints: [...entries], outdir: taskDir, conditions: options.conditions ?? [] }),
      absWorkingDir: options.workingDir,
      // Errors become a CliError below, naming the first one.
      logLevel: 'silent',
    });
  } catch (error) {
    const failure = error as Partial<BuildFailure>;
    const first = failure.errors?.[0];
    if (first === undefined) throw error;
    const where = first.location === null || first.location === undefined ? '' : `${first.location.file}:${first.location.line}:${first.location.column}: `;
    const more = (failure.errors?.length ?? 1) > 1 ? ` (and ${(failure.errors?.length ?? 1) - 1} more)` : '';
    throw new CliError(`bundling failed: ${where}${first.text}${more}`);
  }
  const files = entries.map((entry) => path.join(taskDir, `${path.basename(entry, path.extname(entry))}.mjs`));
  if (options.bootstrap === undefined) return { files, taskDir };
  const runtimeDir = path.dirname(options.bootstrap.to);
  await mkdir(runtimeDir, { recursive: true });
  await copyFile(options.bootstrap.from, options.bootstrap.to);
  await chmod(options.bootstrap.to, 0o755);
  // The sender of the init calls the image's fill step plans, next to the bootstrap (the runtime
  // package's init-requests.ts); a bootstrap given by path may come without one.
  const sender = path.join(path.dirname(options.bootstrap.from), INIT_REQUEST_SENDER);
  if (existsSync(sender)) await copyFile(sender, path.join(runtimeDir, INIT_REQUEST_SENDER));
  // The bootstrap is CommonJS without an extension: next to a project's `"type": "module"` it
  // would be read as an ES module. In the image /var/runtime has no package.json.
  await writeFile(path.join(runtimeDir, 'package.json'), `${JSON.stringify({ type: 'commonjs' })}\n`);
  return { files, taskDir, bootstrap: options.bootstrap.to };
}
