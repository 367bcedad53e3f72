import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UsageError } from './cli-error.js';
import type { CommandIo } from './io.js';

/** Where the value of a variable comes from. */
export type ValueSource =
  /** `KEY=VALUE`, or `KEY=@@TEXT` for a literal starting with `@`. */
  | { readonly kind: 'literal'; readonly value: string }
  /** `KEY=@FILE`: the file's contents, one trailing newline removed. */
  | { readonly kind: 'file'; readonly path: string }
  /** `KEY=@-`: standard input, one trailing newline removed. */
  | { readonly kind: 'stdin' }
  /** `--from-env KEY`: the variable of the same name in the command's environment. */
  | { readonly kind: 'env' };

/** A variable to set and where its value comes from. */
export interface Assignment {
  /** The variable's name. */
  readonly key: string;
  /** Where its value is read from. */
  readonly source: ValueSource;
}

/**
 * Parses the `position`-th (from 1) `KEY=VALUE` argument after FUNCTION. On a malformed one the error gives its position, not its text:
 * a value split by the shell would otherwise be printed.
 */
export function parseAssignment(arg: string, position: number): Assignment {
  const equals = arg.indexOf('=');
  if (equals <= 0) {
    throw new UsageError(
      `argument #${position} after FUNCTION is not KEY=VALUE (not shown: it may be part of a value; quote values that contain spaces)`,
    );
  }
  const key = arg.slice(0, equals);
  const raw = arg.slice(equals + 1);
  if (raw.startsWith('@@')) return { key, source: { kind: 'literal', value: raw.slice(1) } };
  if (raw === '@-') return { key, source: { kind: 'stdin' } };
  if (raw.startsWith('@')) {
    if (raw.length === 1) throw new UsageError(`${key}=@ names no file: use ${key}=@FILE, ${key}=@- or ${key}=@@TEXT`);
    return { key, source: { kind: 'file', path: raw.slice(1) } };
  }
  return { key, source: { kind: 'literal', value: raw } };
}

/** Reads every assignment's value; at most one may come from standard input. */
export async function resolveValues(assignments: readonly Assignment[], io: CommandIo): Promise<Map<string, string>> {
  const fromStdin = assignments.filter((assignment) => assignment.source.kind === 'stdin');
  if (fromStdin.length > 1) {
    throw new UsageError(`only one value can come from standard input, but ${fromStdin.map((a) => a.key).join(' and ')} use @-`);
  }
  const values = new Map<string, string>();
  for (const { key, source } of assignments) values.set(key, await readValue(key, source, io));
  return values;
}

async function readValue(key: string, source: ValueSource, io: CommandIo): Promise<string> {
  switch (source.kind) {
    case 'literal':
      return source.value;
    case 'file': {
      const path = resolve(io.cwd, source.path);
      try {
        return withoutFinalNewline(await readFile(path, 'utf8'));
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? 'read error';
        throw new UsageError(`cannot read the value of ${key} from ${path}: ${code}`);
      }
    }
    case 'stdin': {
      const text = await io.readStdin();
      if (text === undefined) throw new UsageError(`${key}=@- reads standard input, but it is a terminal: pipe the value in`);
      return withoutFinalNewline(text);
    }
    case 'env': {
      const value = io.env[key];
      if (value === undefined) throw new UsageError(`--from-env ${key}: ${key} is not set in this environment`);
      return value;
    }
  }
}

/** Files and `echo` end with a newline that is almost never part of the value. */
function withoutFinalNewline(text: string): string {
  return text.replace(/\r?\n$/, '');
}
