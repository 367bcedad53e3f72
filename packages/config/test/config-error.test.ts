import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { clearConfigCache, ConfigError, defineConfig, env, getConfig, kms, payload, secret, withConfig } from '../src/index.js';
import { setEnv, startStandIns, type StandIns } from './helpers.js';

let aws: StandIns;
let restore: () => void = () => {};
beforeAll(async () => {
  aws = await startStandIns();
});
afterAll(() => aws.close());
beforeEach(() => clearConfigCache());
afterEach(() => {
  restore();
  aws.sm.clearFaults();
  aws.kms.clearFaults();
});

describe('ConfigError', () => {
  it('lists every failed field, of every kind, at once', async () => {
    const denied = aws.sm.createSecret('agg/denied', 'x');
    aws.sm.denySecret('agg/denied');
    aws.sm.createSecret('agg/throttled', 'x');
    aws.sm.createSecret('agg/scheduled', 'x');
    aws.sm.deleteSecret('agg/scheduled');
    const key = aws.kms.createKey().keyId;
    const disabled = aws.kms.createKey().keyId;
    restore = setEnv({
      PORT: 'not-a-number',
      NOT_SET: undefined,
      BAD_REF: 'agg/x:SecretBinary',
      // Versioned references go through GetSecretValue; the unversioned one through the batch.
      NOT_FOUND: 'agg/nowhere:SecretString::AWSPREVIOUS',
      DENIED: `agg/denied:SecretString:::${denied.versionId}`,
      SCHEDULED: 'agg/scheduled',
      THROTTLED: 'agg/throttled',
      WRONG_CONTEXT: aws.kms.encryptToBase64(key, 'x', { app: 'a' }),
      DISABLED_KEY: aws.kms.encryptToBase64(disabled, 'x'),
      GARBAGE: '%%%',
    });
    aws.kms.disableKey(disabled);
    aws.sm.injectFault({ operation: 'BatchGetSecretValue', kind: 'throttle', times: 2 });
    const config = defineConfig({
      missing: env('NOT_SET'),
      invalid: env('PORT', z.coerce.number()),
      badReference: secret('BAD_REF'),
      notFound: secret('NOT_FOUND'),
      accessDenied: secret('DENIED'),
      scheduled: secret('SCHEDULED', { versionStage: 'AWSPREVIOUS' }),
      throttled: secret('THROTTLED'),
      wrongContext: kms('WRONG_CONTEXT', { encryptionContext: { app: 'b' } }),
      keyUnusable: kms('DISABLED_KEY'),
      badCiphertext: kms('GARBAGE'),
      fromEvent: payload('user.id'),
      fine: env('NOT_SET', z.string().default('ok')),
    });
    const handler = withConfig(config, () => 'unreachable');
    const error = (await handler({ user: {} }, {}).catch((e: unknown) => e)) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.issues.map((i) => [i.field, i.source, i.location, i.reason, i.message])).toEqual([
      ['missing', 'env', 'env NOT_SET', 'missing', 'missing'],
      ['invalid', 'env', 'env PORT', 'invalid', 'invalid: Invalid input: expected number, received NaN'],
      [
        'badReference',
        'secretsmanager',
        'secretsmanager via env BAD_REF',
        'bad-reference',
        'bad reference: expected "SecretString" as the segment after the secret id',
      ],
      ['notFound', 'secretsmanager', 'secretsmanager "agg/nowhere" stage AWSPREVIOUS via env NOT_FOUND', 'not-found', 'secret not found'],
      [
        'accessDenied',
        'secretsmanager',
        `secretsmanager "agg/denied" version ${denied.versionId} via env DENIED`,
        'access-denied',
        'access denied',
      ],
      [
        'scheduled',
        'secretsmanager',
        'secretsmanager "agg/scheduled" stage AWSPREVIOUS via env SCHEDULED',
        'invalid-request',
        'the secret cannot be read now (e.g. scheduled for deletion)',
      ],
      ['throttled', 'secretsmanager', 'secretsmanager "agg/throttled" via env THROTTLED', 'throttled', 'throttled after 2 attempts'],
      [
        'wrongContext',
        'kms',
        'kms via env WRONG_CONTEXT',
        'bad-ciphertext',
        // The context sent, and what to try instead.
        expect.stringMatching(
          /^bad ciphertext or wrong encryption context \(InvalidCiphertextException\): sent \{"app":"b"\}; give the context it was encrypted with, leave encryptionContext out if it had none, or use 'function-name' for the Lambda console's \{"LambdaFunctionName":"[^"]+"\}$/,
        ),
      ],
      ['keyUnusable', 'kms', 'kms via env DISABLED_KEY', 'key-unusable', 'the KMS key is not usable (DisabledException)'],
      ['badCiphertext', 'kms', 'kms via env GARBAGE', 'bad-ciphertext', 'the ciphertext is not valid base64'],
      ['fromEvent', 'payload', 'payload user.id', 'missing', 'missing'],
    ]);
    expect(error.message.split('\n')).toEqual([
      'invalid configuration, 11 fields failed:',
      ...error.issues.map((i) => `  ${i.field} (${i.location}): ${i.message}`),
    ]);
    expect(error.lambdaErrorType).toBe('Runtime.ConfigInvalid');
  });

  it('reports an unreachable endpoint', async () => {
    const { SecretsManagerClient } = await import('@aws-sdk/client-secrets-manager');
    const client = new SecretsManagerClient({ endpoint: 'http://127.0.0.1:1', maxAttempts: 1 });
    restore = setEnv({ S: 'anything' });
    const config = defineConfig({ s: secret('S') }, { clients: { secretsManager: client } });
    const error = (await getConfig(config).catch((e: unknown) => e)) as ConfigError;
    expect(error.issues[0]).toMatchObject({ reason: 'unavailable', message: 'could not reach Secrets Manager (ECONNREFUSED)' });
    client.destroy();
  });

  it('serialises to its name, type, message and issues', () => {
    const error = new ConfigError([
      { field: 'a', source: 'env', location: 'env A', reason: 'missing', message: 'missing' },
    ]);
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      name: 'ConfigError',
      lambdaErrorType: 'Runtime.ConfigInvalid',
      message: 'invalid configuration, 1 field failed:\n  a (env A): missing',
      issues: [{ field: 'a', source: 'env', location: 'env A', reason: 'missing', message: 'missing' }],
    });
    expect(inspect(error)).toContain('ConfigError: invalid configuration, 1 field failed:');
    expect(error).toBeInstanceOf(Error);
  });
});
