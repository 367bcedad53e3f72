import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { SourceCache, type BatchFetcher } from '../src/cache.js';
import { FetchedValue } from '../src/fetched-value.js';
import { clearConfigCache, ConfigError, defineConfig, env, getConfig, kms, secret, TTL_ENV } from '../src/index.js';
import { captureLogger, freezeDate, later, setEnv, startStandIns, type StandIns } from './helpers.js';

let aws: StandIns;
let restore: () => void = () => {};
let counter = 0;

beforeAll(async () => {
  aws = await startStandIns();
});
afterAll(() => aws.close());
beforeEach(() => {
  freezeDate();
  clearConfigCache();
  aws.sm.resetCalls();
  aws.sm.clearFaults();
  aws.kms.resetCalls();
});
afterEach(() => {
  vi.useRealTimers();
  restore();
});

/** A secret and its env var; returns the secret's name. */
function makeSecret(envName: string, value: string): string {
  const name = `cache-${++counter}`;
  aws.sm.createSecret(name, value);
  const undo = setEnv({ [envName]: name });
  const before = restore;
  restore = () => {
    undo();
    before();
  };
  return name;
}

describe('cache', () => {
  it('serves a warm getConfig without any call', async () => {
    makeSecret('S', 'v1');
    const config = defineConfig({ s: secret('S') });
    const first = await getConfig(config);
    later(299);
    const second = await getConfig(config);
    expect(second).toBe(first);
    expect(aws.sm.callCount()).toBe(1);
  });

  it('refetches after the TTL (default 5 minutes)', async () => {
    const name = makeSecret('S', 'v1');
    const config = defineConfig({ s: secret('S') });
    expect((await getConfig(config)).s).toBe('v1');
    aws.sm.putSecretValue(name, 'v2');
    later(301);
    expect((await getConfig(config)).s).toBe('v2');
    expect(aws.sm.callCount()).toBe(2);
  });

  it('takes the TTL from the field, then the definition, then the env var', async () => {
    makeSecret('A', 'a');
    makeSecret('B', 'b');
    makeSecret('C', 'c');
    const undo = setEnv({ [TTL_ENV]: '30' });
    try {
      const viaField = defineConfig({ a: secret('A').cache({ ttlSeconds: 10 }) }, { ttlSeconds: 20 });
      const viaDefinition = defineConfig({ b: secret('B') }, { ttlSeconds: 20 });
      const viaEnv = defineConfig({ c: secret('C') });
      const all = async (): Promise<unknown> => Promise.all([getConfig(viaField), getConfig(viaDefinition), getConfig(viaEnv)]);
      await all();
      expect(aws.sm.callCount()).toBe(3);
      later(11);
      await all();
      expect(aws.sm.callCount()).toBe(4); // a
      later(10);
      await all();
      expect(aws.sm.callCount()).toBe(6); // a, b
      later(10);
      await all();
      expect(aws.sm.callCount()).toBe(8); // b, c (a is still fresh: fetched 10s ago)
    } finally {
      undo();
    }
  });

  it('shares one fetch between 50 concurrent getConfig calls', async () => {
    makeSecret('S', 'v1');
    restore = ((r) => () => (r(), aws.sm.setLatency(0)))(restore);
    aws.sm.setLatency(30);
    const config = defineConfig({ s: secret('S') });
    const results = await Promise.all(Array.from({ length: 50 }, () => getConfig(config)));
    expect(new Set(results).size).toBe(1);
    expect(aws.sm.callCount()).toBe(1);
  });

  it('shares one in-flight fetch between definitions using the same secret', async () => {
    makeSecret('S', 'v1');
    aws.sm.setLatency(30);
    try {
      const one = defineConfig({ s: secret('S') });
      const two = defineConfig({ other: secret('S', z.string().min(1)) });
      await Promise.all([getConfig(one), getConfig(two), getConfig(one)]);
      expect(aws.sm.callCount()).toBe(1);
    } finally {
      aws.sm.setLatency(0);
    }
  });

  it('does not re-validate an unchanged value at refresh', async () => {
    const name = makeSecret('S', '{"n":1}');
    let parses = 0;
    const config = defineConfig(
      {
        whole: secret('S', z.object({ n: z.number() }).transform((v) => (parses++, v))),
        n: secret('S', z.number().transform((v) => (parses++, v)), { key: 'n' }),
      },
      { ttlSeconds: 10 },
    );
    const first = await getConfig(config);
    expect(parses).toBe(2);
    later(11);
    const second = await getConfig(config); // refetched, same content: same parsed values
    expect(aws.sm.callCount()).toBe(2);
    expect(parses).toBe(2);
    expect(second.whole).toBe(first.whole);
    aws.sm.putSecretValue(name, '{"n":2}');
    later(11);
    expect(await getConfig(config)).toEqual({ whole: { n: 2 }, n: 2 });
    expect(parses).toBe(4);
  });

  it('serves the last good value when a refresh fails, with backoff and a log line', async () => {
    const name = makeSecret('S', 'good');
    const logger = captureLogger();
    const config = defineConfig({ s: secret('S') }, { ttlSeconds: 60, logger });
    await getConfig(config);
    later(61);
    aws.sm.injectFault({ operation: 'BatchGetSecretValue', kind: 'server-error', times: 2 });
    expect((await getConfig(config)).s).toBe('good');
    expect(aws.sm.callCount()).toBe(3); // first fetch + 2 attempts
    expect(logger.lines).toHaveLength(1);
    expect(logger.lines[0]).toMatch(
      new RegExp(`secretsmanager "${name}": refresh failed \\(service error .*\\); serving the value fetched 61s ago, next attempt in 1s`),
    );

    // Inside the backoff window: no call at all.
    later(0.5);
    expect((await getConfig(config)).s).toBe('good');
    expect(aws.sm.callCount()).toBe(3);

    // Failing again doubles the backoff.
    later(1);
    aws.sm.injectFault({ operation: 'BatchGetSecretValue', kind: 'throttle', times: 2 });
    expect((await getConfig(config)).s).toBe('good');
    expect(logger.lines[1]).toMatch(/refresh failed \(throttled after 2 attempts\).*next attempt in 2s/);
    later(1.5);
    await getConfig(config);
    expect(aws.sm.callCount()).toBe(5);

    // Recovered: the new value, and the backoff is over.
    aws.sm.putSecretValue(name, 'better');
    later(1);
    expect((await getConfig(config)).s).toBe('better');
    expect(aws.sm.callCount()).toBe(6);
  });

  it('stops serving a stale value after the max staleness', async () => {
    makeSecret('S', 'good');
    const logger = captureLogger();
    const config = defineConfig({ s: secret('S') }, { ttlSeconds: 60, maxStalenessSeconds: 30, logger });
    await getConfig(config);
    aws.sm.deny('BatchGetSecretValue');
    aws.sm.deny('GetSecretValue');
    try {
      later(61);
      // AccessDenied on a refresh is not served stale either: see the rotation tests.
      const error = (await getConfig(config).catch((e: unknown) => e)) as ConfigError;
      expect(error.issues[0]?.reason).toBe('access-denied');
    } finally {
      aws.sm.allow('BatchGetSecretValue');
      aws.sm.allow('GetSecretValue');
    }
    clearConfigCache();
    await getConfig(config);
    later(61);
    aws.sm.injectFault({ operation: 'BatchGetSecretValue', kind: 'server-error', times: 2 });
    expect((await getConfig(config)).s).toBe('good');
    later(31); // past ttl + max staleness
    aws.sm.injectFault({ operation: 'BatchGetSecretValue', kind: 'server-error', times: 2 });
    const error = (await getConfig(config).catch((e: unknown) => e)) as ConfigError;
    expect(error.issues[0]).toMatchObject({ field: 's', reason: 'unavailable' });
  });

  it('backs off after a transient failure even without a value to serve', async () => {
    makeSecret('S', 'v');
    const config = defineConfig({ s: secret('S') });
    aws.sm.injectFault({ operation: 'BatchGetSecretValue', kind: 'throttle', times: 2 });
    const error = (await getConfig(config).catch((e: unknown) => e)) as ConfigError;
    expect(error.issues[0]).toMatchObject({ reason: 'throttled', message: 'throttled after 2 attempts' });
    await expect(getConfig(config)).rejects.toBeInstanceOf(ConfigError);
    expect(aws.sm.callCount()).toBe(2);
    later(1);
    await expect(getConfig(config)).resolves.toEqual({ s: 'v' });
  });
});

describe('rotation', () => {
  it('drops the cached value on AccessDenied and fetches once again', async () => {
    const name = makeSecret('S', 'v1');
    const logger = captureLogger();
    aws.sm.deny('BatchGetSecretValue'); // GetSecretValue path, where a fault can hit one call
    try {
      const config = defineConfig({ s: secret('S') }, { ttlSeconds: 10, logger });
      expect((await getConfig(config)).s).toBe('v1');
      aws.sm.putSecretValue(name, 'v2');
      later(11);
      aws.sm.injectFault({ operation: 'GetSecretValue', kind: 'access-denied', times: 1 });
      expect((await getConfig(config)).s).toBe('v2');
      expect(aws.sm.callCount('GetSecretValue')).toBe(3);
      expect(logger.lines).toEqual([
        `[@custom-runtime/config] secretsmanager "${name}": AccessDeniedException on refresh; dropped the cached value and fetching once again`,
      ]);
    } finally {
      aws.sm.allow('BatchGetSecretValue');
    }
  });

  it('reports a lasting AccessDenied instead of serving the old value', async () => {
    const name = makeSecret('S', 'v1');
    const config = defineConfig({ s: secret('S') }, { ttlSeconds: 10, logger: captureLogger() });
    await getConfig(config);
    aws.sm.denySecret(name);
    later(11);
    const error = (await getConfig(config).catch((e: unknown) => e)) as ConfigError;
    expect(error.issues[0]).toMatchObject({ field: 's', reason: 'access-denied' });
    expect(aws.sm.callCount('BatchGetSecretValue')).toBe(3); // first, refresh, once again
  });

  it('applies to KMS too', async () => {
    const keyId = aws.kms.createKey().keyId;
    restore = ((r, u) => () => (r(), u()))(restore, setEnv({ T: aws.kms.encryptToBase64(keyId, 'plain') }));
    const config = defineConfig({ t: kms('T') }, { ttlSeconds: 10, logger: captureLogger() });
    await getConfig(config);
    later(11);
    aws.kms.injectFault({ operation: 'Decrypt', kind: 'access-denied', times: 1 });
    expect((await getConfig(config)).t).toBe('plain');
    expect(aws.kms.callCount('Decrypt')).toBe(3);
  });
});

describe('env-only definitions', () => {
  it('never expire and never load the SDK clients', async () => {
    restore = setEnv({ X: 'x' });
    const config = defineConfig({ x: env('X') });
    const first = await getConfig(config);
    later(10_000);
    expect(await getConfig(config)).toBe(first);
  });
});

describe('the process-wide store', () => {
  const policy = { ttlMs: 300_000, maxStalenessMs: 0 };
  const asked: string[] = [];
  const fetch: BatchFetcher<string> = async (requests) => {
    asked.push(...requests.keys());
    return new Map([...requests.keys()].map((key) => [key, { ok: true, value: new FetchedValue(key, undefined) }]));
  };
  const resolve = (cache: SourceCache, keys: string[]) =>
    cache.resolve(new Map(keys.map((key) => [key, { ...policy, request: key, label: key }])), fetch, captureLogger());

  it('holds 2000 entries: the 2001st evicts the least recently used, which is fetched again', async () => {
    const cache = new SourceCache();
    const keys = Array.from({ length: 2000 }, (_, i) => `k${i}`);
    await resolve(cache, keys);
    await resolve(cache, ['k0']); // now the most recent; k1 is the least
    asked.length = 0;
    await resolve(cache, ['k2000']);
    await resolve(cache, ['k0', 'k1', 'k1999']);
    expect(asked).toEqual(['k2000', 'k1']);
  });
});
