import { readFileSync } from 'node:fs';
import { CliError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './cli-error.js';
import type { CommandIo } from './io.js';

/** A command's entry point: its arguments (after the command's name) to an exit status. */
export type CommandRunner = (argv: readonly string[], io: CommandIo) => Promise<number>;

interface CommandEntry {
  /** How the command is called, for the overview. */
  readonly synopsis: string;
  /** One line for the overview. */
  readonly summary: string;
  /** Loaded on use, so `--help` does not load the AWS SDK or the stand-ins. */
  readonly load: () => Promise<CommandRunner>;
}

/** The commands by name; a two-word name (`env set`) is matched before a one-word one. */
const COMMANDS: ReadonlyMap<string, CommandEntry> = new Map<string, CommandEntry>([
  [
    'init',
    {
      synopsis: 'init DIR',
      summary: 'create a function project (handler, config, test, Dockerfile, SAM template)',
      load: async () => (await import('./commands/init.js')).init,
    },
  ],
  [
    'build',
    {
      synopsis: 'build [ENTRY...]',
      summary: 'bundle handlers and copy the bootstrap into the image context (dist/)',
      load: async () => (await import('./commands/build.js')).buildCommand,
    },
  ],
  [
    'invoke',
    {
      synopsis: 'invoke [TASK_ROOT]',
      summary: 'run a function once on local stand-ins and print its response',
      load: async () => {
        try {
          return (await import('./commands/invoke.js')).invoke;
        } catch (error) {
          // The stand-ins are a development dependency of a function project, not of this CLI.
          if ((error as { code?: unknown }).code === 'ERR_MODULE_NOT_FOUND' && String((error as Error).message).includes('@custom-runtime/local')) {
            throw new CliError('local invokes need the stand-ins of @custom-runtime/local, which is not installed next to @custom-runtime/cli: npm install --save-dev @custom-runtime/local');
          }
          throw error;
        }
      },
    },
  ],
  [
    'env set',
    {
      synopsis: 'env set FUNCTION KEY=VALUE...',
      summary: "change some of a Lambda function's environment variables, keep the others",
      load: async () => {
        const { envSet } = await import('./commands/env-set.js');
        return (argv, io) => envSet(argv, io);
      },
    },
  ],
  [
    'check',
    {
      synopsis: 'check [--template FILE] [--json]',
      summary: "check a SAM template's variables and policies against its functions' config definitions",
      load: async () => (await import('./commands/check.js')).check,
    },
  ],
]);

/** The overview printed by `custom-runtime --help`. */
export function usage(): string {
  const width = Math.max(...[...COMMANDS.values()].map((command) => command.synopsis.length));
  const lines = [...COMMANDS.values()].map((command) => `  ${command.synopsis.padEnd(width)}  ${command.summary}`);
  return `Usage: custom-runtime <command> [options]

A local Lambda for container images on provided.al2023, and the tools around it.

Commands:
${lines.join('\n')}

Options:
  -h, --help     show this help (a command's: custom-runtime <command> --help)
  --version      print the version

Exit status: 0 success, 1 failure (function error, AWS error, concurrent change), 2 usage error.
`;
}

/**
 * Runs the command line `argv` (without `node` and the script) and resolves with the exit
 * status. Errors are reported on `io.stderr`; nothing is thrown for a failed command.
 */
export async function runCli(argv: readonly string[], io: CommandIo): Promise<number> {
  const [first, second] = argv;
  if (first === undefined) {
    io.stderr(usage());
    return EXIT_USAGE;
  }
  if (first === '-h' || first === '--help' || (first === 'help' && second === undefined)) {
    io.stdout(usage());
    return EXIT_OK;
  }
  if (first === '--version') {
    io.stdout(`${version()}\n`);
    return EXIT_OK;
  }
  // `help env set` is `env set --help`.
  const [words, helpAsked] = first === 'help' ? [argv.slice(1), true] : [argv, false];
  const match = findCommand(words);
  const group = match === undefined ? groupOf(words) : undefined;
  if (group !== undefined) {
    const rest = words.slice(1);
    if (rest.length === 0 || rest.every((word) => word === '--help' || word === '-h') || helpAsked) {
      const text = groupUsage(group);
      if (rest.length === 0 && !helpAsked) {
        io.stderr(text);
        return EXIT_USAGE;
      }
      io.stdout(text);
      return EXIT_OK;
    }
    io.stderr(`custom-runtime: unknown command '${words.slice(0, 2).join(' ')}'\n\n${groupUsage(group)}`);
    return EXIT_USAGE;
  }
  if (match === undefined) {
    const name = words[0] ?? '';
    io.stderr(`custom-runtime: unknown command '${name}'\n\n${usage()}`);
    return EXIT_USAGE;
  }
  const rest = helpAsked ? ['--help'] : words.slice(match.length);
  try {
    const runner = await match.entry.load();
    return await runner(rest, io);
  } catch (error) {
    if (error instanceof CliError) {
      io.stderr(`custom-runtime ${match.name}: ${error.message}\n`);
      return error.exitCode;
    }
    // Our own bug or an unexpected failure: the message, never a dump of state.
    io.stderr(`custom-runtime ${match.name}: unexpected error: ${error instanceof Error ? error.message : 'non-Error thrown'}\n`);
    return EXIT_FAILURE;
  }
}

/** The first word of two-word commands (`env` of `env set`), if `words` starts with one. */
function groupOf(words: readonly string[]): string | undefined {
  const first = words[0];
  if (first === undefined) return undefined;
  return [...COMMANDS.keys()].some((name) => name.startsWith(`${first} `)) ? first : undefined;
}

/** The help of a group: its commands. */
export function groupUsage(group: string): string {
  const entries = [...COMMANDS.entries()].filter(([name]) => name.startsWith(`${group} `));
  const width = Math.max(...entries.map(([, command]) => command.synopsis.length));
  return `Usage: custom-runtime ${group} <command> [options]

Commands:
${entries.map(([, command]) => `  ${command.synopsis.padEnd(width)}  ${command.summary}`).join('\n')}

Each command's options: custom-runtime ${group} <command> --help
`;
}

function findCommand(words: readonly string[]): { name: string; entry: CommandEntry; length: number } | undefined {
  for (const length of [2, 1]) {
    if (words.length < length) continue;
    const name = words.slice(0, length).join(' ');
    const entry = COMMANDS.get(name);
    if (entry !== undefined) return { name, entry, length };
  }
  return undefined;
}

function version(): string {
  // package.json sits one level above both src/ and dist/.
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof manifest.version === 'string' ? manifest.version : 'unknown';
}
