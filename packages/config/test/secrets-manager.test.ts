import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { clearConfigCache, ConfigError, defineConfig, getConfig, secret } from '../src/index.js';
import { setEnv, startStandIns, type StandIns } from './helpers.js';

let aws: StandIns;
let restore: () => void = () => {};
beforeAll(async () => {
  aws = await startStandIns();
});
afterAll(() => aws.close());
beforeEach(() => {
  clearConfigCache();
  aws.sm.resetCalls();
  aws.sm.clearFaults();
});
afterEach(() => restore());

let counter = 0;
function unique(prefix: string): string {
  return `${prefix}-${++counter}-${Date.now()}`;
}

describe('reference forms', () => {
  it('resolves a name, a full ARN, a partial ARN and a dynamic reference', async () => {
    const name = unique('app/key');
    const created = aws.sm.createSecret(name, 'value-1');
    const partial = created.arn.slice(0, -7);
    expect(partial.endsWith(name)).toBe(true);
    restore = setEnv({
      BY_NAME: name,
      BY_ARN: created.arn,
      BY_PARTIAL: partial,
      BY_DYNAMIC: `{{resolve:secretsmanager:${created.arn}:SecretString}}`,
    });
    const config = defineConfig({
      byName: secret('BY_NAME'),
      byArn: secret('BY_ARN'),
      byPartial: secret('BY_PARTIAL'),
      byDynamic: secret('BY_DYNAMIC'),
      literal: secret({ reference: name }),
    });
    await expect(getConfig(config)).resolves.toEqual({
      byName: 'value-1',
      byArn: 'value-1',
      byPartial: 'value-1',
      byDynamic: 'value-1',
      literal: 'value-1',
    });
  });

  it('reports a malformed reference as bad-reference, naming the env var', async () => {
    restore = setEnv({ REF: 'prod/db:SecretBinary' });
    const error = (await getConfig(defineConfig({ db: secret('REF') })).catch((e: unknown) => e)) as ConfigError;
    expect(error.issues).toEqual([
      {
        field: 'db',
        source: 'secretsmanager',
        location: 'secretsmanager via env REF',
        reason: 'bad-reference',
        message: 'bad reference: expected "SecretString" as the segment after the secret id',
      },
    ]);
  });

  it('is absent when the env var is unset, so a fallback or default applies', async () => {
    restore = setEnv({ REF: undefined });
    const config = defineConfig({ apiKey: secret('REF', z.string().default('none')) });
    await expect(getConfig(config)).resolves.toEqual({ apiKey: 'none' });
    expect(aws.sm.callCount()).toBe(0);
  });
});

describe('JSON secrets', () => {
  it('parses and validates a JSON secret with the schema', async () => {
    const name = unique('db');
    aws.sm.createSecret(name, JSON.stringify({ username: 'admin', password: 'pw-1', port: 5432 }));
    restore = setEnv({ DB_SECRET: name });
    const config = defineConfig({
      db: secret('DB_SECRET', z.object({ username: z.string(), password: z.string(), port: z.number() })),
      raw: secret('DB_SECRET'),
    });
    const cfg = await getConfig(config);
    expect(cfg.db).toEqual({ username: 'admin', password: 'pw-1', port: 5432 });
    expect(typeof cfg.raw).toBe('string');
    expect(aws.sm.callCount()).toBe(1);
  });

  it('reads a JSON key from the options or from the reference', async () => {
    const name = unique('api');
    aws.sm.createSecret(name, JSON.stringify({ apiKey: 'k-1', other: 'o-1', port: 443 }));
    restore = setEnv({ API: name, API_OTHER: `${name}:SecretString:other`, API_PORT: `${name}:SecretString:port` });
    const config = defineConfig({
      apiKey: secret('API', { key: 'apiKey' }),
      other: secret('API_OTHER', { key: 'apiKey' }), // the reference's segment wins
      port: secret('API_PORT', z.number()),
    });
    await expect(getConfig(config)).resolves.toEqual({ apiKey: 'k-1', other: 'o-1', port: 443 });
    expect(aws.sm.callCount()).toBe(1); // one secret, one fetch, three keys
  });

  it('reports a missing key as missing and a non-JSON secret as invalid', async () => {
    const json = unique('json');
    const text = unique('text');
    aws.sm.createSecret(json, '{"a":"1"}');
    aws.sm.createSecret(text, 'plain text');
    restore = setEnv({ J: json, T: text });
    const config = defineConfig({ b: secret('J', { key: 'b' }), t: secret('T', { key: 'a' }) });
    const error = (await getConfig(config).catch((e: unknown) => e)) as ConfigError;
    expect(error.issues.map((i) => [i.field, i.reason, i.message])).toEqual([
      ['b', 'missing', `missing: JSON key "b" not in the secret (secretsmanager "${json}")`],
      ['t', 'invalid', 'invalid: not JSON, so JSON key "a" cannot be read'],
    ]);
  });
});

describe('versions', () => {
  it('reads a version stage and a version id through GetSecretValue', async () => {
    const name = unique('rotating');
    const v1 = aws.sm.createSecret(name, 'old');
    aws.sm.putSecretValue(name, 'new');
    restore = setEnv({
      CURRENT: name,
      PREVIOUS: `${name}:SecretString::AWSPREVIOUS`,
      BY_ID: `${name}:SecretString:::${v1.versionId}`,
    });
    const config = defineConfig({
      current: secret('CURRENT'),
      previous: secret('PREVIOUS'),
      byId: secret('BY_ID'),
      byOption: secret('CURRENT', { versionStage: 'AWSPREVIOUS' }),
    });
    await expect(getConfig(config)).resolves.toEqual({ current: 'new', previous: 'old', byId: 'old', byOption: 'old' });
    // Previous-stage fields share one fetch: the key includes stage and id, not the field.
    expect(aws.sm.callCount('GetSecretValue')).toBe(2);
    expect(aws.sm.callCount('BatchGetSecretValue')).toBe(1);
  });
});

describe('SecretBinary', () => {
  it('hands bytes to the schema, or text with format: text', async () => {
    const name = unique('bin');
    const bytes = new Uint8Array([0, 1, 2, 250, 255]);
    aws.sm.createSecret(name, bytes);
    const textName = unique('bintext');
    aws.sm.createSecret(textName, new TextEncoder().encode('hello'));
    restore = setEnv({ BIN: name, BIN_TEXT: textName });
    const config = defineConfig({
      key: secret('BIN', z.instanceof(Uint8Array)),
      text: secret('BIN_TEXT', { format: 'text' }),
    });
    const cfg = await getConfig(config);
    expect([...cfg.key]).toEqual([...bytes]);
    expect(cfg.text).toBe('hello');
  });

  it('fails the default string schema on bytes', async () => {
    const name = unique('bin');
    aws.sm.createSecret(name, new Uint8Array([1, 2, 3]));
    restore = setEnv({ BIN: name });
    const error = (await getConfig(defineConfig({ key: secret('BIN') })).catch((e: unknown) => e)) as ConfigError;
    expect(error.issues[0]).toMatchObject({ field: 'key', reason: 'invalid' });
  });
});

describe('batching', () => {
  it('resolves 25 secrets with 2 BatchGetSecretValue calls', async () => {
    const names = Array.from({ length: 25 }, () => unique('many'));
    const vars: Record<string, string> = {};
    names.forEach((name, i) => {
      aws.sm.createSecret(name, `v${i}`);
      vars[`S${i}`] = name;
    });
    restore = setEnv(vars);
    const fields = Object.fromEntries(names.map((_, i) => [`s${i}`, secret(`S${i}`)]));
    const cfg = await getConfig(defineConfig(fields));
    expect(Object.values(cfg)).toEqual(names.map((_, i) => `v${i}`));
    expect(aws.sm.callCount('BatchGetSecretValue')).toBe(2);
    expect(aws.sm.callCount('GetSecretValue')).toBe(0);
    const sizes = aws.sm.calls.map((c) => (c.input.SecretIdList as unknown[]).length).sort((a, b) => a - b);
    expect(sizes).toEqual([5, 20]);
  });

  it('fetches identical references once', async () => {
    const name = unique('same');
    aws.sm.createSecret(name, '{"a":"1","b":"2"}');
    restore = setEnv({ X: name, Y: name });
    const config = defineConfig({ a: secret('X', { key: 'a' }), b: secret('Y', { key: 'b' }), c: secret({ reference: name }) });
    await expect(getConfig(config)).resolves.toEqual({ a: '1', b: '2', c: '{"a":"1","b":"2"}' });
    expect(aws.sm.callCount()).toBe(1);
    expect(aws.sm.calls[0]?.input.SecretIdList).toEqual([name]);
  });

  it('maps per-item errors back to their fields', async () => {
    const ok = unique('ok');
    const denied = unique('denied');
    aws.sm.createSecret(ok, 'fine');
    aws.sm.createSecret(denied, 'hidden');
    aws.sm.denySecret(denied);
    const missing = unique('missing');
    restore = setEnv({ OK: ok, DENIED: denied, MISSING: missing });
    const config = defineConfig({ ok: secret('OK'), denied: secret('DENIED'), missing: secret('MISSING') });
    const error = (await getConfig(config).catch((e: unknown) => e)) as ConfigError;
    expect(error.issues.map((i) => [i.field, i.reason, i.location])).toEqual([
      ['denied', 'access-denied', `secretsmanager "${denied}" via env DENIED`],
      ['missing', 'not-found', `secretsmanager "${missing}" via env MISSING`],
    ]);
    expect(aws.sm.callCount('BatchGetSecretValue')).toBe(1);
    expect(aws.sm.callCount('GetSecretValue')).toBe(0);
  });

  it('falls back to GetSecretValue per secret when the batch call is denied, and remembers', async () => {
    const names = [unique('fb'), unique('fb'), unique('fb')];
    names.forEach((n, i) => aws.sm.createSecret(n, `v${i}`));
    restore = setEnv({ A: names[0], B: names[1], C: names[2] });
    aws.sm.deny('BatchGetSecretValue');
    try {
      const config = defineConfig({ a: secret('A'), b: secret('B'), c: secret('C') }, { ttlSeconds: 0 });
      await expect(getConfig(config)).resolves.toEqual({ a: 'v0', b: 'v1', c: 'v2' });
      expect(aws.sm.callCount('BatchGetSecretValue')).toBe(1);
      expect(aws.sm.callCount('GetSecretValue')).toBe(3);
      await getConfig(config); // ttl 0: fetched again, without trying the batch call
      expect(aws.sm.callCount('BatchGetSecretValue')).toBe(1);
      expect(aws.sm.callCount('GetSecretValue')).toBe(6);
    } finally {
      aws.sm.allow('BatchGetSecretValue');
    }
  });
});

describe('clients', () => {
  it('honours AWS_ENDPOINT_URL_SECRETS_MANAGER through the SDK and creates the client once', async () => {
    const name = unique('endpoint');
    aws.sm.createSecret(name, 'x');
    restore = setEnv({ E: name });
    const config = defineConfig({ e: secret('E') }, { ttlSeconds: 0 });
    await getConfig(config);
    await getConfig(config);
    expect(aws.sm.callCount()).toBe(2);
  });

  it('uses an injected client', async () => {
    const { SecretsManagerClient } = await import('@aws-sdk/client-secrets-manager');
    const name = unique('injected');
    aws.sm.createSecret(name, 'x');
    restore = setEnv({ E: name, AWS_ENDPOINT_URL_SECRETS_MANAGER: 'http://127.0.0.1:9' });
    clearConfigCache();
    const client = new SecretsManagerClient({ endpoint: aws.sm.url });
    const config = defineConfig({ e: secret('E') }, { clients: { secretsManager: client } });
    await expect(getConfig(config)).resolves.toEqual({ e: 'x' });
    client.destroy();
  });
});
