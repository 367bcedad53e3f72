import { readFile } from 'node:fs/promises';
import { startKms, startParameterStore, startSecretsManager, type KmsStandIn, type ParameterStoreStandIn, type ParameterType, type SecretsManagerStandIn } from '@custom-runtime/local';
import { CliError, UsageError } from './cli-error.js';
import { parseJsonText } from './json-text.js';

/**
 * The values of the local stand-ins, from a JSON file (`local-seed.json` by default):
 *
 * ```json
 * { "secrets": { "NAME": "SecretString" | { "json": "object" } },
 *   "kms": { "VARIABLE": "plaintext" | { "plaintext": "...", "encryptionContext": { "K": "V" } } },
 *   "parameters": { "/NAME": "String value" | ["StringList", "items"] | { "type": "SecureString", "value": "..." } } }
 * ```
 *
 * A secret is created under its name (an object is stored as its JSON text); a KMS entry sets
 * VARIABLE to a fresh base64 ciphertext of the plaintext, encrypted with the context given, by
 * default the Lambda console's `{"LambdaFunctionName": <function name>}`. A parameter is put
 * into the Parameter Store stand-in: a string as `String`, an array as `StringList`, an object
 * with its `type` (`String`, `StringList` or `SecureString`, encrypted through the KMS stand-in).
 */
export interface LocalSeed {
  readonly file: string;
  readonly secrets: ReadonlyMap<string, string>;
  readonly kms: ReadonlyMap<string, { readonly plaintext: string; readonly encryptionContext: Readonly<Record<string, string>> | undefined }>;
  /** Parameter Store values by parameter name. */
  readonly parameters: ReadonlyMap<string, { readonly type: ParameterType; readonly value: string | readonly string[] }>;
}

const PARAMETER_TYPES = new Set<string>(['String', 'StringList', 'SecureString']);

/** Reads and validates a seed file; messages name the entry, never a value. */
export async function readSeed(file: string): Promise<LocalSeed> {
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot read the seed file ${file}: ${error.code ?? 'read error'}`);
  });
  const document = parseJsonText(text, `the seed file ${file}`);
  if (!isObject(document)) throw new UsageError(`the seed file ${file} must hold an object: {"secrets": {...}, "kms": {...}, "parameters": {...}}`);
  for (const key of Object.keys(document)) {
    if (key !== 'secrets' && key !== 'kms' && key !== 'parameters') {
      throw new UsageError(`the seed file ${file} has an unknown key '${key}' (known: secrets, kms, parameters)`);
    }
  }
  const secrets = new Map<string, string>();
  for (const [name, value] of Object.entries(section(document.secrets, file, 'secrets'))) {
    if (typeof value === 'string') secrets.set(name, value);
    else if (isObject(value) || Array.isArray(value)) secrets.set(name, JSON.stringify(value));
    else throw new UsageError(`${file}: secrets.${name} must be a string or a JSON object`);
  }
  const kms = new Map<string, { plaintext: string; encryptionContext: Record<string, string> | undefined }>();
  for (const [variable, value] of Object.entries(section(document.kms, file, 'kms'))) {
    if (typeof value === 'string') {
      kms.set(variable, { plaintext: value, encryptionContext: undefined });
      continue;
    }
    const context = isObject(value) ? value.encryptionContext : undefined;
    if (!isObject(value) || typeof value.plaintext !== 'string' || (context !== undefined && !(isObject(context) && Object.values(context).every((v) => typeof v === 'string')))) {
      throw new UsageError(`${file}: kms.${variable} must be a plaintext string or {"plaintext": "...", "encryptionContext": {"KEY": "value"}}`);
    }
    kms.set(variable, { plaintext: value.plaintext, encryptionContext: context as Record<string, string> | undefined });
  }
  const parameters = new Map<string, { type: ParameterType; value: string | readonly string[] }>();
  const isList = (value: unknown): value is string[] => Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string');
  for (const [name, value] of Object.entries(section(document.parameters, file, 'parameters'))) {
    if (typeof value === 'string') {
      parameters.set(name, { type: 'String', value });
      continue;
    }
    if (isList(value)) {
      parameters.set(name, { type: 'StringList', value });
      continue;
    }
    const type = isObject(value) ? value.type : undefined;
    const given = isObject(value) ? value.value : undefined;
    const fits = type === 'StringList' ? isList(given) || typeof given === 'string' : typeof given === 'string';
    if (!isObject(value) || typeof type !== 'string' || !PARAMETER_TYPES.has(type) || !fits) {
      throw new UsageError(
        `${file}: parameters.${name} must be a string (String), an array of strings (StringList) or {"type": "String" | "StringList" | "SecureString", "value": "..."}`,
      );
    }
    parameters.set(name, { type: type as ParameterType, value: given as string | string[] });
  }
  return { file, secrets, kms, parameters };
}

/** Stand-ins started for one local invoke, and what the function needs to reach them. */
export interface SeededStandIns {
  /** Endpoints, dummy credentials and the KMS variables' ciphertexts. */
  readonly env: Readonly<Record<string, string>>;
  /** ARN of each seeded secret by name. */
  readonly secretArns: ReadonlyMap<string, string>;
  /** Id of the stand-in's key, when KMS was started. */
  readonly keyId: string | undefined;
  /** The encryption context each KMS variable was encrypted with (shown when a decrypt fails). */
  readonly contexts: ReadonlyMap<string, Readonly<Record<string, string>>>;
  close(): Promise<void>;
}

/**
 * Starts the Secrets Manager stand-in when `secrets` is true, the KMS stand-in when `kms` is
 * true and the Parameter Store stand-in when `parameters` is true, on 127.0.0.1, seeded from `seed`.
 */
export async function startSeededStandIns(
  seed: LocalSeed | undefined,
  want: { readonly secrets: boolean; readonly kms: boolean; readonly parameters: boolean },
  functionName: string,
): Promise<SeededStandIns> {
  const region = 'us-east-1';
  let sm: SecretsManagerStandIn | undefined;
  let kms: KmsStandIn | undefined;
  let ssm: ParameterStoreStandIn | undefined;
  const env: Record<string, string> = {};
  const secretArns = new Map<string, string>();
  const contexts = new Map<string, Readonly<Record<string, string>>>();
  let keyId: string | undefined;
  try {
    if (want.secrets) {
      sm = await startSecretsManager({ region });
      env.AWS_ENDPOINT_URL_SECRETS_MANAGER = sm.url;
      for (const [name, value] of seed?.secrets ?? []) secretArns.set(name, sm.createSecret(name, value).arn);
    }
    if (want.kms) {
      kms = await startKms({ region });
      env.AWS_ENDPOINT_URL_KMS = kms.url;
      keyId = kms.createKey({ description: 'custom-runtime invoke' }).keyId;
      for (const [variable, { plaintext, encryptionContext }] of seed?.kms ?? []) {
        const context = encryptionContext ?? { LambdaFunctionName: functionName };
        env[variable] = kms.encryptToBase64(keyId, plaintext, context);
        contexts.set(variable, context);
      }
    }
    if (want.parameters) {
      // SecureString values go through the KMS stand-in the function also reaches, when it runs.
      ssm = await startParameterStore({ region, ...(kms && { kms }) });
      env.AWS_ENDPOINT_URL_SSM = ssm.url;
      for (const [name, { type, value }] of seed?.parameters ?? []) ssm.putParameter(name, value, { type });
    }
  } catch (error) {
    await ssm?.close();
    await sm?.close();
    await kms?.close();
    throw new CliError(`could not start the local stand-ins: ${error instanceof Error ? error.message : 'unknown error'}`);
  }
  if (sm !== undefined || kms !== undefined || ssm !== undefined) {
    // The SDK in the function signs requests: any credentials do for the stand-ins.
    Object.assign(env, { AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', AWS_REGION: region });
  }
  return {
    env,
    secretArns,
    keyId,
    contexts,
    close: async () => {
      await ssm?.close();
      await sm?.close();
      await kms?.close();
    },
  };
}

function section(value: unknown, file: string, name: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (!isObject(value)) throw new UsageError(`${file}: ${name} must be an object`);
  return value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
