/**
 * Every example image, assembled from its Dockerfile (the final stage's COPY instructions, see
 * image.ts) and run as Lambda runs it: the assembled /var/runtime/bootstrap with the assembled
 * /var/task, the handler from the image's CMD or the function's ImageConfig.Command, the
 * Dockerfile's ENV and the function's Environment.Variables from template.yaml. The `!Ref`s of
 * the template get stand-in values (the Secrets Manager stand-in's secret ARN, a ciphertext of
 * the KMS stand-in, Parameter Store names seeded in its stand-in) and the dynamic reference is
 * resolved as CloudFormation would at deploy time.
 *
 * Needs `pnpm build` (the bootstrap and the examples' dist/) and, for the images that compile a
 * C program (minimal), a C compiler `cc`: without one, the functions of those images are skipped
 * with a message saying so (CI has `cc` and runs them).
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  evaluate,
  isRecord,
  readTemplate,
  resolveDynamicReferences,
  samFunctions,
  type EvaluationContext,
  type SamFunction,
} from '@custom-runtime/cli';
import {
  startKms,
  startParameterStore,
  startSecretsManager,
  type KmsStandIn,
  type LocalFunction,
  type ParameterStoreStandIn,
  type SecretsManagerStandIn,
} from '@custom-runtime/local';
import { BOOTSTRAP, REPO_ROOT, startBootstrap } from '@custom-runtime/test-support';
import { assembleImage, compileStagePrograms, compileSteps, dockerfileOf, hasCompiler, readDockerfile, type AssembledImage } from './image.js';

const TEMPLATE = path.join(REPO_ROOT, 'template.yaml');
const template = await readTemplate(TEMPLATE, { uniqueKeys: true });
const functions = samFunctions(template);
const STACK_NAME = 'custom-runtime-examples';

// The images whose Dockerfile compiles C, when this host has no `cc` to compile it with: their
// functions cannot be assembled here, and are skipped (said once, below), not failed.
const HAS_CC = hasCompiler();
const needsCc = new Set<string>();
for (const fn of functions) {
  const file = dockerfileOf(fn);
  if (!HAS_CC && compileSteps(await readDockerfile(file, REPO_ROOT)).length > 0) needsCc.add(file);
}
const skippedForCc = (fn: SamFunction): boolean => needsCc.has(dockerfileOf(fn));
if (needsCc.size > 0) {
  console.warn(
    `examples/test/images.test.ts: no C compiler \`cc\` on the PATH, so the functions of ${[...needsCc].map((f) => path.relative(REPO_ROOT, f)).join(', ')} ` +
      `(${functions.filter(skippedForCc).map((fn) => fn.logicalId).join(', ')}) are skipped: install gcc or clang to run them (CI does).`,
  );
}

/** The first 8 hex digits of the SHA-256, as the secrets example reports values. */
function fingerprint(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 8);
}
function factsOf(value: string): { present: true; length: number; sha256: string } {
  return { present: true, length: Buffer.byteLength(value), sha256: fingerprint(value) };
}
function randomToken(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
}

// What CloudFormation and the deployer would provide, made up for this run.
const password = randomToken(24);
const secretString = JSON.stringify({ username: 'example', password });
const apiToken = `api-${randomToken(18)}`;
const requestToken = `req-${randomToken(12)}`;
const legacyTokens: Readonly<Record<string, string>> = {
  SecretsFunction: `legacy-${randomToken(12)}`,
  SecretsShellFunction: `legacy-shell-${randomToken(12)}`,
};
// The String parameter the stack creates (its Value in template.yaml) and a SecureString the
// deployer would create with `aws ssm put-parameter --type SecureString`.
const greetingParameter = { name: `/${STACK_NAME}/greeting`, value: String(template.resources.get('ExamplesGreetingParameter')?.properties.Value) };
const secureParameter = { name: `/${STACK_NAME}/api-key`, value: `ssm-${randomToken(18)}` };
const credentials = { AWS_ACCESS_KEY_ID: `AKIA${randomToken(12)}`, AWS_SECRET_ACCESS_KEY: randomToken(30), AWS_SESSION_TOKEN: randomToken(40) };
/** No answer and no log line may contain any of these. */
const secretValues = [password, secretString, apiToken, requestToken, secureParameter.value, ...Object.values(legacyTokens), ...Object.values(credentials)];

let workDir: string;
let secretsManager: SecretsManagerStandIn;
let kms: KmsStandIn;
let parameterStore: ParameterStoreStandIn;
let context: EvaluationContext;
let secretsById: Map<string, string>;
const images = new Map<string, AssembledImage>();

beforeAll(async () => {
  if (!existsSync(BOOTSTRAP)) throw new Error(`${BOOTSTRAP} does not exist: run \`pnpm build\` first`);
  workDir = await mkdtemp(path.join(tmpdir(), 'example-images-'));
  secretsManager = await startSecretsManager();
  kms = await startKms({ region: secretsManager.region, accountId: secretsManager.accountId });
  parameterStore = await startParameterStore({ kms, region: secretsManager.region, accountId: secretsManager.accountId });
  parameterStore.putParameter(greetingParameter.name, greetingParameter.value, { type: 'String' });
  parameterStore.putParameter(secureParameter.name, secureParameter.value, { type: 'SecureString' });

  const secret = secretsManager.createSecret(`${STACK_NAME}-ExamplesSecret`, secretString);
  secretsById = new Map([
    [secret.arn, secretString],
    [secret.name, secretString],
  ]);
  const key = kms.createKey({ description: 'ExamplesKey' });
  // The console helper's context: each ciphertext decrypts only for the function it names.
  const encryptFor = (fn: string): string => kms.encryptToBase64(key.keyId, legacyTokens[fn] as string, { LambdaFunctionName: fn });
  context = {
    template,
    refs: {
      'AWS::Region': secretsManager.region,
      'AWS::AccountId': secretsManager.accountId,
      'AWS::Partition': 'aws',
      'AWS::StackName': STACK_NAME,
      ApiToken: apiToken,
      LegacyTokenCiphertext: encryptFor('SecretsFunction'),
      ShellLegacyTokenCiphertext: encryptFor('SecretsShellFunction'),
      ExistingKmsKeyId: '',
      ExamplesSecret: secret.arn,
      ExamplesKey: key.keyId,
      // An AWS::SSM::Parameter's Ref is its name.
      ExamplesGreetingParameter: greetingParameter.name,
      SecureParameterName: secureParameter.name,
      ...Object.fromEntries(functions.map((fn) => [fn.logicalId, fn.logicalId])),
    },
  };

  for (const fn of functions) {
    const dockerfile = dockerfileOf(fn);
    if (images.has(dockerfile) || needsCc.has(dockerfile)) continue;
    await compileStagePrograms(await readDockerfile(dockerfile, REPO_ROOT), REPO_ROOT);
    const root = path.join(workDir, path.basename(path.dirname(dockerfile)));
    images.set(dockerfile, await assembleImage(dockerfile, REPO_ROOT, root));
  }
}, 60_000);

afterAll(async () => {
  await secretsManager?.close();
  await parameterStore?.close();
  await kms?.close();
  if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
});

function imageOf(fn: SamFunction): AssembledImage {
  const image = images.get(dockerfileOf(fn));
  if (image === undefined) throw new Error(`no image assembled for ${fn.logicalId}`);
  return image;
}

function templateFunction(logicalId: string): SamFunction {
  const fn = functions.find((f) => f.logicalId === logicalId);
  if (fn === undefined) throw new Error(`template.yaml has no function ${logicalId}`);
  return fn;
}

interface StartOptions {
  /** The handler to run instead of the function's (ImageConfig.Command, else the image's CMD). */
  readonly handler?: string;
  /** Variables changed after the template's are evaluated. */
  readonly variables?: Readonly<Record<string, string>>;
  /** Initialise for SnapStart, as Lambda does when it publishes a version with `SnapStart`. */
  readonly snapStart?: boolean;
}

/** Starts the function's image on the stand-ins, as Lambda would start it. */
async function start(fn: SamFunction, options: StartOptions = {}): Promise<LocalFunction> {
  const image = imageOf(fn);
  // What the template may say that this harness does not simulate is refused, not ignored.
  const { ImageConfig: imageConfig } = fn.resource.properties;
  for (const unsupported of ['EntryPoint', 'WorkingDirectory']) {
    if (isRecord(imageConfig) && imageConfig[unsupported] !== undefined) throw new Error(`${fn.logicalId}: ImageConfig.${unsupported} is not supported by the example tests`);
  }
  if (isRecord(imageConfig) && imageConfig.Command !== undefined && fn.command === undefined) throw new Error(`${fn.logicalId}: ImageConfig.Command must be a list of strings`);
  const { variables: declared, memorySizeMb, timeoutSeconds } = fn;
  if (declared === undefined || memorySizeMb === undefined || timeoutSeconds === undefined) {
    throw new Error(`${fn.logicalId}: Environment.Variables must be a mapping, MemorySize and Timeout numbers`);
  }
  const env: Record<string, string> = {};
  for (const [name, value] of image.ownEnv) {
    // PATH names /var/lang/bin of the image, whose node the host's stands in for.
    if (name !== 'PATH' && name !== 'LD_LIBRARY_PATH') env[name] = value;
  }
  const where = `${fn.logicalId}.Environment.Variables`;
  const variables = evaluate(Object.fromEntries(declared), context, where) as Record<string, unknown>;
  for (const [name, value] of Object.entries(variables)) {
    env[name] = resolveDynamicReferences(String(value), (id) => {
      const found = secretsById.get(id);
      if (found === undefined) throw new Error(`${where}.${name}: no secret ${id}`);
      return found;
    }, `${where}.${name}`);
  }
  Object.assign(env, options.variables, credentials, {
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.url,
    AWS_ENDPOINT_URL_KMS: kms.url,
    AWS_ENDPOINT_URL_SSM: parameterStore.url,
  });
  return startBootstrap({
    bootstrap: image.bootstrap,
    taskRoot: image.taskRoot,
    handler: options.handler ?? fn.command?.[0] ?? (image.cmd[0] as string),
    functionName: fn.logicalId,
    memoryMb: memorySizeMb,
    region: secretsManager.region,
    timeoutMs: timeoutSeconds * 1000,
    env,
    ...(options.snapStart === true && { snapStart: true }),
  });
}

/** Fails when an answer or the logs contain a secret value. */
function expectNoSecretIn(...texts: string[]): void {
  for (const text of texts) for (const value of secretValues) expect(text.includes(value), 'a secret value was printed').toBe(false);
}

/** What a check gets: the running function, its image, and how many calls the Secrets Manager stand-in had before it started. */
type Check = (fn: LocalFunction, image: AssembledImage, secretsManagerCallsBefore: number) => Promise<void>;

/** What each template function must answer; every function of template.yaml needs an entry. */
const checks: Readonly<Record<string, Check>> = {
  MinimalShellFunction: async (fn) => {
    const result = await fn.invoke({ greeting: 'hi', list: [1, 2] }, { requestId: 'req-shell' });
    expect(result.status, fn.logs()).toBe('success');
    expect(result.json()).toEqual({ handler: 'handler.sh', requestId: 'req-shell', event: { greeting: 'hi', list: [1, 2] } });
    await fn.waitForLog(/handler\.sh: request req-shell/);
  },

  MinimalBinaryFunction: async (fn) => {
    const body = '{"name":"C \\"quoted\\"","n":42}';
    const result = await fn.invoke(undefined, { requestId: 'req-c', rawBody: body });
    expect(result.status, fn.logs()).toBe('success');
    expect(result.json()).toEqual({
      handler: 'hello',
      message: 'Hello from C',
      requestId: 'req-c',
      eventBytes: Buffer.byteLength(body),
      event: { name: 'C "quoted"', n: 42 },
    });
    await fn.waitForLog(/hello: request req-c, \d+ bytes of event/);
  },

  EnvironmentVariablesFunction: async (fn, image) => {
    const traceId = 'Root=1-5e1b4151-5ac6c58f1b2a3c4d5e6f7a8b;Parent=53995c3f42cd8ad8;Sampled=1';
    const result = await fn.invoke({ name: 'Ada' }, { traceId, requestId: 'req-env' });
    expect(result.status, fn.logs()).toBe('success');
    const body = result.json<Record<string, Record<string, unknown>>>();
    expect(body).toMatchObject({
      message: 'Hello, Ada!',
      userDefined: { GREETING: 'Hello', MAX_ITEMS: 25, VERBOSE: false },
      runtimeDefined: {
        AWS_REGION: secretsManager.region,
        AWS_DEFAULT_REGION: secretsManager.region,
        AWS_LAMBDA_FUNCTION_NAME: 'EnvironmentVariablesFunction',
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: 256,
        AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
        AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
        AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/EnvironmentVariablesFunction',
        AWS_LAMBDA_RUNTIME_API: fn.runtimeApi.address,
        LAMBDA_TASK_ROOT: image.taskRoot,
        LAMBDA_RUNTIME_DIR: path.dirname(image.bootstrap),
        _HANDLER: 'handler.handler',
        // An OS-only runtime: provided.al2023 sets no AWS_EXECUTION_ENV.
        AWS_EXECUTION_ENV: null,
      },
      perInvocation: { _X_AMZN_TRACE_ID: traceId, requestId: 'req-env' },
      credentials: {
        AWS_ACCESS_KEY_ID: { present: true },
        AWS_SECRET_ACCESS_KEY: { present: true },
        AWS_SESSION_TOKEN: { present: true },
      },
    });
    expect(body.runtimeDefined?.AWS_LAMBDA_LOG_STREAM_NAME).toMatch(/^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/);
    // The trace id belongs to one invocation.
    const untraced = await fn.invoke({});
    expect(untraced.json<Record<string, Record<string, unknown>>>().perInvocation).toMatchObject({ _X_AMZN_TRACE_ID: null });
    expect(untraced.json()).toMatchObject({ message: 'Hello, world!' });
    expectNoSecretIn(result.text(), untraced.text(), fn.logs());
  },

  SecretsFunction: async (fn, _image, callsBefore) => {
    const result = await fn.invoke({ requestToken, unrelated: 'x' });
    expect(result.status, fn.logs()).toBe('success');
    expect(result.json()).toEqual({
      handler: 'handler.handler',
      stage: 'dev',
      fields: {
        apiToken: { source: 'env API_TOKEN (NoEcho parameter ApiToken)', ...factsOf(apiToken) },
        resolvedPassword: { source: 'env RESOLVED_PASSWORD (dynamic reference, resolved at deploy time)', ...factsOf(password) },
        secretString: { source: 'Secrets Manager EXAMPLES_SECRET_ARN, whole SecretString', ...factsOf(secretString) },
        credentials: { source: 'Secrets Manager EXAMPLES_SECRET_ARN, parsed JSON', present: true, keys: ['password', 'username'] },
        password: { source: 'Secrets Manager EXAMPLES_SECRET_ARN, JSON key password', ...factsOf(password) },
        requestToken: { source: 'payload requestToken', ...factsOf(requestToken) },
        legacyToken: { source: 'KMS Decrypt of LEGACY_TOKEN_ENCRYPTED', ...factsOf(legacyTokens.SecretsFunction as string) },
        greeting: { source: 'Parameter Store EXAMPLES_PARAMETER (String)', present: true, value: greetingParameter.value },
        parameterApiKey: { source: 'Parameter Store EXAMPLES_SECURE_PARAMETER (SecureString, decrypted)', ...factsOf(secureParameter.value) },
      },
      checks: { dynamicReferenceIsCurrent: true, jsonKeyMatchesParsedSecret: true },
    });
    // Without the payload field: absent, and nothing else changes.
    const bare = await fn.invoke({});
    expect(bare.json<{ fields: Record<string, unknown> }>().fields.requestToken).toEqual({ source: 'payload requestToken', present: false });
    // Three fields, one secret: fetched once, during init, in one batch.
    expect(secretsManager.calls.slice(callsBefore).map((c) => c.operation)).toEqual(['BatchGetSecretValue']);
    // Both parameters: one GetParameters call, decrypting.
    expect(parameterStore.calls.map((c) => [c.operation, c.input['Names'], c.input['WithDecryption']])).toEqual([
      ['GetParameters', [greetingParameter.name, secureParameter.name], true],
    ]);
    expectNoSecretIn(result.text(), bare.text(), fn.logs());
  },

  SecretsShellFunction: async (fn) => {
    const result = await fn.invoke({ requestToken });
    expect(result.status, fn.logs()).toBe('success');
    expect(result.json()).toEqual({
      handler: 'handler.sh',
      stage: 'dev',
      fields: {
        API_TOKEN: factsOf(apiToken),
        RESOLVED_PASSWORD: factsOf(password),
        SECRET_STRING: factsOf(secretString),
        // Objects reach a command as JSON.
        CREDENTIALS: factsOf(JSON.stringify({ username: 'example', password })),
        PASSWORD: factsOf(password),
        REQUEST_TOKEN: factsOf(requestToken),
        LEGACY_TOKEN: factsOf(legacyTokens.SecretsShellFunction as string),
        GREETING: factsOf(greetingParameter.value),
        PARAMETER_API_KEY: factsOf(secureParameter.value),
      },
    });
    const bare = await fn.invoke({});
    expect(bare.json<{ fields: Record<string, unknown> }>().fields.REQUEST_TOKEN).toEqual({ present: false });
    await fn.waitForLog(/handler\.sh: request \S+ answered/);
    expectNoSecretIn(result.text(), bare.text(), fn.logs());
  },
};

describe('each function of template.yaml, on its assembled image', () => {
  it('has a check here', () => {
    expect(functions.map((fn) => fn.logicalId).sort()).toEqual(Object.keys(checks).sort());
  });

  for (const fn of functions) {
    const handler = fn.command === undefined ? 'the image CMD' : `ImageConfig.Command ${JSON.stringify(fn.command)}`;
    it.skipIf(skippedForCc(fn))(`${fn.logicalId} answers (${handler})`, async () => {
      const check = checks[fn.logicalId];
      if (check === undefined) throw new Error(`add a check for ${fn.logicalId} to images.test.ts`);
      const callsBefore = secretsManager.calls.length;
      parameterStore.resetCalls();
      await check(await start(fn), imageOf(fn), callsBefore);
    });
  }
});

describe('each image with its own CMD', () => {
  // The function that runs the CMD in the template when there is one; otherwise the first one
  // built from the image, whose variables the CMD then runs with.
  const byImage = new Map<string, SamFunction>();
  for (const fn of functions) {
    const dockerfile = dockerfileOf(fn);
    if (!byImage.has(dockerfile) || fn.command === undefined) byImage.set(dockerfile, fn);
  }
  for (const [dockerfile, fn] of byImage) {
    it.skipIf(needsCc.has(dockerfile))(`${path.relative(REPO_ROOT, dockerfile)} runs its CMD`, async () => {
      const image = imageOf(fn);
      const running = await start(fn, { handler: image.cmd[0] as string });
      const result = await running.invoke({});
      expect(result.status, running.logs()).toBe('success');
      // Each example's answer names the handler that ran (minimal and secrets as `handler`,
      // environment-variables as `_HANDLER`).
      expect(result.text()).toContain(`"${image.cmd[0]}"`);
      expectNoSecretIn(result.text(), running.logs());
    });
  }
});

describe('failures name the variable, never the value', () => {
  it('a MAX_ITEMS that is not a number fails the init of environment-variables', async () => {
    const fn = await start(templateFunction('EnvironmentVariablesFunction'), { variables: { MAX_ITEMS: 'plenty' } });
    const result = await fn.invoke({});
    expect(result.status).toBe('init-error');
    expect(result.errorType).toBe('Runtime.ConfigInvalid');
    expect(result.error?.errorMessage).toContain('maxItems (env MAX_ITEMS)');
    expect(result.text()).not.toContain('plenty');
  });

  it("a ciphertext made for the other function does not decrypt (the context names the function)", async () => {
    const fn = await start(templateFunction('SecretsFunction'), { variables: { LEGACY_TOKEN_ENCRYPTED: context.refs.ShellLegacyTokenCiphertext as string } });
    const result = await fn.invoke({});
    expect(result.status).toBe('init-error');
    expect(result.errorType).toBe('Runtime.ConfigInvalid');
    expect(result.error?.errorMessage).toContain('LEGACY_TOKEN_ENCRYPTED');
    expect(result.text()).not.toContain(context.refs.ShellLegacyTokenCiphertext as string);
    expectNoSecretIn(result.text(), fn.logs());
  });

  it('a shell function whose secret is denied fails before running the script', async () => {
    const arn = context.refs.ExamplesSecret as string;
    secretsManager.denySecret(arn);
    try {
      const fn = await start(templateFunction('SecretsShellFunction'));
      const result = await fn.invoke({ requestToken });
      expect(result.status).toBe('init-error');
      expect(result.errorType).toBe('Runtime.ConfigInvalid');
      expect(result.error?.errorMessage).toMatch(/EXAMPLES_SECRET_ARN.*access denied|access denied.*EXAMPLES_SECRET_ARN/s);
      expect(fn.logs()).not.toContain('handler.sh: request');
      expectNoSecretIn(result.text(), fn.logs());
    } finally {
      secretsManager.allowSecret(arn);
    }
  });
});

describe('SnapStart (template: SnapStart ApplyOn PublishedVersions)', () => {
  const snapStarted = functions.filter((fn) => {
    const snapStart = fn.resource.properties.SnapStart;
    return isRecord(snapStart) && snapStart.ApplyOn === 'PublishedVersions';
  });

  it('is on for SecretsFunction, with an alias that publishes a version', () => {
    expect(snapStarted.map((fn) => fn.logicalId)).toEqual(['SecretsFunction']);
    expect(templateFunction('SecretsFunction').resource.properties.AutoPublishAlias).toBe('live');
  });

  it('SecretsFunction answers after a snapshot and a restore, with its config fetched again', async () => {
    const fn = templateFunction('SecretsFunction');
    const callsBefore = secretsManager.calls.length;
    const running = await start(fn, { snapStart: true });
    await running.snapshot();
    expect(secretsManager.calls.slice(callsBefore).map((c) => c.operation)).toEqual(['BatchGetSecretValue']);
    await running.restore();
    const result = await running.invoke({ requestToken });
    expect(result.status, running.logs()).toBe('success');
    expect(result.json()).toMatchObject({ handler: 'handler.handler', checks: { dynamicReferenceIsCurrent: true, jsonKeyMatchesParsedSecret: true } });
    // Once during init, once after the restore, none for the invocation.
    expect(secretsManager.calls.slice(callsBefore).map((c) => c.operation)).toEqual(['BatchGetSecretValue', 'BatchGetSecretValue']);
    expect(running.logs()).toMatch(/restored from the SnapStart snapshot \(taken \d+ s ago\)/);
    expectNoSecretIn(result.text(), running.logs());
  });
});
