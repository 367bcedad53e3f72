import { constants, existsSync } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseOrUsage } from '../args.js';
import { defaultBootstrapPath } from '../bootstrap-path.js';
import { CliError, EXIT_OK, UsageError } from '../cli-error.js';
import { handlerFromDockerfile } from '../dockerfile.js';
import { MODULE_EXTENSIONS, moduleHandler } from '../function-code.js';
import { bundleHandlers } from '../handler-bundle.js';
import { typescriptFileNameProblem, typescriptHandlerProblem } from '../handler-hint.js';
import type { CommandIo } from '../io.js';

/** Help text of `custom-runtime build`. */
export const BUILD_USAGE = `Usage: custom-runtime build [ENTRY ...] [options]

Bundles each ENTRY (TypeScript or JavaScript; default: src/handler.ts) into one self-contained
ES module OUTDIR/task/<name>.mjs, with shared chunks in OUTDIR/task/chunks/, and copies the
bootstrap of @custom-runtime/runtime to OUTDIR/runtime/bootstrap (mode 0755, with a
package.json marking it CommonJS). A Dockerfile then copies OUTDIR/runtime/bootstrap to
/var/runtime/bootstrap and OUTDIR/task/ to /var/task/: the image needs no node_modules.

The bundle uses the settings that work for the AWS SDK v3 in an ES module: its ES module build
(mainFields module, main), a createRequire banner for its CommonJS parts (without it the init
fails with 'Dynamic require of "node:https" is not supported'), and the SDK clients as chunks
imported on first use.

When ./Dockerfile has a CMD, build checks that the handler it names is among the bundles.

Options:
  --outdir DIR        where to write (default: dist)
  --bootstrap PATH    the bootstrap to copy (default: dist/bootstrap of @custom-runtime/runtime)
  --no-bootstrap      bundle only
  -h, --help          show this help
`;

/** `custom-runtime build`: bundles handlers and copies the bootstrap into the image context. */
export async function buildCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseOrUsage('build', () =>
    parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        outdir: { type: 'string' },
        bootstrap: { type: 'string' },
        'no-bootstrap': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }),
  );
  if (values.help) {
    io.stdout(BUILD_USAGE);
    return EXIT_OK;
  }
  const entries = (positionals.length > 0 ? positionals : ['src/handler.ts']).map((entry) => path.resolve(io.cwd, entry));
  for (const entry of entries) {
    const found = await stat(entry).catch(() => undefined);
    if (found === undefined || !found.isFile()) {
      throw new UsageError(`no entry module at ${entry}${positionals.length === 0 ? ' (the default): name your handler module, e.g. custom-runtime build src/app.ts' : ''}`);
    }
  }
  const names = entries.map((entry) => path.basename(entry, path.extname(entry)));
  const duplicate = names.find((name, i) => names.indexOf(name) !== i);
  if (duplicate !== undefined) throw new UsageError(`two entries would both be written as ${duplicate}.mjs: rename one`);

  const outdir = path.resolve(io.cwd, values.outdir ?? 'dist');
  let bootstrap: { from: string; to: string } | undefined;
  if (!values['no-bootstrap']) {
    const from = values.bootstrap === undefined ? defaultBootstrapPath() : path.resolve(io.cwd, values.bootstrap);
    await access(from, constants.R_OK).catch(() => {
      throw new CliError(`no bootstrap at ${from}: install @custom-runtime/runtime next to @custom-runtime/cli, or pass --bootstrap PATH`);
    });
    bootstrap = { from, to: path.join(outdir, 'runtime', 'bootstrap') };
  }
  const taskDir = path.join(outdir, 'task');
  const result = await bundleHandlers({ entries, taskDir, workingDir: io.cwd, ...(bootstrap !== undefined && { bootstrap }) });
  for (const file of result.files) {
    const { size } = await stat(file);
    io.stdout(`wrote ${path.relative(io.cwd, file)} (${(size / 1024).toFixed(1)} KiB)\n`);
  }
  if (result.bootstrap !== undefined) io.stdout(`copied the bootstrap to ${path.relative(io.cwd, result.bootstrap)}\n`);

  // The handler the image will run must be one of the bundles.
  const dockerfile = await readFile(path.join(io.cwd, 'Dockerfile'), 'utf8').catch(() => undefined);
  const handler = dockerfile === undefined ? undefined : handlerFromDockerfile(dockerfile);
  const parsed = handler === undefined ? undefined : moduleHandler(handler, taskDir);
  const fileName = handler === undefined ? undefined : typescriptFileNameProblem(handler);
  if (fileName !== undefined) throw new CliError(`the Dockerfile's CMD: ${fileName}`);
  if (handler !== undefined && parsed !== undefined && !MODULE_EXTENSIONS.some((ext) => existsSync(`${parsed.module}${ext}`))) {
    const bundles = result.files.map((file) => path.basename(file)).join(', ');
    const hint = typescriptHandlerProblem(handler, io.cwd);
    throw new CliError(
      `the Dockerfile's CMD names ${handler}, but ${path.relative(io.cwd, parsed.module)}.mjs is not among the bundles (${bundles})` +
        (hint === undefined ? `: set CMD to one of them, e.g. ["${names[0]}.handler"]` : `; ${hint}`),
    );
  }
  return EXIT_OK;
}
