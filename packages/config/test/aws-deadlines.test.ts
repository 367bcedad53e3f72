/**
 * Hangs and storms (issue 8): an endpoint that never answers, one that pages forever, one that
 * fails every call, one that answers "Signature expired" — each ends, is reported per field and
 * keeps the number of calls bounded.
 */
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { correctClock, forgetClockOffset } from '../src/aws/clock-skew.js';
import type { SecretsManagerApi } from '../src/clients.js';
import { fetchSecrets, MAX_BATCH_PAGES } from '../src/sources/secrets-manager.js';
import { clearConfigCache, ConfigError, defineConfig, env, getConfig, kms, secret } from '../src/index.js';
import { freezeDate, later, setEnv, startStandIns, type StandIns } from './helpers.js';
import { seedApp, startWorld } from './fixtures/world.js';

let aws: StandIns;
let keyId: string;
const restores: Array<() => void> = [];
beforeAll(async () => {
  aws = await startStandIns();
  keyId = aws.kms.createKey().keyId;
});
afterAll(() => aws.close());
beforeEach(() => aws.reset());
afterEach(() => {
  vi.useRealTimers();
  for (const restore of restores.splice(0).reverse()) restore();
  forgetClockOffset();
});

let counter = 0;
function makeSecret(env: string, value: string): string {
  const name = `deadline/${++counter}-${Date.now()}`;
  aws.sm.createSecret(name, value);
  restores.push(setEnv({ [env]: name }));
  return name;
}

async function failure(promise: Promise<unknown>): Promise<ConfigError> {
  const error = await promise.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

const TIMED_OUT = /^timed out: no complete response within \d+ ms \((attempt|call) timeout\)$/;

describe('an endpoint that accepts and never answers', () => {
  it('ends within the call timeout and names every field, Secrets Manager and KMS alike', async () => {
    restores.push(setEnv({ CUSTOM_RUNTIME_CONFIG_ATTEMPT_TIMEOUT_MS: '150', CUSTOM_RUNTIME_CONFIG_CALL_TIMEOUT_MS: '400' }));
    makeSecret('S', 'v');
    restores.push(setEnv({ TOKEN: aws.kms.encryptToBase64(keyId, 'p') }));
    aws.sm.injectFault({ kind: 'hang', times: Infinity });
    aws.kms.injectFault({ kind: 'hang', times: Infinity });
    const error = await failure(getConfig(defineConfig({ s: secret('S'), token: kms('TOKEN') })));
    expect(error.issues.map((i) => [i.field, i.reason])).toEqual([
      ['s', 'unavailable'],
      ['token', 'unavailable'],
    ]);
    for (const issue of error.issues) expect(issue.message).toMatch(TIMED_OUT);
    // Timeouts are retried (as the SDK does), within the call's budget: at most AWS_MAX_ATTEMPTS.
    expect(aws.sm.callCount()).toBeLessThanOrEqual(2);
    expect(aws.kms.callCount()).toBeLessThanOrEqual(2);
  });

  it('counts the TLS handshake in the connect timeout', async () => {
    // A TCP listener that accepts and says nothing: the TLS handshake never completes.
    const sockets: Socket[] = [];
    const silent = createServer((socket) => void sockets.push(socket));
    await once(silent.listen(0, '127.0.0.1'), 'listening');
    restores.push(() => {
      for (const socket of sockets) socket.destroy();
      silent.close();
    });
    const port = (silent.address() as AddressInfo).port;
    restores.push(setEnv({ AWS_ENDPOINT_URL_SECRETS_MANAGER: `https://127.0.0.1:${port}`, AWS_MAX_ATTEMPTS: '1' }));
    makeSecret('S', 'v');
    const config = defineConfig({ s: secret('S') }, { clients: { timeouts: { connectMs: 100 } } });
    const error = await failure(getConfig(config));
    expect(error.issues[0]).toMatchObject({ field: 's', reason: 'unavailable', message: 'timed out: could not connect within 100 ms (connect timeout)' });
    expect(sockets.length).toBe(1);
  });

  it('takes the timeouts of the definition over the env vars', async () => {
    restores.push(setEnv({ CUSTOM_RUNTIME_CONFIG_ATTEMPT_TIMEOUT_MS: '60000', CUSTOM_RUNTIME_CONFIG_CALL_TIMEOUT_MS: '60000', AWS_MAX_ATTEMPTS: '1' }));
    makeSecret('S', 'v');
    aws.sm.injectFault({ kind: 'hang', times: Infinity });
    const config = defineConfig({ s: secret('S') }, { clients: { timeouts: { attemptMs: 120, callMs: 5_000 } } });
    const error = await failure(getConfig(config));
    expect(error.issues[0]).toMatchObject({ field: 's', reason: 'unavailable', message: 'timed out: no complete response within 120 ms (attempt timeout)' });
  });

  it('holds for the fallback SDK clients too (their requestHandler timeouts)', async () => {
    restores.push(setEnv({ CUSTOM_RUNTIME_CONFIG_TRANSPORT: 'sdk', CUSTOM_RUNTIME_CONFIG_ATTEMPT_TIMEOUT_MS: '150', AWS_MAX_ATTEMPTS: '1' }));
    makeSecret('S', 'v');
    aws.sm.injectFault({ kind: 'hang', times: Infinity });
    const error = await failure(getConfig(defineConfig({ s: secret('S') })));
    expect(error.issues[0]).toMatchObject({ field: 's', reason: 'unavailable', message: expect.stringMatching(/^timed out: .*150 ms requestTimeout/) });
    expect(aws.sm.calls[0]?.userAgent).toMatch(/aws-sdk-js/);
  });

  it('rejects a timeout that is not a positive number of milliseconds', () => {
    return expect(getConfig(defineConfig({ s: secret('S') }, { clients: { timeouts: { attemptMs: -1 } } }))).rejects.toThrow(
      'timeouts.attemptMs must be a number of milliseconds > 0, got -1',
    );
  });

  it('fails every AWS field naming a timeout variable that is not a number of milliseconds, never falling back', async () => {
    // Unset or empty means the default; anything else must be a number > 0.
    for (const [variable, text] of [
      ['CUSTOM_RUNTIME_CONFIG_CONNECT_TIMEOUT_MS', '2s'],
      ['CUSTOM_RUNTIME_CONFIG_ATTEMPT_TIMEOUT_MS', '0'],
      ['CUSTOM_RUNTIME_CONFIG_CALL_TIMEOUT_MS', '-5'],
    ] as const) {
      const restore = setEnv({ [variable]: text });
      try {
        makeSecret('S', 'v');
        restores.push(setEnv({ TOKEN: aws.kms.encryptToBase64(keyId, 'p'), PLAIN: 'plain' }));
        clearConfigCache();
        const error = await failure(getConfig(defineConfig({ s: secret('S'), t: kms('TOKEN'), plain: env('PLAIN') })));
        const why = `${variable} must be a number of milliseconds > 0 (e.g. 2000), got '${text}'`;
        expect(error.issues.map((i) => [i.field, i.reason, i.message])).toEqual([
          ['s', 'invalid-request', why],
          ['t', 'invalid-request', why],
        ]);
      } finally {
        restore();
      }
    }
    expect(aws.sm.callCount() + aws.kms.callCount()).toBe(0);
    restores.push(setEnv({ CUSTOM_RUNTIME_CONFIG_CALL_TIMEOUT_MS: '' }));
    clearConfigCache();
    await expect(getConfig(defineConfig({ s: secret('S') }))).resolves.toEqual({ s: 'v' });
  });

  it('through the bootstrap: a bad timeout variable is a Runtime.ConfigInvalid at init naming it', async () => {
    const world = await startWorld();
    const seed = seedApp(world, { apiKey: 'a', otherKey: 'o', dbUsername: 'u', dbPassword: 'p', legacyToken: 't' });
    const fn = await world.start({ handler: 'app.handler', env: { ...seed.env, CUSTOM_RUNTIME_CONFIG_CONNECT_TIMEOUT_MS: '1 second' } });
    const initError = await fn.runtimeApi.waitForInitError();
    expect(initError.errorType).toBe('Runtime.ConfigInvalid');
    const why = "CUSTOM_RUNTIME_CONFIG_CONNECT_TIMEOUT_MS must be a number of milliseconds > 0 (e.g. 2000), got '1 second'";
    expect(initError.error?.errorMessage.split('\n')).toEqual([
      'invalid configuration, 3 fields failed:',
      `  apiKey (secretsmanager via env API_KEY_SECRET): ${why}`,
      `  db (secretsmanager via env DB_SECRET): ${why}`,
      `  legacyToken (kms via env LEGACY_TOKEN_ENCRYPTED): ${why}`,
    ]);
    expect(world.sm.callCount() + world.kms.callCount()).toBe(0);
    expect((await fn.exited).code).not.toBe(0);
  });

  it('through the bootstrap: init fails with Runtime.ConfigInvalid naming the fields and the timeout', async () => {
    const world = await startWorld();
    const seed = seedApp(world, { apiKey: 'a', otherKey: 'o', dbUsername: 'u', dbPassword: 'p', legacyToken: 't' });
    world.sm.injectFault({ kind: 'hang', times: Infinity });
    const fn = await world.start({
      handler: 'app.handler',
      env: { ...seed.env, CUSTOM_RUNTIME_CONFIG_ATTEMPT_TIMEOUT_MS: '200', CUSTOM_RUNTIME_CONFIG_CALL_TIMEOUT_MS: '500' },
    });
    const initError = await fn.runtimeApi.waitForInitError();
    expect(initError.errorType).toBe('Runtime.ConfigInvalid');
    const lines = initError.error?.errorMessage.split('\n') ?? [];
    expect(lines[0]).toBe('invalid configuration, 2 fields failed:');
    expect(lines[1]).toMatch(/^ {2}apiKey \(secretsmanager "app\/api" via env API_KEY_SECRET\): timed out: no complete response within \d+ ms \((attempt|call) timeout\)$/);
    expect(lines[2]).toMatch(/^ {2}db \(secretsmanager "app\/db" via env DB_SECRET\): timed out: /);
    expect((await fn.exited).code).not.toBe(0);
  });
});

describe('BatchGetSecretValue paging', () => {
  it('stops when the same NextToken comes back and reports the fields', async () => {
    makeSecret('S', 'v');
    aws.sm.injectFault({ operation: 'BatchGetSecretValue', kind: 'repeat-next-token', times: Infinity });
    const error = await failure(getConfig(defineConfig({ s: secret('S') })));
    expect(error.issues[0]).toMatchObject({
      field: 's',
      reason: 'unavailable',
      message: 'BatchGetSecretValue answered a NextToken it had already given; stopped paging',
    });
    // The first page gave the token, the second repeated it; nothing is fetched one by one.
    expect(aws.sm.calls.map((c) => c.operation)).toEqual(['BatchGetSecretValue', 'BatchGetSecretValue']);
  });

  it(`stops after ${MAX_BATCH_PAGES} pages of new tokens`, async () => {
    let pages = 0;
    const api: SecretsManagerApi = {
      identity: {},
      batchGetSecretValue: () => Promise.resolve({ SecretValues: [], NextToken: `token-${++pages}` }),
      getSecretValue: () => Promise.reject(new Error('not expected')),
    };
    const results = await fetchSecrets(api, new Map([['k', { secretId: 'a', form: 'name', jsonKey: undefined, versionId: undefined, versionStage: undefined }]]));
    expect(pages).toBe(MAX_BATCH_PAGES);
    expect(results.get('k')).toEqual({
      ok: false,
      failure: { kind: 'unavailable', code: 'PaginationLoop', message: `BatchGetSecretValue still paging after ${MAX_BATCH_PAGES} pages; stopped` },
    });
  });
});

describe('an endpoint failing every call', () => {
  it('is asked again after 1 s, 2 s, 4 s, 8 s ... per key, without a cached value', async () => {
    restores.push(setEnv({ AWS_MAX_ATTEMPTS: '1' }));
    makeSecret('A', 'a');
    makeSecret('B', 'b');
    const configA = defineConfig({ a: secret('A') });
    const configB = defineConfig({ b: secret('B') });
    aws.sm.injectFault({ kind: 'server-error', times: Infinity });
    freezeDate();
    const fetchesA: number[] = [];
    const fetchesB: number[] = [];
    for (let second = 0; second <= 31; second++) {
      const beforeA = aws.sm.callCount();
      await failure(getConfig(configA));
      if (aws.sm.callCount() > beforeA) fetchesA.push(second);
      // B starts failing 2 s later: its schedule is its own.
      if (second >= 2) {
        const beforeB = aws.sm.callCount();
        await failure(getConfig(configB));
        if (aws.sm.callCount() > beforeB) fetchesB.push(second);
      }
      later(1);
    }
    expect(fetchesA).toEqual([0, 1, 3, 7, 15, 31]);
    expect(fetchesB).toEqual([2, 3, 5, 9, 17]);
  });
});

describe('InvalidSignatureException "Signature expired"', () => {
  it('is re-signed and retried once, then served', async () => {
    makeSecret('S', 'v');
    restores.push(setEnv({ TOKEN: aws.kms.encryptToBase64(keyId, 'p') }));
    aws.sm.injectFault({ kind: 'signature-expired' });
    aws.kms.injectFault({ kind: 'signature-expired' });
    await expect(getConfig(defineConfig({ s: secret('S'), token: kms('TOKEN') }))).resolves.toEqual({ s: 'v', token: 'p' });
    expect(aws.sm.calls.map((c) => c.errorCode)).toEqual(['InvalidSignatureException', undefined]);
    expect(aws.kms.calls.map((c) => c.errorCode)).toEqual(['InvalidSignatureException', undefined]);
  });

  it('is never a permanent failure: reported unavailable (and backed off) when it persists', async () => {
    makeSecret('S', 'v');
    aws.sm.injectFault({ kind: 'signature-expired', times: Infinity });
    const error = await failure(getConfig(defineConfig({ s: secret('S') })));
    expect(error.issues[0]).toMatchObject({ reason: 'unavailable', message: 'request signature expired or clock skewed (InvalidSignatureException)' });
    expect(aws.sm.callCount()).toBe(2);
  });

  it('corrects the clock offset from the Date header before re-signing', async () => {
    makeSecret('S', 'v');
    // As if the local clock were 20 minutes behind: the stand-in answers "not yet current".
    expect(correctClock(new Date(Date.now() + 20 * 60_000).toUTCString())).toBe(true);
    await expect(getConfig(defineConfig({ s: secret('S') }))).resolves.toEqual({ s: 'v' });
    expect(aws.sm.calls.map((c) => c.errorCode)).toEqual(['InvalidSignatureException', undefined]);
  });
});
