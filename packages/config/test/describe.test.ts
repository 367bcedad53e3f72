import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { clearConfigCache, defineConfig, describeConfig, env, getConfig, payload, secret } from '../src/index.js';
import { captureLogger, freezeDate, later, setEnv, startStandIns, type StandIns } from './helpers.js';

let aws: StandIns;
let restore: () => void = () => {};
beforeAll(async () => {
  aws = await startStandIns();
  aws.sm.createSecret('describe/api', '{"apiKey":"k"}');
});
afterAll(() => aws.close());
beforeEach(() => {
  freezeDate();
  clearConfigCache();
});
afterEach(() => {
  vi.useRealTimers();
  restore();
  aws.sm.clearFaults();
});

function definition() {
  return defineConfig(
    {
      tableName: env('TABLE_NAME'),
      logLevel: env('LOG_LEVEL', z.string().default('info')),
      apiKey: secret('API_KEY_SECRET', { key: 'apiKey' }),
      customerId: payload('customer.id', z.string().optional()),
    },
    { ttlSeconds: 60, logger: captureLogger() },
  );
}

describe('describeConfig', () => {
  it('says when nothing is resolved yet', () => {
    expect(describeConfig(definition()).split('\n')).toEqual([
      'config: not resolved yet',
      '  tableName   env TABLE_NAME                         not resolved',
      '  logLevel    env LOG_LEVEL                          not resolved',
      '  apiKey      secretsmanager via env API_KEY_SECRET  not resolved',
      '  customerId  payload customer.id                    not resolved',
    ]);
  });

  it('shows each field\'s source and state, with values redacted', async () => {
    restore = setEnv({ TABLE_NAME: 'orders', LOG_LEVEL: undefined, API_KEY_SECRET: 'describe/api' });
    const config = definition();
    await getConfig(config);
    later(4);
    const lines = describeConfig(config).split('\n');
    expect(lines[0]).toBe('config: resolved 4s ago, valid for 56s');
    expect(lines[1]).toMatch(/^ {2}tableName +env TABLE_NAME +resolved from env TABLE_NAME = \[redacted\]$/);
    expect(lines[2]).toMatch(/^ {2}logLevel +env LOG_LEVEL +no source present: schema default = \[redacted\]$/);
    expect(lines[3]).toMatch(
      /^ {2}apiKey +secretsmanager via env API_KEY_SECRET +resolved from secretsmanager "describe\/api", fetched 4s ago = \[redacted\]$/,
    );
    expect(lines[4]).toMatch(/^ {2}customerId +payload customer.id +per invocation$/);
    expect(describeConfig(config)).not.toContain('orders');
  });

  it('marks a stale value and a failed resolution', async () => {
    restore = setEnv({ TABLE_NAME: 'orders', API_KEY_SECRET: 'describe/api' });
    const config = definition();
    await getConfig(config);
    later(61);
    aws.sm.injectFault({ operation: 'BatchGetSecretValue', kind: 'server-error', times: 2 });
    await getConfig(config);
    expect(describeConfig(config)).toMatch(/fetched 61s ago \(stale: refresh failing\)/);

    clearConfigCache();
    restore();
    restore = setEnv({ TABLE_NAME: undefined, API_KEY_SECRET: 'describe/api' });
    await getConfig(config).catch(() => undefined);
    const text = describeConfig(config);
    expect(text.split('\n')[0]).toBe('config: last resolution failed (1 field)');
    expect(text).toMatch(/tableName +env TABLE_NAME +failed: missing/);
  });
});
