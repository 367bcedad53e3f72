import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { clearConfigCache, ConfigError, defineConfig, env, getConfig, payload, withConfig } from '../src/index.js';
import { setEnv } from './helpers.js';

// The methods the runtime looks for among a handler module's exports (docs/design.md).
const PREFETCH = Symbol.for('@custom-runtime/prefetch');
const ENVIRONMENT = Symbol.for('@custom-runtime/environment');

interface RuntimeHooks {
  [PREFETCH](): Promise<void>;
  [ENVIRONMENT](event: unknown): Promise<Record<string, string>>;
}

let restore: () => void = () => {};
beforeEach(() => clearConfigCache());
afterEach(() => restore());

describe('prefetch', () => {
  it('resolves non-payload sources and warms the snapshot', async () => {
    restore = setEnv({ TABLE_NAME: 'orders' });
    let parses = 0;
    const config = defineConfig({
      table: env('TABLE_NAME', z.string().transform((s) => (parses++, s))),
      user: payload('user'),
    });
    const hooks = config as unknown as RuntimeHooks;
    await expect(hooks[PREFETCH]()).resolves.toBeUndefined();
    expect(parses).toBe(1);
    await getConfig(config);
    expect(parses).toBe(1);
  });

  it('rejects with a ConfigError typed Runtime.ConfigInvalid', async () => {
    restore = setEnv({ TABLE_NAME: undefined, PORT: 'x' });
    const config = defineConfig({ table: env('TABLE_NAME'), port: env('PORT', z.coerce.number()), user: payload('user') });
    const error = (await (config as unknown as RuntimeHooks)[PREFETCH]().catch((e: unknown) => e)) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.lambdaErrorType).toBe('Runtime.ConfigInvalid');
    expect(error.name).toBe('ConfigError');
    expect(error.issues.map((i) => i.field)).toEqual(['table', 'port']);
  });

  it('is also carried by a withConfig handler', async () => {
    restore = setEnv({ TABLE_NAME: undefined });
    const handler = withConfig(defineConfig({ table: env('TABLE_NAME') }), () => 1);
    const hooks = handler as unknown as RuntimeHooks;
    await expect(hooks[PREFETCH]()).rejects.toMatchObject({ lambdaErrorType: 'Runtime.ConfigInvalid' });
  });
});

describe('environment for command handlers', () => {
  it('renders the config as env vars named in UPPER_SNAKE_CASE', async () => {
    restore = setEnv({ TABLE_NAME: 'orders', PORT: '8080', DB_JSON: '{"user":"u","tags":["a"]}' });
    const config = defineConfig({
      tableName: env('TABLE_NAME'),
      port: env('PORT', z.coerce.number()),
      dbURLPrefix: env('DB_JSON', z.string().transform((s) => JSON.parse(s) as unknown)),
      s3Bucket: env('NOPE', z.string().optional()),
      enabled: env('NOPE', z.coerce.boolean().default(true)),
      customerId: payload('customer.id'),
      token: env('TABLE_NAME').exportAs('CUSTOM_NAME'),
      bytes: env('TABLE_NAME', z.string().transform((s) => new TextEncoder().encode(s))),
    });
    const vars = await (config as unknown as RuntimeHooks)[ENVIRONMENT]({ customer: { id: 'c-9' } });
    expect(vars).toEqual({
      TABLE_NAME: 'orders',
      PORT: '8080',
      DB_URL_PREFIX: '{"user":"u","tags":["a"]}',
      ENABLED: 'true',
      CUSTOMER_ID: 'c-9',
      CUSTOM_NAME: 'orders',
      BYTES: Buffer.from('orders').toString('base64'),
    });
  });

  it('uses the event it is given, not an ambient one', async () => {
    const config = defineConfig({ user: payload('user', z.string().optional()) });
    const hooks = config as unknown as RuntimeHooks;
    await expect(hooks[ENVIRONMENT]({ user: 'a' })).resolves.toEqual({ USER: 'a' });
    await expect(hooks[ENVIRONMENT]({})).resolves.toEqual({});
  });

  it('rejects with the ConfigError when the config is invalid', async () => {
    const config = defineConfig({ user: payload('user') });
    await expect((config as unknown as RuntimeHooks)[ENVIRONMENT]({})).rejects.toBeInstanceOf(ConfigError);
  });
});
