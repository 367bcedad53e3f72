import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  KMSClient,
} from '@aws-sdk/client-kms';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { awsFailure } from './aws-failure.js';
import { startKms, type KmsStandIn } from '../src/kms.js';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let kms: KmsStandIn;
let client: KMSClient;
const extraClients: KMSClient[] = [];

function clientFor(maxAttempts: number): KMSClient {
  const created = new KMSClient({ endpoint: kms.url, region: kms.region, credentials, maxAttempts });
  extraClients.push(created);
  return created;
}



function text(bytes: Uint8Array | undefined): string {
  return Buffer.from(bytes ?? []).toString('utf8');
}

beforeEach(async () => {
  kms = await startKms();
  client = new KMSClient({ endpoint: kms.url, region: kms.region, credentials });
});

afterEach(async () => {
  client.destroy();
  for (const extra of extraClients.splice(0)) extra.destroy();
  await kms.close();
});

describe('keys and aliases', () => {
  it('CreateKey returns metadata with a UUID key id and an ARN; DescribeKey finds it by every id form', async () => {
    const { KeyMetadata } = await client.send(new CreateKeyCommand({ Description: 'config key' }));
    expect(KeyMetadata?.KeyId).toMatch(UUID);
    expect(KeyMetadata?.Arn).toBe(`arn:aws:kms:us-east-1:123456789012:key/${KeyMetadata?.KeyId}`);
    expect(KeyMetadata).toMatchObject({
      Description: 'config key',
      Enabled: true,
      KeyState: 'Enabled',
      KeyUsage: 'ENCRYPT_DECRYPT',
      KeySpec: 'SYMMETRIC_DEFAULT',
      EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
    });
    expect(KeyMetadata?.CreationDate).toBeInstanceOf(Date);

    await client.send(new CreateAliasCommand({ AliasName: 'alias/config', TargetKeyId: KeyMetadata?.KeyId }));
    const aliasArn = 'arn:aws:kms:us-east-1:123456789012:alias/config';
    for (const keyId of [KeyMetadata!.KeyId!, KeyMetadata!.Arn!, 'alias/config', aliasArn]) {
      const described = await client.send(new DescribeKeyCommand({ KeyId: keyId }));
      expect(described.KeyMetadata?.KeyId).toBe(KeyMetadata?.KeyId);
    }
  });

  it('answers NotFoundException for unknown keys and aliases, AlreadyExistsException for a taken alias', async () => {
    const { keyId } = kms.createKey();
    for (const unknown of ['00000000-0000-4000-8000-000000000000', 'alias/none', 'not-a-key']) {
      const error = await awsFailure(client.send(new DescribeKeyCommand({ KeyId: unknown })));
      expect(error.name).toBe('NotFoundException');
    }
    kms.createAlias('alias/taken', keyId);
    const taken = await awsFailure(client.send(new CreateAliasCommand({ AliasName: 'alias/taken', TargetKeyId: keyId })));
    expect(taken.name).toBe('AlreadyExistsException');
  });

  it('uses region and account id from the options in ARNs', async () => {
    await kms.close();
    kms = await startKms({ region: 'eu-central-1', accountId: '111122223333' });
    const { keyId, arn } = kms.createKey();
    expect(arn).toBe(`arn:aws:kms:eu-central-1:111122223333:key/${keyId}`);
    const described = await clientFor(3).send(new DescribeKeyCommand({ KeyId: arn }));
    expect(described.KeyMetadata?.AWSAccountId).toBe('111122223333');
  });
});

describe('Encrypt and Decrypt', () => {
  it('round-trips without an encryption context; Decrypt needs no KeyId', async () => {
    const { keyId, arn } = kms.createKey();
    const encrypted = await client.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('s3cret') }));
    expect(encrypted.KeyId).toBe(arn);
    expect(encrypted.EncryptionAlgorithm).toBe('SYMMETRIC_DEFAULT');
    expect(text(encrypted.CiphertextBlob)).not.toContain('s3cret');

    const decrypted = await client.send(new DecryptCommand({ CiphertextBlob: encrypted.CiphertextBlob }));
    expect(text(decrypted.Plaintext)).toBe('s3cret');
    expect(decrypted.KeyId).toBe(arn);
    expect(decrypted.EncryptionAlgorithm).toBe('SYMMETRIC_DEFAULT');
  });

  it('produces a different blob each time for the same plaintext', async () => {
    const { keyId } = kms.createKey();
    const first = kms.encrypt(keyId, 'same');
    const second = kms.encrypt(keyId, 'same');
    expect(first.equals(second)).toBe(false);
    expect(kms.decrypt(first).toString()).toBe('same');
    expect(kms.decrypt(second).toString()).toBe('same');
  });

  it('round-trips with an encryption context, whatever the member order', async () => {
    const { keyId } = kms.createKey();
    const encrypted = await client.send(
      new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('ctx'), EncryptionContext: { app: 'a', stage: 'prod' } }),
    );
    const decrypted = await client.send(
      new DecryptCommand({ CiphertextBlob: encrypted.CiphertextBlob, EncryptionContext: { stage: 'prod', app: 'a' } }),
    );
    expect(text(decrypted.Plaintext)).toBe('ctx');
  });

  it('answers InvalidCiphertextException when the context differs in any way', async () => {
    const { keyId } = kms.createKey();
    const blob = kms.encrypt(keyId, 'bound', { app: 'a' });
    const contexts: Array<Record<string, string> | undefined> = [undefined, {}, { app: 'b' }, { App: 'a' }, { app: 'a', extra: 'x' }];
    for (const context of contexts) {
      const error = await awsFailure(
        client.send(new DecryptCommand({ CiphertextBlob: blob, ...(context === undefined ? {} : { EncryptionContext: context }) })),
      );
      expect(error.name).toBe('InvalidCiphertextException');
      expect(error.$metadata.httpStatusCode).toBe(400);
    }
    // And a blob made without a context does not decrypt with one.
    const plain = kms.encrypt(keyId, 'unbound');
    expect((await awsFailure(client.send(new DecryptCommand({ CiphertextBlob: plain, EncryptionContext: { app: 'a' } })))).name).toBe(
      'InvalidCiphertextException',
    );
  });

  it('answers InvalidCiphertextException for a tampered or garbage blob', async () => {
    const { keyId } = kms.createKey();
    const blob = kms.encrypt(keyId, 'integrity matters');
    // Flip one byte in the version, key id, IV, ciphertext and tag regions in turn.
    for (const index of [0, 5, 20, 32, blob.length - 1]) {
      const tampered = Buffer.from(blob);
      tampered[index] = tampered[index]! ^ 0x01;
      const error = await awsFailure(client.send(new DecryptCommand({ CiphertextBlob: tampered })));
      expect(error.name).toBe('InvalidCiphertextException');
    }
    for (const garbage of [Buffer.from('not a ciphertext at all, not even close'), Buffer.from([1, 2, 3]), blob.subarray(0, blob.length - 1)]) {
      const error = await awsFailure(client.send(new DecryptCommand({ CiphertextBlob: garbage })));
      expect(error.name).toBe('InvalidCiphertextException');
    }
  });

  it('answers IncorrectKeyException when Decrypt names another key, and accepts the right one in any form', async () => {
    const right = kms.createKey();
    const wrong = kms.createKey();
    kms.createAlias('alias/right', right.keyId);
    const blob = kms.encrypt(right.keyId, 'which key');
    const error = await awsFailure(client.send(new DecryptCommand({ CiphertextBlob: blob, KeyId: wrong.keyId })));
    expect(error.name).toBe('IncorrectKeyException');
    for (const keyId of [right.keyId, right.arn, 'alias/right']) {
      const decrypted = await client.send(new DecryptCommand({ CiphertextBlob: blob, KeyId: keyId }));
      expect(text(decrypted.Plaintext)).toBe('which key');
    }
  });

  it('does not decrypt blobs made by another stand-in', async () => {
    const other = await startKms();
    try {
      const { keyId } = other.createKey();
      const foreign = other.encrypt(keyId, 'elsewhere');
      expect((await awsFailure(client.send(new DecryptCommand({ CiphertextBlob: foreign })))).name).toBe('InvalidCiphertextException');
    } finally {
      await other.close();
    }
  });

  it('encrypts through an alias and an alias ARN', async () => {
    const { keyId, arn } = kms.createKey();
    kms.createAlias('alias/app', keyId);
    for (const id of ['alias/app', 'arn:aws:kms:us-east-1:123456789012:alias/app']) {
      const encrypted = await client.send(new EncryptCommand({ KeyId: id, Plaintext: Buffer.from('via alias') }));
      expect(encrypted.KeyId).toBe(arn);
      expect(kms.decrypt(encrypted.CiphertextBlob!).toString()).toBe('via alias');
    }
  });

  it('accepts 4096 bytes of plaintext and refuses 4097 with ValidationException', async () => {
    const { keyId } = kms.createKey();
    const max = await client.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.alloc(4096, 7) }));
    expect(Buffer.from(kms.decrypt(max.CiphertextBlob!))).toEqual(Buffer.alloc(4096, 7));
    const error = await awsFailure(client.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.alloc(4097, 7) })));
    expect(error.name).toBe('ValidationException');
    expect(() => kms.encrypt(keyId, Buffer.alloc(4097))).toThrow(/4096/);
  });

  it('encryptToBase64 makes what the Lambda console stores in an env var', async () => {
    const { keyId } = kms.createKey();
    const stored = kms.encryptToBase64(keyId, 'db-password', { LambdaFunctionName: 'my-function' });
    expect(stored).toMatch(/^[A-Za-z0-9+/]+=*$/);
    const decrypted = await client.send(
      new DecryptCommand({
        CiphertextBlob: Buffer.from(stored, 'base64'),
        EncryptionContext: { LambdaFunctionName: 'my-function' },
      }),
    );
    expect(text(decrypted.Plaintext)).toBe('db-password');
    const otherFunction = await awsFailure(
      client.send(
        new DecryptCommand({ CiphertextBlob: Buffer.from(stored, 'base64'), EncryptionContext: { LambdaFunctionName: 'other' } }),
      ),
    );
    expect(otherFunction.name).toBe('InvalidCiphertextException');
  });

  it('GenerateDataKey returns a data key and its ciphertext', async () => {
    const { keyId } = kms.createKey();
    const generated = await client.send(
      new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', EncryptionContext: { purpose: 'test' } }),
    );
    expect(generated.Plaintext).toHaveLength(32);
    const decrypted = await client.send(
      new DecryptCommand({ CiphertextBlob: generated.CiphertextBlob, EncryptionContext: { purpose: 'test' } }),
    );
    expect(Buffer.from(decrypted.Plaintext!)).toEqual(Buffer.from(generated.Plaintext!));
  });
});

describe('disabled keys', () => {
  it('answers DisabledException for Encrypt and Decrypt until re-enabled', async () => {
    const { keyId } = kms.createKey();
    const blob = kms.encrypt(keyId, 'before');
    kms.disableKey(keyId);
    expect((await awsFailure(client.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') })))).name).toBe('DisabledException');
    expect((await awsFailure(client.send(new DecryptCommand({ CiphertextBlob: blob })))).name).toBe('DisabledException');
    expect((await client.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata).toMatchObject({
      Enabled: false,
      KeyState: 'Disabled',
    });

    await client.send(new EnableKeyCommand({ KeyId: keyId }));
    expect(text((await client.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext)).toBe('before');
    await client.send(new DisableKeyCommand({ KeyId: keyId }));
    expect((await awsFailure(client.send(new DecryptCommand({ CiphertextBlob: blob })))).name).toBe('DisabledException');
  });
});

describe('test controls', () => {
  it('records calls with plaintext redacted and counts them per operation', async () => {
    const { keyId } = kms.createKey();
    const encrypted = await client.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('hide me') }));
    await client.send(new DecryptCommand({ CiphertextBlob: encrypted.CiphertextBlob }));
    await client.send(new DecryptCommand({ CiphertextBlob: encrypted.CiphertextBlob }));
    expect(kms.callCount()).toBe(3);
    expect(kms.callCount('Decrypt')).toBe(2);
    expect(kms.calls[0]).toMatchObject({ operation: 'Encrypt', input: { KeyId: keyId, Plaintext: '[redacted]' } });
    expect(JSON.stringify(kms.calls)).not.toContain(Buffer.from('hide me').toString('base64'));
    kms.resetCalls();
    expect(kms.callCount('Decrypt')).toBe(0);
  });

  it('injected latency delays answers that still succeed', async () => {
    const { keyId } = kms.createKey();
    const blob = kms.encrypt(keyId, 'slow');
    kms.setLatency(150);
    const started = performance.now();
    expect(text((await client.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext)).toBe('slow');
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('throttling surfaces as ThrottlingException after the SDK retries', async () => {
    const { keyId } = kms.createKey();
    const blob = kms.encrypt(keyId, 'busy');
    kms.injectFault({ operation: 'Decrypt', kind: 'throttle', times: 2 });
    const error = await awsFailure(clientFor(2).send(new DecryptCommand({ CiphertextBlob: blob })));
    expect(error.name).toBe('ThrottlingException');
    expect(error.$metadata.attempts).toBe(2);
    expect(kms.callCount('Decrypt')).toBe(2);
  });

  it('server errors are 500 KMSInternalException and are retried', async () => {
    const { keyId } = kms.createKey();
    const blob = kms.encrypt(keyId, 'flaky');
    kms.injectFault({ kind: 'server-error', times: 1 });
    const recovered = await clientFor(2).send(new DecryptCommand({ CiphertextBlob: blob }));
    expect(text(recovered.Plaintext)).toBe('flaky');
    expect(recovered.$metadata.attempts).toBe(2);

    kms.injectFault({ kind: 'server-error', times: 1 });
    const error = await awsFailure(clientFor(1).send(new DecryptCommand({ CiphertextBlob: blob })));
    expect(error.name).toBe('KMSInternalException');
    expect(error.$fault).toBe('server');
    expect(error.$metadata.httpStatusCode).toBe(500);
  });

  it('deny(operation) and access-denied faults answer AccessDeniedException without retries', async () => {
    const { keyId } = kms.createKey();
    const blob = kms.encrypt(keyId, 'guarded');
    kms.deny('Decrypt');
    const denied = await awsFailure(client.send(new DecryptCommand({ CiphertextBlob: blob })));
    expect(denied.name).toBe('AccessDeniedException');
    expect(denied.message).toContain('kms:Decrypt');
    expect(denied.$metadata.attempts).toBe(1);
    await client.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('still allowed') }));
    kms.allow('Decrypt');

    kms.injectFault({ operation: 'Decrypt', kind: 'access-denied' });
    expect((await awsFailure(client.send(new DecryptCommand({ CiphertextBlob: blob })))).name).toBe('AccessDeniedException');
    expect(text((await client.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext)).toBe('guarded');
  });

  it('requires an Authorization header', async () => {
    const response = await fetch(`${kms.url}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.CreateKey' },
      body: '{}',
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
    expect(((await response.json()) as { __type: string }).__type).toBe('MissingAuthenticationTokenException');
  });
});
