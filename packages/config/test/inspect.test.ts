import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineConfig, env, inspectConfig, kms, payload, secret } from '../src/index.js';
import { setEnv } from './helpers.js';

describe('inspectConfig', () => {
  const config = defineConfig({
    tableName: env('TABLE_NAME'),
    logLevel: env('LOG_LEVEL', z.enum(['debug', 'info']).default('info')),
    port: env('PORT', z.coerce.number()).or(env('HTTP_PORT')),
    apiKey: secret('API_KEY_SECRET', { key: 'apiKey', versionStage: 'AWSPREVIOUS' }),
    signing: secret({ reference: 'prod/signing', versionId: 'v-1' }),
    token: kms('TOKEN_ENCRYPTED', { encryptionContext: 'function-name', keyId: 'alias/app' }),
    card: kms(payload('card.encrypted'), { encryptionContext: { purpose: 'cards' } }),
    customerId: env('CUSTOMER_ID').or(payload('customer.id', z.string().optional())),
    note: payload('note', z.string().optional()),
  });

  it('lists every field with its ordered sources, described without values', () => {
    expect(inspectConfig(config)).toEqual([
      { key: 'tableName', acceptsAbsent: false, redacted: false, sources: [{ kind: 'env', name: 'TABLE_NAME', location: 'env TABLE_NAME' }] },
      { key: 'logLevel', acceptsAbsent: true, redacted: false, sources: [{ kind: 'env', name: 'LOG_LEVEL', location: 'env LOG_LEVEL' }] },
      {
        key: 'port',
        acceptsAbsent: false,
        redacted: false,
        sources: [
          { kind: 'env', name: 'PORT', location: 'env PORT' },
          { kind: 'env', name: 'HTTP_PORT', location: 'env HTTP_PORT' },
        ],
      },
      {
        key: 'apiKey',
        acceptsAbsent: false,
        redacted: true,
        sources: [
          {
            kind: 'secretsmanager',
            envName: 'API_KEY_SECRET',
            key: 'apiKey',
            versionStage: 'AWSPREVIOUS',
            location: 'secretsmanager via env API_KEY_SECRET',
          },
        ],
      },
      {
        key: 'signing',
        acceptsAbsent: false,
        redacted: true,
        sources: [{ kind: 'secretsmanager', reference: 'prod/signing', versionId: 'v-1', location: 'secretsmanager "prod/signing"' }],
      },
      {
        key: 'token',
        acceptsAbsent: false,
        redacted: true,
        sources: [
          { kind: 'kms', envName: 'TOKEN_ENCRYPTED', encryptionContext: 'function-name', keyId: 'alias/app', location: 'kms via env TOKEN_ENCRYPTED' },
        ],
      },
      {
        key: 'card',
        acceptsAbsent: false,
        redacted: true,
        sources: [
          { kind: 'kms', payloadPath: 'card.encrypted', encryptionContext: { purpose: 'cards' }, location: 'kms via payload card.encrypted' },
        ],
      },
      {
        key: 'customerId',
        acceptsAbsent: false,
        redacted: false,
        sources: [
          { kind: 'env', name: 'CUSTOMER_ID', location: 'env CUSTOMER_ID' },
          { kind: 'payload', path: 'customer.id', location: 'payload customer.id' },
        ],
      },
      { key: 'note', acceptsAbsent: true, redacted: false, sources: [{ kind: 'payload', path: 'note', location: 'payload note' }] },
    ]);
  });

  it('leaves unset options out rather than setting them to undefined', () => {
    const [field] = inspectConfig(defineConfig({ db: secret('DB_SECRET') }));
    expect(Object.keys(field!.sources[0]!)).toEqual(['kind', 'envName', 'location']);
  });

  it('reads neither the environment nor any value', () => {
    const restore = setEnv({ TABLE_NAME: 'orders-table-value' });
    try {
      const text = JSON.stringify(inspectConfig(config));
      expect(text).not.toContain('orders-table-value');
      // The default of logLevel is not shown either: only that the field may be absent.
      expect(text).not.toContain('"info"');
    } finally {
      restore();
    }
  });

  it('says which fields are redacted: Secrets Manager, KMS and fields marked sensitive', () => {
    const marked = defineConfig({ plain: env('A'), token: env('B').sensitive(), sig: payload('sig').sensitive(), key: kms('C') });
    expect(inspectConfig(marked).map((f) => [f.key, f.redacted])).toEqual([
      ['plain', false],
      ['token', true],
      ['sig', true],
      ['key', true],
    ]);
  });

  it('is frozen', () => {
    const fields = inspectConfig(config);
    expect(Object.isFrozen(fields)).toBe(true);
    expect(Object.isFrozen(fields[0])).toBe(true);
    expect(Object.isFrozen(fields[0]!.sources)).toBe(true);
  });

  it('reads a definition made by another copy of the package through its public fields', () => {
    const foreign = { fields: { apiKey: { sources: [{ kind: 'env', name: 'API_KEY' }], schema: z.string().optional() } } };
    expect(inspectConfig(foreign as unknown as typeof config)).toEqual([
      { key: 'apiKey', acceptsAbsent: true, redacted: false, sources: [{ kind: 'env', name: 'API_KEY', location: 'env API_KEY' }] },
    ]);
  });

  it('rejects what is not a definition, and source kinds it does not know', () => {
    expect(() => inspectConfig({} as typeof config)).toThrow(TypeError);
    expect(() => inspectConfig({ fields: { a: 1 } } as unknown as typeof config)).toThrow(/"a" is not a field/);
    const newer = { fields: { a: { sources: [{ kind: 'parameter-store' }], schema: z.string() } } };
    expect(() => inspectConfig(newer as unknown as typeof config)).toThrow(/unknown kind "parameter-store"/);
  });
});
