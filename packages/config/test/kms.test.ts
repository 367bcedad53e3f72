import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, defineConfig, getConfig, kms, payload, withConfig } from '../src/index.js';
import { setEnv, startStandIns, type StandIns } from './helpers.js';

let aws: StandIns;
let keyId: string;
let restore: () => void = () => {};
beforeAll(async () => {
  aws = await startStandIns();
  keyId = aws.kms.createKey().keyId;
});
afterAll(() => aws.close());
beforeEach(() => aws.reset());
afterEach(() => restore());

describe('kms source', () => {
  it('decrypts base64 ciphertext from an env var without a context', async () => {
    restore = setEnv({ TOKEN: aws.kms.encryptToBase64(keyId, 'token-1') });
    await expect(getConfig(defineConfig({ token: kms('TOKEN') }))).resolves.toEqual({ token: 'token-1' });
    expect(aws.kms.callCount('Decrypt')).toBe(1);
  });

  it('decrypts with a context record', async () => {
    const context = { purpose: 'billing', tenant: 't1' };
    restore = setEnv({ TOKEN: aws.kms.encryptToBase64(keyId, 'token-2', context) });
    const config = defineConfig({ token: kms('TOKEN', { encryptionContext: { tenant: 't1', purpose: 'billing' } }) });
    await expect(getConfig(config)).resolves.toEqual({ token: 'token-2' });
  });

  it("decrypts the Lambda console helper's ciphertext with 'function-name'", async () => {
    restore = setEnv({
      AWS_LAMBDA_FUNCTION_NAME: 'orders-fn',
      LEGACY_TOKEN_ENCRYPTED: aws.kms.encryptToBase64(keyId, 'legacy', { LambdaFunctionName: 'orders-fn' }),
    });
    const config = defineConfig({ legacyToken: kms('LEGACY_TOKEN_ENCRYPTED', { encryptionContext: 'function-name' }) });
    await expect(getConfig(config)).resolves.toEqual({ legacyToken: 'legacy' });
  });

  it('reports a wrong context, a missing one and bad base64 as bad-ciphertext', async () => {
    restore = setEnv({
      AWS_LAMBDA_FUNCTION_NAME: 'other-fn',
      WRONG: aws.kms.encryptToBase64(keyId, 'x', { LambdaFunctionName: 'orders-fn' }),
      NEEDS: aws.kms.encryptToBase64(keyId, 'y', { a: 'b' }),
      GARBAGE: 'not base64!!',
    });
    const config = defineConfig({
      wrong: kms('WRONG', { encryptionContext: 'function-name' }),
      needs: kms('NEEDS'),
      garbage: kms('GARBAGE'),
    });
    const error = (await getConfig(config).catch((e: unknown) => e)) as ConfigError;
    expect(error.issues.map((i) => [i.field, i.reason, i.location, i.message])).toEqual([
      // Each message shows the context sent and what to try (a context is not secret: KMS logs it in CloudTrail).
      [
        'wrong',
        'bad-ciphertext',
        'kms via env WRONG',
        `bad ciphertext or wrong encryption context (InvalidCiphertextException): sent {"LambdaFunctionName":"other-fn"} (encryptionContext 'function-name'); ` +
          'if it was encrypted for another function name, give that context as a record, or leave encryptionContext out if it was encrypted without one',
      ],
      [
        'needs',
        'bad-ciphertext',
        'kms via env NEEDS',
        `bad ciphertext or wrong encryption context (InvalidCiphertextException): sent no encryption context; if it was encrypted with one (the Lambda console's helper uses {"LambdaFunctionName":"other-fn"}), ` +
          "declare it: encryptionContext: 'function-name' or the record",
      ],
      ['garbage', 'bad-ciphertext', 'kms via env GARBAGE', 'the ciphertext is not valid base64'],
    ]);
    expect(aws.kms.callCount('Decrypt')).toBe(2);
  });

  it('reports a disabled key', async () => {
    const key = aws.kms.createKey().keyId;
    restore = setEnv({ T: aws.kms.encryptToBase64(key, 'x') });
    aws.kms.disableKey(key);
    const error = (await getConfig(defineConfig({ t: kms('T') })).catch((e: unknown) => e)) as ConfigError;
    expect(error.issues[0]).toMatchObject({ reason: 'key-unusable', source: 'kms' });
  });

  it('validates and parses the plaintext with a schema', async () => {
    restore = setEnv({
      PORT: aws.kms.encryptToBase64(keyId, '5432'),
      CREDS: aws.kms.encryptToBase64(keyId, '{"user":"u","pass":"p"}'),
    });
    const config = defineConfig({
      port: kms('PORT', z.coerce.number().int()),
      creds: kms('CREDS', z.object({ user: z.string(), pass: z.string() })),
    });
    await expect(getConfig(config)).resolves.toEqual({ port: 5432, creds: { user: 'u', pass: 'p' } });
  });

  it('decrypts in parallel and decrypts identical ciphertexts once', async () => {
    const a = aws.kms.encryptToBase64(keyId, 'a');
    restore = setEnv({ A: a, A2: a, B: aws.kms.encryptToBase64(keyId, 'b'), C: aws.kms.encryptToBase64(keyId, 'c') });
    aws.kms.setLatency(50);
    try {
      const config = defineConfig({ a: kms('A'), a2: kms('A2'), b: kms('B'), c: kms('C') });
      await expect(getConfig(config)).resolves.toEqual({ a: 'a', a2: 'a', b: 'b', c: 'c' });
      expect(aws.kms.callCount('Decrypt')).toBe(3);
      const starts = aws.kms.calls.map((c) => c.at);
      // All three were in flight together: each started before the first could have finished.
      expect(Math.max(...starts) - Math.min(...starts)).toBeLessThan(50);
    } finally {
      aws.kms.setLatency(0);
    }
  });
});

describe('kms(payload())', () => {
  it('decrypts a value passed in the event, cached by ciphertext', async () => {
    const config = defineConfig({ card: kms(payload('card.encrypted'), { encryptionContext: { use: 'card' } }) });
    const handler = withConfig(config, (_e: unknown, _c: unknown, cfg) => cfg.card);
    const one = aws.kms.encryptToBase64(keyId, '4111', { use: 'card' });
    const two = aws.kms.encryptToBase64(keyId, '5500', { use: 'card' });
    await expect(handler({ card: { encrypted: one } }, {})).resolves.toBe('4111');
    await expect(handler({ card: { encrypted: two } }, {})).resolves.toBe('5500');
    await expect(handler({ card: { encrypted: one } }, {})).resolves.toBe('4111');
    expect(aws.kms.callCount('Decrypt')).toBe(2);
  });

  it('is undefined outside an invocation and missing when the event lacks it', async () => {
    const config = defineConfig({ card: kms(payload('card')) });
    await expect(getConfig(config)).resolves.toEqual({ card: undefined });
    const handler = withConfig(config, () => 'ran');
    const error = (await handler({}, {}).catch((e: unknown) => e)) as ConfigError;
    expect(error.issues[0]).toMatchObject({ field: 'card', reason: 'missing', location: 'kms via payload card' });
  });

  it('reports a non-string ciphertext in the event', async () => {
    const handler = withConfig(defineConfig({ card: kms(payload('card')) }), () => 'ran');
    const error = (await handler({ card: 42 }, {}).catch((e: unknown) => e)) as ConfigError;
    expect(error.issues[0]).toMatchObject({ reason: 'bad-ciphertext', message: 'the ciphertext must be a base64 string' });
  });
});
