import { randomUUID } from 'node:crypto';
import { format, inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, expectTypeOf, it, vi } from 'vitest';
import { z } from 'zod';
import * as zm from 'zod/mini';
import {
  clearConfigCache,
  ConfigError,
  defineConfig,
  describeConfig,
  env,
  getConfig,
  kms,
  payload,
  secret,
  withConfig,
} from '../src/index.js';
import { captureLogger, inInvocation, setEnv, startStandIns, type StandIns } from './helpers.js';

let aws: StandIns;
let restore: () => void = () => {};
const canaries: string[] = [];
const outputs: string[] = [];

function canary(label: string): string {
  const value = `CANARY-${label}-${randomUUID()}`;
  canaries.push(value);
  return value;
}

/** Everything the package produced that a human or a log pipeline could see. */
function record(...texts: string[]): void {
  outputs.push(...texts);
}

beforeAll(async () => {
  aws = await startStandIns();
});
afterAll(() => aws.close());
beforeEach(() => {
  clearConfigCache();
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      record(args.map((a) => (typeof a === 'string' ? a : inspect(a, { depth: 10 }))).join(' '));
    });
  }
});
afterEach(() => {
  vi.restoreAllMocks();
  restore();
  aws.sm.clearFaults();
  aws.kms.clearFaults();
});

function expectNoCanary(): void {
  expect(outputs.length).toBeGreaterThan(0);
  for (const output of outputs) {
    for (const value of canaries) expect(output).not.toContain(value);
  }
}

describe('canary: secret values never leak', () => {
  it('not through inspect of the config, the definition or describeConfig', async () => {
    const apiKey = canary('api');
    const password = canary('password');
    const token = canary('token');
    aws.sm.createSecret('canary/api', apiKey);
    aws.sm.createSecret('canary/db', JSON.stringify({ username: 'admin', password }));
    const keyId = aws.kms.createKey().keyId;
    restore = setEnv({
      API: 'canary/api',
      DB: 'canary/db',
      TOKEN: aws.kms.encryptToBase64(keyId, token),
      TABLE: 'orders',
    });
    const config = defineConfig({
      table: env('TABLE'),
      apiKey: secret('API'),
      db: secret('DB', z.object({ username: z.string(), password: z.string() })),
      token: kms('TOKEN'),
    });
    const cfg = await getConfig(config);
    // The values themselves are plain...
    expect(cfg.apiKey).toBe(apiKey);
    expect(cfg.db.password).toBe(password);
    expect(cfg.token).toBe(token);
    // ...but printing the config redacts secret-fed fields.
    expect(inspect(cfg)).toBe("{\n  table: 'orders',\n  apiKey: [redacted],\n  db: [redacted],\n  token: [redacted]\n}");
    console.log(cfg);
    record(inspect(cfg, { depth: 10, showHidden: true }), inspect(config), JSON.stringify(config), describeConfig(config));
    expectNoCanary();
  });

  it('not through error messages, inspect or JSON of a ConfigError, even with echoing zod messages', async () => {
    const echo = { error: (issue: { input?: unknown }) => `rejected ${JSON.stringify(issue.input)}` };
    const stringSecret = canary('string');
    const jsonPassword = canary('json');
    const plaintext = canary('kms');
    const envValue = canary('env');
    const eventValue = canary('event');
    aws.sm.createSecret('canary/bad-string', stringSecret);
    aws.sm.createSecret('canary/bad-json', JSON.stringify({ user: 'u', password: jsonPassword }));
    const keyId = aws.kms.createKey().keyId;
    restore = setEnv({
      BAD_STRING: 'canary/bad-string',
      BAD_JSON: 'canary/bad-json',
      BAD_KMS: aws.kms.encryptToBase64(keyId, plaintext),
      BAD_ENV: envValue,
      WRONG_CONTEXT: aws.kms.encryptToBase64(keyId, canary('context'), { a: 'b' }),
    });
    const config = defineConfig({
      string: secret('BAD_STRING', z.string().regex(/^\d+$/, echo)),
      json: secret('BAD_JSON', z.object({ user: z.string(), password: z.number(echo) })),
      kms: kms('BAD_KMS', z.string().max(3, echo)),
      env: env('BAD_ENV', z.string().email(echo)),
      wrongContext: kms('WRONG_CONTEXT'),
      event: payload('secret', z.string().uuid(echo)),
    });
    const handler = withConfig(config, () => 'unreachable');
    const error = (await handler({ secret: eventValue }, {}).catch((e: unknown) => e)) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.issues.map((i) => i.field)).toEqual(['string', 'json', 'kms', 'env', 'wrongContext', 'event']);
    expect(error.issues[0]?.message).toBe('invalid: rejected "[redacted]"');
    console.error(error);
    record(
      error.message,
      String(error.stack),
      String(error),
      inspect(error, { depth: 10, showHidden: true }),
      JSON.stringify(error),
      JSON.stringify(error.issues),
      describeConfig(config),
    );
    expectNoCanary();
  });

  it('not through the stale-value and rotation log lines', async () => {
    const value = canary('stale');
    aws.sm.createSecret('canary/stale', value);
    restore = setEnv({ STALE: 'canary/stale' });
    const logger = captureLogger();
    const config = defineConfig({ s: secret('STALE') }, { ttlSeconds: 0, logger });
    expect((await getConfig(config)).s).toBe(value);
    aws.sm.injectFault({ operation: 'BatchGetSecretValue', kind: 'server-error', times: 2 });
    expect((await getConfig(config)).s).toBe(value); // stale
    clearConfigCache();
    await getConfig(config);
    aws.sm.denySecret('canary/stale');
    await getConfig(config).catch((e: unknown) => record(inspect(e)));
    expect(logger.lines).toHaveLength(2);
    record(...logger.lines);
    expectNoCanary();
  });
});

describe('a config with sensitive fields, rendered every way', () => {
  const OPTION_SETS = [
    {},
    { customInspect: false },
    { showHidden: true },
    { getters: true },
    { showProxy: true },
    { depth: Infinity, colors: true },
    { customInspect: false, showHidden: true, getters: true, showProxy: true, depth: Infinity },
  ] as const;

  async function resolved() {
    const apiKey = canary('api');
    const password = canary('password');
    const token = canary('token');
    const noEcho = canary('noecho');
    const eventToken = canary('event');
    const id = randomUUID();
    aws.sm.createSecret(`render/api-${id}`, apiKey);
    aws.sm.createSecret(`render/db-${id}`, JSON.stringify({ username: 'admin', password, nested: { deep: [{ deeper: password }] } }));
    const keyId = aws.kms.createKey().keyId;
    restore = setEnv({
      R_API: `render/api-${id}`,
      R_DB: `render/db-${id}`,
      R_TOKEN: aws.kms.encryptToBase64(keyId, token),
      R_NO_ECHO: noEcho,
      R_TABLE: 'orders',
    });
    const config = defineConfig({
      table: env('R_TABLE'),
      apiKey: secret('R_API'),
      db: secret('R_DB', z.object({ username: z.string(), password: z.string(), nested: z.unknown() })),
      token: kms('R_TOKEN'),
      noEcho: env('R_NO_ECHO').sensitive(),
      eventToken: payload('token').sensitive(),
    });
    const cfg = await inInvocation({ token: eventToken }, () => getConfig(config));
    return { config, cfg, values: { apiKey, password, token, noEcho, eventToken } };
  }

  it('reads real values, renders placeholders: inspect with any options, console.dir, format verbs, JSON, String()', async () => {
    const { config, cfg, values } = await resolved();
    expect([cfg.apiKey, cfg.db.password, cfg.token, cfg.noEcho, cfg.eventToken]).toEqual([
      values.apiKey,
      values.password,
      values.token,
      values.noEcho,
      values.eventToken,
    ]);
    expect(inspect(cfg)).toBe(
      "{\n  table: 'orders',\n  apiKey: [redacted],\n  db: [redacted],\n  token: [redacted],\n  noEcho: [redacted],\n  eventToken: [redacted]\n}",
    );
    expect(inspect(cfg, { customInspect: false, breakLength: Infinity })).toBe(
      "{ table: 'orders', apiKey: Redacted {}, db: Redacted {}, token: Redacted {}, noEcho: Redacted {}, eventToken: Redacted {} }",
    );
    expect(JSON.parse(JSON.stringify(cfg))).toEqual({
      table: 'orders',
      apiKey: '[redacted]',
      db: '[redacted]',
      token: '[redacted]',
      noEcho: '[redacted]',
      eventToken: '[redacted]',
    });
    const nested = { nested: { deeper: [cfg] }, cfg, error: new Error('x', { cause: cfg }) };
    for (const value of [cfg, nested]) {
      for (const options of OPTION_SETS) record(inspect(value, options));
      record(format('%o | %O | %s | %j | %d', value, value, value, value, value));
      record(String(value), `${String(value)}`, JSON.stringify(value), JSON.stringify(value, null, 2));
      // What console.dir prints (Node's console passes customInspect: false).
      record(inspect(value, { depth: Infinity, showHidden: true, getters: true, showProxy: true, customInspect: false }));
    }
    record(describeConfig(config), inspect(config), JSON.stringify(config));
    expect(outputs.join('\n')).toContain('Proxy [');
    expectNoCanary();
  });

  it('is read-only, and spreading or Object.entries give the values (the caller asked for them)', async () => {
    const { cfg, values } = await resolved();
    expect(() => {
      (cfg as { table: string }).table = 'x';
    }).toThrow(TypeError);
    expect(() => delete (cfg as { table?: string }).table).toThrow(TypeError);
    expect(() => Object.defineProperty(cfg, 'apiKey', { value: 'x' })).toThrow(TypeError);
    expect(cfg.table).toBe('orders');
    expect(Object.keys(cfg)).toEqual(['table', 'apiKey', 'db', 'token', 'noEcho', 'eventToken']);
    expect({ ...cfg }.apiKey).toBe(values.apiKey);
    expect(Object.fromEntries(Object.entries(cfg)).noEcho).toBe(values.noEcho);
    expect('apiKey' in cfg).toBe(true);
    expect(Object.isFrozen(cfg)).toBe(false);
    expect(inspect(Object.getOwnPropertyDescriptor(cfg, 'apiKey')?.value)).toBe('[redacted]');
    expect(() => structuredClone(cfg)).toThrow();
  });

  it('leaves a config without sensitive fields a plain frozen object', async () => {
    restore = setEnv({ R_TABLE: 'orders' });
    const cfg = await getConfig(defineConfig({ table: env('R_TABLE') }));
    expect(Object.isFrozen(cfg)).toBe(true);
    expect(inspect(cfg, { showProxy: true })).toBe("{ table: 'orders' }");
  });

  it('marks fields sensitive through .or(), .cache() and .exportAs(), in either order', () => {
    const config = defineConfig({
      a: env('A').sensitive().or(env('B')),
      b: env('A').exportAs('X').sensitive().cache({ ttlSeconds: 1 }),
      c: env('A'),
    });
    expect(config.fields.a.settings.sensitive).toBe(true);
    expect(config.fields.b.settings).toEqual({ envName: 'X', sensitive: true, ttlSeconds: 1 });
    expect(config.fields.c.settings.sensitive).toBeUndefined();
  });
});

describe('validation messages are scrubbed', () => {
  it('of every string of a fetched value at any depth and count, and of the whole raw text', async () => {
    const deep = canary('deep');
    let nested: unknown = deep;
    for (let i = 0; i < 12; i++) nested = { level: nested };
    const deepText = JSON.stringify({ nested });
    aws.sm.createSecret('scrub/deep', deepText);
    const many = Array.from({ length: 100 }, (_, i) => canary(`many-${i}`));
    aws.sm.createSecret('scrub/many', JSON.stringify({ many }));
    const sibling = canary('sibling');
    const keyText = JSON.stringify({ pick: 'abc', other: sibling, n: 12345678 });
    aws.sm.createSecret('scrub/key', keyText);
    const text = canary('text');
    aws.sm.createSecret('scrub/text', text);
    restore = setEnv({ S_DEEP: 'scrub/deep', S_MANY: 'scrub/many', S_KEY: 'scrub/key', S_TEXT: 'scrub/text', S_ENV: canary('env') });
    // Each message echoes what its schema was given, and more of the secret than the field read.
    const echo = { error: (issue: { input?: unknown }) => `got ${JSON.stringify(issue.input)}` };
    const config = defineConfig({
      deep: secret('S_DEEP', z.object({ nested: z.string({ error: () => `got ${deepText}` }) })),
      many: secret('S_MANY', z.object({ many: z.array(z.number(echo)) })),
      key: secret('S_KEY', z.string().regex(/^\d+$/, { error: () => `got ${keyText} ${sibling} 12345678` }), { key: 'pick' }),
      text: secret('S_TEXT', z.string().regex(/^\d+$/, echo)),
      env: env('S_ENV', z.number(echo)).sensitive(),
    });
    const error = (await getConfig(config).catch((e: unknown) => e)) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.issues.map((i) => i.field)).toEqual(['deep', 'many', 'key', 'text', 'env']);
    // 100 issues of the array, each echoing its own string (the 70th too), each scrubbed.
    expect(error.issues[1]?.message.match(/got "\[redacted\]"/g)).toHaveLength(100);
    expect(error.issues[2]?.message).toBe('invalid: got [redacted] [redacted] [redacted]');
    record(error.message, inspect(error, { depth: Infinity, showHidden: true }), JSON.stringify(error));
    expectNoCanary();
  });
});

describe('validation messages are scrubbed of escaped forms', () => {
  it('as JSON.stringify and util.inspect echo a value with quotes, backslashes and newlines', async () => {
    // Secrets Manager's generated passwords contain punctuation, quotes and backslashes included.
    const passwords = ['both', 'json', 'inspect'].map((label) => `${canary(label)}"\\'\n\``);
    aws.sm.createSecret('scrub/escaped', JSON.stringify({ user: 'admin', password: passwords[0] }));
    restore = setEnv({ S_ESCAPED: 'scrub/escaped', S_JSON: passwords[1] as string, S_INSPECT: passwords[2] as string });
    const config = defineConfig({
      db: secret('S_ESCAPED', z.object({ user: z.string(), password: z.string().regex(/^\d+$/) }).refine(() => false, {
        error: (issue) => `got ${JSON.stringify(issue.input)} ${inspect(issue.input)}`,
      })),
      json: env('S_JSON', z.string().regex(/^\d+$/, { error: (issue) => `got ${JSON.stringify(issue.input)}` })).sensitive(),
      inspected: env('S_INSPECT', z.string().regex(/^\d+$/, { error: (issue) => `got ${inspect(issue.input)}` })).sensitive(),
    });
    const error = (await getConfig(config).catch((e: unknown) => e)) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.issues.map((i) => i.field)).toEqual(['db', 'json', 'inspected']);
    expect(error.issues[1]?.message).toBe('invalid: got "[redacted]"');
    record(error.message, inspect(error, { depth: Infinity }), JSON.stringify(error));
    expectNoCanary();
  });
});

describe('schemas from zod/mini and classic zod', () => {
  it('validates with either, and infers the types of both', async () => {
    restore = setEnv({ M_PORT: '8080', M_NAME: 'orders', M_FLAG: 'yes' });
    const config = defineConfig({
      port: env('M_PORT', zm.pipe(zm.string(), zm.transform(Number))),
      name: env('M_NAME', zm.string().check(zm.minLength(3))),
      classic: env('M_FLAG', z.enum(['yes', 'no'])),
      plain: env('M_NAME'),
    });
    const cfg = await getConfig(config);
    expectTypeOf(cfg.port).toEqualTypeOf<number>();
    expectTypeOf(cfg.name).toEqualTypeOf<string>();
    expectTypeOf(cfg.classic).toEqualTypeOf<'yes' | 'no'>();
    expect({ ...cfg }).toEqual({ port: 8080, name: 'orders', classic: 'yes', plain: 'orders' });
    clearConfigCache();
    process.env.M_NAME = 'ab';
    const error = (await getConfig(config).catch((e: unknown) => e)) as ConfigError;
    expect(error.issues.map((i) => [i.field, i.reason])).toEqual([['name', 'invalid']]);
  });
});
