// ssm() and ssmPath() against the Parameter Store stand-in with the real SDK client. Batching
// follows the API's limits (GetParameters: 1-10 Names, @aws-sdk/client-ssm models_1.d.ts
// GetParametersRequest; GetParametersByPath MaxResults 1-10).
import { inspect } from 'node:util';
import { SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { startParameterStore, type ParameterStoreStandIn } from '@custom-runtime/local';
import { clearConfigCache, ConfigError, defineConfig, describeConfig, getConfig, inspectConfig, ssm, ssmPath } from '../src/index.js';
import { captureLogger, freezeDate, later, setEnv, startStandIns, type StandIns } from './helpers.js';

let aws: StandIns;
let store: ParameterStoreStandIn;
let restore: () => void = () => {};
beforeAll(async () => {
  aws = await startStandIns();
  store = await startParameterStore({ kms: aws.kms });
  process.env.AWS_ENDPOINT_URL_SSM = store.url;
});
afterAll(async () => {
  delete process.env.AWS_ENDPOINT_URL_SSM;
  await store.close();
  await aws.close();
});
beforeEach(() => {
  clearConfigCache();
  store.resetCalls();
  store.clearFaults();
});
afterEach(() => {
  restore();
  vi.useRealTimers();
});

let counter = 0;
function unique(prefix: string): string {
  return `/${prefix}/t${++counter}-${Date.now()}`;
}

async function failure(promise: Promise<unknown>): Promise<ConfigError> {
  const error = await promise.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

describe('reference forms', () => {
  it('reads a name, an ARN, name:version, name:label, dynamic references and a literal, in one call', async () => {
    const name = unique('app');
    store.putParameter(name, 'v1');
    store.putParameter(name, 'v2');
    store.putParameter(name, 'v3');
    store.labelParameterVersion(name, ['stable'], 2);
    restore = setEnv({
      BY_NAME: name,
      BY_ARN: store.arnOf(name),
      BY_VERSION: `${name}:1`,
      BY_LABEL: `${name}:stable`,
      BY_DYNAMIC: `{{resolve:ssm:${name}:1}}`,
    });
    const config = defineConfig({
      byName: ssm('BY_NAME'),
      byArn: ssm('BY_ARN'),
      byVersion: ssm('BY_VERSION'),
      byLabel: ssm('BY_LABEL'),
      byDynamic: ssm('BY_DYNAMIC'),
      byOption: ssm('BY_NAME', { label: 'stable' }),
      literal: ssm({ reference: `${name}:3` }),
    });
    await expect(getConfig(config)).resolves.toEqual({
      byName: 'v3',
      byArn: 'v3',
      byVersion: 'v1',
      byLabel: 'v2',
      byDynamic: 'v1',
      byOption: 'v2',
      literal: 'v3',
    });
    // Versioned and labelled names travel in the same GetParameters call, decrypted, deduplicated.
    expect(store.callCount()).toBe(1);
    const names = store.calls[0]!.input['Names'] as string[];
    // byDynamic repeats byVersion's selector and byOption byLabel's: five distinct names.
    expect(names).toHaveLength(5);
    expect(store.calls[0]!.input['WithDecryption']).toBe(true);
  });

  it('reports a malformed reference as bad-reference, naming the env var', async () => {
    restore = setEnv({ REF: 'app/x' });
    const error = await failure(getConfig(defineConfig({ host: ssm('REF') })));
    expect(error.issues).toEqual([
      {
        field: 'host',
        source: 'ssm',
        location: 'ssm via env REF',
        reason: 'bad-reference',
        message: 'bad reference: a hierarchical parameter name starts with "/"',
      },
    ]);
    expect(store.callCount()).toBe(0);
  });

  it('is absent when the env var is unset, so a fallback or default applies', async () => {
    restore = setEnv({ REF: undefined });
    await expect(getConfig(defineConfig({ host: ssm('REF', z.string().default('localhost')) }))).resolves.toEqual({ host: 'localhost' });
    expect(store.callCount()).toBe(0);
  });

  it('rejects bad declarations at definition time', () => {
    expect(() => ssm('')).toThrow(TypeError);
    expect(() => ssm({ reference: 'nope/x' })).toThrow(/starts with "\/"/);
    expect(() => ssm('X', { version: 1, label: 'a' })).toThrow(/not both/);
    expect(() => ssm('X', { version: 0 })).toThrow(/integer >= 1/);
    expect(() => ssm('X', { label: '3' })).toThrow(/not starting with a digit/);
    expect(() => ssmPath('app')).toThrow(/must start with/);
    expect(() => ssmPath('/app', { maxParameters: 0 })).toThrow(/maxParameters/);
  });
});

describe('types', () => {
  it('decrypts a SecureString, splits a StringList, parses JSON and reads a key', async () => {
    const base = unique('types');
    store.putParameter(`${base}/password`, 'pw-secret-1', { type: 'SecureString' });
    store.putParameter(`${base}/hosts`, ['a.local', 'b.local']);
    store.putParameter(`${base}/db`, JSON.stringify({ host: 'db.local', port: 5432 }));
    restore = setEnv({ PW: `${base}/password`, HOSTS: `${base}/hosts`, DB: `${base}/db` });
    const config = defineConfig({
      password: ssm('PW'),
      hosts: ssm('HOSTS', z.array(z.string())),
      hostsText: ssm('HOSTS', { format: 'text' }),
      db: ssm('DB', z.object({ host: z.string(), port: z.number() })),
      dbHost: ssm('DB', { key: 'host' }),
    });
    const cfg = await getConfig(config);
    expect(cfg).toEqual({
      password: 'pw-secret-1',
      hosts: ['a.local', 'b.local'],
      hostsText: 'a.local,b.local',
      db: { host: 'db.local', port: 5432 },
      dbHost: 'db.local',
    });
    expect(store.callCount('GetParameters')).toBe(1);
  });

  it('checks the declared type, and a SecureString behind {{resolve:ssm:...}}', async () => {
    const base = unique('typed');
    store.putParameter(`${base}/secure`, 'pw-2', { type: 'SecureString' });
    store.putParameter(`${base}/plain`, 'plain');
    restore = setEnv({ S: `${base}/secure`, P: `${base}/plain`, D: `{{resolve:ssm:${base}/secure}}`, DS: `{{resolve:ssm-secure:${base}/plain}}` });
    const error = await failure(
      getConfig(
        defineConfig({
          a: ssm('S', { type: 'String' }),
          b: ssm('P', { type: 'SecureString' }),
          c: ssm('D'),
          d: ssm('DS'),
          ok: ssm('P', { type: 'String' }),
        }),
      ),
    );
    expect(error.issues.map((i) => [i.field, i.reason, i.message])).toEqual([
      ['a', 'invalid', 'invalid: the parameter is a SecureString, the field expects a String'],
      ['b', 'invalid', 'invalid: the parameter is a String, the field expects a SecureString'],
      ['c', 'invalid', 'invalid: the parameter is a SecureString: reference it as {{resolve:ssm-secure:...}}'],
      ['d', 'invalid', 'invalid: the parameter is a String, the field expects a SecureString'],
    ]);
    expect(JSON.stringify(error.issues)).not.toContain('pw-2');
  });
});

describe('batching', () => {
  it('fetches 25 parameters in 3 parallel GetParameters calls', async () => {
    const base = unique('batch');
    const fields: Record<string, ReturnType<typeof ssm>> = {};
    const env: Record<string, string> = {};
    for (let i = 0; i < 25; i++) {
      store.putParameter(`${base}/p${i}`, `value-${i}`);
      env[`P_${i}`] = `${base}/p${i}`;
      fields[`p${i}`] = ssm(`P_${i}`);
    }
    restore = setEnv(env);
    // Counts requests in flight inside the SDK client: 3 at once only if the calls are parallel.
    const client = new SSMClient({});
    let inFlight = 0;
    let most = 0;
    client.middlewareStack.add(
      (next) => async (args) => {
        most = Math.max(most, ++inFlight);
        try {
          return await next(args);
        } finally {
          inFlight--;
        }
      },
      { step: 'initialize' },
    );
    store.setLatency(20);
    try {
      const cfg = (await getConfig(defineConfig(fields, { clients: { ssm: client } }))) as Record<string, string>;
      expect(Object.values(cfg)).toEqual(Array.from({ length: 25 }, (_, i) => `value-${i}`));
    } finally {
      store.setLatency(0);
      client.destroy();
    }
    expect(store.callCount('GetParameters')).toBe(3);
    expect(store.calls.map((c) => (c.input['Names'] as string[]).length).sort()).toEqual([10, 10, 5]);
    expect(most).toBe(3);
  });

  it('names each invalid parameter by its field, and a denied one by its own field', async () => {
    const base = unique('invalid');
    store.putParameter(`${base}/ok`, 'fine');
    store.putParameter(`${base}/denied`, 'no');
    restore = setEnv({ OK: `${base}/ok`, MISSING: `${base}/missing`, NO_VERSION: `${base}/ok:7`, NO_LABEL: `${base}/ok:gone` });
    const error = await failure(
      getConfig(defineConfig({ ok: ssm('OK'), missing: ssm('MISSING'), noVersion: ssm('NO_VERSION'), noLabel: ssm('NO_LABEL') })),
    );
    expect(error.issues.map((i) => [i.field, i.reason, i.location, i.message])).toEqual([
      ['missing', 'not-found', `ssm "${base}/missing" via env MISSING`, 'parameter not found'],
      ['noVersion', 'not-found', `ssm "${base}/ok:7" via env NO_VERSION`, 'parameter version or label not found'],
      ['noLabel', 'not-found', `ssm "${base}/ok:gone" via env NO_LABEL`, 'parameter version or label not found'],
    ]);
    expect(store.callCount('GetParameters')).toBe(1);

    clearConfigCache();
    store.resetCalls();
    store.denyParameter(`${base}/denied`);
    restore = setEnv({ OK: `${base}/ok`, DENIED: `${base}/denied` });
    const denied = await failure(getConfig(defineConfig({ ok: ssm('OK'), denied: ssm('DENIED') })));
    expect(denied.issues.map((i) => [i.field, i.reason])).toEqual([['denied', 'access-denied']]);
    // The whole call was refused, then each name was asked alone.
    expect(store.callCount('GetParameters')).toBe(3);
    store.allowParameter(`${base}/denied`);
  });
});

describe('paths', () => {
  it('loads a hierarchy as a nested object, paging and recursing', async () => {
    const base = unique('tree');
    for (let i = 0; i < 12; i++) store.putParameter(`${base}/flags/f${String(i).padStart(2, '0')}`, `on-${i}`);
    store.putParameter(`${base}/db/host`, 'db.local');
    store.putParameter(`${base}/db/password`, 'pw-tree', { type: 'SecureString' });
    store.putParameter(`${base}/hosts`, ['x', 'y']);
    restore = setEnv({ TREE: base });
    const config = defineConfig({
      tree: ssmPath(`${base}/`, z.object({ db: z.object({ host: z.string(), password: z.string() }), hosts: z.array(z.string()), flags: z.record(z.string(), z.string()) })),
      top: ssmPath({ envName: 'TREE' }, { recursive: false }),
    });
    const cfg = await getConfig(config);
    expect(cfg.tree.db).toEqual({ host: 'db.local', password: 'pw-tree' });
    expect(cfg.tree.hosts).toEqual(['x', 'y']);
    expect(Object.keys(cfg.tree.flags)).toHaveLength(12);
    expect(cfg.top).toEqual({ hosts: ['x', 'y'] });
    // 15 parameters recursively: 2 pages; one level: 1 page.
    expect(store.callCount('GetParametersByPath')).toBe(3);
    expect(inspect(cfg)).not.toContain('pw-tree');
  });

  it('bounds the number of parameters, and refuses a SecureString when declared secure: false', async () => {
    const base = unique('bounded');
    for (let i = 0; i < 15; i++) store.putParameter(`${base}/p${i}`, `v${i}`);
    store.putParameter(`${base}/secret`, 'pw-b', { type: 'SecureString' });
    const error = await failure(
      getConfig(defineConfig({ small: ssmPath(base, { maxParameters: 10 }), plain: ssmPath(base, { secure: false }) })),
    );
    expect(error.issues.map((i) => [i.field, i.reason, i.message])).toEqual([
      ['small', 'invalid-request', 'more than 10 parameters under the path (maxParameters)'],
      ['plain', 'invalid', 'invalid: a SecureString is under the path, and the field is declared secure: false'],
    ]);
    // The bound stops paging: two pages of ten, not every page.
    expect(store.calls.filter((c) => c.input['MaxResults'] === 10 && c.input['Path'] === `${base}/`).length).toBe(4);
  });

  it('is absent when nothing lives under the path', async () => {
    const config = defineConfig({ tree: ssmPath(unique('empty'), z.record(z.string(), z.string()).optional()) });
    await expect(getConfig(config)).resolves.toEqual({ tree: undefined });
  });
});

describe('cache, stale values, redaction and provenance', () => {
  it('caches, serves the last good value while refreshes fail, then picks up a new version', async () => {
    const name = unique('cached');
    store.putParameter(name, 'first');
    restore = setEnv({ P: name });
    const logger = captureLogger();
    const config = defineConfig({ value: ssm('P', { type: 'String' }) }, { ttlSeconds: 60, logger });
    freezeDate();
    expect(await getConfig(config)).toEqual({ value: 'first' });
    expect(await getConfig(config)).toEqual({ value: 'first' });
    expect(store.callCount()).toBe(1);

    store.putParameter(name, 'second');
    later(61);
    store.injectFault({ operation: 'GetParameters', kind: 'server-error', times: 2 });
    expect(await getConfig(config)).toEqual({ value: 'first' });
    expect(logger.lines.join('\n')).toMatch(new RegExp(`ssm "${name}": refresh failed`));
    later(2);
    expect(await getConfig(config)).toEqual({ value: 'second' });
  });

  it('takes the lean path: a GetParameters call that never answers is cut by the call deadline, then retried', async () => {
    const name = unique('deadline');
    store.putParameter(name, 'in-time');
    restore = setEnv({ P: name });
    store.injectFault({ operation: 'GetParameters', kind: 'hang', times: Infinity });
    const config = defineConfig({ value: ssm('P') }, { clients: { timeouts: { connectMs: 100, attemptMs: 100, callMs: 250 } } });
    const error = await failure(getConfig(config));
    expect(error.issues.map((i) => [i.field, i.reason])).toEqual([['value', 'unavailable']]);
    store.clearFaults();
    clearConfigCache();
    await expect(getConfig(config)).resolves.toEqual({ value: 'in-time' });
  });

  it('shares one in-flight fetch between concurrent resolutions', async () => {
    const name = unique('flight');
    store.putParameter(name, 'v');
    restore = setEnv({ P: name });
    const a = defineConfig({ v: ssm('P') });
    const b = defineConfig({ w: ssm('P') });
    store.setLatency(30);
    try {
      await Promise.all([getConfig(a), getConfig(b), getConfig(a)]);
    } finally {
      store.setLatency(0);
    }
    expect(store.callCount()).toBe(1);
  });

  it('redacts fields that may be SecureStrings, not those declared String, and describes where values came from', async () => {
    const base = unique('redact');
    store.putParameter(`${base}/pw`, 'pw-redact-1', { type: 'SecureString' });
    store.putParameter(`${base}/host`, 'db.example');
    restore = setEnv({ PW: `${base}/pw`, HOST: `${base}/host` });
    const config = defineConfig({ password: ssm('PW'), host: ssm('HOST', { type: 'String' }) });
    const cfg = await getConfig(config);
    expect(cfg.password).toBe('pw-redact-1');
    const printed = `${inspect(cfg)} ${JSON.stringify(cfg)}`;
    expect(printed).not.toContain('pw-redact-1');
    expect(printed).toContain('db.example');
    const described = describeConfig(config);
    expect(described).toContain(`resolved from ssm "${base}/pw", fetched`);
    expect(described).not.toContain('pw-redact-1');
    expect(inspectConfig(config).map((f) => f.sources)).toEqual([
      [{ kind: 'ssm', envName: 'PW', location: 'ssm via env PW' }],
      [{ kind: 'ssm', envName: 'HOST', type: 'String', location: 'ssm via env HOST' }],
    ]);
  });

  it('keeps the value out of a schema error', async () => {
    const name = unique('echo');
    store.putParameter(name, 'pin-98765', { type: 'SecureString' });
    restore = setEnv({ PIN: name });
    const echo = z.string().refine(() => false, { error: (issue) => `expected a PIN, got ${String(issue.input)}` });
    const error = await failure(getConfig(defineConfig({ pin: ssm('PIN', echo) })));
    expect(error.message).toContain('expected a PIN, got [redacted]');
    expect(error.message).not.toContain('98765');
  });
});
