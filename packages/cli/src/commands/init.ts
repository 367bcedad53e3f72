import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseOrUsage } from '../args.js';
import { EXIT_OK, UsageError } from '../cli-error.js';
import type { CommandIo } from '../io.js';
import { projectFiles } from '../project-files.js';
import { vendorTarballs } from '../tarballs.js';

/** Help text of `custom-runtime init`. */
export const INIT_USAGE = `Usage: custom-runtime init DIR [options]

Creates a function project in DIR (new or empty) that needs nothing of the custom-runtime
repository afterwards: a TypeScript handler and its config (a variable, a payload field, a
Secrets Manager secret, a KMS value), a test, a sample event, local stand-in values, a
Dockerfile on provided.al2023, template.yaml and samconfig.toml for AWS SAM, and a README.
The custom-runtime packages are copied into DIR/vendor/ as tarballs (file: dependencies), so
\`npm install\` takes only third-party packages from the registry.

Then, in DIR: npm install && npm run build && npm test

Options:
  --name NAME        the package, stack and secret name stem (default: DIR's name)
  --tarballs DIR     take the tarballs from DIR (default: the repository's dist/tarballs, made
                     by \`pnpm pack:all\`; from an installed CLI, its installed packages)
  -h, --help         show this help
`;

/** `custom-runtime init DIR`: writes a new function project. */
export async function init(argv: readonly string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseOrUsage('init', () =>
    parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: { name: { type: 'string' }, tarballs: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }),
  );
  if (values.help) {
    io.stdout(INIT_USAGE);
    return EXIT_OK;
  }
  if (positionals.length !== 1) throw new UsageError('give the project directory: custom-runtime init DIR');
  const dir = path.resolve(io.cwd, positionals[0]!);
  const existing = await readdir(dir).catch(() => undefined);
  if (existing !== undefined && existing.length > 0) throw new UsageError(`${dir} is not empty: init writes a new project into a new or empty directory`);
  const name = values.name ?? path.basename(dir).toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
  if (!/^[a-z][a-z0-9-]{0,40}$/.test(name)) {
    throw new UsageError(`'${name}' cannot name the project: lower-case letters, digits and dashes, starting with a letter (give --name NAME)`);
  }

  await mkdir(dir, { recursive: true });
  const tarballs = await vendorTarballs(path.join(dir, 'vendor'), values.tarballs === undefined ? undefined : path.resolve(io.cwd, values.tarballs));
  const files = projectFiles({ name, tarballs: tarballs.files });
  for (const [file, text] of files) {
    await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await writeFile(path.join(dir, file), text);
  }
  const shown = path.relative(io.cwd, dir) || '.';
  io.stdout(
    `Created ${name} in ${shown}:\n${[...files.keys(), ...Object.values(tarballs.files).map((f) => `vendor/${f}`)].map((f) => `  ${f}`).join('\n')}\n\n` +
      `Next:\n  cd ${shown}\n  npm install\n  npm run build\n  npm test\n  npx custom-runtime invoke -e events/sample.json\n  npx custom-runtime check\n`,
  );
  return EXIT_OK;
}
