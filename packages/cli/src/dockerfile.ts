/**
 * A Dockerfile reader: enough of Docker's grammar to know what each stage copies where, with
 * which environment, and which command it runs. Line continuations, comments, the `escape`
 * directive, exec (JSON) and shell forms, `FROM ... AS name`, stages built on earlier stages,
 * `ARG` (with `--build-arg` values), `ENV`, `WORKDIR`, `COPY`/`ADD` flags, `CMD`, `ENTRYPOINT`
 * and `RUN`, with `$VAR` / `${VAR}` / `${VAR:-default}` / `${VAR:+alternative}` substitution
 * where Docker does it. It builds nothing and runs nothing.
 */
import path from 'node:path';

/** A malformed or unsupported Dockerfile, named with the file and line. */
export class DockerfileError extends Error {
  override readonly name = 'DockerfileError';
}

/** `CMD`, `ENTRYPOINT` or `RUN` in exec (JSON array) or shell form. */
export type CommandForm =
  | { readonly form: 'exec'; readonly args: readonly string[] }
  | { readonly form: 'shell'; readonly command: string };

/** A `COPY` or `ADD`, paths substituted, destination absolute. */
export interface CopyInstruction {
  readonly instruction: 'COPY' | 'ADD';
  /** 1-based line where the instruction starts. */
  readonly line: number;
  /** `--from`: a stage name, a stage index or an image; `undefined` for the build context. */
  readonly from: string | undefined;
  readonly chmod: string | undefined;
  readonly chown: string | undefined;
  /** Source paths as written (relative to the context, or absolute in the `from` stage). */
  readonly sources: readonly string[];
  /** Absolute destination; ends with `/` when it is a directory (written with `/`, or `.`). */
  readonly destination: string;
}

/** One build stage: `FROM` up to the next `FROM`. */
export interface DockerStage {
  /** 0-based position in the file (what `COPY --from=<index>` names). */
  readonly index: number;
  /** The `AS` name, lower-cased as Docker does; `undefined` without one. */
  readonly name: string | undefined;
  /** The `FROM` image or stage, variables substituted. */
  readonly base: string;
  /** The image the stage starts from in the end: `base`, or the image of the stage it is built on. */
  readonly image: string;
  /** The earlier stage this one is built on, when `base` names one. */
  readonly baseStage: DockerStage | undefined;
  readonly line: number;
  /** `ENV` in effect at the end of the stage: inherited ones and a Lambda base image's included. */
  readonly env: ReadonlyMap<string, string>;
  /** Working directory at the end of the stage. */
  readonly workdir: string;
  /** The `CMD` in effect: this stage's last, or the one it inherits. */
  readonly cmd: CommandForm | undefined;
  /** The `ENTRYPOINT` in effect: this stage's last, or the one it inherits. */
  readonly entrypoint: CommandForm | undefined;
  readonly copies: readonly CopyInstruction[];
  readonly runs: readonly CommandForm[];
}

/** A parsed Dockerfile. */
export interface Dockerfile {
  /** The name given in {@link ParseOptions.file}, used in messages. */
  readonly file: string;
  readonly stages: readonly DockerStage[];
  /** The stage `docker build` produces without `--target`: the last one. */
  readonly finalStage: DockerStage;
  /** The stage a `COPY --from` value names (name or index), if it is a stage of this file. */
  stage(ref: string): DockerStage | undefined;
}

/** What an image that is not a stage of the file gives the stages built on it. */
export interface BaseImage {
  readonly env: ReadonlyMap<string, string>;
  readonly workdir: string;
}

/** Options of {@link parseDockerfile}. */
export interface ParseOptions {
  /** Named in error messages; default `Dockerfile`. */
  readonly file?: string;
  /** `--build-arg` values (SAM's `Metadata.DockerBuildArgs`). */
  readonly buildArgs?: ReadonlyMap<string, string>;
  /**
   * Skip what Docker would refuse or this reader does not follow, and read on, instead of
   * throwing (for `check`, which reads other people's Dockerfiles). A file without `FROM`
   * throws all the same: it has no stage to read.
   */
  readonly lenient?: boolean;
}

// What public.ecr.aws/lambda/* images (and mirrors of them) set that a Dockerfile refers to,
// e.g. `COPY app.mjs ${LAMBDA_TASK_ROOT}/`.
const LAMBDA_BASE: BaseImage = {
  env: new Map([
    ['LAMBDA_TASK_ROOT', '/var/task'],
    ['LAMBDA_RUNTIME_DIR', '/var/runtime'],
  ]),
  workdir: '/var/task',
};
const UNKNOWN_BASE: BaseImage = { env: new Map(), workdir: '/' };

/** The variables and working directory of Lambda's base images; nothing for other images. */
export function lambdaBaseImage(image: string): BaseImage {
  return /(^|\/)lambda\//.test(image.toLowerCase()) ? LAMBDA_BASE : UNKNOWN_BASE;
}

/** Reports a problem at a line: throws, or (lenient) returns so that the caller skips it. */
type Problem = (line: number, message: string) => void;

interface LogicalLine {
  readonly line: number;
  readonly keyword: string;
  readonly args: string;
}

// A stage while it is read: the public fields, writable.
type StageBuilder = { -readonly [K in keyof DockerStage]: DockerStage[K] } & {
  env: Map<string, string>;
  copies: CopyInstruction[];
  runs: CommandForm[];
};

/**
 * Parses `text`. Throws {@link DockerfileError} naming the file and line of the first thing it
 * cannot read, unless {@link ParseOptions.lenient}.
 */
export function parseDockerfile(text: string, options: ParseOptions = {}): Dockerfile {
  const file = options.file ?? 'Dockerfile';
  const problem: Problem = (line, message) => {
    if (options.lenient !== true) throw new DockerfileError(`${file}:${line}: ${message}`);
  };
  const buildArgs = options.buildArgs ?? new Map<string, string>();
  const globalArgs = new Map<string, string>();
  const stages: StageBuilder[] = [];
  let stage: StageBuilder | undefined;
  // ARGs are seen only in the stage that declares them; CMD set here survives an ENTRYPOINT.
  let args = new Map<string, string>();
  let cmdSet = false;

  for (const { line, keyword, args: rest } of logicalLines(text, problem)) {
    if (keyword === 'FROM') {
      stage = startStage(rest, line, stages, globalArgs, problem);
      stages.push(stage);
      args = new Map();
      cmdSet = false;
      continue;
    }
    if (stage === undefined) {
      if (keyword !== 'ARG') {
        problem(line, `${keyword} before the first FROM (only ARG may come first)`);
        continue;
      }
      for (const [name, value] of parseArg(rest, line, problem)) {
        globalArgs.set(name, buildArgs.get(name) ?? (value === undefined ? '' : substitute(value, globalArgs)));
      }
      continue;
    }
    // Every substitution in one instruction sees the variables as they were before it.
    const vars: ReadonlyMap<string, string> = new Map([...args, ...stage.env]);
    switch (keyword) {
      case 'ARG':
        for (const [name, value] of parseArg(rest, line, problem)) {
          // A global ARG redeclared without a value brings its value into the stage.
          args.set(name, buildArgs.get(name) ?? (value === undefined ? globalArgs.get(name) : substitute(value, vars)) ?? '');
        }
        break;
      case 'ENV':
        for (const [name, value] of parseEnv(rest, problem, line)) stage.env.set(name, substitute(value, vars));
        break;
      case 'WORKDIR': {
        const dir = substitute(rest.trim(), vars);
        if (dir === '') problem(line, 'WORKDIR needs a path');
        else stage.workdir = path.posix.resolve(stage.workdir, dir);
        break;
      }
      case 'COPY':
      case 'ADD': {
        const copy = parseCopy(keyword, rest, line, vars, stage.workdir, problem);
        if (copy !== undefined) stage.copies.push(copy);
        break;
      }
      case 'CMD':
        stage.cmd = commandForm(rest);
        cmdSet = true;
        break;
      case 'ENTRYPOINT':
        stage.entrypoint = commandForm(rest);
        // Docker resets an inherited CMD when ENTRYPOINT is set, not one set in the same stage.
        if (!cmdSet) stage.cmd = undefined;
        break;
      case 'RUN':
        stage.runs.push(commandForm(stripRunFlags(rest)));
        break;
      case 'ONBUILD':
        problem(line, 'ONBUILD is not supported by this reader');
        break;
      default:
        // LABEL, EXPOSE, USER, VOLUME, STOPSIGNAL, HEALTHCHECK, SHELL: nothing to follow.
        break;
    }
  }
  if (stages.length === 0) throw new DockerfileError(`${file}:1: no FROM instruction`);

  const finalStage = stages[stages.length - 1] as DockerStage;
  return {
    file,
    stages,
    finalStage,
    stage(ref: string): DockerStage | undefined {
      if (/^\d+$/.test(ref)) return stages[Number(ref)];
      return stages.find((s) => s.name === ref.toLowerCase());
    },
  };
}

function startStage(args: string, line: number, stages: readonly StageBuilder[], globalArgs: ReadonlyMap<string, string>, problem: Problem): StageBuilder {
  const words = args.trim().split(/\s+/).filter((w) => !w.startsWith('--'));
  let name: string | undefined;
  if (words.length === 3 && words[1]?.toLowerCase() === 'as') name = words[2]?.toLowerCase();
  else if (words.length !== 1) problem(line, `FROM takes an image and an optional "AS name", got "${args.trim()}"`);
  const base = substitute(words[0] ?? '', globalArgs);
  if (base === '') problem(line, 'FROM needs an image');
  if (name !== undefined && stages.some((s) => s.name === name)) problem(line, `a stage named "${name}" exists already`);
  const parent = stages.find((s) => s.name === base.toLowerCase());
  const inherited = parent ?? lambdaBaseImage(base);
  return {
    index: stages.length,
    name,
    base,
    image: parent?.image ?? base,
    baseStage: parent,
    line,
    env: new Map(inherited.env),
    workdir: inherited.workdir,
    cmd: parent?.cmd,
    entrypoint: parent?.entrypoint,
    copies: [],
    runs: [],
  };
}

/** Joins continuation lines, drops comments and blank lines, reads the `escape` directive. */
function logicalLines(text: string, problem: Problem): LogicalLine[] {
  const physical = text.split(/\r?\n/);
  let escape = '\\';
  let index = 0;
  // Parser directives: `# name=value` lines at the very top, before any comment or instruction.
  for (; index < physical.length; index++) {
    const directive = /^#\s*([A-Za-z]+)\s*=\s*(\S+)\s*$/.exec(physical[index] ?? '');
    if (directive === null) break;
    if (directive[1]?.toLowerCase() !== 'escape') continue;
    if (directive[2] === '\\' || directive[2] === '`') escape = directive[2];
    else problem(index + 1, `escape must be \\ or \`, got ${directive[2]}`);
  }

  const result: LogicalLine[] = [];
  const push = (instruction: string, line: number): void => {
    const match = /^\s*(\S+)\s*([\s\S]*)$/.exec(instruction);
    if (match === null) return;
    const keyword = (match[1] ?? '').toUpperCase();
    const args = (match[2] ?? '').trim();
    if (!/^[A-Z]+$/.test(keyword)) problem(line, `"${match[1]}" is not an instruction`);
    else if (args.startsWith('<<')) problem(line, `${keyword} with a here-document is not supported by this reader`);
    else result.push({ line, keyword, args });
  };
  let pending = '';
  let startLine = 0;
  for (; index < physical.length; index++) {
    const raw = physical[index] ?? '';
    // Comment lines are removed before continuations are joined, even inside an instruction.
    if (/^\s*#/.test(raw)) continue;
    // Blank lines end nothing: Docker skips them, inside a continuation too.
    if (raw.trim() === '') continue;
    if (pending === '') startLine = index + 1;
    const trimmed = raw.replace(/\s+$/, '');
    if (trimmed.endsWith(escape)) {
      pending += `${trimmed.slice(0, -1)} `;
      continue;
    }
    push(pending + trimmed, startLine);
    pending = '';
  }
  if (pending.trim() !== '') push(pending, startLine);
  return result;
}

/** `ARG NAME` or `ARG NAME=default` (several per line). */
function parseArg(args: string, line: number, problem: Problem): Array<[string, string | undefined]> {
  return splitWords(args, line, problem).map((word) => {
    const equals = word.indexOf('=');
    return equals < 0 ? [word, undefined] : [word.slice(0, equals), word.slice(equals + 1)];
  });
}

/**
 * The variables an `ENV` instruction sets, in order: `ENV KEY=value KEY2="quoted value"` or the
 * legacy `ENV KEY value with spaces`. Quotes are removed; `$` references are left for the caller.
 *
 * @param problem - Called with what cannot be read (default: throw a {@link DockerfileError})
 */
export function parseEnv(args: string, problem: (line: number, message: string) => void = throwAt, line = 0): Array<[string, string]> {
  const first = /^([^\s=]+)(\s+|=|$)/.exec(args);
  if (first === null || first[2] === '') {
    problem(line, `ENV needs KEY=value, got "${args}"`);
    return [];
  }
  if (first[2] !== '=') return [[first[1] ?? '', unquote(args.slice(first[0].length).trim())]];
  return splitWords(args, line, problem).flatMap((word): Array<[string, string]> => {
    const equals = word.indexOf('=');
    if (equals > 0) return [[word.slice(0, equals), word.slice(equals + 1)]];
    problem(line, `ENV: "${word}" is not KEY=value`);
    return [];
  });
}

function throwAt(line: number, message: string): never {
  throw new DockerfileError(`line ${line}: ${message}`);
}

/** The legacy `ENV` value: the rest of the line, its quotes and escapes removed. */
function unquote(value: string): string {
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) return value.slice(1, -1).replace(/\\(.)/g, '$1');
  if (value.length >= 2 && value.startsWith("'") && value.endsWith("'")) return value.slice(1, -1);
  return value.replace(/\\(.)/g, '$1');
}

/** Splits on unquoted white space; quotes are removed, `\` escapes the next character. */
function splitWords(text: string, line: number, problem: Problem): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < text.length) word += text[++i];
      else word += c;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < text.length) {
      word += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote !== undefined) problem(line, `unterminated ${quote} quote`);
  if (inWord) words.push(word);
  return words;
}

/** The exec form when `args` is a JSON array of strings; Docker runs anything else as a shell command. */
export function commandForm(args: string): CommandForm {
  const text = args.trim();
  if (text.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (Array.isArray(parsed) && parsed.every((item) => typeof item === 'string')) return { form: 'exec', args: parsed };
    } catch {
      // Not JSON: the shell form, as Docker falls back to it.
    }
  }
  return { form: 'shell', command: text };
}

/**
 * The words of a `CMD` or `ENTRYPOINT`: the exec form's strings, or the shell form split on
 * white space. `undefined` when there is none, it is empty, or it is a broken exec form.
 */
export function commandWords(command: CommandForm | undefined): readonly string[] | undefined {
  if (command === undefined) return undefined;
  if (command.form === 'exec') return command.args.length > 0 && command.args[0] !== '' ? command.args : undefined;
  // A shell form starting with `[` is an exec form that is not JSON: it names nothing usable.
  return command.command === '' || command.command.startsWith('[') ? undefined : command.command.split(/\s+/);
}

/**
 * The handler named by a Dockerfile's `CMD`: the first word of the `CMD` in effect in the final
 * stage (the one Docker uses). `undefined` when there is none or it cannot be read.
 */
export function handlerFromDockerfile(text: string): string | undefined {
  return commandWords(readLeniently(text)?.finalStage.cmd)?.[0];
}

/** {@link parseDockerfile} with {@link ParseOptions.lenient}; `undefined` for a file without `FROM`. */
export function readLeniently(text: string, options: Omit<ParseOptions, 'lenient'> = {}): Dockerfile | undefined {
  try {
    return parseDockerfile(text, { ...options, lenient: true });
  } catch (error) {
    if (error instanceof DockerfileError) return undefined;
    throw error;
  }
}

/** `RUN --mount=... --network=... cmd`: the flags are not part of the command. */
function stripRunFlags(args: string): string {
  return args.replace(/^(?:--[a-z-]+(?:=\S*)?\s+)+/, '');
}

function parseCopy(
  instruction: 'COPY' | 'ADD',
  args: string,
  line: number,
  vars: ReadonlyMap<string, string>,
  workdir: string,
  problem: Problem,
): CopyInstruction | undefined {
  const flags = new Map<string, string>();
  let rest = args;
  for (let flag = /^--([a-z-]+)(?:=(\S*))?\s+/.exec(rest); flag !== null; flag = /^--([a-z-]+)(?:=(\S*))?\s+/.exec(rest)) {
    // --exclude, --parents...: Docker reads them, this reader does not follow them.
    if (['from', 'chmod', 'chown', 'link'].includes(flag[1] ?? '')) flags.set(flag[1] ?? '', flag[2] ?? 'true');
    else problem(line, `${instruction} --${flag[1]} is not supported by this reader`);
    rest = rest.slice(flag[0].length);
  }
  const form = commandForm(rest);
  const words = form.form === 'exec' ? [...form.args] : rest.trim().split(/\s+/).filter((w) => w !== '');
  if (words.length < 2) {
    problem(line, `${instruction} needs at least one source and a destination`);
    return undefined;
  }
  const sources = words.slice(0, -1).map((source) => substitute(source, vars));
  const written = substitute(words[words.length - 1] as string, vars);
  const directory = written.endsWith('/') || written === '.';
  if (sources.length > 1 && !directory) problem(line, `${instruction} with several sources needs a destination ending with "/"`);
  const absolute = path.posix.resolve(workdir, written);
  const from = flags.get('from');
  return {
    instruction,
    line,
    from: from === undefined ? undefined : substitute(from, vars),
    chmod: flags.get('chmod'),
    chown: flags.get('chown'),
    sources,
    destination: directory && absolute !== '/' ? `${absolute}/` : absolute,
  };
}

/**
 * Docker's variable substitution: `$NAME`, `${NAME}`, `${NAME:-default}`, `${NAME:+alternative}`;
 * unset variables are empty; `\$` is a literal dollar sign.
 */
export function substitute(text: string, vars: ReadonlyMap<string, string>): string {
  return text.replace(/\\\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([-+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (match, braced?: string, op?: string, word?: string, bare?: string) => {
    if (match === '\\$') return '$';
    const value = vars.get(braced ?? bare ?? '');
    if (op === '-') return value === undefined || value === '' ? (word ?? '') : value;
    if (op === '+') return value === undefined || value === '' ? '' : (word ?? '');
    return value ?? '';
  });
}
