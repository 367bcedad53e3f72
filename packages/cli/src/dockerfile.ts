/** One Dockerfile instruction: its keyword upper-cased and the rest of the line, continuations joined. */
export interface DockerInstruction {
  readonly keyword: string;
  readonly args: string;
}

/** A build stage: `FROM base [AS name]` and the instructions up to the next `FROM`. */
export interface DockerStage {
  /** Position in the file, from 0. */
  readonly index: number;
  /** The `AS` name, lower-cased as Docker compares it; `undefined` when unnamed. */
  readonly name: string | undefined;
  /** The image or earlier stage it starts from, as written (build args not substituted). */
  readonly base: string;
  readonly instructions: readonly DockerInstruction[];
}

/** A parsed Dockerfile: the `ARG`s before the first `FROM`, then the stages. */
export interface Dockerfile {
  readonly globalArgs: readonly DockerInstruction[];
  readonly stages: readonly DockerStage[];
}

/** A `COPY` or `ADD`: options, sources and destination, as written. */
export interface CopyInstruction {
  /** `--from=`: a stage name or index, or an image; `undefined` for the build context. */
  readonly from: string | undefined;
  readonly sources: readonly string[];
  readonly destination: string;
}

/**
 * The handler named by a Dockerfile's last `CMD` (the one Docker uses): the first element of
 * the exec form (`CMD ["app.handler"]`) or the first word of the shell form. `undefined` when
 * there is no `CMD` or it cannot be read.
 */
export function handlerFromDockerfile(text: string): string | undefined {
  let command: string | undefined;
  for (const instruction of instructions(text)) {
    if (instruction.keyword === 'CMD') command = instruction.args;
  }
  return command === undefined ? undefined : commandWords(command)?.[0];
}

/**
 * The words of a `CMD` or `ENTRYPOINT`: the exec form's strings, or the shell form split on
 * white space. `undefined` when empty or unreadable.
 */
export function commandWords(args: string): readonly string[] | undefined {
  const command = args.trim();
  if (command === '') return undefined;
  if (command.startsWith('[')) {
    const words = jsonStrings(command);
    return words !== undefined && words.length > 0 && words[0] !== '' ? words : undefined;
  }
  return command.split(/\s+/);
}

/** Splits a Dockerfile into its global `ARG`s and its stages. */
export function parseDockerfile(text: string): Dockerfile {
  const globalArgs: DockerInstruction[] = [];
  const stages: Array<{ index: number; name: string | undefined; base: string; instructions: DockerInstruction[] }> = [];
  for (const instruction of instructions(text)) {
    if (instruction.keyword === 'FROM') {
      // FROM [--platform=...] image [AS name]
      const words = instruction.args.split(/\s+/).filter((word) => !word.startsWith('--'));
      const name = words.length >= 3 && words[1]!.toUpperCase() === 'AS' ? words[2]!.toLowerCase() : undefined;
      stages.push({ index: stages.length, name, base: words[0] ?? '', instructions: [] });
    } else if (stages.length === 0) {
      if (instruction.keyword === 'ARG') globalArgs.push(instruction);
    } else {
      stages[stages.length - 1]!.instructions.push(instruction);
    }
  }
  return { globalArgs, stages };
}

/** Reads a `COPY` or `ADD` instruction's arguments (exec or shell form); `undefined` if malformed. */
export function parseCopy(args: string): CopyInstruction | undefined {
  let rest = args.trim();
  let from: string | undefined;
  // Options come first: --from=, --chown=, --chmod=, --link, --parents, --exclude=...
  for (let match = /^--([a-z-]+)(?:=(\S*))?\s+/i.exec(rest); match !== null; match = /^--([a-z-]+)(?:=(\S*))?\s+/i.exec(rest)) {
    if (match[1]!.toLowerCase() === 'from') from = match[2];
    rest = rest.slice(match[0].length);
  }
  const words = rest.startsWith('[') ? jsonStrings(rest) : rest.split(/\s+/).filter((word) => word !== '');
  if (words === undefined || words.length < 2) return undefined;
  return { from, sources: words.slice(0, -1), destination: words[words.length - 1]! };
}

/**
 * The variables an `ENV` instruction sets, in order: `ENV KEY=VALUE [KEY2="V 2" ...]` or the
 * legacy `ENV KEY VALUE`. Quotes are removed; `$` references are left for the caller.
 */
export function parseEnv(args: string): Array<readonly [string, string]> {
  const text = args.trim();
  const legacy = /^([^\s=]+)\s+(.*)$/s.exec(text);
  if (legacy !== null && !legacy[1]!.includes('=')) return [[legacy[1]!, unquote(legacy[2]!.trim())]];
  const pairs: Array<readonly [string, string]> = [];
  // KEY=value where value is "double", 'single' or a run of non-blank (backslash-escaped) characters.
  const pair = /([^\s=]+)=("(?:[^"\\]|\\.)*"|'[^']*'|(?:[^\s\\]|\\.)*)/gs;
  for (let match = pair.exec(text); match !== null; match = pair.exec(text)) pairs.push([match[1]!, unquote(match[2]!)]);
  return pairs;
}

/**
 * Replaces `$NAME`, `${NAME}`, `${NAME:-default}` and `${NAME:+alternative}` with values from
 * `variables`; an unknown name becomes the empty string, as in Docker.
 */
export function substitute(text: string, variables: ReadonlyMap<string, string>): string {
  return text.replace(/\\\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([-+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (whole, braced, op, word, bare) => {
    if (whole === '\\$') return '$';
    const value = variables.get((braced ?? bare) as string);
    if (op === '-') return value !== undefined && value !== '' ? value : (word as string);
    if (op === '+') return value !== undefined && value !== '' ? (word as string) : '';
    return value ?? '';
  });
}

function unquote(value: string): string {
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) return value.slice(1, -1).replace(/\\(.)/g, '$1');
  if (value.length >= 2 && value.startsWith("'") && value.endsWith("'")) return value.slice(1, -1);
  return value.replace(/\\(.)/g, '$1');
}

function jsonStrings(text: string): string[] | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) && parsed.every((item) => typeof item === 'string') ? (parsed as string[]) : undefined;
  } catch {
    // Docker runs a malformed exec form as a shell command; that names nothing we can use.
    return undefined;
  }
}

/** Instructions with comments dropped and `\` line continuations joined. */
function instructions(text: string): DockerInstruction[] {
  const result: DockerInstruction[] = [];
  const push = (line: string): void => {
    const match = /^(\S+)\s*(.*)$/s.exec(line.trim());
    if (match !== null) result.push({ keyword: match[1]!.toUpperCase(), args: match[2]!.trim() });
  };
  let current = '';
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line.startsWith('#')) continue;
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    current += line;
    if (current.trim() !== '') push(current);
    current = '';
  }
  if (current.trim() !== '') push(current);
  return result;
}
