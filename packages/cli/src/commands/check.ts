import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseOrUsage } from '../args.js';
import { checkFunction, type Finding, type FindingLevel } from '../check-rules.js';
import { EXIT_FAILURE, EXIT_OK, UsageError } from '../cli-error.js';
import { definitionsOf, type FoundDefinition } from '../definitions.js';
import { functionCode } from '../function-code.js';
import { functionPermissions } from '../iam.js';
import type { CommandIo } from '../io.js';
import { samFunctions } from '../sam-functions.js';
import { readTemplate } from '../template.js';

/** Help text of `custom-runtime check`. */
export const CHECK_USAGE = `Usage: custom-runtime check [--template FILE] [--json] [--strict]

Checks a SAM template against the config definitions of its functions' code. For each
AWS::Serverless::Function it finds the handler module the way the bootstrap will (image
functions: the Dockerfile of Metadata.Dockerfile / Metadata.DockerContext, its CMD or
ImageConfig.Command, and the COPY that puts the module in /var/task; zip functions: Handler in
CodeUri), imports the built module (run \`npm run build\` first) and reads its exported definitions
(a command handler's: the module of CUSTOM_RUNTIME_CONFIG). Then it reports:

  error    a required field whose variables (env(), a secret's reference variable, a KMS
           ciphertext variable) are declared neither in Environment.Variables (the function's
           or Globals.Function's) nor by the Dockerfile's ENV, nor set by Lambda itself
  error    a secret reference with no policy granting secretsmanager:GetSecretValue on it
           (AWSSecretsManagerGetSecretValuePolicy, or a statement with a matching Resource)
  error    a KMS field with no policy granting kms:Decrypt (KMSDecryptPolicy, or a statement)
  error    a secret's reference variable set to {{resolve:secretsmanager:...}}: CloudFormation
           would put the secret's value there, not a reference
  error    a handler module that is not built, or that cannot be found from the template
  warning  no grant of secretsmanager:BatchGetSecretValue (Resource '*'): the config layer
           falls back to one GetSecretValue per secret, so this costs calls, not correctness
  warning  a grant that depends on what the template does not show (a managed policy, a role
           defined elsewhere, a parameter, a Condition)
  info     a function without a config definition; an optional variable not declared

Each finding names the function's logical id, the field and the variable, and says what to add.
No value of a variable or parameter is ever printed.

Options:
  --template FILE   the SAM template (default: template.yaml, else template.yml)
  --json            print one JSON document: { template, ok, strict, counts, functions, findings }
  --strict          warnings fail too
  -h, --help        show this help

Exit status: 0 when no error (and, with --strict, no warning), 1 otherwise, 2 on a usage error.
`;

/** What `check --json` prints. */
export interface CheckReport {
  /** The template, as given or found. */
  readonly template: string;
  /** True when the exit status is 0. */
  readonly ok: boolean;
  readonly strict: boolean;
  readonly counts: Readonly<Record<FindingLevel, number>>;
  readonly functions: readonly CheckedFunction[];
  readonly findings: readonly Finding[];
}

/** One function of the template, and what was found of its code. */
export interface CheckedFunction {
  readonly logicalId: string;
  readonly packageType: 'Image' | 'Zip';
  /** `_HANDLER` as the function will get it; absent when it could not be found. */
  readonly handler?: string;
  /** `module` (a JS export) or `command` (an executable). */
  readonly handlerKind?: 'module' | 'command';
  /** The built module the definitions were read from, relative to the template's directory. */
  readonly module?: string;
  /** Export names of the definitions checked. */
  readonly definitions: readonly string[];
}

/**
 * `custom-runtime check`: reports what a SAM template misses for its functions' config
 * definitions. Resolves with the exit status: 1 when there is an error (or a warning with
 * `--strict`), else 0.
 */
export async function check(argv: readonly string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseOrUsage('check', () =>
    parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        template: { type: 'string', short: 't' },
        json: { type: 'boolean' },
        strict: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }),
  );
  if (values.help) {
    io.stdout(CHECK_USAGE);
    return EXIT_OK;
  }
  if (positionals.length > 0) throw new UsageError('check takes no arguments; give the template with --template FILE');
  const templatePath = findTemplate(values.template, io.cwd);
  const report = await checkTemplate(templatePath, values.strict ?? false, values.template ?? path.relative(io.cwd, templatePath));
  if (values.json) io.stdout(`${JSON.stringify(report, null, 2)}\n`);
  else io.stdout(formatReport(report));
  return report.ok ? EXIT_OK : EXIT_FAILURE;
}

function findTemplate(given: string | undefined, cwd: string): string {
  if (given !== undefined) {
    if (given.trim() === '') throw new UsageError('--template is empty');
    const file = path.resolve(cwd, given);
    if (!existsSync(file)) throw new UsageError(`no template at ${file}`);
    return file;
  }
  for (const name of ['template.yaml', 'template.yml']) {
    const file = path.resolve(cwd, name);
    if (existsSync(file)) return file;
  }
  throw new UsageError(`no template.yaml or template.yml in ${cwd}: give one with --template FILE`);
}

/**
 * Checks every function of the template at `file` (absolute). Import failures and missing
 * builds are findings, not exceptions, so one unbuilt example does not hide the others.
 */
export async function checkTemplate(file: string, strict: boolean, shownAs: string = file): Promise<CheckReport> {
  const template = await readTemplate(file);
  const functions: CheckedFunction[] = [];
  const findings: Finding[] = [];
  for (const fn of samFunctions(template)) {
    const id = fn.logicalId;
    const code = await functionCode(template, fn);
    const base = { logicalId: id, packageType: fn.packageType };
    if (code.kind === 'unknown') {
      functions.push({ ...base, definitions: [] });
      findings.push({ level: code.level, code: code.level === 'error' ? 'code-not-found' : 'not-checked', function: id, message: code.message });
      continue;
    }
    let moduleFile: string | undefined;
    let exportPath: string | undefined;
    if (code.kind === 'module') {
      moduleFile = code.file;
    } else {
      const spec = configSpec(fn.variables?.get('CUSTOM_RUNTIME_CONFIG'), code.imageEnv.get('CUSTOM_RUNTIME_CONFIG'));
      if (spec === 'unreadable') {
        findings.push({ level: 'warning', code: 'not-checked', function: id, envName: 'CUSTOM_RUNTIME_CONFIG', message: 'CUSTOM_RUNTIME_CONFIG is not a plain string in the template: its definition was not checked' });
      } else if (spec !== undefined) {
        const lookup = code.resolveModule(spec);
        if (!lookup.found) {
          findings.push({ level: 'error', code: 'code-not-found', function: id, envName: 'CUSTOM_RUNTIME_CONFIG', message: `CUSTOM_RUNTIME_CONFIG=${spec}: ${lookup.message}` });
          functions.push({ ...base, handler: code.handler, handlerKind: code.kind, definitions: [] });
          continue;
        }
        moduleFile = lookup.file;
        exportPath = lookup.exportPath;
      }
    }
    let definitions: readonly FoundDefinition[] = [];
    if (moduleFile !== undefined) {
      const found = await definitionsOf(moduleFile, exportPath);
      if (!found.ok) {
        findings.push({ level: 'error', code: 'code-not-found', function: id, message: `${found.message} (is it built? run the build: npm run build, or pnpm build in this repository)` });
      } else {
        definitions = found.definitions;
        for (const problem of found.unreadable) findings.push({ level: 'warning', code: 'not-checked', function: id, message: `export ${problem}` });
      }
    }
    functions.push({
      ...base,
      handler: code.handler,
      handlerKind: code.kind,
      ...(moduleFile !== undefined && { module: path.relative(template.directory, moduleFile) }),
      definitions: definitions.map((d) => d.exportName),
    });
    if (definitions.length === 0) {
      if (!findings.some((f) => f.function === id && f.code === 'code-not-found')) {
        const where = code.kind === 'command' ? (moduleFile === undefined ? `command handler ${code.handler} without CUSTOM_RUNTIME_CONFIG` : `${path.relative(template.directory, moduleFile)}`) : path.relative(template.directory, moduleFile!);
        findings.push({ level: 'info', code: 'no-definition', function: id, message: `no config definition found (${where})` });
      }
      continue;
    }
    findings.push(...checkFunction({ template, fn, imageEnv: code.imageEnv, definitions, permissions: functionPermissions(template, fn) }));
  }
  const counts = { error: 0, warning: 0, info: 0 };
  for (const finding of findings) counts[finding.level]++;
  const ok = counts.error === 0 && (!strict || counts.warning === 0);
  return { template: shownAs, ok, strict, counts, functions, findings };
}

// The config module of a command handler: the template's variable wins over the image's ENV.
function configSpec(fromTemplate: unknown, fromImage: string | undefined): string | 'unreadable' | undefined {
  if (fromTemplate !== undefined) {
    if (typeof fromTemplate !== 'string') return 'unreadable';
    return fromTemplate === '' ? undefined : fromTemplate;
  }
  return fromImage === '' ? undefined : fromImage;
}

/** The report as text: findings grouped by function, then the counts. */
export function formatReport(report: CheckReport): string {
  const lines: string[] = [];
  const checked = report.functions.filter((f) => f.definitions.length > 0);
  lines.push(`${report.template}: ${report.functions.length} ${plural(report.functions.length, 'function')}, ${checked.length} with a config definition`);
  for (const fn of report.functions) {
    const own = report.findings.filter((f) => f.function === fn.logicalId).sort((a, b) => LEVELS.indexOf(a.level) - LEVELS.indexOf(b.level));
    const code = fn.module !== undefined ? `${fn.module}${fn.definitions.length > 0 ? ` (${fn.definitions.join(', ')})` : ''}` : fn.handler !== undefined ? `${fn.handlerKind ?? 'handler'} ${fn.handler}` : '';
    lines.push('', `${fn.logicalId}${code !== '' ? `  ${code}` : ''}${own.length === 0 ? '  ok' : ''}`);
    for (const finding of own) {
      lines.push(`  ${finding.level.padEnd(7)}  ${finding.message}`);
      if (finding.fix !== undefined) {
        const [first, ...rest] = finding.fix.split('\n');
        lines.push(`           fix: ${first ?? ''}`, ...rest.map((line) => `                ${line}`));
      }
    }
  }
  const { error, warning, info } = report.counts;
  lines.push(
    '',
    `${error} ${plural(error, 'error')}, ${warning} ${plural(warning, 'warning')}, ${info} ${plural(info, 'note')}${report.strict ? ' (--strict: warnings fail)' : ''}: ${report.ok ? 'ok' : 'FAILED'}`,
  );
  return `${lines.join('\n')}\n`;
}

const LEVELS: readonly FindingLevel[] = ['error', 'warning', 'info'];

function plural(count: number, word: string): string {
  return count === 1 ? word : `${word}s`;
}
