/**
 * A small Dockerfile reader for the example tests: enough of Docker's grammar to know what a
 * stage copies where, with which environment, and which command it runs. Line continuations,
 * comments, the `escape` directive, JSON (exec) and shell forms, `FROM ... AS name`, stages
 * built on earlier stages, `ARG`, `ENV`, `WORKDIR`, `COPY`/`ADD` flags, `CMD`, `ENTRYPOINT` and
 * `RUN`, with `$VAR` / `${VAR}` / `${VAR:-default}` / `${VAR:+alternative}` substitution where
 * Docker does it. It builds nothing and runs nothing.
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
  /** Absolute destination; a trailing `/` is kept (it makes the destination a directory). */
  readonly destination: string;
}

/** One build stage: `FROM` up to the next `FROM`. */
export interface DockerStage {
  /** 0-based position in the file (what `COPY --from=<index>` names). */
  readonly index: number;
  /** The `AS` name, lower-cased as Docker does; `undefined` without one. */
  readonly name: string | undefined;
  /** The `FROM` image, variables substituted. */
  readonly base: string;
  /** The earlier stage this one is built on, when `base` names one. */
  readonly baseStage: DockerStage | undefined;
  readonly line: number;
  /** `ENV` in effect at the end of the stage, inherited ones included. */
  readonly env: ReadonlyMap<string, string>;
  /** Working directory at the end of the stage. */
  readonly workdir: string;
  /** The last `CMD` of this stage or of the stages it is built on. */
  readonly cmd: CommandForm | undefined;
  /** The last `ENTRYPOINT` of this stage or of the stages it is built on. */
  readonly entrypoint: CommandForm | undefined;
  readonly copies: readonly CopyInstruction[];
  readonly runs: readonly CommandForm[];
}

/** A parsed Dockerfile. */
export interface Dockerfile {
  readonly file: string;
  readonly stages: readonly DockerStage[];
  /** The stage `docker build` produces without `--target`: the last one. */
  readonly finalStage: DockerStage;
  /** The stage a `COPY --from` value names (name or index), if it is a stage of this file. */
  stage(ref: string): DockerStage | undefined;
}

/** What is known of a base image that is not a stage of the file. */
export interface BaseImage {
  readonly env: ReadonlyMap<string, string>;
  readonly workdir: string;
}

/** Options of {@link parseDockerfile}. */
export interface ParseOptions {
  /** Named in error messages. */
  readonly file?: string;
  /** `--build-arg` values. */
  readonly buildArgs?: ReadonlyMap<string, string>;
  /** Environment and working directory of external base images; default {@link lambdaBaseImage}. */
  readonly baseImage?: (image: string) => BaseImage;
}

// What public.ecr.aws/lambda/* images set (their published Dockerfiles): the variables a
// Dockerfile may use, e.g. `COPY app.mjs ${LAMBDA_TASK_ROOT}/`.
const LAMBDA_BASE: BaseImage = {
  env: new Map([
    ['LANG', 'en_US.UTF-8'],
    ['TZ', ':/etc/localtime'],
    ['PATH', '/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin'],
    ['LD_LIBRARY_PATH', '/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib'],
    ['LAMBDA_TASK_ROOT', '/var/task'],
    ['LAMBDA_RUNTIME_DIR', '/var/runtime'],
  ]),
  workdir: '/var/task',
};
const UNKNOWN_BASE: BaseImage = { env: new Map(), workdir: '/' };

/** The environment and working directory of Lambda's base images; nothing for other images. */
export function lambdaBaseImage(image: string): BaseImage {
  return image.startsWith('public.ecr.aws/lambda/') ? LAMBDA_BASE : UNKNOWN_BASE;
}

interface LogicalLine {
  readonly line: number;
  readonly keyword: string;
  readonly args: string;
}

/** Parses `text`; throws {@link DockerfileError} naming the file and line of what it cannot read. */
export function parseDockerfile(text: string, options: ParseOptions = {}): Dockerfile {
  const file = options.file ?? 'Dockerfile';
  const fail = (line: number, message: string): never => {
    throw new DockerfileError(`${file}:${line}: ${message}`);
  };
  const baseImage = options.baseImage ?? lambdaBaseImage;
  const buildArgs = options.buildArgs ?? new Map<string, string>();
  const lines = logicalLines(text, fail);

  const globalArgs = new Map<string, string>();
  const stages: MutableStage[] = [];
  let current: MutableStage | undefined;

  for (const { line, keyword, args } of lines) {
    if (keyword === 'FROM') {
      current = startStage(args, line, stages, globalArgs, baseImage, fail);
      stages.push(current);
      continue;
    }
    if (current === undefined) {
      if (keyword !== 'ARG') fail(line, `${keyword} before the first FROM (only ARG may come first)`);
      for (const [name, value] of parseArg(args, line, fail)) globalArgs.set(name, buildArgs.get(name) ?? value ?? '');
      continue;
    }
    const stage = current;
    const vars = (): ReadonlyMap<string, string> => new Map([...stage.args, ...stage.env]);
    switch (keyword) {
      case 'ARG':
        for (const [name, value] of parseArg(args, line, fail)) {
          // A global ARG redeclared without a value brings its value into the stage.
          stage.args.set(name, buildArgs.get(name) ?? (value === undefined ? globalArgs.get(name) : substitute(value, vars())) ?? '');
        }
        break;
      case 'ENV':
        for (const [name, value] of parseEnv(args, line, fail)) stage.env.set(name, substitute(value, vars()));
        break;
      case 'WORKDIR': {
        const dir = substitute(args.trim(), vars());
        if (dir === '') fail(line, 'WORKDIR needs a path');
        stage.workdir = path.posix.resolve(stage.workdir, dir);
        break;
      }
      case 'COPY':
      case 'ADD':
        stage.copies.push(parseCopy(keyword, args, line, vars(), stage.workdir, fail));
        break;
      case 'CMD':
        stage.cmd = commandForm(args);
        break;
      case 'ENTRYPOINT':
        stage.entrypoint = commandForm(args);
        // Docker resets an inherited CMD when ENTRYPOINT is set.
        stage.cmd = undefined;
        break;
      case 'RUN':
        stage.runs.push(commandForm(stripRunFlags(args)));
        break;
      case 'ONBUILD':
        fail(line, 'ONBUILD is not supported by this reader');
        break;
      default:
        // LABEL, EXPOSE, USER, VOLUME, STOPSIGNAL, HEALTHCHECK, SHELL: nothing to follow.
        break;
    }
  }
  if (stages.length === 0) fail(1, 'no FROM instruction');

  const frozen = stages.map(freeze);
  const finalStage = frozen[frozen.length - 1] as DockerStage;
  return {
    file,
    stages: frozen,
    finalStage,
    stage(ref: string): DockerStage | undefined {
      if (/^\d+$/.test(ref)) return frozen[Number(ref)];
      return frozen.find((s) => s.name === ref.toLowerCase());
    },
  };
}

interface MutableStage {
  index: number;
  name: string | undefined;
  base: string;
  baseStage: MutableStage | undefined;
  line: number;
  args: Map<string, string>;
  env: Map<string, string>;
  workdir: string;
  cmd: CommandForm | undefined;
  entrypoint: CommandForm | undefined;
  copies: CopyInstruction[];
  runs: CommandForm[];
  frozen?: DockerStage;
}

function startStage(
  args: string,
  line: number,
  stages: readonly MutableStage[],
  globalArgs: ReadonlyMap<string, string>,
  baseImage: (image: string) => BaseImage,
  fail: (line: number, message: string) => never,
): MutableStage {
  const words = args.trim().split(/\s+/).filter((w) => !w.startsWith('--'));
  let name: string | undefined;
  if (words.length === 3 && words[1]?.toLowerCase() === 'as') name = words[2]?.toLowerCase();
  else if (words.length !== 1) fail(line, `FROM takes an image and an optional "AS name", got "${args.trim()}"`);
  const base = substitute(words[0] ?? '', globalArgs);
  if (base === '') fail(line, 'FROM needs an image');
  if (name !== undefined && stages.some((s) => s.name === name)) fail(line, `a stage named "${name}" exists already`);
  const parent = stages.find((s) => s.name === base.toLowerCase());
  const inherited = parent === undefined ? baseImage(base) : undefined;
  return {
    index: stages.length,
    name,
    base,
    baseStage: parent,
    line,
    args: new Map(),
    env: new Map(parent?.env ?? inherited?.env ?? []),
    workdir: parent?.workdir ?? inherited?.workdir ?? '/',
    cmd: parent?.cmd,
    entrypoint: parent?.entrypoint,
    copies: [],
    runs: [],
  };
}

function freeze(stage: MutableStage): DockerStage {
  if (stage.frozen !== undefined) return stage.frozen;
  const frozen: DockerStage = {
    index: stage.index,
    name: stage.name,
    base: stage.base,
    baseStage: stage.baseStage === undefined ? undefined : freeze(stage.baseStage),
    line: stage.line,
    env: new Map(stage.env),
    workdir: stage.workdir,
    cmd: stage.cmd,
    entrypoint: stage.entrypoint,
    copies: [...stage.copies],
    runs: [...stage.runs],
  };
  stage.frozen = frozen;
  return frozen;
}

/** Joins continuation lines, drops comments and blank lines, reads the `escape` directive. */
function logicalLines(text: string, fail: (line: number, message: string) => never): LogicalLine[] {
  const physical = text.split(/\r?\n/);
  let escape = '\\';
  let index = 0;
  // Parser directives: `# name=value` lines at the very top, before any comment or instruction.
  for (; index < physical.length; index++) {
    const directive = /^#\s*([A-Za-z]+)\s*=\s*(\S+)\s*$/.exec(physical[index] ?? '');
    if (directive === null) break;
    if (directive[1]?.toLowerCase() === 'escape') {
      if (directive[2] !== '\\' && directive[2] !== '`') fail(index + 1, `escape must be \\ or \`, got ${directive[2]}`);
      escape = directive[2];
    }
  }

  const result: LogicalLine[] = [];
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
    pending += trimmed;
    push(pending, startLine);
    pending = '';
  }
  if (pending.trim() !== '') push(pending, startLine);
  return result;

  function push(instruction: string, line: number): void {
    const match = /^\s*(\S+)\s*([\s\S]*)$/.exec(instruction);
    if (match === null) return;
    const keyword = (match[1] ?? '').toUpperCase();
    if (!/^[A-Z]+$/.test(keyword)) fail(line, `"${match[1]}" is not an instruction`);
    const args = (match[2] ?? '').trim();
    if (args.startsWith('<<')) fail(line, `${keyword} with a here-document is not supported by this reader`);
    result.push({ line, keyword, args });
  }
}

/** `ARG NAME` or `ARG NAME=default` (several per line). */
function parseArg(args: string, line: number, fail: (line: number, message: string) => never): Array<[string, string | undefined]> {
  return splitWords(args, line, fail).map((word) => {
    const equals = word.indexOf('=');
    return equals < 0 ? [word, undefined] : [word.slice(0, equals), word.slice(equals + 1)];
  });
}

/**
 * `ENV KEY=value KEY2="quoted value"` or the older `ENV KEY value with spaces`. Values are returned
 * as written (quotes removed), before substitution.
 */
export function parseEnv(args: string, line = 0, fail: (line: number, message: string) => never = defaultFail): Array<[string, string]> {
  const first = /^([^\s=]+)(\s+|=|$)/.exec(args);
  if (first === null || first[2] === '') return fail(line, `ENV needs KEY=value, got "${args}"`);
  if (first[2] !== '=') return [[first[1] ?? '', args.slice(first[0].length)]];
  return splitWords(args, line, fail).map((word) => {
    const equals = word.indexOf('=');
    if (equals <= 0) fail(line, `ENV: "${word}" is not KEY=value`);
    return [word.slice(0, equals), word.slice(equals + 1)];
  });
}

function defaultFail(line: number, message: string): never {
  throw new DockerfileError(`line ${line}: ${message}`);
}

/** Splits on unquoted white space; quotes are removed, `\` escapes the next character. */
function splitWords(text: string, line: number, fail: (line: number, message: string) => never): string[] {
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
  if (quote !== undefined) fail(line, `unterminated ${quote} quote`);
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
  fail: (line: number, message: string) => never,
): CopyInstruction {
  const flags = new Map<string, string>();
  let rest = args;
  for (;;) {
    const flag = /^--([a-z-]+)(?:=(\S*))?\s+/.exec(rest);
    if (flag === null) break;
    flags.set(flag[1] ?? '', flag[2] ?? 'true');
    rest = rest.slice(flag[0].length);
  }
  for (const name of flags.keys()) {
    if (!['from', 'chmod', 'chown', 'link'].includes(name)) fail(line, `${instruction} --${name} is not supported by this reader`);
  }
  const form = commandForm(rest);
  const words = form.form === 'exec' ? [...form.args] : rest.trim().split(/\s+/).filter((w) => w !== '');
  if (words.length < 2) fail(line, `${instruction} needs at least one source and a destination`);
  const sources = words.slice(0, -1).map((source) => substitute(source, vars));
  const written = substitute(words[words.length - 1] as string, vars);
  if (sources.length > 1 && !written.endsWith('/')) {
    fail(line, `${instruction} with several sources needs a destination ending with "/"`);
  }
  const absolute = path.posix.resolve(workdir, written);
  const destination = written.endsWith('/') && absolute !== '/' ? `${absolute}/` : absolute;
  const from = flags.get('from');
  return {
    instruction,
    line,
    from: from === undefined ? undefined : substitute(from, vars),
    chmod: flags.get('chmod'),
    chown: flags.get('chown'),
    sources,
    destination,
  };
}

/**
 * Docker's variable substitution: `$NAME`, `${NAME}`, `${NAME:-default}`, `${NAME:+alternative}`;
 * unset variables are empty; `\$` is a literal dollar sign.
 */
export function substitute(text: string, vars: ReadonlyMap<string, string>): string {
  return text.replace(/\\\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([-+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (match, braced?: string, op?: string, word?: string, bare?: string) => {
    if (match === '\\$') return '$';
    const name = braced ?? bare ?? '';
    const value = vars.get(name);
    if (op === '-') return value === undefined || value === '' ? (word ?? '') : value;
    if (op === '+') return value === undefined || value === '' ? '' : (word ?? '');
    return value ?? '';
  });
}
