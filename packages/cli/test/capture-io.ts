import type { CommandIo } from '../src/io.js';

/** A {@link CommandIo} that keeps what a command writes, for running commands in-process. */
export interface CapturedIo {
  readonly io: CommandIo;
  /** Everything written to stdout. */
  stdout(): string;
  /** Everything written to stderr. */
  stderr(): string;
}

/** No stdin, no terminal to confirm on, an empty environment; `overrides` replace any of it. */
export function captureIo(overrides: Partial<CommandIo> = {}): CapturedIo {
  const out: string[] = [];
  const err: string[] = [];
  const io: CommandIo = {
    stdout: (text) => out.push(text),
    stderr: (text) => err.push(text),
    readStdin: async () => undefined,
    confirm: async () => undefined,
    env: {},
    cwd: process.cwd(),
    ...overrides,
  };
  return { io, stdout: () => out.join(''), stderr: () => err.join('') };
}
