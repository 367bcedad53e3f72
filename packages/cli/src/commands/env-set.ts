import { parseArgs } from 'node:util';
import { EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import {
  GetFunctionConfigurationCommand,
  LambdaClient,
  UpdateFunctionConfigurationCommand,
  type FunctionConfiguration,
} from '@aws-sdk/client-lambda';
import { parseOrUsage } from '../args.js';
import { CliError, EXIT_FAILURE, EXIT_OK, UsageError } from '../cli-error.js';
import { diffEnvironment, formatDiff, hasChanges, summarizeDiff } from '../diff.js';
import { environmentKeyProblem } from '../env-keys.js';
import { parseAssignment, resolveValues, type Assignment } from '../env-values.js';
import type { CommandIo } from '../io.js';
import { redactValues } from '../redact.js';

/** Help text of `custom-runtime env set`. */
export const ENV_SET_USAGE = `Usage: custom-runtime env set FUNCTION [KEY=VALUE ...] [options]

Changes some environment variables of a Lambda function and keeps the others. (The AWS CLI's
update-function-configuration --environment removes every variable it is not given.)
It reads the current configuration, applies the changes, shows them by name only (never a
value) and writes back with the RevisionId it read: if the function changed in between,
nothing is written and you re-run.

Values:
  KEY=VALUE          the value as typed (it stays in shell history: prefer the forms below)
  KEY=@FILE          the contents of FILE, one trailing newline removed
  KEY=@-             standard input, one trailing newline removed (one key at most)
  KEY=@@TEXT         the literal value @TEXT
  --from-env KEY     the value of KEY in this shell's environment (repeatable)

Options:
  --unset KEY        remove KEY (repeatable)
  --encrypt KEY      store KEY's value encrypted with KMS, base64-encoded, with encryption
                     context {"LambdaFunctionName": <function name>}, as the Lambda console's
                     encryption helper does (repeatable; KEY must be set in this command)
  --kms-key ID       the KMS key for every --encrypt: key id, key ARN, alias/NAME or alias ARN
  --region REGION    the function's region (default: AWS_REGION, the profile's region)
  --profile NAME     the AWS CLI profile for credentials and region (default: AWS_PROFILE)
  --dry-run          show the changes, write nothing
  -y, --yes          write without asking (required when there is no terminal to ask on)
  -h, --help         show this help

Keys are letters, digits and underscores, start with a letter and have at least two
characters. Keys Lambda reserves (AWS_REGION, AWS_LAMBDA_*, _HANDLER, TZ, ...) are refused;
AWS_LAMBDA_EXEC_WRAPPER is allowed.

Region, credentials and endpoints come from --region and --profile, else the AWS SDK's usual
sources: AWS_REGION, AWS_PROFILE, AWS_ACCESS_KEY_ID/..., ~/.aws/config and credentials,
AWS_ENDPOINT_URL_LAMBDA, AWS_ENDPOINT_URL_KMS, AWS_ENDPOINT_URL.
`;

/** AWS clients for {@link envSet}; each one not given is created from the environment. */
export interface EnvSetDependencies {
  /** Client for GetFunctionConfiguration and UpdateFunctionConfiguration. */
  readonly lambda?: LambdaClient;
  /** Client for Encrypt, used only with `--encrypt`. */
  readonly kms?: KMSClient;
}

/** What the command line asks for, validated. */
interface EnvSetRequest {
  readonly functionId: string;
  readonly assignments: readonly Assignment[];
  readonly unset: ReadonlySet<string>;
  readonly encrypt: ReadonlySet<string>;
  readonly kmsKeyId: string | undefined;
  readonly dryRun: boolean;
  readonly yes: boolean;
  /** Client options from --region and --profile. */
  readonly clientConfig: { readonly region?: string; readonly profile?: string };
}

/**
 * `custom-runtime env set`: merges changes into a function's environment variables and writes
 * them with the revision read, so a concurrent change is never overwritten. Resolves with the
 * exit status; output goes through `io`, and no value, old or new, is ever printed.
 */
export async function envSet(argv: readonly string[], io: CommandIo, deps: EnvSetDependencies = {}): Promise<number> {
  const parsed = parseRequest(argv);
  if (parsed === 'help') {
    io.stdout(ENV_SET_USAGE);
    return EXIT_OK;
  }
  const request = parsed;
  const values = await resolveValues(request.assignments, io);

  const lambda = deps.lambda ?? new LambdaClient({ ...request.clientConfig });
  let kms = deps.kms;
  // Every value seen, to scrub from messages that come back from AWS.
  const secrets: string[] = [...values.values()];
  try {
    const config = await readConfiguration(lambda, request.functionId, secrets);
    const functionName = config.FunctionName ?? request.functionId;
    const before = { ...config.Environment?.Variables };
    secrets.push(...Object.values(before));

    for (const key of request.unset) {
      if (!Object.hasOwn(before, key)) io.stderr(`note: ${key} is not set on ${functionName}; nothing to remove\n`);
    }
    const after: Record<string, string> = { ...before, ...Object.fromEntries(values) };
    for (const key of request.unset) delete after[key];

    const diff = diffEnvironment(before, after, request.encrypt);
    const notes = new Map([...request.encrypt].map((key) => [key, 'KMS-encrypted'] as const));
    io.stdout(`Changes to ${functionName} (revision ${config.RevisionId ?? 'unknown'}):\n${formatDiff(diff, notes)}`);
    if (!hasChanges(diff)) {
      io.stdout('No changes: nothing to write.\n');
      return EXIT_OK;
    }
    if (request.dryRun) {
      io.stdout('Dry run: nothing written.\n');
      return EXIT_OK;
    }
    if (config.RevisionId === undefined) {
      throw new CliError(`Lambda reported no RevisionId for ${functionName}: refusing to write without one; nothing was written`);
    }
    if (!request.yes) {
      const answer = await io.confirm(`Write these changes to ${functionName}? [y/N] `);
      if (answer === undefined) throw new UsageError('no terminal to confirm on: re-run with --yes (or --dry-run to only look)');
      if (!answer) {
        io.stderr('Aborted: nothing written.\n');
        return EXIT_FAILURE;
      }
    }

    if (request.encrypt.size > 0) {
      kms ??= new KMSClient({ ...request.clientConfig });
      for (const key of request.encrypt) {
        after[key] = await encryptValue(kms, request.kmsKeyId!, functionName, key, after[key]!, secrets);
        secrets.push(after[key]);
      }
    }

    const updated = await writeConfiguration(lambda, request.functionId, functionName, config.RevisionId, after, secrets);
    io.stdout(`Updated ${functionName}: ${summarizeDiff(diff)} (revision ${config.RevisionId} -> ${updated.RevisionId ?? 'unknown'}).\n`);
    return EXIT_OK;
  } finally {
    if (deps.lambda === undefined) lambda.destroy();
    if (deps.kms === undefined) kms?.destroy();
  }
}

function parseRequest(argv: readonly string[]): EnvSetRequest | 'help' {
  const { values, positionals } = parseOrUsage('env set', () =>
    parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        unset: { type: 'string', multiple: true },
        encrypt: { type: 'string', multiple: true },
        'kms-key': { type: 'string', multiple: true },
        'from-env': { type: 'string', multiple: true },
        region: { type: 'string' },
        profile: { type: 'string' },
        'dry-run': { type: 'boolean' },
        yes: { type: 'boolean', short: 'y' },
        help: { type: 'boolean', short: 'h' },
      },
    }),
  );
  if (values.help) return 'help';
  const [functionId, ...rest] = positionals;
  if (functionId === undefined || functionId === '') throw new UsageError('FUNCTION is missing (see `custom-runtime env set --help`)');

  const assignments: Assignment[] = rest.map((arg, index) => parseAssignment(arg, index + 1));
  for (const key of values['from-env'] ?? []) assignments.push({ key, source: { kind: 'env' } });
  const unset = new Set(values.unset ?? []);
  const encrypt = new Set(values.encrypt ?? []);

  const seen = new Set<string>();
  for (const { key } of assignments) {
    if (seen.has(key)) throw new UsageError(`${key} is given more than once`);
    seen.add(key);
  }
  if (assignments.length === 0 && unset.size === 0) throw new UsageError('nothing to change: give KEY=VALUE, --from-env KEY or --unset KEY');
  for (const key of [...seen, ...unset]) {
    const problem = environmentKeyProblem(key);
    if (problem !== undefined) throw new UsageError(problem);
  }
  for (const key of unset) if (seen.has(key)) throw new UsageError(`${key} is both set and unset`);
  for (const key of encrypt) if (!seen.has(key)) throw new UsageError(`--encrypt ${key}: ${key} is not set in this command`);

  const kmsKeys = new Set(values['kms-key'] ?? []);
  if (kmsKeys.size > 1) throw new UsageError('--kms-key is given with different keys: one key serves every --encrypt');
  const [kmsKeyId] = kmsKeys;
  if (encrypt.size > 0 && kmsKeyId === undefined) throw new UsageError('--encrypt needs --kms-key ID');
  if (encrypt.size === 0 && kmsKeyId !== undefined) throw new UsageError('--kms-key is only used with --encrypt KEY');

  for (const option of ['region', 'profile'] as const) {
    if (values[option] !== undefined && values[option].trim() === '') throw new UsageError(`--${option} is empty`);
  }
  const clientConfig = { ...(values.region !== undefined && { region: values.region }), ...(values.profile !== undefined && { profile: values.profile }) };
  return { functionId, assignments, unset, encrypt, kmsKeyId, dryRun: values['dry-run'] ?? false, yes: values.yes ?? false, clientConfig };
}

async function readConfiguration(lambda: LambdaClient, functionId: string, secrets: readonly string[]): Promise<FunctionConfiguration> {
  let config: FunctionConfiguration;
  try {
    config = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: functionId }));
  } catch (error) {
    if (errorName(error) === 'ResourceNotFoundException') throw new CliError(`function ${functionId} not found`);
    throw new CliError(`could not read the configuration of ${functionId}: ${describeAwsError(error, secrets)}`);
  }
  const environmentError = config.Environment?.Error;
  if (environmentError !== undefined) {
    // Writing now would replace variables Lambda cannot show us with only the ones we set.
    throw new CliError(
      `Lambda cannot show the environment variables of ${functionId} (${environmentError.ErrorCode ?? 'unknown error'}): ` +
        'merging would remove them, so nothing was written',
    );
  }
  return config;
}

async function encryptValue(
  kms: KMSClient,
  keyId: string,
  functionName: string,
  key: string,
  plaintext: string,
  secrets: readonly string[],
): Promise<string> {
  try {
    const { CiphertextBlob } = await kms.send(
      new EncryptCommand({
        KeyId: keyId,
        Plaintext: Buffer.from(plaintext, 'utf8'),
        EncryptionContext: { LambdaFunctionName: functionName },
      }),
    );
    if (CiphertextBlob === undefined) throw new CliError(`KMS returned no ciphertext for ${key}; nothing was written`);
    return Buffer.from(CiphertextBlob).toString('base64');
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`could not encrypt ${key} with KMS key ${keyId}: ${describeAwsError(error, secrets)}; nothing was written`);
  }
}

async function writeConfiguration(
  lambda: LambdaClient,
  functionId: string,
  functionName: string,
  revisionId: string,
  variables: Record<string, string>,
  secrets: readonly string[],
): Promise<FunctionConfiguration> {
  try {
    return await lambda.send(
      new UpdateFunctionConfigurationCommand({ FunctionName: functionId, RevisionId: revisionId, Environment: { Variables: variables } }),
    );
  } catch (error) {
    switch (errorName(error)) {
      case 'PreconditionFailedException':
        throw new CliError(
          `${functionName} changed since it was read (revision ${revisionId}): nothing was written. ` +
            'Re-run the command to apply your changes on top of the current configuration.',
        );
      case 'ResourceConflictException':
        throw new CliError(`an update of ${functionName} is in progress: nothing was written. Re-run when it has finished.`);
      case 'InvalidParameterValueException':
        // Lambda's message for this one can quote the variables, values included.
        throw new CliError(
          `Lambda refused the variables of ${functionName} (InvalidParameterValueException; its message is not shown ` +
            'as it can quote values): usually more than 4 KB in total or a reserved key. Nothing was written.',
        );
      default:
        throw new CliError(`could not update ${functionName}: ${describeAwsError(error, secrets)}; nothing was written`);
    }
  }
}

function errorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

/** `Name: message` of an SDK error with every known value scrubbed out; missing credentials or region said as such. */
function describeAwsError(error: unknown, secrets: readonly string[]): string {
  const name = errorName(error);
  const message = error instanceof Error ? error.message : '';
  if (name === 'CredentialsProviderError' || /could not load credentials/i.test(message)) {
    return 'no AWS credentials found: give --profile NAME (or set AWS_PROFILE), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY';
  }
  if (/region is missing/i.test(message)) return 'no AWS region: give --region REGION (or set AWS_REGION, or a region in the profile)';
  if (name === 'ExpiredTokenException' || name === 'ExpiredToken') return `the AWS credentials have expired (${name}): renew them (e.g. aws sso login)`;
  const text = error instanceof Error ? `${error.name}: ${error.message}` : 'unknown error';
  return redactValues(text, secrets);
}
