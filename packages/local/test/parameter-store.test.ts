// The Parameter Store stand-in driven by the real SDK client. Shapes and error codes follow
// @aws-sdk/client-ssm's model (dist-types/models/models_0.d.ts `Parameter`, models_1.d.ts
// `GetParametersResult`, models/errors.d.ts `ParameterNotFound`, `ParameterVersionNotFound`).
import {
  DeleteParameterCommand,
  GetParameterCommand,
  GetParametersByPathCommand,
  GetParametersCommand,
  LabelParameterVersionCommand,
  PutParameterCommand,
  SSMClient,
  type Parameter,
} from '@aws-sdk/client-ssm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { awsFailure } from './aws-failure.js';
import { startKms, type KmsStandIn } from '../src/kms.js';
import { startParameterStore, type ParameterStoreStandIn } from '../src/parameter-store.js';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

let ssm: ParameterStoreStandIn;
let kms: KmsStandIn;
let client: SSMClient;

beforeEach(async () => {
  kms = await startKms();
  ssm = await startParameterStore({ kms });
  client = new SSMClient({ endpoint: ssm.url, region: ssm.region, credentials, maxAttempts: 1 });
});

afterEach(async () => {
  client.destroy();
  await ssm.close();
  await kms.close();
});

describe('PutParameter and GetParameter', () => {
  it('stores String, StringList and SecureString parameters with versions', async () => {
    const first = await client.send(new PutParameterCommand({ Name: '/app/host', Value: 'db.local', Type: 'String' }));
    expect(first).toMatchObject({ Version: 1, Tier: 'Standard' });
    const again = await awsFailure(client.send(new PutParameterCommand({ Name: '/app/host', Value: 'x', Type: 'String' })));
    expect(again.name).toBe('ParameterAlreadyExists');
    const second = await client.send(new PutParameterCommand({ Name: '/app/host', Value: 'db2.local', Overwrite: true }));
    expect(second.Version).toBe(2);

    const got = await client.send(new GetParameterCommand({ Name: '/app/host' }));
    expect(got.Parameter).toMatchObject({
      Name: '/app/host',
      Type: 'String',
      Value: 'db2.local',
      Version: 2,
      ARN: 'arn:aws:ssm:us-east-1:123456789012:parameter/app/host',
      DataType: 'text',
    });
    expect(got.Parameter?.LastModifiedDate).toBeInstanceOf(Date);
    expect((await client.send(new GetParameterCommand({ Name: '/app/host:1' }))).Parameter).toMatchObject({
      Value: 'db.local',
      Version: 1,
      Selector: ':1',
    });

    await client.send(new PutParameterCommand({ Name: 'hosts', Value: 'a,b,c', Type: 'StringList' }));
    expect((await client.send(new GetParameterCommand({ Name: 'hosts' }))).Parameter).toMatchObject({ Type: 'StringList', Value: 'a,b,c' });
    // A name without a slash has `parameter/name` in its ARN, and the ARN reads it.
    expect((await client.send(new GetParameterCommand({ Name: ssm.arnOf('hosts') }))).Parameter?.Value).toBe('a,b,c');
  });

  it('encrypts SecureString values through KMS and decrypts them only WithDecryption', async () => {
    await client.send(new PutParameterCommand({ Name: '/app/password', Value: 'hunter2', Type: 'SecureString' }));
    const raw = await client.send(new GetParameterCommand({ Name: '/app/password' }));
    expect(raw.Parameter?.Type).toBe('SecureString');
    expect(raw.Parameter?.Value).not.toContain('hunter2');
    // The ciphertext is a real KMS blob, bound to the parameter's ARN.
    const blob = Buffer.from(raw.Parameter?.Value ?? '', 'base64');
    expect(kms.decrypt(blob, { PARAMETER_ARN: ssm.arnOf('/app/password') }).toString()).toBe('hunter2');
    const plain = await client.send(new GetParameterCommand({ Name: '/app/password', WithDecryption: true }));
    expect(plain.Parameter?.Value).toBe('hunter2');
    // The recorded call never keeps the value.
    expect(JSON.stringify(ssm.calls)).not.toContain('hunter2');
  });

  it('uses a customer managed key, and fails decryption once it is disabled', async () => {
    const key = kms.createKey();
    ssm.putParameter('/app/token', 'tok-1', { type: 'SecureString', keyId: key.arn });
    expect((await client.send(new GetParameterCommand({ Name: '/app/token', WithDecryption: true }))).Parameter?.Value).toBe('tok-1');
    kms.disableKey(key.keyId);
    const failure = await awsFailure(client.send(new GetParameterCommand({ Name: '/app/token', WithDecryption: true })));
    expect(failure.name).toBe('InvalidKeyId');
    expect(failure.message).not.toContain('tok-1');
    const unknown = await awsFailure(
      client.send(new PutParameterCommand({ Name: '/app/other', Value: 'v', Type: 'SecureString', KeyId: 'alias/nope' })),
    );
    expect(unknown.name).toBe('InvalidKeyId');
  });

  it('answers ParameterNotFound, ParameterVersionNotFound and ValidationException as the SDK models them', async () => {
    ssm.putParameter('/app/host', 'h');
    const missing = await awsFailure(client.send(new GetParameterCommand({ Name: '/app/nope' })));
    expect(missing.name).toBe('ParameterNotFound');
    expect(missing.$metadata.httpStatusCode).toBe(400);
    const version = await awsFailure(client.send(new GetParameterCommand({ Name: '/app/host:7' })));
    expect(version.name).toBe('ParameterVersionNotFound');
    const badName = await awsFailure(client.send(new PutParameterCommand({ Name: '/aws/x', Value: 'v' })));
    expect(badName.name).toBe('ValidationException');
    const relative = await awsFailure(client.send(new PutParameterCommand({ Name: 'a/b', Value: 'v' })));
    expect(relative.name).toBe('ValidationException');
    const deep = '/' + Array.from({ length: 16 }, (_, i) => `l${i}`).join('/');
    expect((await awsFailure(client.send(new PutParameterCommand({ Name: deep, Value: 'v' })))).name).toBe(
      'HierarchyLevelLimitExceededException',
    );
    await client.send(new DeleteParameterCommand({ Name: '/app/host' }));
    expect((await awsFailure(client.send(new DeleteParameterCommand({ Name: '/app/host' })))).name).toBe('ParameterNotFound');
  });
});

describe('labels', () => {
  it('moves a label between versions and reads name:label', async () => {
    ssm.putParameter('/app/flag', 'v1');
    ssm.putParameter('/app/flag', 'v2');
    const labelled = await client.send(
      new LabelParameterVersionCommand({ Name: '/app/flag', ParameterVersion: 1, Labels: ['stable', 'aws-bad', '9lives'] }),
    );
    expect(labelled).toMatchObject({ ParameterVersion: 1, InvalidLabels: ['aws-bad', '9lives'] });
    expect((await client.send(new GetParameterCommand({ Name: '/app/flag:stable' }))).Parameter).toMatchObject({
      Value: 'v1',
      Selector: ':stable',
    });
    await client.send(new LabelParameterVersionCommand({ Name: '/app/flag', Labels: ['stable'] }));
    expect((await client.send(new GetParameterCommand({ Name: '/app/flag:stable' }))).Parameter?.Value).toBe('v2');
    expect((await awsFailure(client.send(new GetParameterCommand({ Name: '/app/flag:gone' })))).name).toBe('ParameterVersionNotFound');
  });
});

describe('GetParameters', () => {
  it('answers found parameters and names the rest in InvalidParameters, exactly as requested', async () => {
    ssm.putParameter('/app/a', 'a1');
    ssm.putParameter('/app/a', 'a2');
    ssm.labelParameterVersion('/app/a', ['old'], 1);
    ssm.putParameter('/app/list', ['x', 'y']);
    ssm.putParameter('/app/secret', 's3cr3t', { type: 'SecureString' });
    const names = ['/app/a', '/app/a:1', '/app/a:old', ssm.arnOf('/app/list'), '/app/secret', '/app/missing', '/app/a:9'];
    const out = await client.send(new GetParametersCommand({ Names: names, WithDecryption: true }));
    const byKey = new Map((out.Parameters ?? []).map((p: Parameter) => [`${p.Name}${p.Selector ?? ''}`, p]));
    expect(byKey.get('/app/a')?.Value).toBe('a2');
    expect(byKey.get('/app/a:1')?.Value).toBe('a1');
    expect(byKey.get('/app/a:old')?.Value).toBe('a1');
    expect(byKey.get('/app/list')).toMatchObject({ Type: 'StringList', Value: 'x,y' });
    expect(byKey.get('/app/secret')?.Value).toBe('s3cr3t');
    expect(out.InvalidParameters).toEqual(['/app/missing', '/app/a:9']);
  });

  it('takes 1 to 10 names and fails the whole call when one name is denied', async () => {
    const eleven = Array.from({ length: 11 }, (_, i) => `/p/${i}`);
    expect((await awsFailure(client.send(new GetParametersCommand({ Names: eleven })))).name).toBe('ValidationException');
    ssm.putParameter('/p/1', 'one');
    ssm.putParameter('/p/2', 'two');
    ssm.denyParameter('/p/2');
    const denied = await awsFailure(client.send(new GetParametersCommand({ Names: ['/p/1', '/p/2'] })));
    expect(denied.name).toBe('AccessDeniedException');
    expect(denied.message).toContain('ssm:GetParameters on resource: arn:aws:ssm:us-east-1:123456789012:parameter/p/2');
    ssm.allowParameter('/p/2');
    expect((await client.send(new GetParametersCommand({ Names: ['/p/1', '/p/2'] }))).Parameters).toHaveLength(2);
  });
});

describe('GetParametersByPath', () => {
  beforeEach(() => {
    for (let i = 0; i < 12; i++) ssm.putParameter(`/app/prod/k${String(i).padStart(2, '0')}`, `v${i}`);
    ssm.putParameter('/app/prod/db/password', 'pw', { type: 'SecureString' });
    ssm.putParameter('/app/prodx/other', 'no');
  });

  it('lists one level unless Recursive, and pages with MaxResults and NextToken', async () => {
    const names: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const out = await client.send(new GetParametersByPathCommand({ Path: '/app/prod', MaxResults: 5, NextToken: token }));
      names.push(...(out.Parameters ?? []).map((p) => p.Name ?? ''));
      token = out.NextToken;
      pages++;
    } while (token !== undefined);
    expect(pages).toBe(3);
    expect(names).toHaveLength(12);
    expect(names).not.toContain('/app/prod/db/password');

    const all = await client.send(new GetParametersByPathCommand({ Path: '/app/prod/', Recursive: true, WithDecryption: true }));
    expect(all.Parameters).toHaveLength(10);
    const rest = await client.send(
      new GetParametersByPathCommand({ Path: '/app/prod/', Recursive: true, WithDecryption: true, NextToken: all.NextToken }),
    );
    expect(rest.NextToken).toBeUndefined();
    const every = [...(all.Parameters ?? []), ...(rest.Parameters ?? [])];
    expect(every).toHaveLength(13);
    expect(every.find((p) => p.Name === '/app/prod/db/password')?.Value).toBe('pw');
  });

  it('is denied on the path itself, as IAM authorizes GetParametersByPath', async () => {
    ssm.denyParameter('/app/prod');
    const denied = await awsFailure(client.send(new GetParametersByPathCommand({ Path: '/app/prod/' })));
    expect(denied.name).toBe('AccessDeniedException');
    expect(denied.message).toContain('ssm:GetParametersByPath on resource: arn:aws:ssm:us-east-1:123456789012:parameter/app/prod ');
    // The parameters themselves stay readable by name.
    expect((await client.send(new GetParameterCommand({ Name: '/app/prod/k00' }))).Parameter?.Value).toBe('v0');
  });

  it('rejects a bad path, a bad MaxResults and a foreign token', async () => {
    expect((await awsFailure(client.send(new GetParametersByPathCommand({ Path: 'app' })))).name).toBe('ValidationException');
    expect((await awsFailure(client.send(new GetParametersByPathCommand({ Path: '/app', MaxResults: 11 })))).name).toBe(
      'ValidationException',
    );
    const first = await client.send(new GetParametersByPathCommand({ Path: '/app/prod', MaxResults: 1 }));
    const foreign = await awsFailure(client.send(new GetParametersByPathCommand({ Path: '/other', NextToken: first.NextToken })));
    expect(foreign.name).toBe('InvalidNextToken');
  });
});

describe('faults, signatures and call counts', () => {
  it('injects throttling and server errors the SDK retries, and counts every request', async () => {
    ssm.putParameter('/app/a', 'a');
    const retrying = new SSMClient({ endpoint: ssm.url, region: ssm.region, credentials, maxAttempts: 3 });
    try {
      ssm.injectFault({ operation: 'GetParameters', kind: 'throttle' });
      ssm.injectFault({ operation: 'GetParameters', kind: 'server-error' });
      const out = await retrying.send(new GetParametersCommand({ Names: ['/app/a'] }));
      expect(out.Parameters?.[0]?.Value).toBe('a');
      expect(ssm.callCount('GetParameters')).toBe(3);
      expect(ssm.calls.map((c) => c.errorCode)).toEqual(['ThrottlingException', 'InternalServerError', undefined]);
    } finally {
      retrying.destroy();
    }
  });

  it('verifies SigV4 against the credentials it is given, as the service signing name ssm', async () => {
    const signed = await startParameterStore({ kms, credentials });
    const good = new SSMClient({ endpoint: signed.url, region: signed.region, credentials, maxAttempts: 1 });
    const wrongSecret = new SSMClient({ endpoint: signed.url, region: signed.region, credentials: { ...credentials, secretAccessKey: 'nope' }, maxAttempts: 1 });
    const wrongRegion = new SSMClient({ endpoint: signed.url, region: 'eu-west-1', credentials, maxAttempts: 1 });
    try {
      signed.putParameter('/s', 'v');
      expect((await good.send(new GetParameterCommand({ Name: '/s' }))).Parameter?.Value).toBe('v');
      expect((await awsFailure(wrongSecret.send(new GetParameterCommand({ Name: '/s' })))).name).toBe('InvalidSignatureException');
      expect((await awsFailure(wrongRegion.send(new GetParameterCommand({ Name: '/s' })))).name).toBe('InvalidSignatureException');
    } finally {
      for (const c of [good, wrongSecret, wrongRegion]) c.destroy();
      await signed.close();
    }
  });

  it('refuses an unsigned request', async () => {
    const response = await fetch(ssm.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AmazonSSM.GetParameter' },
      body: JSON.stringify({ Name: '/app/a' }),
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
  });
});

it('starts and closes its own KMS stand-in when none is given', async () => {
  const own = await startParameterStore();
  try {
    own.putParameter('/s', 'v', { type: 'SecureString' });
    const c = new SSMClient({ endpoint: own.url, region: own.region, credentials });
    const got = await c.send(new GetParameterCommand({ Name: '/s', WithDecryption: true }));
    c.destroy();
    expect(got.Parameter?.Value).toBe('v');
  } finally {
    await own.close();
  }
});
