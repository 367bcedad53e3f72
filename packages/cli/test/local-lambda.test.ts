/**
 * `custom-runtime build` and `invoke` as a local Lambda, on the project of fixtures/project (the
 * shape `custom-runtime init` writes): the bundle runs on the real bootstrap with the AWS SDK,
 * the template gives the task root, bootstrap and variables, and the Secrets Manager and KMS
 * stand-ins are seeded from local-seed.json.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli.js';
import type { InvokeReport } from '../src/commands/invoke.js';
import { terminalLogs } from '../src/commands/invoke.js';
import { captureIo, type CapturedIo } from './capture-io.js';

const PROJECT = fileURLToPath(new URL('./fixtures/project/', import.meta.url));
const TASK_ROOT = fileURLToPath(new URL('./fixtures/task', import.meta.url));
const SSM_TASK = fileURLToPath(new URL('./fixtures/ssm-task', import.meta.url));
const MINI_RUNTIME = fileURLToPath(new URL('../../local/test/fixtures/mini-runtime.mjs', import.meta.url));
const SEED = JSON.parse(readFileSync(join(PROJECT, 'local-seed.json'), 'utf8')) as {
  secrets: Record<string, { apiKey: string }>;
  kms: Record<string, string>;
};
const API_KEY = SEED.secrets['fixture-app/api']!.apiKey;
const SIGNING_KEY = SEED.kms.SIGNING_KEY_ENCRYPTED!;
const scratch = mkdtempSync(join(tmpdir(), 'cli-local-lambda-'));

const sha = (value: string): string => createHash('sha256').update(value).digest('hex').slice(0, 8);

async function cli(argv: readonly string[], options: { cwd?: string; env?: Record<string, string>; stdin?: string } = {}): Promise<CapturedIo & { status: number }> {
  const captured = captureIo({ cwd: options.cwd ?? PROJECT, env: options.env ?? {}, readStdin: async () => options.stdin });
  const status = await runCli(argv, captured.io);
  return { ...captured, status };
}

async function invokeJson(argv: readonly string[], options: Parameters<typeof cli>[1] = {}): Promise<{ status: number; report: InvokeReport; stderr: string }> {
  const run = await cli(['invoke', ...argv, '--json'], options);
  if (run.stdout() === '') throw new Error(`invoke printed nothing: ${run.stderr()}`);
  return { status: run.status, report: JSON.parse(run.stdout()) as InvokeReport, stderr: run.stderr() };
}

beforeAll(async () => {
  const run = await cli(['build', 'src/handler.ts']);
  if (run.status !== 0) throw new Error(`build failed: ${run.stderr()}`);
}, 60_000);

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('custom-runtime build', () => {
  it('writes an ES module bundle with the createRequire banner, and the bootstrap 0755 beside a CommonJS package.json', () => {
    const bundle = readFileSync(join(PROJECT, 'dist/task/handler.mjs'), 'utf8');
    expect(bundle.startsWith("const require = process.getBuiltinModule('node:module').createRequire(import.meta.url);")).toBe(true);
    expect(statSync(join(PROJECT, 'dist/runtime/bootstrap')).mode & 0o777).toBe(0o755);
    expect(JSON.parse(readFileSync(join(PROJECT, 'dist/runtime/package.json'), 'utf8'))).toEqual({ type: 'commonjs' });
  });

  it('explains a CMD that names TypeScript or no bundle, and a missing entry', async () => {
    const dir = mkdtempSync(join(scratch, 'ts-cmd-'));
    writeFileSync(join(dir, 'handler.ts'), 'export const handler = async () => 1;\n');
    writeFileSync(join(dir, 'Dockerfile'), 'FROM scratch\nCMD ["handler.ts"]\n');
    const named = await cli(['build', 'handler.ts', '--no-bootstrap'], { cwd: dir });
    expect(named.status).toBe(1);
    expect(named.stderr()).toMatch(/^custom-runtime build: the Dockerfile's CMD: handler handler\.ts is a file name, not module\.export: the runtime runs JavaScript modules only; bundle it .* handler\.handler\n$/);
    writeFileSync(join(dir, 'Dockerfile'), 'FROM scratch\nCMD ["src/handler.handler"]\n');
    const elsewhere = await cli(['build', 'handler.ts', '--no-bootstrap'], { cwd: dir });
    expect(elsewhere.status).toBe(1);
    expect(elsewhere.stderr()).toMatch(/the Dockerfile's CMD names src\/handler\.handler, but dist\/task\/src\/handler\.mjs is not among the bundles \(handler\.mjs\): set CMD to one of them, e\.g\. \["handler\.handler"\]/);
    const missing = await cli(['build'], { cwd: dir });
    expect(missing.status).toBe(2);
    expect(missing.stderr()).toMatch(/no entry module at .*src\/handler\.ts \(the default\)/);
  });

  it('names the file and line of a build error', async () => {
    const dir = mkdtempSync(join(scratch, 'broken-'));
    writeFileSync(join(dir, 'app.ts'), 'export const handler = async () => {\n  return ;;; )\n};\n');
    const run = await cli(['build', 'app.ts', '--no-bootstrap'], { cwd: dir });
    expect(run.status).toBe(1);
    expect(run.stderr()).toMatch(/^custom-runtime build: bundling failed: app\.ts:2:\d+: /);
  });
});

describe('invoke with a template, like sam local invoke', () => {
  it('runs the bundle the Dockerfile copies, with the template variables, the image ENV and seeded stand-ins; only facts come back', async () => {
    const { status, report, stderr } = await invokeJson(['-e', 'events/sample.json']);
    expect(status, report.errorMessage).toBe(0);
    expect(report.handler).toBe('handler.handler');
    expect(report.response).toMatchObject({
      functionName: 'AppFunction',
      stage: 'dev',
      customerId: 'c-1',
      apiKey: { length: API_KEY.length, sha256: sha(API_KEY) },
      signingKey: { length: SIGNING_KEY.length, sha256: sha(SIGNING_KEY) },
      variables: { GREETING: 'hello-from-image', FROM_TEMPLATE: 'template', NOT_LOCAL: null, AWS_LAMBDA_FUNCTION_NAME: 'AppFunction' },
    });
    // NodeVersionSupportWarning is switched off for the function's SDK (see invoke.ts).
    expect(report.response).toMatchObject({ variables: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } });
    expect(report.logs).not.toContain('NodeVersionSupportWarning');
    // A variable that needs a deployed resource is left unset, and said so (by name).
    expect(stderr).toMatch(/^note: NOT_LOCAL is not set locally: .*SomeQueue\.Arn.*; give it with --env or --env-vars$/m);
    for (const value of [API_KEY, SIGNING_KEY]) expect(JSON.stringify(report) + stderr).not.toContain(value);
  });

  it('prints a multi-line log message on separate lines, without the \\r of the Text format', async () => {
    const run = await cli(['invoke', '-e', 'events/sample.json']);
    expect(run.status, run.stderr()).toBe(0);
    expect(run.stderr()).toMatch(/first line\n {4}second line/);
    expect(run.stderr()).not.toContain('\r');
    expect(terminalLogs('a\rb\r\nc')).toBe('a\n    b\r\nc');
  });

  it('takes --env-vars in SAM CLI format (the function entry over Parameters) and --env over both', async () => {
    const file = join(scratch, 'env.json');
    writeFileSync(file, JSON.stringify({ Parameters: { FROM_FILE: 'parameters', FROM_TEMPLATE: 'parameters' }, AppFunction: { FROM_FILE: 'function' }, Other: { FROM_FILE: 'other' } }));
    const { report } = await invokeJson(['-e', 'events/sample.json', '--env-vars', file, '--env', 'FROM_TEMPLATE=flag']);
    expect(report.response).toMatchObject({ variables: { FROM_FILE: 'function', FROM_TEMPLATE: 'flag' } });
    const byName = await invokeJson(['-e', 'events/sample.json', '--env-vars', file, '--function-name', 'Other']);
    expect(byName.report.response).toMatchObject({ functionName: 'Other', variables: { FROM_FILE: 'other' } });
    writeFileSync(file, JSON.stringify({ Nobody: { A: 'x' } }));
    const unmatched = await cli(['invoke', '--env-vars', file]);
    expect(unmatched.status).toBe(2);
    expect(unmatched.stderr()).toMatch(/has variables for Nobody but none for this function \(AppFunction\) or Parameters/);
  });

  it('encrypts the KMS seed for --function-name, and shows the context when the decrypt fails', async () => {
    // The seed's ciphertext is made for the function's name: another name still decrypts.
    const renamed = await invokeJson(['-e', 'events/sample.json', '--function-name', 'orders-prod']);
    expect(renamed.status, renamed.report.errorMessage).toBe(0);
    expect(renamed.report.response).toMatchObject({ functionName: 'orders-prod', signingKey: { length: SIGNING_KEY.length } });
    // A context of another function: the decrypt fails, and the hint says with which context.
    const seed = join(scratch, 'wrong-context.json');
    writeFileSync(seed, JSON.stringify({ ...SEED, kms: { SIGNING_KEY_ENCRYPTED: { plaintext: SIGNING_KEY, encryptionContext: { LambdaFunctionName: 'someone-else' } } } }));
    const run = await cli(['invoke', '-e', 'events/sample.json', '--seed', seed]);
    expect(run.status).toBe(1);
    expect(run.stderr()).toMatch(/^Init error: Runtime\.ConfigInvalid: invalid configuration[\s\S]*SIGNING_KEY_ENCRYPTED/m);
    // The config layer's own message shows the context it sent.
    expect(run.stderr()).toContain(`signingKey (kms via env SIGNING_KEY_ENCRYPTED): bad ciphertext or wrong encryption context (InvalidCiphertextException): sent {"LambdaFunctionName":"AppFunction"} (encryptionContext 'function-name')`);
    expect(run.stderr()).toContain('hint: SIGNING_KEY_ENCRYPTED was encrypted by the local KMS with the encryption context {"LambdaFunctionName":"someone-else"} (function name AppFunction)');
    expect(run.stderr()).not.toContain(SIGNING_KEY);
  });

  it('starts the Parameter Store stand-in for ssm() and ssmPath() fields, seeded with String, StringList and SecureString', async () => {
    const seed = join(scratch, 'parameters.json');
    const password = 'local-db-password';
    writeFileSync(
      seed,
      JSON.stringify({
        parameters: {
          '/app/local/db-host': 'db.local',
          '/app/local/regions': ['eu-west-1', 'us-east-1'],
          '/app/local/db-password': { type: 'SecureString', value: password },
        },
      }),
    );
    const env = ['DB_HOST_PARAM=/app/local/db-host', 'DB_PASSWORD_PARAM=/app/local/db-password'].flatMap((pair) => ['--env', pair]);
    const { status, report, stderr } = await invokeJson([SSM_TASK, '--seed', seed, ...env], { cwd: scratch });
    expect(status, `${report.errorMessage}\n${stderr}`).toBe(0);
    expect(report.response).toEqual({
      host: 'db.local',
      regions: ['eu-west-1', 'us-east-1'],
      password: { length: password.length, sha256: sha(password) },
      appKeys: ['db-host', 'db-password', 'regions'],
    });
    expect(JSON.stringify(report) + stderr).not.toContain(password);
    // Without seeded parameters the stand-in still starts (the definition reads ssm()): not found, by field.
    writeFileSync(seed, JSON.stringify({}));
    const empty = await invokeJson([SSM_TASK, '--seed', seed, ...env], { cwd: scratch });
    expect(empty.status).toBe(1);
    expect(empty.report.errorMessage).toContain('host (ssm "/app/local/db-host" via env DB_HOST_PARAM): parameter not found');
    // Credentials taken away (IMDS and shared files off, so the SDK's chain finds none either): the output says so.
    const bare = ['AWS_ACCESS_KEY_ID=', 'AWS_EC2_METADATA_DISABLED=true', 'AWS_CONFIG_FILE=/nonexistent/config', 'AWS_SHARED_CREDENTIALS_FILE=/nonexistent/credentials'];
    const noCredentials = await cli(['invoke', SSM_TASK, '--seed', seed, ...env, ...bare.flatMap((pair) => ['--env', pair])], { cwd: scratch });
    expect(noCredentials.status).toBe(1);
    expect(noCredentials.stderr()).toContain('host (ssm "/app/local/db-host" via env DB_HOST_PARAM): no AWS credentials: AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not');
    expect(noCredentials.stderr()).not.toContain('could not reach');
    // A seed entry of the wrong shape is named, its value is not.
    writeFileSync(seed, JSON.stringify({ parameters: { '/app/local/port': 8080 } }));
    const bad = await cli(['invoke', SSM_TASK, '--seed', seed], { cwd: scratch });
    expect(bad.status).toBe(2);
    expect(bad.stderr()).toContain('parameters./app/local/port must be a string (String), an array of strings (StringList) or {"type": "String" | "StringList" | "SecureString", "value": "..."}');
  });

  it('says which secret the seed lacks when a variable refers to it', async () => {
    const seed = join(scratch, 'no-secret.json');
    writeFileSync(seed, JSON.stringify({ kms: SEED.kms }));
    const run = await cli(['invoke', '-e', 'events/sample.json', '--seed', seed]);
    expect(run.status).toBe(1);
    expect(run.stderr()).toMatch(/^note: API_KEY_SECRET is not set locally: the secret ApiSecret \(Name fixture-app\/api\) is not in .*no-secret\.json: add "fixture-app\/api" under "secrets"$/m);
  });

  it('chooses among several functions with --function and rejects a bad seed file by entry', async () => {
    const seed = join(scratch, 'bad-seed.json');
    writeFileSync(seed, JSON.stringify({ kms: { X: 42 } }));
    const bad = await cli(['invoke', '--seed', seed]);
    expect(bad.status).toBe(2);
    expect(bad.stderr()).toMatch(/kms\.X must be a plaintext string or \{"plaintext"/);
    writeFileSync(seed, '{\n  "kms": {\n  "X": ,\n}}');
    const broken = await cli(['invoke', '--seed', seed]);
    expect(broken.status).toBe(2);
    // The parser's own message quotes the text; only the position is taken from it, when it has one.
    expect(broken.stderr()).toMatch(/the seed file .*bad-seed\.json is not valid JSON( at line \d+, column \d+)?\n$/);
    expect(broken.stderr()).not.toContain('"X"');
    const unknown = await cli(['invoke', '--function', 'Nope']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr()).toMatch(/template\.yaml has no function Nope \(its functions: AppFunction\)/);
  });
});

describe('invoke hints', () => {
  const withMini = [TASK_ROOT, '--bootstrap', MINI_RUNTIME];

  it('says when a variable a failure names is set in the shell, which invoke does not pass', async () => {
    const run = await cli(['invoke', ...withMini, '--payload', '{"action":"fail","message":"APP_STAGE is not set"}'], {
      env: { APP_STAGE: 'shell-value-never-printed' },
    });
    expect(run.status).toBe(1);
    expect(run.stderr()).toContain(
      'hint: APP_STAGE is set in your shell, but invoke does not pass the shell\'s variables (as sam local invoke does not): pass it with --env APP_STAGE="$APP_STAGE" or in the --env-vars file',
    );
    expect(run.stderr()).not.toContain('shell-value-never-printed');
    // Given explicitly: no hint.
    const given = await cli(['invoke', ...withMini, '--env', 'APP_STAGE=x', '--payload', '{"action":"fail","message":"APP_STAGE is not set"}'], { env: { APP_STAGE: 'y' } });
    expect(given.stderr()).not.toContain('hint:');
  });

  it('explains a handler whose module is TypeScript before running anything', async () => {
    const dir = mkdtempSync(join(scratch, 'ts-root-'));
    writeFileSync(join(dir, 'app.ts'), 'export const handler = async () => 1;\n');
    const run = await cli(['invoke', dir, '--handler', 'app.handler', '--bootstrap', MINI_RUNTIME]);
    expect(run.status).toBe(1);
    expect(run.stderr()).toMatch(/^custom-runtime invoke: handler app\.handler finds app\.ts in .*: the runtime loads JavaScript only \(\.js, \.mjs, \.cjs\), not TypeScript; bundle it to JavaScript with `custom-runtime build app\.ts`/);
  });

  it('reads -e FILE as SAM does, and -e - from standard input', async () => {
    const file = join(scratch, 'event.json');
    writeFileSync(file, '{"from":"file"}');
    const fromFile = await cli(['invoke', ...withMini, '-e', file]);
    expect(JSON.parse(fromFile.stdout()).event).toEqual({ from: 'file' });
    const fromStdin = await cli(['invoke', ...withMini, '--event', '-'], { stdin: '{"from":"stdin"}' });
    expect(JSON.parse(fromStdin.stdout()).event).toEqual({ from: 'stdin' });
  });
});
