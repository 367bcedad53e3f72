import { createInterface } from 'node:readline/promises';

/**
 * Everything a command touches outside itself, injected so commands run in-process in tests
 * with captured output.
 */
export interface CommandIo {
  /** Writes text to standard output (the command's result). */
  readonly stdout: (text: string) => void;
  /** Writes text to standard error (diagnostics, logs, prompts). */
  readonly stderr: (text: string) => void;
  /** All of standard input, or `undefined` when it is a terminal and nothing was piped in. */
  readonly readStdin: () => Promise<string | undefined>;
  /** Asks a yes/no question; `undefined` when there is no terminal to ask on. */
  readonly confirm: (question: string) => Promise<boolean | undefined>;
  /** The environment `--from-env` reads (the AWS SDK always reads `process.env`). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The directory relative paths are resolved against. */
  readonly cwd: string;
}

/** The real process's streams, environment and working directory. */
export function processIo(): CommandIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    readStdin: async () => {
      if (process.stdin.isTTY) return undefined;
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin as AsyncIterable<Buffer>) chunks.push(chunk);
      return Buffer.concat(chunks).toString('utf8');
    },
    confirm: async (question) => {
      // Piped stdin may already have been read for a value; only a terminal can answer.
      if (!process.stdin.isTTY || !process.stderr.isTTY) return undefined;
      const prompt = createInterface({ input: process.stdin, output: process.stderr });
      try {
        return /^(y|yes)$/i.test((await prompt.question(question)).trim());
      } finally {
        prompt.close();
      }
    },
    env: process.env,
    cwd: process.cwd(),
  };
}
