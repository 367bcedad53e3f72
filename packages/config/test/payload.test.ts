import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { clearConfigCache, ConfigError, defineConfig, env, getConfig, payload, withConfig } from '../src/index.js';
import { inInvocation, setEnv } from './helpers.js';

let restore: () => void = () => {};
beforeEach(() => clearConfigCache());
afterEach(() => restore());

describe('payload source', () => {
  it('reads the current invocation\'s event by dotted path', async () => {
    const config = defineConfig({
      customerId: payload('customer.id'),
      firstSku: payload('items.0.sku'),
      quantity: payload('items.0.qty', z.number().int()),
    });
    const event = { customer: { id: 'c-1' }, items: [{ sku: 'A-1', qty: 2 }] };
    await expect(inInvocation(event, () => getConfig(config))).resolves.toEqual({
      customerId: 'c-1',
      firstSku: 'A-1',
      quantity: 2,
    });
  });

  it('is undefined outside an invocation, or the schema default', async () => {
    const config = defineConfig({
      customerId: payload('customer.id'),
      region: payload('region', z.string().default('eu-west-1')),
    });
    await expect(getConfig(config)).resolves.toEqual({ customerId: undefined, region: 'eu-west-1' });
  });

  it('re-reads the event on every invocation while the rest stays cached', async () => {
    restore = setEnv({ TABLE_NAME: 'orders' });
    const config = defineConfig({ table: env('TABLE_NAME'), user: payload('user', z.string().optional()) });
    const a = await inInvocation({ user: 'ann' }, () => getConfig(config));
    const b = await inInvocation({ user: 'bob' }, () => getConfig(config));
    const none = await inInvocation({}, () => getConfig(config));
    expect([a, b, none]).toEqual([
      { table: 'orders', user: 'ann' },
      { table: 'orders', user: 'bob' },
      { table: 'orders', user: undefined },
    ]);
  });

  it('gives the same object to repeated calls in one invocation', async () => {
    const config = defineConfig({ user: payload('user') });
    const event = { user: 'ann' };
    await inInvocation(event, async () => {
      expect(await getConfig(config)).toBe(await getConfig(config));
    });
  });

  it('gives each of concurrent invocations one object across awaits (AWS_LAMBDA_MAX_CONCURRENCY > 1)', async () => {
    restore = setEnv({ AWS_LAMBDA_MAX_CONCURRENCY: '4' });
    const config = defineConfig({ user: payload('user') });
    const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 1));
    // The same event object twice: invocations are told apart by their scope, not their event.
    const shared = { user: 'ann' };
    const run = (event: object) =>
      inInvocation(event, async () => {
        const first = await getConfig(config);
        await tick();
        await tick();
        return { first, second: await getConfig(config) };
      });
    const results = await Promise.all([run(shared), run({ user: 'bob' }), run(shared), run({ user: 'cy' })]);
    for (const r of results) expect(r.second).toBe(r.first);
    expect(results.map((r) => r.first.user)).toEqual(['ann', 'bob', 'ann', 'cy']);
    expect(new Set(results.map((r) => r.first)).size).toBe(4);
  });

  it('gives each of interleaved withConfig calls one object, whatever the concurrency setting', async () => {
    const config = defineConfig({ user: payload('user') });
    const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 1));
    const handler = withConfig(config, async (_event: unknown, _context: unknown, cfg) => {
      await tick();
      const again = await getConfig(config);
      await tick();
      return { same: again === cfg && (await getConfig(config)) === cfg, user: cfg.user };
    });
    const results = await Promise.all(['a', 'b', 'c'].map((user) => handler({ user }, {})));
    expect(results).toEqual([
      { same: true, user: 'a' },
      { same: true, user: 'b' },
      { same: true, user: 'c' },
    ]);
  });

  it('reports a required field missing from the event, and an invalid one', async () => {
    const config = defineConfig({ user: payload('user.id'), qty: payload('qty', z.number().int().positive()) });
    const error = (await inInvocation({ qty: -1 }, () => getConfig(config)).catch((e: unknown) => e)) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.issues.map((i) => [i.field, i.source, i.location, i.reason])).toEqual([
      ['user', 'payload', 'payload user.id', 'missing'],
      ['qty', 'payload', 'payload qty', 'invalid'],
    ]);
  });

  it('treats null and the empty string as absent', async () => {
    const config = defineConfig({ a: payload('a', z.string().default('x')), b: payload('b', z.string().default('y')) });
    await expect(inInvocation({ a: null, b: '' }, () => getConfig(config))).resolves.toEqual({ a: 'x', b: 'y' });
  });
});

describe('payload allowlist', () => {
  it('only fields declaring payload come from the event', async () => {
    restore = setEnv({ TABLE_NAME: 'orders' });
    const config = defineConfig({ tableName: env('TABLE_NAME'), user: payload('user') });
    const event = { tableName: 'attacker', TABLE_NAME: 'attacker', user: 'ann', extra: 'x' };
    const cfg = await inInvocation(event, () => getConfig(config));
    expect(cfg).toEqual({ tableName: 'orders', user: 'ann' });
    expect(Object.keys(cfg)).toEqual(['tableName', 'user']);
  });

  it('never lets the event override another source of the same field', async () => {
    restore = setEnv({ REGION: 'eu-west-1' });
    const config = defineConfig({ region: env('REGION').or(payload('region')) });
    await expect(inInvocation({ region: 'attacker' }, () => getConfig(config))).resolves.toEqual({ region: 'eu-west-1' });
    restore();
    clearConfigCache();
    restore = setEnv({ REGION: undefined });
    await expect(inInvocation({ region: 'us-east-2' }, () => getConfig(config))).resolves.toEqual({ region: 'us-east-2' });
  });
});

describe('prototype pollution', () => {
  it('ignores __proto__, constructor and prototype segments', async () => {
    const config = defineConfig({
      viaProto: payload('__proto__.polluted', z.unknown().optional()),
      viaConstructor: payload('constructor.prototype.polluted', z.unknown().optional()),
      viaPrototype: payload('a.prototype', z.unknown().optional()),
      toString: payload('toString', z.unknown().optional()),
    });
    const event = JSON.parse(
      '{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},"a":{"prototype":"yes"}}',
    ) as unknown;
    const cfg = await inInvocation(event, () => getConfig(config));
    expect(cfg).toEqual({ viaProto: undefined, viaConstructor: undefined, viaPrototype: undefined, toString: undefined });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(cfg)).not.toHaveProperty('polluted');
  });

  it('reads own properties only, never inherited ones', async () => {
    const config = defineConfig({ hasOwn: payload('hasOwnProperty', z.unknown().optional()), len: payload('s.length', z.unknown().optional()) });
    const cfg = await inInvocation({ s: 'abc' }, () => getConfig(config));
    expect(cfg).toEqual({ hasOwn: undefined, len: undefined });
  });

  it('cannot add keys to the config through the event', async () => {
    const config = defineConfig({ user: payload('user') });
    const event = JSON.parse('{"user":"ann","__proto__":{"isAdmin":true}}') as unknown;
    const cfg = (await inInvocation(event, () => getConfig(config))) as Record<string, unknown>;
    expect(cfg.isAdmin).toBeUndefined();
    expect(Object.keys(cfg)).toEqual(['user']);
  });
});

describe('withConfig', () => {
  it('passes the config as the third argument, without our runtime', async () => {
    restore = setEnv({ TABLE_NAME: 'orders' });
    const config = defineConfig({ table: env('TABLE_NAME'), user: payload('user') });
    const handler = withConfig(config, async (event: { user: string }, context: { id: number }, cfg) => {
      // getConfig inside the handler sees the same event
      const again = await getConfig(config);
      return { event: event.user, context: context.id, cfg, again };
    });
    const result = await handler({ user: 'ann' }, { id: 7 });
    expect(result).toEqual({
      event: 'ann',
      context: 7,
      cfg: { table: 'orders', user: 'ann' },
      again: { table: 'orders', user: 'ann' },
    });
  });

  it('binds its own event over the runtime\'s', async () => {
    const config = defineConfig({ user: payload('user') });
    const handler = withConfig(config, (_event: unknown, _context: unknown, cfg) => cfg.user);
    await expect(inInvocation({ user: 'from-runtime' }, () => handler({ user: 'from-wrapper' }, {}))).resolves.toBe(
      'from-wrapper',
    );
  });

  it('keeps concurrent invocations apart', async () => {
    const config = defineConfig({ user: payload('user') });
    const handler = withConfig(config, async (_event: unknown, _context: unknown, cfg) => {
      await new Promise((r) => setTimeout(r, Math.random() * 5));
      return cfg.user;
    });
    const users = Array.from({ length: 30 }, (_, i) => `u${i}`);
    await expect(Promise.all(users.map((user) => handler({ user }, {})))).resolves.toEqual(users);
  });

  it('rejects with the ConfigError without calling the handler', async () => {
    const config = defineConfig({ user: payload('user') });
    let called = false;
    const handler = withConfig(config, () => {
      called = true;
    });
    await expect(handler({}, {})).rejects.toBeInstanceOf(ConfigError);
    expect(called).toBe(false);
  });
});
