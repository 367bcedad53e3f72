import { BatchGetSecretValueCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { awsFailure } from './aws-failure.js';
import { startSecretsManager, type SecretsManagerStandIn } from '../src/secrets-manager.js';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
let sm: SecretsManagerStandIn;
let client: SecretsManagerClient;

beforeEach(async () => {
  sm = await startSecretsManager({ credentials });
  sm.createSecret('a', 'va');
  client = new SecretsManagerClient({ endpoint: sm.url, region: sm.region, credentials, maxAttempts: 1 });
});

afterEach(async () => {
  client.destroy();
  await sm.close();
});

describe('faults for hang tests', () => {
  it('hang: accepts the request and never answers; close() still returns', async () => {
    sm.injectFault({ operation: 'GetSecretValue', kind: 'hang' });
    const slow = new SecretsManagerClient({ endpoint: sm.url, region: sm.region, credentials, maxAttempts: 1, requestHandler: { requestTimeout: 300, throwOnRequestTimeout: true } });
    const error = await awsFailure(slow.send(new GetSecretValueCommand({ SecretId: 'a' })));
    slow.destroy();
    expect(error.name).toBe('TimeoutError');
    expect(sm.calls.map((c) => [c.operation, c.errorCode])).toEqual([['GetSecretValue', undefined]]);
    // The fault was consumed: the next call is answered.
    expect((await client.send(new GetSecretValueCommand({ SecretId: 'a' }))).SecretString).toBe('va');
  });

  it('repeat-next-token: answers nothing but the same NextToken every time', async () => {
    sm.injectFault({ operation: 'BatchGetSecretValue', kind: 'repeat-next-token', times: Infinity });
    const first = await client.send(new BatchGetSecretValueCommand({ SecretIdList: ['a'] }));
    const second = await client.send(new BatchGetSecretValueCommand({ SecretIdList: ['a'], NextToken: first.NextToken }));
    expect(first.SecretValues ?? []).toEqual([]);
    expect(first.NextToken).toEqual(expect.any(String));
    expect(second.NextToken).toBe(first.NextToken);
  });

  it('server-error with times: Infinity fails every call', async () => {
    sm.injectFault({ kind: 'server-error', times: Infinity });
    for (let i = 0; i < 3; i++) {
      const error = await awsFailure(client.send(new GetSecretValueCommand({ SecretId: 'a' })));
      expect(error.name).toBe('InternalServiceError');
    }
    expect(sm.callCount()).toBe(3);
  });

  it('signature-expired: answers InvalidSignatureException "Signature expired" once', async () => {
    sm.injectFault({ operation: 'GetSecretValue', kind: 'signature-expired' });
    const error = await awsFailure(client.send(new GetSecretValueCommand({ SecretId: 'a' })));
    expect(error.name).toBe('InvalidSignatureException');
    expect(error.message).toMatch(/^Signature expired: /);
    expect((await client.send(new GetSecretValueCommand({ SecretId: 'a' }))).SecretString).toBe('va');
  });
});
