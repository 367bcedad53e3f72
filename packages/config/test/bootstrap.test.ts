/**
 * The config layer end to end: the example handler (fixtures/app.mjs) run by the built
 * bootstrap (dist/bootstrap), importing the built package, with the real SDK clients talking to
 * the Secrets Manager and KMS stand-ins.
 */
import { chmod } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { InvocationResult, LocalFunction } from '@custom-runtime/local';
import { makeTaskRoot } from '@custom-runtime/test-support';
import { FIXTURES, FUNCTION_NAME, NEXT_PATH, seedApp, sha256, startWorld, type AppValues, type World } from './fixtures/world.js';

const VALUES: AppValues = {
  apiKey: 'api-key-1',
  otherKey: 'other-key-1',
  dbUsername: 'admin',
  dbPassword: 'db-password-1',
  legacyToken: 'legacy-token-1',
};

/** What fixtures/app.mjs answers for {@link VALUES}. */
function expectedFacts(user: string | null, values: AppValues = VALUES): Record<string, unknown> {
  return {
    table: 'orders',
    logLevel: 'info',
    port: 8080,
    user,
    apiKey: sha256(values.apiKey),
    dbUsername: sha256(values.dbUsername),
    dbPassword: sha256(values.dbPassword),
    legacyToken: sha256(values.legacyToken),
  };
}

function succeeded(result: InvocationResult, fn: LocalFunction): unknown {
  expect(result.status, `${result.text()}\n${fn.logs()}`).toBe('success');
  return result.json();
}

/** The first `GET /next`: everything init does happens before it. */
function firstNextAt(fn: LocalFunction): number {
  const next = fn.runtimeApi.requests.find((r) => r.method === 'GET' && r.path === NEXT_PATH);
  if (next === undefined) throw new Error('no /next request yet');
  return next.receivedAt;
}

async function startApp(world: World, handler = 'app.handler', env: Record<string, string | undefined> = {}): Promise<LocalFunction> {
  const seed = seedApp(world, VALUES);
  return world.start({ handler, env: { ...seed.env, ...env } });
}

describe('the issue example through the bootstrap', () => {
  it('resolves env, Secrets Manager, KMS and payload fields', async () => {
    const world = await startWorld();
    const fn = await startApp(world);
    expect(succeeded(await fn.invoke({ customer: { id: 'c-42' } }), fn)).toEqual(expectedFacts('c-42'));
    // Payload fields are per invocation: absent here, optional in the schema.
    expect(succeeded(await fn.invoke({}), fn)).toEqual(expectedFacts(null));
    expect(succeeded(await fn.invoke({ customer: { id: 'c-43' } }), fn)).toEqual(expectedFacts('c-43'));
  });

  it('applies the env schema: an enum value, a default, a coerced number', async () => {
    const world = await startWorld();
    const fn = await startApp(world, 'app.handler', { LOG_LEVEL: 'debug', PORT: '9090' });
    expect(succeeded(await fn.invoke({}), fn)).toMatchObject({ logLevel: 'debug', port: 9090 });
  });

  it('prefetches during init, before the first /next, and a warm invocation makes no call', async () => {
    const world = await startWorld();
    const fn = await startApp(world);
    await fn.runtimeApi.waitForPoll();
    const nextAt = firstNextAt(fn);
    // One batch for both secrets (no versions), one Decrypt, all answered before /next.
    expect(world.sm.calls.map((c) => c.operation)).toEqual(['BatchGetSecretValue']);
    expect(world.sm.calls[0]?.input).toMatchObject({ SecretIdList: expect.arrayContaining(['app/api', 'app/db']) });
    expect(world.kms.calls.map((c) => c.operation)).toEqual(['Decrypt']);
    for (const call of [...world.sm.calls, ...world.kms.calls]) {
      expect(call.errorCode).toBeUndefined();
      expect(call.at).toBeLessThanOrEqual(nextAt);
    }
    const counts = [world.sm.callCount(), world.kms.callCount()];
    expect(succeeded(await fn.invoke({ customer: { id: 'c-1' } }), fn)).toEqual(expectedFacts('c-1'));
    expect(succeeded(await fn.invoke({ customer: { id: 'c-2' } }), fn)).toEqual(expectedFacts('c-2'));
    expect([world.sm.callCount(), world.kms.callCount()]).toEqual(counts);
  });

  it('gives each concurrent invocation its own payload fields and one config object (AWS_LAMBDA_MAX_CONCURRENCY)', async () => {
    const world = await startWorld();
    const fn = await startApp(world, 'app.concurrent', { AWS_LAMBDA_MAX_CONCURRENCY: '4' });
    await fn.runtimeApi.waitForPoll(4);
    // Later invocations wait less, so they interleave with the earlier ones.
    const results = await Promise.all(
      [1, 2, 3, 4].map((i) => fn.invoke({ customer: { id: `c-${i}` }, delayMs: 80 - i * 20 })),
    );
    expect(results.map((r) => succeeded(r, fn))).toEqual(
      [1, 2, 3, 4].map((i) => ({ first: `c-${i}`, second: `c-${i}`, table: 'orders', same: true })),
    );
    expect(world.sm.callCount()).toBe(1);
  });

  it('passes the config as the third argument with withConfig, bound to the event', async () => {
    const world = await startWorld();
    const fn = await startApp(world, 'app.wrapped');
    await fn.runtimeApi.waitForPoll();
    // The wrapped handler carries the prefetch method: only it and `config` are exported.
    expect(world.sm.callCount()).toBe(1);
    const result = await fn.invoke({ customer: { id: 'c-7' } }, { requestId: 'req-wrapped' });
    expect(succeeded(result, fn)).toEqual({ ...expectedFacts('c-7'), requestId: 'req-wrapped', sameAsGetConfig: true });
    expect(world.sm.callCount()).toBe(1);
  });
});

describe('secret references in the env var', () => {
  // [label, API_KEY_SECRET, DB_SECRET, expected values]
  const forms: ReadonlyArray<
    readonly [string, (api: { arn: string; name: string }, db: { arn: string; name: string }) => [string, string], AppValues]
  > = [
    ['a name', (api, db) => [api.name, db.name], VALUES],
    ['a full ARN', (api, db) => [api.arn, db.arn], VALUES],
    ['a partial ARN', (api, db) => [partialArn(api.arn), partialArn(db.arn)], VALUES],
    [
      'CloudFormation segments',
      (api, db) => [`${api.name}:SecretString:apiKey::`, `${db.arn}:SecretString:::`],
      VALUES,
    ],
    [
      'a {{resolve:secretsmanager:...}} string',
      (api, db) => [`{{resolve:secretsmanager:${api.arn}:SecretString:apiKey}}`, `{{resolve:secretsmanager:${db.name}}}`],
      VALUES,
    ],
    // The reference's json-key segment wins over the field's `key: 'apiKey'` option.
    [
      'a JSON key segment overriding the key option',
      (api, db) => [`${partialArn(api.arn)}:SecretString:other`, db.name],
      { ...VALUES, apiKey: VALUES.otherKey },
    ],
  ];

  for (const [label, references, values] of forms) {
    it(`resolves ${label}`, async () => {
      const world = await startWorld();
      const seed = seedApp(world, VALUES);
      const [apiRef, dbRef] = references(seed.api, seed.db);
      const fn = await world.start({ handler: 'app.handler', env: { ...seed.env, API_KEY_SECRET: apiRef, DB_SECRET: dbRef } });
      expect(succeeded(await fn.invoke({ customer: { id: 'c-1' } }), fn)).toEqual(expectedFacts('c-1', values));
      expect(world.sm.calls.every((c) => c.errorCode === undefined)).toBe(true);
    });
  }

  it('reads the AWSPREVIOUS version after putSecretValue with GetSecretValue', async () => {
    const world = await startWorld();
    const seed = seedApp(world, VALUES);
    world.sm.putSecretValue(seed.api.name, JSON.stringify({ apiKey: 'api-key-2', other: 'other-key-2' }));

    const previous = await world.start({
      handler: 'app.handler',
      env: { ...seed.env, API_KEY_SECRET: `${seed.api.name}:SecretString::AWSPREVIOUS` },
    });
    expect(succeeded(await previous.invoke({}), previous)).toEqual(expectedFacts(null));
    const get = world.sm.calls.find((c) => c.operation === 'GetSecretValue');
    expect(get?.input).toEqual({ SecretId: seed.api.name, VersionStage: 'AWSPREVIOUS' });

    const current = await world.start({ handler: 'app.handler', env: seed.env });
    expect(succeeded(await current.invoke({}), current)).toEqual(expectedFacts(null, { ...VALUES, apiKey: 'api-key-2' }));
  });
});

describe('other sources', () => {
  it('hands a SecretBinary secret to the schema as bytes and decrypts KMS without a context', async () => {
    const world = await startWorld();
    const bytes = Uint8Array.from([0, 1, 2, 250, 251, 252, 253, 254, 255]);
    world.sm.createSecret('app/signing-key', bytes);
    const fn = await world.start({
      handler: 'extras.handler',
      env: {
        SIGNING_KEY_SECRET: 'app/signing-key',
        PLAIN_TOKEN_ENCRYPTED: world.kms.encryptToBase64(world.keyId, 'plain-token-1'),
      },
    });
    expect(succeeded(await fn.invoke({}), fn)).toEqual({
      signingKeyIsBytes: true,
      signingKeyLength: bytes.length,
      signingKey: sha256(bytes),
      plainToken: sha256('plain-token-1'),
    });
    const decrypt = world.kms.calls.find((c) => c.operation === 'Decrypt');
    expect(decrypt?.input.EncryptionContext).toBeUndefined();
  });

  it("decrypts with the console helper's context, built from the function name", async () => {
    const world = await startWorld();
    const fn = await startApp(world);
    expect(succeeded(await fn.invoke({}), fn)).toMatchObject({ legacyToken: sha256(VALUES.legacyToken) });
    expect(world.kms.calls[0]?.input.EncryptionContext).toEqual({ LambdaFunctionName: FUNCTION_NAME });
  });

  it('fails init with Runtime.ConfigInvalid when the function name does not match the context', async () => {
    const world = await startWorld();
    const seed = seedApp(world, VALUES);
    const fn = await world.start({ handler: 'app.handler', functionName: 'other-fn', env: seed.env });
    const initError = await fn.runtimeApi.waitForInitError();
    expect(initError.errorType).toBe('Runtime.ConfigInvalid');
    expect(initError.error?.errorMessage).toBe(
      'invalid configuration, 1 field failed:\n' +
        '  legacyToken (kms via env LEGACY_TOKEN_ENCRYPTED): bad ciphertext or wrong encryption context (InvalidCiphertextException): ' +
        `sent {"LambdaFunctionName":"other-fn"} (encryptionContext 'function-name'); if it was encrypted for another function name, ` +
        'give that context as a record, or leave encryptionContext out if it was encrypted without one',
    );
    expect(world.kms.calls[0]?.input.EncryptionContext).toEqual({ LambdaFunctionName: 'other-fn' });
    expect((await fn.exited).code).not.toBe(0);
  });
});

describe('init failures', () => {
  it('posts /init/error typed Runtime.ConfigInvalid naming every failed field, and exits non-zero', async () => {
    const world = await startWorld();
    const seed = seedApp(world, VALUES);
    world.sm.denySecret(seed.db.name);
    const fn = await world.start({
      handler: 'app.handler',
      env: { ...seed.env, TABLE_NAME: undefined, PORT: 'eighty', API_KEY_SECRET: 'app/missing' },
    });
    const initError = await fn.runtimeApi.waitForInitError();
    expect(initError.errorType).toBe('Runtime.ConfigInvalid');
    expect(initError.headers['lambda-runtime-function-error-type']).toBe('Runtime.ConfigInvalid');
    expect(initError.error?.errorType).toBe('Runtime.ConfigInvalid');
    const lines = initError.error?.errorMessage.split('\n') ?? [];
    expect(lines[0]).toBe('invalid configuration, 4 fields failed:');
    expect(lines.slice(1)).toEqual([
      '  tableName (env TABLE_NAME): missing',
      expect.stringMatching(/^ {2}port \(env PORT\): invalid: .+/),
      '  apiKey (secretsmanager "app/missing" via env API_KEY_SECRET): secret not found',
      '  db (secretsmanager "app/db" via env DB_SECRET): access denied',
    ]);
    expect((await fn.exited).code).not.toBe(0);
    // The handler never ran: not a single /next.
    expect(fn.runtimeApi.pollCount).toBe(0);
    expect(fn.logs()).toContain('Runtime.ConfigInvalid');
  });

  it('says there are no AWS credentials, and which variables give them, in Runtime.ConfigInvalid', async () => {
    const world = await startWorld();
    const seed = seedApp(world, VALUES);
    const fn = await world.start({
      handler: 'app.handler',
      // Nothing for the SDK's default chain either: no IMDS, no shared files.
      env: { ...seed.env, AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined, AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: '/nonexistent/config', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials' },
    });
    const initError = await fn.runtimeApi.waitForInitError();
    expect(initError.errorType).toBe('Runtime.ConfigInvalid');
    const lines = initError.error?.errorMessage.split('\n') ?? [];
    expect(lines[0]).toBe('invalid configuration, 3 fields failed:');
    for (const line of lines.slice(1)) {
      expect(line).toMatch(/: no AWS credentials: set AWS_ACCESS_KEY_ID\/AWS_SECRET_ACCESS_KEY, a profile \(AWS_PROFILE\), or the container credentials variables \(AWS_CONTAINER_CREDENTIALS_FULL_URI or AWS_CONTAINER_CREDENTIALS_RELATIVE_URI\)$/);
    }
    expect(initError.error?.errorMessage).not.toContain('could not reach');
    expect(world.sm.callCount() + world.kms.callCount()).toBe(0);
  });

  it('reports an invocation ConfigError for an invalid payload field and keeps serving', async () => {
    const world = await startWorld();
    const fn = await startApp(world);
    const bad = await fn.invoke({ customer: { id: 42 } });
    expect(bad.status).toBe('error');
    expect(bad.errorType).toBe('Runtime.ConfigInvalid');
    expect(bad.error?.errorMessage).toMatch(/^invalid configuration, 1 field failed:\n {2}customerId \(payload customer\.id\): invalid: /);
    expect(succeeded(await fn.invoke({ customer: { id: 'c-1' } }), fn)).toEqual(expectedFacts('c-1'));
    expect(fn.hasExited).toBe(false);
  });
});

describe('the payload is an allowlist', () => {
  it('never sets a field that does not declare payload()', async () => {
    const world = await startWorld();
    const fn = await startApp(world);
    const event = {
      tableName: 'evil',
      TABLE_NAME: 'evil',
      logLevel: 'warn',
      port: 1,
      PORT: '1',
      apiKey: 'evil',
      API_KEY_SECRET: 'evil/secret',
      db: { username: 'evil', password: 'evil' },
      legacyToken: 'evil',
      customer: { id: 'c-9' },
    };
    expect(succeeded(await fn.invoke(event), fn)).toEqual(expectedFacts('c-9'));
  });

  const attacks = [
    '{"customer":{"__proto__":{"id":"evil","polluted":"yes"}}}',
    '{"__proto__":{"polluted":"yes","customer":{"id":"evil"}}}',
    '{"constructor":{"prototype":{"polluted":"yes","id":"evil"}}}',
    '{"customer":{"constructor":{"prototype":{"id":"evil"}},"prototype":{"id":"evil"},"__proto__":{"id":"evil"}}}',
    '{"customer":{"id":{"__proto__":{"polluted":"yes"}}}}',
  ];

  it('leaves prototypes untouched and the process healthy under pollution attempts', async () => {
    const world = await startWorld();
    const fn = await startApp(world, 'app.pollution');
    const baseline = succeeded(await fn.invoke({ customer: { id: 'c-1' } }), fn) as Record<string, unknown>;
    expect(baseline).toMatchObject({ user: 'c-1', table: 'orders', inert: [null, null, null], polluted: false });
    for (const rawBody of attacks) {
      const result = await fn.invoke(undefined, { rawBody });
      if (rawBody.includes('"id":{')) {
        // An object where a string is expected: a ConfigError for this invocation only.
        expect(result.errorType, rawBody).toBe('Runtime.ConfigInvalid');
        continue;
      }
      expect(succeeded(result, fn), rawBody).toEqual({
        user: null,
        table: 'orders',
        inert: [null, null, null],
        polluted: false,
        objectPrototypeKeys: baseline.objectPrototypeKeys,
        eventProtoIsObject: true,
      });
    }
    expect(succeeded(await fn.invoke({ customer: { id: 'c-2' } }), fn)).toMatchObject({ user: 'c-2', polluted: false });
    expect(fn.hasExited).toBe(false);
  });
});

describe('command handlers with CUSTOM_RUNTIME_CONFIG', () => {
  const script = `#!/bin/sh
set -eu
event=$(cat)
printf '{"table":"%s","port":"%s","apiToken":"%s","apiKeySet":"%s","db":%s,"legacyToken":"%s","customerId":"%s"}' \\
  "$TABLE_NAME" "$PORT" "$API_TOKEN" "\${API_KEY+set}" "$DB" "$LEGACY_TOKEN" "\${CUSTOMER_ID:-}"
`;
  const configSpec = path.join(FIXTURES, 'command-config.config');

  it('receives the resolved values as env vars, payload fields per event', async () => {
    const world = await startWorld();
    const seed = seedApp(world, VALUES);
    // fixtures/handler.sh next to fixtures/command-config.mjs, named relative to the task root.
    await chmod(path.join(FIXTURES, 'handler.sh'), 0o755);
    const fn = await world.start({
      handler: 'handler.sh',
      env: { ...seed.env, TABLE_NAME: 'orders-table', CUSTOM_RUNTIME_CONFIG: 'command-config.config' },
    });
    await fn.runtimeApi.waitForPoll();
    // Prefetched during init as for module handlers.
    const nextAt = firstNextAt(fn);
    expect(world.sm.callCount()).toBe(1);
    expect(world.kms.callCount()).toBe(1);
    for (const call of [...world.sm.calls, ...world.kms.calls]) expect(call.at).toBeLessThanOrEqual(nextAt);

    const expected = {
      table: 'orders-table',
      port: '8080',
      apiToken: VALUES.apiKey,
      apiKeySet: '',
      db: { username: VALUES.dbUsername, password: VALUES.dbPassword },
      legacyToken: VALUES.legacyToken,
    };
    expect(succeeded(await fn.invoke({ customer: { id: 'c-1' }, tableName: 'evil' }), fn)).toEqual({ ...expected, customerId: 'c-1' });
    // Nothing of the previous event survives into the next child's environment.
    expect(succeeded(await fn.invoke({}), fn)).toEqual({ ...expected, customerId: '' });
    expect(succeeded(await fn.invoke({ customer: { id: 'c-2' } }), fn)).toEqual({ ...expected, customerId: 'c-2' });
    expect([world.sm.callCount(), world.kms.callCount()]).toEqual([1, 1]);
  });

  it('reports an invalid payload field as the invocation error without running the script', async () => {
    const world = await startWorld();
    const seed = seedApp(world, VALUES);
    const marker = 'script-ran';
    const root = await makeTaskRoot({
      'handler.sh': { content: `#!/bin/sh\necho ${marker} >&2\ncat\n`, mode: 0o755 },
    });
    const fn = await world.start({ taskRoot: root, handler: 'handler.sh', env: { ...seed.env, CUSTOM_RUNTIME_CONFIG: configSpec } });
    const bad = await fn.invoke({ customer: { id: ['not', 'a', 'string'] } });
    expect(bad.errorType).toBe('Runtime.ConfigInvalid');
    expect(bad.error?.errorMessage).toContain('customerId (payload customer.id): invalid');
    expect(fn.logs()).not.toContain(marker);
    expect(succeeded(await fn.invoke({ ok: true }), fn)).toEqual({ ok: true });
  });

  it('fails init with Runtime.ConfigInvalid when a secret of the attached config is missing (absolute spec)', async () => {
    const world = await startWorld();
    const seed = seedApp(world, VALUES);
    const root = await makeTaskRoot({ 'handler.sh': { content: script, mode: 0o755 } });
    const fn = await world.start({
      taskRoot: root,
      handler: 'handler.sh',
      env: { ...seed.env, DB_SECRET: 'app/nope', CUSTOM_RUNTIME_CONFIG: configSpec },
    });
    const initError = await fn.runtimeApi.waitForInitError();
    expect(initError.errorType).toBe('Runtime.ConfigInvalid');
    expect(initError.error?.errorMessage).toContain('db (secretsmanager "app/nope" via env DB_SECRET): secret not found');
    expect((await fn.exited).code).not.toBe(0);
  });
});

function partialArn(arn: string): string {
  return arn.replace(/-[A-Za-z0-9]{6}$/, '');
}
