/**
 * Every reference of template.yaml, samconfig.toml and the example Dockerfiles points at
 * something that exists: Dockerfiles and build contexts, files copied from the context (and
 * not left out by .dockerignore), stages and the files they produce, workspace packages named
 * by `pnpm --filter`, handlers and config modules in /var/task, logical ids of the template.
 * And `custom-runtime check --strict` passes on the template: it grants what the config
 * definitions read (every variable declared, every secret reference covered by GetSecretValue,
 * every KMS field by kms:Decrypt).
 *
 * Needs `pnpm build` (the files the build stages produce are compared with the host's build).
 */
import { existsSync } from 'node:fs';
import { access, constants, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  checkTemplate,
  destinationOf,
  DockerIgnore,
  mapping,
  MODULE_EXTENSIONS,
  moduleHandler,
  readTemplate,
  samFunctions,
  templateReferences,
  type CheckReport,
  type Dockerfile,
  type DockerStage,
  type SamFunction,
} from '@custom-runtime/cli';
import { REPO_ROOT } from '@custom-runtime/test-support';
import { BUILD_STAGE_ROOT, compileSteps, dockerfileOf, hostSource, isNodeStage, planImage, readDockerfile, type PlannedCopy } from './image.js';
import { fillStep } from './compile-cache.js';

const EXAMPLES = path.join(REPO_ROOT, 'examples');
const TEMPLATE = path.join(REPO_ROOT, 'template.yaml');
const template = await readTemplate(TEMPLATE, { uniqueKeys: true });
const functions = samFunctions(template);
const resources = mapping(template.document.Resources, 'Resources');
const dockerIgnore = new DockerIgnore(await readFile(path.join(REPO_ROOT, '.dockerignore'), 'utf8'));

/** Example directories (those with a Dockerfile). */
async function exampleDirs(): Promise<string[]> {
  const entries = await readdir(EXAMPLES, { withFileTypes: true });
  return entries.filter((e) => e.isDirectory() && existsSync(path.join(EXAMPLES, e.name, 'Dockerfile'))).map((e) => e.name);
}

function relative(file: string): string {
  return path.relative(REPO_ROOT, file);
}

const dockerfiles = new Map<string, Dockerfile>();
for (const fn of functions) {
  const dockerfile = dockerfileOf(fn);
  if (!dockerfiles.has(dockerfile) && existsSync(dockerfile)) dockerfiles.set(dockerfile, await readDockerfile(dockerfile, REPO_ROOT));
}

describe('template.yaml', () => {
  it('builds every function from an existing Dockerfile with the repository root as context', async () => {
    const problems: string[] = [];
    for (const fn of functions) {
      const build = fn.docker;
      if (build === undefined) {
        problems.push(`${fn.logicalId}: no Metadata.DockerContext`);
        continue;
      }
      if (build.context !== path.resolve(REPO_ROOT)) problems.push(`${fn.logicalId}: DockerContext is ${relative(build.context) || '.'}, the Dockerfiles expect the repository root`);
      if (!(await stat(build.context).catch(() => undefined))?.isDirectory()) problems.push(`${fn.logicalId}: DockerContext ${build.context} is not a directory`);
      if (!existsSync(build.dockerfile)) problems.push(`${fn.logicalId}: Dockerfile ${relative(build.dockerfile)} does not exist`);
      if (build.tag === undefined) problems.push(`${fn.logicalId}: no Metadata.DockerTag`);
      const excluded = dockerIgnore.excludedBy(relative(build.dockerfile));
      if (excluded !== undefined) problems.push(`${fn.logicalId}: .dockerignore (${excluded}) leaves out ${relative(build.dockerfile)}`);
    }
    expect(problems).toEqual([]);
  });

  it('has a function for every example image', async () => {
    const used = new Set(functions.map((fn) => path.dirname(relative(dockerfileOf(fn)))));
    expect((await exampleDirs()).map((dir) => `examples/${dir}`).filter((dir) => !used.has(dir))).toEqual([]);
  });

  it('refers only to parameters, resources, conditions and pseudo parameters it has', () => {
    const parameters = Object.keys(mapping(template.document.Parameters, 'Parameters'));
    const conditions = Object.keys(mapping(template.document.Conditions, 'Conditions'));
    const known = new Set([...parameters, ...Object.keys(resources), 'AWS::AccountId', 'AWS::NotificationARNs', 'AWS::NoValue', 'AWS::Partition', 'AWS::Region', 'AWS::StackId', 'AWS::StackName', 'AWS::URLSuffix']);
    const broken = templateReferences(template).filter((ref) => {
      if (ref.kind === 'Condition') return !conditions.includes(ref.target);
      if (ref.kind === 'GetAtt') return !(ref.target in resources);
      return !known.has(ref.target);
    });
    expect(broken.map((ref) => `${ref.path}: ${ref.kind} ${ref.target}`)).toEqual([]);
  });

  it('outputs the name and the ARN of every function', () => {
    const outputs = mapping(template.document.Outputs, 'Outputs');
    for (const fn of functions) {
      expect(mapping(outputs[`${fn.logicalId}Name`], 'output').Value, `${fn.logicalId}Name`).toEqual({ Ref: fn.logicalId });
      expect(mapping(outputs[`${fn.logicalId}Arn`], 'output').Value, `${fn.logicalId}Arn`).toEqual({ 'Fn::GetAtt': [fn.logicalId, 'Arn'] });
    }
  });

  it('keeps secrets out of the template: the API token is a NoEcho parameter without default', () => {
    const apiToken = mapping(mapping(template.document.Parameters, 'Parameters').ApiToken, 'ApiToken');
    expect(apiToken).toMatchObject({ Type: 'String', NoEcho: true });
    expect(apiToken.Default).toBeUndefined();
  });
});

describe('samconfig.toml', () => {
  it('holds the settings the READMEs rely on, and no secret', async () => {
    const text = await readFile(path.join(REPO_ROOT, 'samconfig.toml'), 'utf8');
    // The seed's command: STACK_NAME=$(grep stack_name samconfig.toml | sed 's/^.*"\(.*\)"/\1/')
    const lines = text.split('\n').filter((line) => line.includes('stack_name'));
    expect(lines).toHaveLength(1);
    expect(lines[0]?.replace(/^.*"(.*)".*$/, '$1')).toBe('custom-runtime-examples');
    expect(text).toMatch(/^resolve_image_repos = true$/m);
    expect(text).toMatch(/^capabilities = "CAPABILITY_IAM"$/m);
    expect(text).toMatch(/^region = "[a-z]{2}-[a-z]+-\d"$/m);
    const settings = text.replace(/#.*$/gm, '');
    expect(settings).not.toMatch(/parameter_overrides|ApiToken/);
  });
});

describe.each([...dockerfiles.entries()].map(([file, parsed]) => ({ name: relative(file), parsed })))('$name', ({ parsed }) => {
  const final = parsed.finalStage;

  it('is a provided.al2023 image with the bootstrap in /var/runtime and node on its PATH', () => {
    expect(final.base).toBe('public.ecr.aws/lambda/provided:al2023');
    const bootstrap = final.copies.find((c) => c.destination === '/var/runtime/bootstrap');
    expect(bootstrap?.sources).toEqual([`${BUILD_STAGE_ROOT}packages/runtime/dist/bootstrap`]);
    // An image whose fill step can plan init calls (it names a module, not only a command copied
    // to /var/task) has the sender next to the bootstrap (init-requests.ts).
    const commands = new Set(final.copies.map((c) => c.destination).filter((d) => d.startsWith('/var/task/')).map((d) => path.posix.basename(d)));
    if ((fillStep(parsed)?.args ?? []).some((name) => !commands.has(name))) {
      const sender = final.copies.find((c) => c.destination === '/var/runtime/init-request-sender.js');
      expect(sender?.sources).toEqual([`${BUILD_STAGE_ROOT}packages/runtime/dist/init-request-sender.js`]);
    }
    // The bootstrap starts with `#!/usr/bin/env node`.
    const node = final.copies.find((c) => c.destination === '/var/lang/bin/node');
    expect(node?.from, 'node copied from a Lambda Node.js stage').toBeDefined();
    expect(isNodeStage(parsed.stage(node?.from as string) as DockerStage)).toBe(true);
    expect((final.env.get('PATH') ?? '').split(':')).toContain('/var/lang/bin');
  });

  it('copies from the context only files that exist and that .dockerignore lets through', async () => {
    const problems: string[] = [];
    for (const stage of parsed.stages) {
      for (const copy of stage.copies) {
        if (copy.from !== undefined) continue;
        for (const source of copy.sources) {
          const where = `${parsed.file}:${copy.line}`;
          if (/[*?[]/.test(source)) problems.push(`${where}: ${source}: wildcards are not checked by this test`);
          if (!existsSync(path.join(REPO_ROOT, source))) problems.push(`${where}: ${source} does not exist`);
          const excluded = source === '.' ? undefined : dockerIgnore.excludedBy(source);
          if (excluded !== undefined) problems.push(`${where}: ${source} is left out of the context by .dockerignore (${excluded})`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('copies --from earlier stages only, and only what they produce', async () => {
    const problems: string[] = [];
    const compiled = compileSteps(parsed).map((step) => path.join(REPO_ROOT, step.output));
    for (const stage of parsed.stages) {
      for (const copy of stage.copies) {
        if (copy.from === undefined) continue;
        const where = `${parsed.file}:${copy.line}`;
        const from = parsed.stage(copy.from);
        if (from === undefined || from.index >= stage.index) {
          problems.push(`${where}: --from=${copy.from} is not an earlier stage`);
          continue;
        }
        for (const source of copy.sources) {
          let hostPath: string;
          try {
            // Node.js of a Lambda Node.js stage, what the stage has from the context, or what it compiles.
            hostPath = hostSource(parsed, copy, source, REPO_ROOT);
          } catch (error) {
            problems.push((error as Error).message);
            continue;
          }
          // Compiled by a RUN of that stage: its inputs are context copies, checked above.
          if (hostPath === 'host' || compiled.includes(hostPath)) continue;
          if (!existsSync(hostPath)) problems.push(`${where}: ${source} is not produced by \`pnpm build\` (${relative(hostPath)} is missing)`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('names existing workspace packages in its pnpm commands, with the pnpm version of package.json', async () => {
    const names = await workspacePackageNames();
    const rootManifest = JSON.parse(await readFile(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { packageManager: string };
    const problems: string[] = [];
    for (const stage of parsed.stages) {
      for (const run of stage.runs) {
        const command = run.form === 'shell' ? run.command : run.args.join(' ');
        for (const match of command.matchAll(/--filter(?:-prod)?[= ]+"?([^\s"]+)"?/g)) {
          const name = (match[1] as string).replace(/^\^|\.\.\.$|\^?\.\.\.$/g, '').replace(/\.\.\.$/, '');
          if (!names.has(name)) problems.push(`${parsed.file}: pnpm --filter ${match[1]}: no workspace package ${name}`);
        }
        for (const match of command.matchAll(/\bpnpm@([\d.]+)/g)) {
          if (`pnpm@${match[1]}` !== rootManifest.packageManager) problems.push(`${parsed.file}: installs pnpm@${match[1]}, package.json says ${rootManifest.packageManager}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });
});

describe('handlers in /var/task', () => {
  for (const fn of functions) {
    it(`${fn.logicalId}: its handler and config module are in its image`, async () => {
      const dockerfile = dockerfileOf(fn);
      const parsed = dockerfiles.get(dockerfile);
      if (parsed === undefined) throw new Error(`${relative(dockerfile)} was not read`);
      const plan = await planImage(parsed, REPO_ROOT);
      const files = imageFileTable(plan, compileSteps(parsed).map((s) => s.output));
      const cmd = parsed.finalStage.cmd;
      const handler = fn.command?.[0] ?? (cmd?.form === 'exec' ? cmd.args[0] : undefined);
      expect(handler, 'a handler: the CMD (exec form) or ImageConfig.Command').toBeDefined();
      expect(await handlerProblem(handler as string, files, 'handler')).toBeUndefined();
      const configModule = fn.variables?.get('CUSTOM_RUNTIME_CONFIG');
      if (configModule !== undefined) expect(await handlerProblem(String(configModule), files, 'CUSTOM_RUNTIME_CONFIG')).toBeUndefined();
    });
  }
});

/** Image path → host path (or `'compiled'` for a program a stage compiles) of the image's files. */
function imageFileTable(plan: readonly PlannedCopy[], compiledOutputs: readonly string[]): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of plan) {
    if (entry.hostPath === 'host') continue;
    const inRepo = path.relative(REPO_ROOT, entry.hostPath).split(path.sep).join('/');
    // Not built yet is fine for what a stage compiles itself (its sources are checked above).
    if (!entry.exists && compiledOutputs.includes(inRepo)) files.set(destinationOf(entry.copy, entry.source), 'compiled');
    for (const file of entry.files) files.set(file.imagePath, file.hostPath);
  }
  return files;
}

/**
 * Why `handler` (the bootstrap's grammar: an executable in /var/task, or `path/module.export`)
 * names nothing in the image; `undefined` when it does.
 */
async function handlerProblem(handler: string, files: ReadonlyMap<string, string>, what: string): Promise<string | undefined> {
  const executable = files.get(`/var/task/${handler}`);
  if (executable !== undefined) {
    if (executable === 'compiled') return undefined;
    const isExecutable = await access(executable, constants.X_OK).then(() => true, () => false);
    return isExecutable ? undefined : `${what} ${handler}: ${relative(executable)} is not executable (COPY keeps the mode: chmod 755 it in git)`;
  }
  const named = moduleHandler(handler, '/var/task');
  if (named === undefined) return `${what} ${handler}: no such executable in /var/task, and not module.export`;
  const found = MODULE_EXTENSIONS.find((ext) => files.has(named.module + ext));
  return found === undefined ? `${what} ${handler}: none of ${named.module}{${MODULE_EXTENSIONS.join(',')}} is in the image` : undefined;
}

async function workspacePackageNames(): Promise<Set<string>> {
  const names = new Set<string>();
  const root = JSON.parse(await readFile(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { name: string };
  names.add(root.name);
  for (const parent of ['packages', 'examples']) {
    for (const entry of await readdir(path.join(REPO_ROOT, parent), { withFileTypes: true })) {
      const manifest = path.join(REPO_ROOT, parent, entry.name, 'package.json');
      if (entry.isDirectory() && existsSync(manifest)) names.add((JSON.parse(await readFile(manifest, 'utf8')) as { name: string }).name);
    }
  }
  return names;
}

// What CI runs on our own template: the rules are those of `custom-runtime check`, not a copy.
describe('custom-runtime check --strict on template.yaml', () => {
  let report: CheckReport;
  beforeAll(async () => {
    report = await checkTemplate(TEMPLATE, true, 'template.yaml');
  }, 60_000);

  /** Whether the function's example has a config definition (src/config.ts). */
  const hasConfig = (fn: SamFunction): boolean => existsSync(path.join(path.dirname(dockerfileOf(fn)), 'src/config.ts'));
  const checkedOf = (fn: SamFunction): CheckReport['functions'][number] | undefined => report.functions.find((f) => f.logicalId === fn.logicalId);
  const findingsOf = (fn: SamFunction): CheckReport['findings'] => report.findings.filter((f) => f.function === fn.logicalId);

  it('passes: no error, no warning (what makes `check --strict` exit 0)', () => {
    expect(report, JSON.stringify(report.findings, null, 2)).toMatchObject({ ok: true, strict: true, counts: { error: 0, warning: 0 } });
  });

  it('checks the definition of every example that has src/config.ts', async () => {
    const withConfig = (await exampleDirs()).filter((dir) => existsSync(path.join(EXAMPLES, dir, 'src/config.ts')));
    const checked = functions.filter((fn) => (checkedOf(fn)?.definitions.length ?? 0) > 0).map((fn) => path.basename(path.dirname(dockerfileOf(fn))));
    expect(withConfig.filter((dir) => !checked.includes(dir))).toEqual([]);
  });

  for (const fn of functions) {
    if (hasConfig(fn)) {
      it(`${fn.logicalId}: variables declared, secrets and keys granted for its config definition`, () => {
        expect(checkedOf(fn)?.definitions).toEqual(['config']);
        expect(findingsOf(fn)).toEqual([]);
      });
    } else {
      it(`${fn.logicalId}: no config definition, nothing else to report`, () => {
        expect(findingsOf(fn).map((f) => `${f.level} ${f.code}`)).toEqual(['info no-definition']);
      });
    }
  }
});
