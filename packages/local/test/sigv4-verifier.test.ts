import { DecryptCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterEach, describe, expect, it } from 'vitest';
import { awsFailure } from './aws-failure.js';
import { startKms, type KmsStandIn } from '../src/kms.js';
import { startSecretsManager, type SecretsManagerStandIn } from '../src/secrets-manager.js';
import { formatAmzDate, verifySignature } from '../src/sigv4-verifier.js';

// Dummy credentials the stand-ins are given; the SDK clients sign with these or with wrong ones.
const good = { accessKeyId: 'AKIDSTANDIN', secretAccessKey: 'stand-in-secret', sessionToken: 'stand-in-session' };

const closers: Array<() => unknown> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function secretsManager(region = 'eu-west-1'): Promise<SecretsManagerStandIn> {
  const sm = await startSecretsManager({ region, credentials: good });
  closers.push(() => sm.close());
  sm.createSecret('app/key', 'v');
  return sm;
}

function smClient(sm: SecretsManagerStandIn, credentials: typeof good | Omit<typeof good, 'sessionToken'>, region = sm.region): SecretsManagerClient {
  const client = new SecretsManagerClient({ endpoint: sm.url, region, credentials, maxAttempts: 1 });
  closers.push(() => client.destroy());
  return client;
}

describe('SigV4 verification of the stand-ins', () => {
  it('accepts requests the SDK signs with the given credentials, for Secrets Manager and KMS', async () => {
    const sm = await secretsManager();
    const out = await smClient(sm, good).send(new GetSecretValueCommand({ SecretId: 'app/key' }));
    expect(out.SecretString).toBe('v');

    const kms: KmsStandIn = await startKms({ region: 'eu-west-1', credentials: good });
    closers.push(() => kms.close());
    const client = new KMSClient({ endpoint: kms.url, region: 'eu-west-1', credentials: good, maxAttempts: 1 });
    closers.push(() => client.destroy());
    const { keyId } = kms.createKey();
    const encrypted = await client.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('p') }));
    const decrypted = await client.send(new DecryptCommand({ CiphertextBlob: encrypted.CiphertextBlob! }));
    expect(Buffer.from(decrypted.Plaintext!).toString()).toBe('p');
  });

  it('rejects a wrong secret key with InvalidSignatureException, as AWS does', async () => {
    const sm = await secretsManager();
    const error = await awsFailure(smClient(sm, { ...good, secretAccessKey: 'wrong' }).send(new GetSecretValueCommand({ SecretId: 'app/key' })));
    expect(error.name).toBe('InvalidSignatureException');
    expect(error.message).toMatch(/^The request signature we calculated does not match/);
    expect(error.$metadata.httpStatusCode).toBe(400);
    expect(sm.calls[0]?.errorCode).toBe('InvalidSignatureException');
  });

  it('rejects an unknown access key id or a wrong session token with UnrecognizedClientException', async () => {
    const sm = await secretsManager();
    const wrongKey = await awsFailure(smClient(sm, { ...good, accessKeyId: 'AKIDOTHER' }).send(new GetSecretValueCommand({ SecretId: 'app/key' })));
    expect(wrongKey.name).toBe('UnrecognizedClientException');
    expect(wrongKey.message).toBe('The security token included in the request is invalid.');
    const noToken = await awsFailure(
      smClient(sm, { accessKeyId: good.accessKeyId, secretAccessKey: good.secretAccessKey }).send(new GetSecretValueCommand({ SecretId: 'app/key' })),
    );
    expect(noToken.name).toBe('UnrecognizedClientException');
  });

  it('accepts further identities given with acceptCredentials, each with its own secret key', async () => {
    const sm = await secretsManager();
    const other = { accessKeyId: 'AKIDOTHER', secretAccessKey: 'other-secret', sessionToken: 'other-session' };
    expect((await awsFailure(smClient(sm, other).send(new GetSecretValueCommand({ SecretId: 'app/key' })))).name).toBe('UnrecognizedClientException');
    sm.acceptCredentials(other);
    expect((await smClient(sm, other).send(new GetSecretValueCommand({ SecretId: 'app/key' }))).SecretString).toBe('v');
    expect((await smClient(sm, good).send(new GetSecretValueCommand({ SecretId: 'app/key' }))).SecretString).toBe('v');
    const mixed = await awsFailure(smClient(sm, { ...other, secretAccessKey: good.secretAccessKey }).send(new GetSecretValueCommand({ SecretId: 'app/key' })));
    expect(mixed.name).toBe('InvalidSignatureException');
  });

  it('rejects a signature scoped to another region', async () => {
    const sm = await secretsManager('eu-west-1');
    const error = await awsFailure(smClient(sm, good, 'us-east-1').send(new GetSecretValueCommand({ SecretId: 'app/key' })));
    expect(error.name).toBe('InvalidSignatureException');
    expect(error.message).toBe("Credential should be scoped to a valid region, not 'us-east-1'.");
  });

  it('rejects a malformed Authorization header with IncompleteSignatureException, none with MissingAuthenticationTokenException', async () => {
    const sm = await secretsManager();
    const post = (authorization?: string): Promise<Response> =>
      fetch(`${sm.url}/`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-amz-json-1.1',
          'x-amz-target': 'secretsmanager.GetSecretValue',
          ...(authorization === undefined ? {} : { authorization }),
        },
        body: '{"SecretId":"app/key"}',
      });
    const malformed = await post('AWS4-HMAC-SHA256 Signature=abc');
    expect(malformed.status).toBe(400);
    expect(malformed.headers.get('x-amzn-errortype')).toBe('IncompleteSignatureException');
    const missing = await post();
    expect(missing.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
  });

  it('says "Signature expired" for a request signed more than 15 minutes ago, "not yet current" in the future', async () => {
    const sm = await secretsManager();
    const signedAt = Date.now() - 16 * 60_000;
    const client = new SecretsManagerClient({ endpoint: sm.url, region: sm.region, credentials: good, maxAttempts: 1, systemClockOffset: signedAt - Date.now() });
    closers.push(() => client.destroy());
    const error = await awsFailure(client.send(new GetSecretValueCommand({ SecretId: 'app/key' })));
    expect(error.name).toBe('InvalidSignatureException');
    expect(error.message).toMatch(/^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 15 min\.\)$/);
  });

  it('verifies a hand-built request (the SigV4 documentation example, GET with a query)', () => {
    // IAM User Guide, "Elements of an AWS API request signature": the example IAM ListUsers request
    // signed with AKIDEXAMPLE / wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY on 20150830T123600Z.
    const request = {
      method: 'GET',
      url: '/?Action=ListUsers&Version=2010-05-08',
      headers: {
        host: 'iam.amazonaws.com',
        'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
        'x-amz-date': '20150830T123600Z',
        authorization:
          'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7',
      },
      body: Buffer.alloc(0),
    };
    const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
    const at = Date.UTC(2015, 7, 30, 12, 36);
    expect(verifySignature(request, { region: 'us-east-1', service: 'iam' }, credentials, at)).toEqual({ ok: true, accessKeyId: 'AKIDEXAMPLE' });
    const tampered = { ...request, url: '/?Action=ListUsers&Version=2010-05-09' };
    expect(verifySignature(tampered, { region: 'us-east-1', service: 'iam' }, credentials, at)).toMatchObject({ ok: false, code: 'InvalidSignatureException' });
    expect(formatAmzDate(at)).toBe('20150830T123600Z');
  });
});
