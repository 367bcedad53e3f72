import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
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
import { captureLogger, setEnv, startStandIns, type StandIns } from './helpers.js';

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
