import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KMSClient } from '@aws-sdk/client-kms';
import { LambdaClient } from '@aws-sdk/client-lambda';
import {
  startKms,
  startLambdaControlPlane,
  type KmsStandIn,
  type LambdaControlPlaneStandIn,
} from '@custom-runtime/local';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CliError } from '../src/cli-error.js';
import { runCli } from '../src/cli.js';
import { envSet } from '../src/commands/env-set.js';
import { diffEnvironment, formatDiff } from '../src/diff.js';
import { environmentKeyProblem } from '../src/env-keys.js';
import type { CommandIo } from '../src/io.js';
import { captureIo, type CapturedIo as Captured } from './capture-io.js';
import { redactValues } from '../src/redact.js';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const workDir = mkdtempSync(join(tmpdir(), 'cli-env-set-'));

let lambda: LambdaControlPlaneStandIn;
let kms: KmsStandIn;
let lambdaClient: LambdaClient;
let kmsClient: KMSClient;

/** A value made of letters that never occur in UUIDs, names or messages by chance. */
function secretValue(): string {
  const alphabet = 'ghjkmnpqrstvwxyz';
  let value = '';
  for (let i = 0; i < 20; i++) value += alphabet.charAt(randomInt(alphabet.length));
  return value;
}

const capture = (overrides: Partial<CommandIo> = {}): Captured => captureIo({ cwd: workDir, ...overrides });

/** Fails if any 6-character piece of any value shows up in the output. */
function expectNoValues(output: string, values: readonly string[]): void {
  for (const value of values) {
    for (let start = 0; start + 6 <= value.length; start++) {
      const piece = value.slice(start, start + 6);
      if (output.includes(piece)) throw new Error(`output contains part of a value: ${piece}`);
    }
  }
}

function run(argv: readonly string[], captured: Captured): Promise<number> {
  return envSet(argv, captured.io, { lambda: lambdaClient, kms: kmsClient });
}

beforeEach(async () => {
  lambda = await startLambdaControlPlane();
  kms = await startKms();
  lambdaClient = new LambdaClient({ endpoint: lambda.url, region: lambda.region, credentials, maxAttempts: 1 });
  kmsClient = new KMSClient({ endpoint: kms.url, region: kms.region, credentials, maxAttempts: 1 });
});

afterEach(async () => {
  vi.unstubAllEnvs();
  lambdaClient.destroy();
  kmsClient.destroy();
  await Promise.all([lambda.close(), kms.close()]);
});

afterAll(() => rmSync(workDir, { recursive: true, force: true }));

describe('env set', () => {
  it('sets, changes and unsets, keeps every untouched variable, and prints names only', async () => {
    const [keep, otherKeep, oldValue, newValue, added, removed] = Array.from({ length: 6 }, secretValue);
    lambda.createFunction('orders', {
      environment: { KEEP_ME: keep!, ALSO_KEPT: otherKeep!, CHANGE_ME: oldValue!, DROP_ME: removed! },
    });
    const out = capture();
    const status = await run(['orders', `CHANGE_ME=${newValue}`, `NEW_VAR=${added}`, '--unset', 'DROP_ME', '--yes'], out);

    expect(out.stderr()).toBe('');
    expect(status).toBe(0);
    expect(lambda.getFunction('orders')?.environment).toEqual({
      KEEP_ME: keep,
      ALSO_KEPT: otherKeep,
      CHANGE_ME: newValue,
      NEW_VAR: added,
    });
    expect(out.stdout()).toContain('+ NEW_VAR\n~ CHANGE_ME\n- DROP_ME\n= 2 unchanged\n');
    expect(out.stdout()).toMatch(/Updated orders: 1 added, 1 changed, 1 removed, 2 unchanged \(revision \S+ -> \S+\)/);
    expectNoValues(out.stdout() + out.stderr(), [keep!, otherKeep!, oldValue!, newValue!, added!, removed!]);
  });

  it('sends the RevisionId it read, and on a concurrent change writes nothing and says to re-run', async () => {
    const [mine, theirs, existing] = [secretValue(), secretValue(), secretValue()];
    const { revisionId } = lambda.createFunction('orders', { environment: { EXISTING: existing } });
    const out = capture({
      // Someone else writes between our read and our write.
      confirm: async () => {
        lambda.touch('orders', { THEIRS: theirs });
        return true;
      },
    });
    const error = await run(['orders', `MINE=${mine}`], out).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).exitCode).toBe(1);
    expect((error as CliError).message).toMatch(/^orders changed since it was read .*nothing was written\. Re-run the command/);
    expect(out.stderr()).toBe('');
    expect(lambda.getFunction('orders')).toMatchObject({ environment: { EXISTING: existing, THEIRS: theirs }, updateCount: 0 });
    expect(lambda.calls.map((call) => [call.operation, call.errorCode])).toEqual([
      ['GetFunctionConfiguration', undefined],
      ['UpdateFunctionConfiguration', 'PreconditionFailedException'],
    ]);
    expect(lambda.calls[1]?.input.RevisionId).toBe(revisionId);
    expectNoValues(out.stdout() + (error as CliError).message, [mine, theirs, existing]);
  });

  it('reports the concurrent change through runCli with exit status 1 and a clear message', async () => {
    lambda.createFunction('orders', { environment: { EXISTING: 'x1' } });
    const out = capture({
      confirm: async () => {
        lambda.touch('orders');
        return true;
      },
    });
    stubAwsEnv();
    const status = await runCli(['env', 'set', 'orders', 'NEW_KEY=v'], out.io);
    expect(status).toBe(1);
    expect(out.stderr()).toMatch(/^custom-runtime env set: orders changed since it was read \(revision [0-9a-f-]+\): nothing was written\. Re-run/);
    expect(lambda.getFunction('orders')?.environment).toEqual({ EXISTING: 'x1' });
  });

  it('finds the endpoints and region in AWS_ENDPOINT_URL_LAMBDA / AWS_ENDPOINT_URL_KMS / AWS_REGION', async () => {
    lambda.createFunction('orders', { environment: { EXISTING: 'kept' } });
    const { keyId } = kms.createKey();
    stubAwsEnv();
    const out = capture();
    const status = await runCli(['env', 'set', 'orders', 'TOKEN=t0ken', '--encrypt', 'TOKEN', '--kms-key', keyId, '--yes'], out.io);
    expect(out.stderr()).toBe('');
    expect(status).toBe(0);
    expect(lambda.callCount('UpdateFunctionConfiguration')).toBe(1);
    expect(kms.callCount('Encrypt')).toBe(1);
    expect(lambda.getFunction('orders')?.environment.EXISTING).toBe('kept');
  });

  it('takes --region and --profile, and names missing credentials or region as the cause', async () => {
    lambda.createFunction('orders', { environment: { EXISTING: 'kept' } });
    // No credentials or region anywhere the SDK looks, and no instance metadata to ask.
    const configFile = join(workDir, 'aws-config');
    const credentialsFile = join(workDir, 'aws-credentials');
    writeFileSync(configFile, `[profile deployer]\nregion = ${lambda.region}\n`);
    writeFileSync(credentialsFile, '[deployer]\naws_access_key_id = test\naws_secret_access_key = test\n');
    vi.stubEnv('AWS_CONFIG_FILE', configFile);
    vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', credentialsFile);
    vi.stubEnv('AWS_EC2_METADATA_DISABLED', 'true');
    vi.stubEnv('AWS_ENDPOINT_URL_LAMBDA', lambda.url);
    for (const name of ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_WEB_IDENTITY_TOKEN_FILE']) {
      vi.stubEnv(name, undefined);
    }
    const noRegion = capture();
    expect(await runCli(['env', 'set', 'orders', 'MODE=1', '--yes'], noRegion.io)).toBe(1);
    expect(noRegion.stderr()).toMatch(/^custom-runtime env set: could not read the configuration of orders: no AWS region: give --region REGION/);
    const noCredentials = capture();
    expect(await runCli(['env', 'set', 'orders', 'MODE=1', '--yes', '--region', lambda.region], noCredentials.io)).toBe(1);
    expect(noCredentials.stderr()).toMatch(/^custom-runtime env set: could not read the configuration of orders: no AWS credentials found: give --profile NAME/);
    // The profile gives both.
    const withProfile = capture();
    expect(await runCli(['env', 'set', 'orders', 'MODE=1', '--yes', '--profile', 'deployer'], withProfile.io), withProfile.stderr()).toBe(0);
    expect(lambda.getFunction('orders')?.environment).toEqual({ EXISTING: 'kept', MODE: '1' });
  });

  it('--encrypt stores base64 KMS ciphertext bound to {LambdaFunctionName: FUNCTION}', async () => {
    const plaintext = secretValue();
    const { keyId } = kms.createKey();
    lambda.createFunction('payments', { environment: { API_TOKEN: 'old' } });
    const out = capture();
    const status = await run(['payments', `API_TOKEN=${plaintext}`, '--encrypt', 'API_TOKEN', '--kms-key', keyId, '--yes'], out);

    expect(out.stderr()).toBe('');
    expect(status).toBe(0);
    expect(out.stdout()).toContain('~ API_TOKEN (KMS-encrypted)\n');
    const stored = lambda.getFunction('payments')!.environment.API_TOKEN!;
    expect(stored).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
    expect(stored).not.toContain(plaintext);
    const blob = Buffer.from(stored, 'base64');
    expect(kms.decrypt(blob, { LambdaFunctionName: 'payments' }).toString('utf8')).toBe(plaintext);
    expect(() => kms.decrypt(blob)).toThrow();
    expect(kms.calls[0]?.input).toMatchObject({ KeyId: keyId, EncryptionContext: { LambdaFunctionName: 'payments' } });
    expectNoValues(out.stdout() + out.stderr(), [plaintext, stored]);
  });

  it('uses the function name, not the ARN given, as the encryption context', async () => {
    const { keyId } = kms.createKey();
    const { functionArn } = lambda.createFunction('payments');
    const status = await run([functionArn, 'API_TOKEN=abc123', '--encrypt', 'API_TOKEN', '--kms-key', keyId, '--yes'], capture());
    expect(status).toBe(0);
    const blob = Buffer.from(lambda.getFunction('payments')!.environment.API_TOKEN!, 'base64');
    expect(kms.decrypt(blob, { LambdaFunctionName: 'payments' }).toString()).toBe('abc123');
  });

  it('reports a KMS failure without printing the value, and writes nothing', async () => {
    const plaintext = secretValue();
    lambda.createFunction('payments');
    const out = capture();
    const status = await envSet(['payments', `API_TOKEN=${plaintext}`, '--encrypt', 'API_TOKEN', '--kms-key', 'alias/missing', '--yes'], out.io, {
      lambda: lambdaClient,
      kms: kmsClient,
    }).catch((error: Error) => error);
    expect(status).toBeInstanceOf(Error);
    expect((status as Error).message).toMatch(/could not encrypt API_TOKEN with KMS key alias\/missing: NotFoundException/);
    expect(lambda.callCount('UpdateFunctionConfiguration')).toBe(0);
    expectNoValues((status as Error).message + out.stdout(), [plaintext]);
  });

  it.each([
    ['AWS_REGION=eu-west-1', /'AWS_REGION' is reserved/],
    ['AWS_LAMBDA_FUNCTION_NAME=x', /'AWS_LAMBDA_FUNCTION_NAME' is reserved/],
    ['AWS_LAMBDA_ANYTHING=x', /'AWS_LAMBDA_ANYTHING' is reserved/],
    ['_HANDLER=app.handler', /'_HANDLER' is not a valid/],
    ['TZ=UTC', /'TZ' is reserved/],
    ['1ABC=x', /'1ABC' is not a valid Lambda environment variable name/],
    ['A=x', /at least two characters/],
    ['MY-KEY=x', /'MY-KEY' is not a valid/],
  ])('rejects %s before calling AWS, with exit status 2', async (assignment, message) => {
    lambda.createFunction('orders');
    const out = capture();
    const status = await runCli(['env', 'set', 'orders', assignment, '--yes'], out.io);
    expect(status).toBe(2);
    expect(out.stderr()).toMatch(message);
    expect(lambda.callCount()).toBe(0);
  });

  it('allows AWS_LAMBDA_EXEC_WRAPPER, which Lambda documents as settable', () => {
    expect(environmentKeyProblem('AWS_LAMBDA_EXEC_WRAPPER')).toBeUndefined();
    expect(environmentKeyProblem('DATABASE_URL')).toBeUndefined();
  });

  it('--dry-run shows the diff and writes nothing', async () => {
    lambda.createFunction('orders', { environment: { KEEP: 'a1', DROP: 'b2' } });
    const out = capture();
    const status = await run(['orders', 'ADDED=c3', '--unset', 'DROP', '--dry-run'], out);
    expect(status).toBe(0);
    expect(out.stdout()).toContain('+ ADDED\n- DROP\n= 1 unchanged\nDry run: nothing written.\n');
    expect(lambda.callCount('UpdateFunctionConfiguration')).toBe(0);
    expect(lambda.getFunction('orders')).toMatchObject({ environment: { KEEP: 'a1', DROP: 'b2' }, updateCount: 0 });
  });

  it('--dry-run with --encrypt does not call KMS', async () => {
    const { keyId } = kms.createKey();
    lambda.createFunction('orders');
    const out = capture();
    expect(await run(['orders', 'SECRET=v1', '--encrypt', 'SECRET', '--kms-key', keyId, '--dry-run'], out)).toBe(0);
    expect(out.stdout()).toContain('+ SECRET (KMS-encrypted)\n');
    expect(kms.callCount()).toBe(0);
  });

  it('reads values from a file, standard input and the environment, keeping them out of argv', async () => {
    const [fromFile, fromStdin, fromEnv] = [secretValue(), secretValue(), secretValue()];
    writeFileSync(join(workDir, 'db-password'), `${fromFile}\n`);
    lambda.createFunction('orders');
    const out = capture({ readStdin: async () => `${fromStdin}\n`, env: { SESSION_KEY: fromEnv } });
    const status = await run(
      ['orders', 'DB_PASSWORD=@db-password', 'API_KEY=@-', 'AT_SIGN=@@handle', '--from-env', 'SESSION_KEY', '--yes'],
      out,
    );
    expect(out.stderr()).toBe('');
    expect(status).toBe(0);
    expect(lambda.getFunction('orders')?.environment).toEqual({
      DB_PASSWORD: fromFile,
      API_KEY: fromStdin,
      AT_SIGN: '@handle',
      SESSION_KEY: fromEnv,
    });
    expectNoValues(out.stdout(), [fromFile, fromStdin, fromEnv]);
  });

  it('explains unreadable value sources without quoting anything secret', async () => {
    lambda.createFunction('orders');
    const missingFile = await runCli(['env', 'set', 'orders', 'A_KEY=@nope.txt', '--yes'], capture().io);
    expect(missingFile).toBe(2);
    const out = capture();
    expect(await runCli(['env', 'set', 'orders', '--from-env', 'NOT_THERE', '--yes'], out.io)).toBe(2);
    expect(out.stderr()).toContain('--from-env NOT_THERE: NOT_THERE is not set in this environment');
    const split = capture();
    // What the shell makes of `KEY=two words` unquoted: the second word must not be echoed.
    expect(await runCli(['env', 'set', 'orders', 'KEY=two', 'wordsecret', '--yes'], split.io)).toBe(2);
    expect(split.stderr()).toContain('argument #2 after FUNCTION is not KEY=VALUE');
    expect(split.stderr()).not.toContain('wordsecret');
    expect(lambda.callCount()).toBe(0);
  });

  it('asks before writing; refuses without a terminal unless --yes; a "no" writes nothing', async () => {
    lambda.createFunction('orders');
    const noTerminal = capture();
    stubAwsEnv();
    expect(await runCli(['env', 'set', 'orders', 'A_KEY=1'], noTerminal.io)).toBe(2);
    expect(noTerminal.stderr()).toContain('no terminal to confirm on: re-run with --yes');

    const question: string[] = [];
    const declined = capture({
      confirm: async (text) => {
        question.push(text);
        return false;
      },
    });
    expect(await run(['orders', 'A_KEY=1'], declined)).toBe(1);
    expect(question).toEqual(['Write these changes to orders? [y/N] ']);
    expect(declined.stderr()).toBe('Aborted: nothing written.\n');
    expect(lambda.callCount('UpdateFunctionConfiguration')).toBe(0);
  });

  it('writes nothing when nothing changes', async () => {
    lambda.createFunction('orders', { environment: { SAME: 'value' } });
    const out = capture();
    expect(await run(['orders', 'SAME=value', '--unset', 'ABSENT', '--yes'], out)).toBe(0);
    expect(out.stdout()).toContain('= 1 unchanged\nNo changes: nothing to write.\n');
    expect(out.stderr()).toBe('note: ABSENT is not set on orders; nothing to remove\n');
    expect(lambda.callCount('UpdateFunctionConfiguration')).toBe(0);
  });

  it('reports an unknown function', async () => {
    const out = capture();
    await expect(run(['missing', 'A_KEY=1', '--yes'], out)).rejects.toThrow('function missing not found');
  });

  it('refuses to write when Lambda cannot show the current variables', async () => {
    lambda.createFunction('locked', {
      environment: { HIDDEN: 'h1' },
      environmentError: { errorCode: 'AccessDeniedException', message: 'Lambda was unable to decrypt the environment variables' },
    });
    await expect(run(['locked', 'A_KEY=1', '--yes'], capture())).rejects.toThrow(
      /cannot show the environment variables of locked \(AccessDeniedException\): merging would remove them, so nothing was written/,
    );
    expect(lambda.callCount('UpdateFunctionConfiguration')).toBe(0);
  });

  it('withholds the service message of a rejected environment (it can quote values)', async () => {
    lambda.createFunction('orders');
    const big = secretValue().repeat(250);
    const error = await run(['orders', `BIG=${big}`, '--yes'], capture()).catch((caught: Error) => caught);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/Lambda refused the variables of orders \(InvalidParameterValueException/);
    expectNoValues((error as Error).message, [big.slice(0, 20)]);
  });

  it('rejects inconsistent command lines', async () => {
    lambda.createFunction('orders');
    for (const [argv, message] of [
      [[], /FUNCTION is missing/],
      [['orders'], /nothing to change/],
      [['orders', 'A_KEY=1', 'A_KEY=2'], /A_KEY is given more than once/],
      [['orders', 'A_KEY=1', '--unset', 'A_KEY'], /A_KEY is both set and unset/],
      [['orders', 'A_KEY=1', '--encrypt', 'B_KEY', '--kms-key', 'k'], /--encrypt B_KEY: B_KEY is not set/],
      [['orders', 'A_KEY=1', '--encrypt', 'A_KEY'], /--encrypt needs --kms-key/],
      [['orders', 'A_KEY=1', '--kms-key', 'k'], /--kms-key is only used with --encrypt/],
      [['orders', 'A_KEY=1', '--bogus'], /Unknown option '--bogus'/],
      [['orders', 'A_KEY=@-', 'B_KEY=@-'], /only one value can come from standard input/],
    ] as const) {
      const out = capture();
      expect(await runCli(['env', 'set', ...argv], out.io), argv.join(' ')).toBe(2);
      expect(out.stderr()).toMatch(message);
    }
    expect(lambda.callCount()).toBe(0);
  });
});

describe('building blocks', () => {
  it('diffEnvironment and formatDiff name variables and count the rest', () => {
    const diff = diffEnvironment({ A_KEY: '1', B_KEY: '2', C_KEY: '3' }, { A_KEY: '1', B_KEY: '9', D_KEY: '4' });
    expect(diff).toEqual({ added: ['D_KEY'], changed: ['B_KEY'], removed: ['C_KEY'], unchanged: 1 });
    expect(formatDiff(diff)).toBe('+ D_KEY\n~ B_KEY\n- C_KEY\n= 1 unchanged\n');
    expect(diffEnvironment({ A_KEY: '1' }, { A_KEY: '1' }, new Set(['A_KEY'])).changed).toEqual(['A_KEY']);
  });

  it('redactValues replaces the longest values first', () => {
    expect(redactValues('token abcdef and abc', ['abc', 'abcdef', ''])).toBe('token [redacted] and [redacted]');
    expect(redactValues('a.b*c', ['.b*'])).toBe('a[redacted]c');
  });
});

/** What runCli's own SDK clients read: the stand-ins' endpoints, their region, dummy credentials. */
function stubAwsEnv(): void {
  vi.stubEnv('AWS_ENDPOINT_URL_LAMBDA', lambda.url);
  vi.stubEnv('AWS_ENDPOINT_URL_KMS', kms.url);
  vi.stubEnv('AWS_REGION', lambda.region);
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
}
