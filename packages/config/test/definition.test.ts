import { afterEach, beforeEach, describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import {
  clearConfigCache,
  ConfigError,
  defineConfig,
  env,
  getConfig,
  kms,
  payload,
  secret,
  type InferConfig,
} from '../src/index.js';
import { inInvocation, setEnv } from './helpers.js';

let restore: () => void = () => {};
beforeEach(() => clearConfigCache());
afterEach(() => restore());

describe('type inference', () => {
  it('infers the result of getConfig from the definition', () => {
    const config = defineConfig({
      tableName: env('TABLE_NAME'),
      logLevel: env('LOG_LEVEL', z.enum(['debug', 'info', 'warn']).default('info')),
      port: env('PORT', z.coerce.number().int()),
      apiKey: secret('API_KEY_SECRET', { key: 'apiKey' }),
      db: secret('DB_SECRET', z.object({ username: z.string(), password: z.string() })),
      legacyToken: kms('LEGACY_TOKEN_ENCRYPTED', { encryptionContext: 'function-name' }),
      customerId: payload('customer.id', z.string().optional()),
      flags: env('FLAGS', z.string().transform((s) => s.split(','))).or(env('OTHER_FLAGS')),
    });
    type Config = InferConfig<typeof config>;
    expectTypeOf<Config>().toEqualTypeOf<{
      readonly tableName: string;
      readonly logLevel: 'debug' | 'info' | 'warn';
      readonly port: number;
      readonly apiKey: string;
      readonly db: { username: string; password: string };
      readonly legacyToken: string;
      readonly customerId: string | undefined;
      readonly flags: string[];
    }>();
    const read = () => getConfig(config); // not called: types only
    expectTypeOf(read).returns.resolves.toEqualTypeOf<Config>();
  });

  it('takes a schema positionally or with options, for literal references too', () => {
    const config = defineConfig({
      a: secret('A', z.coerce.number(), { versionStage: 'AWSPREVIOUS' }),
      b: secret({ reference: 'prod/b' }),
      c: secret({ reference: 'prod/c', format: 'binary' }, z.instanceof(Uint8Array)),
      d: kms(payload('x'), z.coerce.number()),
    });
    type Config = InferConfig<typeof config>;
    expectTypeOf<Omit<Config, 'c'>>().toEqualTypeOf<{ readonly a: number; readonly b: string; readonly d: number }>();
    expectTypeOf<Config['c']>().toExtend<Uint8Array>();
  });
});

describe('env source', () => {
  it('reads, coerces and defaults values', async () => {
    restore = setEnv({ TABLE_NAME: 'orders', PORT: '8080', LOG_LEVEL: undefined });
    const config = defineConfig({
      tableName: env('TABLE_NAME'),
      port: env('PORT', z.coerce.number().int()),
      logLevel: env('LOG_LEVEL', z.enum(['debug', 'info']).default('info')),
    });
    await expect(getConfig(config)).resolves.toEqual({ tableName: 'orders', port: 8080, logLevel: 'info' });
  });

  it('treats an empty string as absent', async () => {
    restore = setEnv({ LOG_LEVEL: '', TABLE_NAME: '' });
    const config = defineConfig({
      logLevel: env('LOG_LEVEL', z.string().default('info')),
      tableName: env('TABLE_NAME'),
    });
    const error = await getConfig(config).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toEqual([
      { field: 'tableName', source: 'env', location: 'env TABLE_NAME', reason: 'missing', message: 'missing' },
    ]);
  });

  it('reports invalid values with zod\'s message, never the value', async () => {
    restore = setEnv({ PORT: 'eighty' });
    const config = defineConfig({ port: env('PORT', z.coerce.number().int()) });
    const error = (await getConfig(config).catch((e: unknown) => e)) as ConfigError;
    expect(error.issues[0]).toMatchObject({ field: 'port', reason: 'invalid', location: 'env PORT' });
    expect(error.issues[0]?.message).toMatch(/^invalid: .*expected number/);
    expect(error.message).not.toContain('eighty');
  });
});

describe('fallbacks', () => {
  it('takes the first present source, then the default', async () => {
    const config = defineConfig({
      port: env('PORT', z.coerce.number().default(3000)).or(env('HTTP_PORT'), env('LEGACY_PORT')),
    });
    restore = setEnv({ PORT: undefined, HTTP_PORT: '', LEGACY_PORT: '81' });
    await expect(getConfig(config)).resolves.toEqual({ port: 81 });
    restore();
    clearConfigCache();
    restore = setEnv({ PORT: '80', HTTP_PORT: '', LEGACY_PORT: '81' });
    await expect(getConfig(config)).resolves.toEqual({ port: 80 });
    restore();
    clearConfigCache();
    restore = setEnv({ PORT: undefined, HTTP_PORT: undefined, LEGACY_PORT: undefined });
    await expect(getConfig(config)).resolves.toEqual({ port: 3000 });
  });

  it('lists every source of a missing field', async () => {
    restore = setEnv({ A: undefined, B: undefined });
    const config = defineConfig({ value: env('A').or(secret('B'), payload('value')) });
    const error = (await inInvocation({}, () => getConfig(config)).catch((e: unknown) => e)) as ConfigError;
    expect(error.issues[0]?.location).toBe('env A, secretsmanager via env B, payload value');
  });

  it('refuses a payload source before another source: the event must never override', () => {
    expect(() => payload('tableName').or(env('TABLE_NAME'))).toThrow(/payload sources must come after/);
    expect(() => kms(payload('x')).or(secret('S'))).toThrow(/payload sources must come after/);
    expect(() => env('A').or(payload('a'), payload('b'))).not.toThrow();
  });
});

describe('defineConfig', () => {
  it('rejects things that are not fields and bad settings', () => {
    expect(() => defineConfig({ a: 'TABLE_NAME' } as never)).toThrow(/not a field/);
    expect(() => defineConfig({}, { ttlSeconds: -1 })).toThrow(/ttlSeconds/);
    expect(() => env('A').cache({ maxStalenessSeconds: Number.NaN })).toThrow(/maxStalenessSeconds/);
    expect(() => env('A').exportAs('not valid')).toThrow(/environment variable name/);
    expect(() => payload('a..b')).toThrow(/empty segment/);
    expect(() => secret('S', { versionId: 'v', versionStage: 'AWSPREVIOUS' })).toThrow(/not both/);
    expect(() => secret({ reference: 'bad name!' })).toThrow(/letters, digits/);
    expect(() => kms(env('X') as never)).toThrow(/env var name or payload/);
  });

  it('never shows values when inspected or serialised', async () => {
    restore = setEnv({ TABLE_NAME: 'very-private-table' });
    const config = defineConfig({ tableName: env('TABLE_NAME'), user: payload('user.id') });
    await getConfig(config);
    const { inspect } = await import('node:util');
    expect(inspect(config)).toBe('ConfigDefinition {\n  tableName: env TABLE_NAME\n  user: payload user.id\n}');
    expect(JSON.stringify(config)).toBe('{"tableName":["env TABLE_NAME"],"user":["payload user.id"]}');
  });

  it('rejects an object that is not a definition', () => {
    expect(() => getConfig({} as never)).toThrow(/defineConfig/);
  });
});

describe('warm getConfig', () => {
  it('returns the same frozen object without re-reading or re-validating', async () => {
    restore = setEnv({ TABLE_NAME: 'orders' });
    let parses = 0;
    const config = defineConfig({
      tableName: env('TABLE_NAME', z.string().transform((s) => (parses++, s.toUpperCase()))),
    });
    const first = await getConfig(config);
    process.env.TABLE_NAME = 'changed';
    const second = await getConfig(config);
    expect(second).toBe(first);
    expect(second).toEqual({ tableName: 'ORDERS' });
    expect(parses).toBe(1);
    expect(Object.isFrozen(first)).toBe(true);
  });

  it('reads env again after clearConfigCache()', async () => {
    restore = setEnv({ TABLE_NAME: 'orders' });
    const config = defineConfig({ tableName: env('TABLE_NAME') });
    expect((await getConfig(config)).tableName).toBe('orders');
    process.env.TABLE_NAME = 'invoices';
    clearConfigCache();
    expect((await getConfig(config)).tableName).toBe('invoices');
  });

  it('shares one resolution between concurrent callers', async () => {
    restore = setEnv({ TABLE_NAME: 'orders' });
    let parses = 0;
    const config = defineConfig({ t: env('TABLE_NAME', z.string().transform((s) => (parses++, s))) });
    const all = await Promise.all(Array.from({ length: 20 }, () => getConfig(config)));
    expect(new Set(all).size).toBe(1);
    expect(parses).toBe(1);
  });
});
