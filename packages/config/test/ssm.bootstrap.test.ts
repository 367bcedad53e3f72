/**
 * Parameter Store end to end: fixtures/ssm*.mjs run by the built bootstrap (dist/bootstrap),
 * importing the built package, reading the Parameter Store stand-in over the default (lean)
 * path; the parameters are seeded with the real SDK client. Includes the canary check: every
 * SecureString value is a unique random string, searched for in everything that leaves the
 * process (log lines, /error bodies, /init/error bodies, responses).
 */
import { randomUUID } from 'node:crypto';
import { LabelParameterVersionCommand, PutParameterCommand, SSMClient, type ParameterType } from '@aws-sdk/client-ssm';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { InvocationResult, LocalFunction } from '@custom-runtime/local';
import { sha256, startWorld, type World } from './fixtures/world.js';

function sdk(world: World): SSMClient {
  const client = new SSMClient({
    endpoint: world.ssm.url,
    region: world.ssm.region,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  onTestFinished(() => client.destroy());
  return client;
}

async function put(client: SSMClient, name: string, value: string, type: ParameterType = 'String'): Promise<number> {
  const out = await client.send(new PutParameterCommand({ Name: name, Value: value, Type: type, Overwrite: true }));
  return out.Version ?? 0;
}

interface Seeded {
  readonly env: Record<string, string>;
  readonly password: string;
  readonly securePinned: string;
  readonly treeToken: string;
}

/** Seeds every parameter fixtures/ssm.mjs reads, through the SDK; returns the env naming them. */
async function seed(world: World, secret: () => string = () => `pw-${randomUUID()}`): Promise<Seeded> {
  const client = sdk(world);
  const password = secret();
  const securePinned = secret();
  const treeToken = secret();
  await put(client, '/e2e/host', 'db.internal');
  await put(client, '/e2e/flag', 'one');
  await put(client, '/e2e/flag', 'two');
  await put(client, '/e2e/flag', 'three');
  await client.send(new LabelParameterVersionCommand({ Name: '/e2e/flag', ParameterVersion: 2, Labels: ['stable'] }));
  await put(client, '/e2e/password', password, 'SecureString');
  await put(client, '/e2e/pinned-secret', 'old-secure-value', 'SecureString');
  await put(client, '/e2e/pinned-secret', securePinned, 'SecureString');
  await put(client, '/e2e/hosts', 'a.internal,b.internal', 'StringList');
  await put(client, '/e2e/db', JSON.stringify({ host: 'db.internal', port: 5432 }));
  await put(client, '/e2e/tree/mode', 'blue');
  await put(client, '/e2e/tree/nested/token', treeToken, 'SecureString');
  await put(client, '/e2e/literal', 'from-code');
  return {
    password,
    securePinned,
    treeToken,
    env: {
      HOST_PARAM: '/e2e/host',
      ARN_PARAM: world.ssm.arnOf('/e2e/host'),
      VERSION_PARAM: '/e2e/flag:1',
      LABEL_PARAM: '/e2e/flag:stable',
      DYNAMIC_PARAM: '{{resolve:ssm:/e2e/flag:3}}',
      PASSWORD_PARAM: '/e2e/password',
      SECURE_DYNAMIC_PARAM: '{{resolve:ssm-secure:/e2e/pinned-secret:2}}',
      HOSTS_PARAM: '/e2e/hosts',
      DB_PARAM: '/e2e/db',
      TREE_PATH: '/e2e/tree/',
    },
  };
}

function expectedFacts(seeded: Seeded): Record<string, unknown> {
  return {
    host: 'db.internal',
    byArn: 'db.internal',
    firstVersion: 'one',
    stable: 'two',
    pinned: 'three',
    password: sha256(seeded.password),
    securePinned: sha256(seeded.securePinned),
    hosts: ['a.internal', 'b.internal'],
    dbPort: 5432,
    db: { host: 'db.internal', port: 5432 },
    treeMode: 'blue',
    treeToken: sha256(seeded.treeToken),
    literal: 'from-code',
  };
}

function succeeded(result: InvocationResult, fn: LocalFunction): unknown {
  expect(result.status, `${result.text()}\n${fn.logs()}`).toBe('success');
  return result.json();
}

describe('Parameter Store through the bootstrap', () => {
  it('reads every reference form, SecureString, StringList, a JSON key and a path, in one GetParameters call', async () => {
    const world = await startWorld();
    const seeded = await seed(world);
    world.ssm.resetCalls();
    const fn = await world.start({ handler: 'ssm.handler', env: seeded.env });
    expect(succeeded(await fn.invoke({}), fn)).toEqual(expectedFacts(seeded));
    expect(succeeded(await fn.invoke({}), fn)).toEqual(expectedFacts(seeded));
    // 11 parameter fields, 10 distinct selectors: one call; the path: one page; warm: nothing more.
    expect(world.ssm.callCount('GetParameters')).toBe(1);
    expect(world.ssm.callCount('GetParametersByPath')).toBe(1);
    const names = world.ssm.calls.find((c) => c.operation === 'GetParameters')?.input['Names'];
    expect(names).toEqual(
      expect.arrayContaining(['/e2e/flag:1', '/e2e/flag:stable', '/e2e/flag:3', '/e2e/pinned-secret:2', world.ssm.arnOf('/e2e/host')]),
    );
    expect(world.ssm.calls.every((c) => c.input['WithDecryption'] === true)).toBe(true);
  });

  it('fetches 25 parameters in 3 GetParameters calls', async () => {
    const world = await startWorld();
    const client = sdk(world);
    const env: Record<string, string> = {};
    for (let i = 0; i < 25; i++) {
      await put(client, `/many/p${i}`, `value-${i}`);
      env[`P_${i}`] = `/many/p${i}`;
    }
    world.ssm.resetCalls();
    const fn = await world.start({ handler: 'ssm-many.handler', env });
    expect(succeeded(await fn.invoke({}), fn)).toEqual(Array.from({ length: 25 }, (_, i) => `value-${i}`));
    expect(world.ssm.callCount('GetParameters')).toBe(3);
    expect(world.ssm.calls.map((c) => (c.input['Names'] as string[]).length).sort()).toEqual([10, 10, 5]);
  });

  it('names each invalid parameter, wrong type and schema failure by its field at init', async () => {
    const world = await startWorld();
    const client = sdk(world);
    await put(client, '/strict/present', 'here');
    await put(client, '/strict/pin', 'pin-31337-x', 'SecureString');
    await put(client, '/strict/secure', 'secure-31337-y', 'SecureString');
    const fn = await world.start({
      handler: 'ssm-strict.handler',
      env: {
        PRESENT_PARAM: '/strict/present',
        MISSING_PARAM: '/strict/missing',
        BAD_VERSION_PARAM: '/strict/present:9',
        BAD_LABEL_PARAM: '/strict/present:nope',
        PIN_PARAM: '/strict/pin',
        PLAIN_ONLY_PARAM: '/strict/secure',
      },
    });
    const initError = await fn.runtimeApi.waitForInitError();
    expect(initError.errorType).toBe('Runtime.ConfigInvalid');
    const message = initError.error?.errorMessage ?? '';
    expect(message).toContain('missing (ssm "/strict/missing" via env MISSING_PARAM): parameter not found');
    expect(message).toContain('badVersion (ssm "/strict/present:9" via env BAD_VERSION_PARAM): parameter version or label not found');
    expect(message).toContain('badLabel (ssm "/strict/present:nope" via env BAD_LABEL_PARAM): parameter version or label not found');
    expect(message).toContain('pin (ssm via env PIN_PARAM): invalid: expected a PIN, got [redacted]');
    expect(message).toContain('plainOnly (ssm "/strict/secure" via env PLAIN_ONLY_PARAM): invalid: the parameter is a SecureString, the field expects a String');
    expect(message).not.toContain('present (');
    expect((await fn.exited).code).not.toBe(0);
    const everything = `${initError.body.toString('utf8')}\n${fn.logs()}`;
    expect(everything).not.toContain('31337');
  });
});

describe.each(['Text', 'JSON'] as const)('canary with %s logs: SecureString values', (logFormat) => {
  it('stay out of log lines, /error bodies and /init/error bodies', async () => {
    const canaries: string[] = [];
    const canary = (): string => {
      const value = `canary-${randomUUID()}`;
      canaries.push(value);
      return value;
    };
    const world = await startWorld();
    const seeded = await seed(world, canary);
    const env = { ...seeded.env, AWS_LAMBDA_LOG_FORMAT: logFormat };
    const texts: Record<string, string> = {};

    const logs = await world.start({ handler: 'ssm.logs', env });
    const logged = await logs.invoke({});
    expect(succeeded(logged, logs)).toEqual(expectedFacts(seeded));
    texts.response = logged.text();
    await logs.stop();
    texts.logs = logs.logs();
    // Not vacuous: the config was printed, SecureString-fed fields redacted, String fields shown.
    expect(texts.logs).toContain('[redacted]');
    expect(texts.logs).toContain('db.internal');
    expect(texts.logs).toMatch(/resolved from ssm \\?"\/e2e\/password\\?"/);

    const fails = await world.start({ handler: 'ssm.fails', env });
    const failed = await fails.invoke({}, { requestId: 'req-ssm-fails' });
    expect(failed.status).toBe('error');
    texts.errorBody = failed.text();
    texts.error = JSON.stringify(failed.error ?? null);
    await fails.stop();
    texts.failLogs = fails.logs();
    expect(texts.failLogs).toContain('req-ssm-fails');

    // A SecureString an echoing schema rejects, and one behind a field declared String.
    const client = sdk(world);
    await put(client, '/strict/present', 'here');
    await put(client, '/strict/pin', canary(), 'SecureString');
    await put(client, '/strict/secure', canary(), 'SecureString');
    const strict = await world.start({
      handler: 'ssm-strict.handler',
      env: {
        AWS_LAMBDA_LOG_FORMAT: logFormat,
        PRESENT_PARAM: '/strict/present',
        MISSING_PARAM: '/strict/present',
        BAD_VERSION_PARAM: '/strict/present',
        BAD_LABEL_PARAM: '/strict/present',
        PIN_PARAM: '/strict/pin',
        PLAIN_ONLY_PARAM: '/strict/secure',
      },
    });
    const initError = await strict.runtimeApi.waitForInitError();
    expect(initError.error?.errorMessage).toContain('expected a PIN, got [redacted]');
    texts.initError = initError.body.toString('utf8');
    expect((await strict.exited).code).not.toBe(0);
    texts.initLogs = strict.logs();

    for (const [label, text] of Object.entries(texts)) {
      for (const value of canaries) {
        if (text.includes(value)) throw new Error(`${label} contains canary ${value}:\n${text}`);
      }
    }
  });
});
