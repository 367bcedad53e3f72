import {
  BatchGetSecretValueCommand,
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  RestoreSecretCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { awsFailure } from './aws-failure.js';
import { startSecretsManager, type SecretsManagerStandIn } from '../src/secrets-manager.js';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

let sm: SecretsManagerStandIn;
let client: SecretsManagerClient;
const extraClients: SecretsManagerClient[] = [];

function clientFor(maxAttempts?: number): SecretsManagerClient {
  const created = new SecretsManagerClient({
    endpoint: sm.url,
    region: sm.region,
    credentials,
    ...(maxAttempts === undefined ? {} : { maxAttempts }),
  });
  extraClients.push(created);
  return created;
}

beforeEach(async () => {
  sm = await startSecretsManager();
  client = new SecretsManagerClient({ endpoint: sm.url, region: sm.region, credentials });
});

afterEach(async () => {
  client.destroy();
  for (const extra of extraClients.splice(0)) extra.destroy();
  await sm.close();
});

describe('CreateSecret and GetSecretValue', () => {
  it('creates a secret whose ARN ends in a random six-character suffix, labelled AWSCURRENT', async () => {
    const created = await client.send(new CreateSecretCommand({ Name: 'app/db-password', SecretString: 'hunter2' }));
    expect(created.Name).toBe('app/db-password');
    expect(created.ARN).toMatch(/^arn:aws:secretsmanager:us-east-1:123456789012:secret:app\/db-password-[A-Za-z0-9]{6}$/);
    expect(created.VersionId).toEqual(expect.any(String));

    const got = await client.send(new GetSecretValueCommand({ SecretId: 'app/db-password' }));
    expect(got).toMatchObject({
      ARN: created.ARN,
      Name: 'app/db-password',
      VersionId: created.VersionId,
      SecretString: 'hunter2',
      VersionStages: ['AWSCURRENT'],
    });
    expect(got.SecretBinary).toBeUndefined();
    expect(got.CreatedDate).toBeInstanceOf(Date);
  });

  it('uses region and account id from the options in ARNs', async () => {
    await sm.close();
    sm = await startSecretsManager({ region: 'eu-west-1', accountId: '111122223333' });
    const local = clientFor();
    const created = await local.send(new CreateSecretCommand({ Name: 'x', SecretString: 'y' }));
    expect(created.ARN).toMatch(/^arn:aws:secretsmanager:eu-west-1:111122223333:secret:x-[A-Za-z0-9]{6}$/);
  });

  it('finds a secret by name, full ARN and partial ARN', async () => {
    const { arn } = sm.createSecret('svc/api-key', 'k-1');
    const partial = arn.slice(0, -7);
    for (const secretId of ['svc/api-key', arn, partial]) {
      const got = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
      expect(got.SecretString).toBe('k-1');
      expect(got.ARN).toBe(arn);
    }
  });

  it('answers ResourceNotFoundException for an unknown name or an ARN with the wrong suffix', async () => {
    const { arn } = sm.createSecret('known', 'v');
    const wrongSuffix = `${arn.slice(0, -6)}${arn.endsWith('AAAAAA') ? 'BBBBBB' : 'AAAAAA'}`;
    for (const secretId of ['unknown', wrongSuffix, 'arn:aws:secretsmanager:us-east-1:123456789012:secret:unknown']) {
      const error = await awsFailure(client.send(new GetSecretValueCommand({ SecretId: secretId })));
      expect(error.name).toBe('ResourceNotFoundException');
      expect(error.$fault).toBe('client');
      expect(error.$metadata.httpStatusCode).toBe(400);
    }
  });

  it('refuses a duplicate name and a request with both SecretString and SecretBinary', async () => {
    sm.createSecret('dup', 'v');
    expect((await awsFailure(client.send(new CreateSecretCommand({ Name: 'dup', SecretString: 'w' })))).name).toBe(
      'ResourceExistsException',
    );
    const both = await awsFailure(
      client.send(new CreateSecretCommand({ Name: 'both', SecretString: 'a', SecretBinary: new Uint8Array([1]) })),
    );
    expect(both.name).toBe('InvalidParameterException');
  });

  it('round-trips SecretBinary through the SDK and through the helper', async () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    await client.send(new CreateSecretCommand({ Name: 'bin-sdk', SecretBinary: bytes }));
    sm.createSecret('bin-helper', bytes);
    for (const name of ['bin-sdk', 'bin-helper']) {
      const got = await client.send(new GetSecretValueCommand({ SecretId: name }));
      expect(got.SecretString).toBeUndefined();
      expect(Buffer.from(got.SecretBinary!)).toEqual(Buffer.from(bytes));
    }
  });

  it('creates a secret without a value, whose value is then not found until one is put', async () => {
    const created = await client.send(new CreateSecretCommand({ Name: 'empty' }));
    expect(created.VersionId).toBeUndefined();
    expect((await awsFailure(client.send(new GetSecretValueCommand({ SecretId: 'empty' })))).name).toBe(
      'ResourceNotFoundException',
    );
    sm.putSecretValue('empty', 'now');
    expect((await client.send(new GetSecretValueCommand({ SecretId: 'empty' }))).SecretString).toBe('now');
  });
});

describe('versions and staging labels', () => {
  it('PutSecretValue moves AWSCURRENT to the new version and labels the old one AWSPREVIOUS', async () => {
    const { versionId: v1 } = sm.createSecret('rotating', 'one');
    const put = await client.send(new PutSecretValueCommand({ SecretId: 'rotating', SecretString: 'two' }));
    expect(put.VersionStages).toEqual(['AWSCURRENT']);
    const v2 = put.VersionId!;
    const { versionId: v3 } = sm.putSecretValue('rotating', 'three');

    const current = await client.send(new GetSecretValueCommand({ SecretId: 'rotating' }));
    expect(current).toMatchObject({ VersionId: v3, SecretString: 'three', VersionStages: ['AWSCURRENT'] });
    const previous = await client.send(new GetSecretValueCommand({ SecretId: 'rotating', VersionStage: 'AWSPREVIOUS' }));
    expect(previous).toMatchObject({ VersionId: v2, SecretString: 'two', VersionStages: ['AWSPREVIOUS'] });
    const oldest = await client.send(new GetSecretValueCommand({ SecretId: 'rotating', VersionId: v1 }));
    expect(oldest).toMatchObject({ SecretString: 'one', VersionStages: [] });
  });

  it('selects by VersionId and VersionStage together and refuses a mismatch', async () => {
    const { versionId: v1 } = sm.createSecret('pair', 'one');
    const { versionId: v2 } = sm.putSecretValue('pair', 'two');
    const both = await client.send(new GetSecretValueCommand({ SecretId: 'pair', VersionId: v2, VersionStage: 'AWSCURRENT' }));
    expect(both.SecretString).toBe('two');

    const mismatch = await awsFailure(
      client.send(new GetSecretValueCommand({ SecretId: 'pair', VersionId: v1, VersionStage: 'AWSCURRENT' })),
    );
    expect(mismatch.name).toBe('ResourceNotFoundException');
    const unknownVersion = await awsFailure(
      client.send(new GetSecretValueCommand({ SecretId: 'pair', VersionId: '00000000-0000-4000-8000-000000000000' })),
    );
    expect(unknownVersion.name).toBe('ResourceNotFoundException');
    const unknownStage = await awsFailure(client.send(new GetSecretValueCommand({ SecretId: 'pair', VersionStage: 'NOPE' })));
    expect(unknownStage.name).toBe('ResourceNotFoundException');
  });

  it('PutSecretValue with VersionStages leaves AWSCURRENT where it is', async () => {
    sm.createSecret('pending', 'live');
    const put = await client.send(
      new PutSecretValueCommand({ SecretId: 'pending', SecretString: 'next', VersionStages: ['AWSPENDING'] }),
    );
    expect(put.VersionStages).toEqual(['AWSPENDING']);
    expect((await client.send(new GetSecretValueCommand({ SecretId: 'pending' }))).SecretString).toBe('live');
    const pending = await client.send(new GetSecretValueCommand({ SecretId: 'pending', VersionStage: 'AWSPENDING' }));
    expect(pending).toMatchObject({ SecretString: 'next', VersionId: put.VersionId });
  });

  it('treats a repeated ClientRequestToken as a retry, and refuses it with a different value', async () => {
    sm.createSecret('idem', 'v0');
    const token = 'a'.repeat(8) + '-bbbb-4ccc-8ddd-' + 'e'.repeat(12);
    const first = await client.send(new PutSecretValueCommand({ SecretId: 'idem', SecretString: 'v1', ClientRequestToken: token }));
    const again = await client.send(new PutSecretValueCommand({ SecretId: 'idem', SecretString: 'v1', ClientRequestToken: token }));
    expect(first.VersionId).toBe(token);
    expect(again.VersionId).toBe(token);
    const changed = await awsFailure(
      client.send(new PutSecretValueCommand({ SecretId: 'idem', SecretString: 'v2', ClientRequestToken: token })),
    );
    expect(changed.name).toBe('ResourceExistsException');
  });

  it('UpdateSecretVersionStage rolls AWSCURRENT back, and requires RemoveFromVersionId', async () => {
    const { versionId: v1 } = sm.createSecret('rollback', 'good');
    const { versionId: v2 } = sm.putSecretValue('rollback', 'bad');

    const missingRemove = await awsFailure(
      client.send(new UpdateSecretVersionStageCommand({ SecretId: 'rollback', VersionStage: 'AWSCURRENT', MoveToVersionId: v1 })),
    );
    expect(missingRemove.name).toBe('InvalidParameterException');

    const updated = await client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: 'rollback',
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: v1,
        RemoveFromVersionId: v2,
      }),
    );
    expect(updated.Name).toBe('rollback');
    const current = await client.send(new GetSecretValueCommand({ SecretId: 'rollback' }));
    expect(current).toMatchObject({ VersionId: v1, SecretString: 'good', VersionStages: ['AWSCURRENT'] });
    const previous = await client.send(new GetSecretValueCommand({ SecretId: 'rollback', VersionStage: 'AWSPREVIOUS' }));
    expect(previous.VersionId).toBe(v2);
  });
});

describe('BatchGetSecretValue', () => {
  it('returns 20 secrets named by name, full ARN and partial ARN, in order', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const { arn } = sm.createSecret(`batch/${i}`, `value-${i}`);
      ids.push(i % 3 === 0 ? `batch/${i}` : i % 3 === 1 ? arn : arn.slice(0, -7));
    }
    const result = await client.send(new BatchGetSecretValueCommand({ SecretIdList: ids }));
    expect(result.Errors).toEqual([]);
    expect(result.SecretValues?.map((entry) => entry.SecretString)).toEqual(ids.map((_, i) => `value-${i}`));
    expect(result.SecretValues?.[0]).toMatchObject({ Name: 'batch/0', VersionStages: ['AWSCURRENT'] });
    expect(result.SecretValues?.[0]?.CreatedDate).toBeInstanceOf(Date);
  });

  it('rejects more than 20 ids and an empty list with ValidationException', async () => {
    const ids = Array.from({ length: 21 }, (_, i) => `s${i}`);
    const tooMany = await awsFailure(client.send(new BatchGetSecretValueCommand({ SecretIdList: ids })));
    expect(tooMany.name).toBe('ValidationException');
    expect(tooMany.message).toContain('20');
    const empty = await awsFailure(client.send(new BatchGetSecretValueCommand({ SecretIdList: [] })));
    expect(empty.name).toBe('ValidationException');
  });

  it('rejects Filters with a ValidationException naming them', async () => {
    const error = await awsFailure(client.send(new BatchGetSecretValueCommand({ Filters: [{ Key: 'name', Values: ['x'] }] })));
    expect(error.name).toBe('ValidationException');
    expect(error.message).toContain('Filters');
  });

  it('reports unknown, denied and deleted secrets as per-item errors next to the values', async () => {
    sm.createSecret('ok', 'fine');
    sm.createSecret('binary', new Uint8Array([9, 8, 7]));
    const { arn: deniedArn } = sm.createSecret('denied', 'nope');
    sm.createSecret('scheduled', 'gone soon');
    sm.createSecret('removed', 'gone');
    sm.denySecret(deniedArn);
    sm.deleteSecret('scheduled');
    sm.deleteSecret('removed', { force: true });

    const result = await client.send(
      new BatchGetSecretValueCommand({ SecretIdList: ['ok', 'missing', 'denied', 'binary', 'scheduled', 'removed'] }),
    );
    expect(result.SecretValues?.map((entry) => entry.Name)).toEqual(['ok', 'binary']);
    expect(Buffer.from(result.SecretValues?.[1]?.SecretBinary ?? [])).toEqual(Buffer.from([9, 8, 7]));
    expect(result.Errors?.map(({ SecretId, ErrorCode }) => ({ SecretId, ErrorCode }))).toEqual([
      { SecretId: 'missing', ErrorCode: 'ResourceNotFoundException' },
      { SecretId: 'denied', ErrorCode: 'AccessDeniedException' },
      { SecretId: 'scheduled', ErrorCode: 'InvalidRequestException' },
      { SecretId: 'removed', ErrorCode: 'ResourceNotFoundException' },
    ]);
    for (const error of result.Errors ?? []) expect(error.Message).toEqual(expect.any(String));
  });

  it('can be denied as a whole while GetSecretValue still works (the fallback path)', async () => {
    sm.createSecret('a', 'A');
    sm.deny('BatchGetSecretValue');
    const error = await awsFailure(client.send(new BatchGetSecretValueCommand({ SecretIdList: ['a'] })));
    expect(error.name).toBe('AccessDeniedException');
    expect(error.$metadata.attempts).toBe(1);
    expect((await client.send(new GetSecretValueCommand({ SecretId: 'a' }))).SecretString).toBe('A');
    sm.allow('BatchGetSecretValue');
    expect((await client.send(new BatchGetSecretValueCommand({ SecretIdList: ['a'] }))).SecretValues).toHaveLength(1);
  });
});

describe('DescribeSecret, DeleteSecret and RestoreSecret', () => {
  it('describes a secret without its value', async () => {
    await client.send(
      new CreateSecretCommand({ Name: 'described', SecretString: 'v', Description: 'the db password', KmsKeyId: 'alias/app' }),
    );
    const { versionId: v2 } = sm.putSecretValue('described', 'w');
    const described = await client.send(new DescribeSecretCommand({ SecretId: 'described' }));
    expect(described).toMatchObject({ Name: 'described', Description: 'the db password', KmsKeyId: 'alias/app' });
    expect(described.ARN).toMatch(/:secret:described-[A-Za-z0-9]{6}$/);
    expect(described.CreatedDate).toBeInstanceOf(Date);
    expect(described.LastChangedDate).toBeInstanceOf(Date);
    expect(described.DeletedDate).toBeUndefined();
    expect(described.VersionIdsToStages?.[v2]).toEqual(['AWSCURRENT']);
    expect(Object.values(described.VersionIdsToStages ?? {})).toContainEqual(['AWSPREVIOUS']);
    expect(JSON.stringify(described)).not.toContain('"w"');
  });

  it('schedules deletion: reads are refused, describe shows DeletedDate, restore brings it back', async () => {
    sm.createSecret('soft', 'v');
    const deleted = await client.send(new DeleteSecretCommand({ SecretId: 'soft', RecoveryWindowInDays: 7 }));
    expect(deleted.Name).toBe('soft');
    expect(deleted.DeletionDate!.getTime()).toBeGreaterThan(Date.now() + 6 * 86_400_000);

    expect((await awsFailure(client.send(new GetSecretValueCommand({ SecretId: 'soft' })))).name).toBe('InvalidRequestException');
    expect((await awsFailure(client.send(new PutSecretValueCommand({ SecretId: 'soft', SecretString: 'x' })))).name).toBe(
      'InvalidRequestException',
    );
    expect((await awsFailure(client.send(new CreateSecretCommand({ Name: 'soft', SecretString: 'x' })))).name).toBe(
      'InvalidRequestException',
    );
    expect((await client.send(new DescribeSecretCommand({ SecretId: 'soft' }))).DeletedDate).toBeInstanceOf(Date);

    await client.send(new RestoreSecretCommand({ SecretId: 'soft' }));
    expect((await client.send(new GetSecretValueCommand({ SecretId: 'soft' }))).SecretString).toBe('v');
  });

  it('ForceDeleteWithoutRecovery removes the secret; the name can be reused under a new ARN', async () => {
    const { arn } = sm.createSecret('hard', 'v');
    await client.send(new DeleteSecretCommand({ SecretId: arn, ForceDeleteWithoutRecovery: true }));
    expect((await awsFailure(client.send(new GetSecretValueCommand({ SecretId: 'hard' })))).name).toBe('ResourceNotFoundException');
    expect((await awsFailure(client.send(new DescribeSecretCommand({ SecretId: 'hard' })))).name).toBe('ResourceNotFoundException');

    const again = await client.send(new CreateSecretCommand({ Name: 'hard', SecretString: 'v2' }));
    expect(again.ARN).not.toBe(arn);
    expect((await awsFailure(client.send(new GetSecretValueCommand({ SecretId: arn })))).name).toBe('ResourceNotFoundException');
  });

  it('refuses ForceDeleteWithoutRecovery together with RecoveryWindowInDays', async () => {
    sm.createSecret('both-options', 'v');
    const error = await awsFailure(
      client.send(new DeleteSecretCommand({ SecretId: 'both-options', ForceDeleteWithoutRecovery: true, RecoveryWindowInDays: 7 })),
    );
    expect(error.name).toBe('InvalidParameterException');
  });
});

describe('per-secret denial', () => {
  it('denies GetSecretValue for the secret under any of its id forms, until allowed', async () => {
    const { arn } = sm.createSecret('private', 'v');
    sm.createSecret('public', 'p');
    sm.denySecret('private');
    for (const secretId of ['private', arn, arn.slice(0, -7)]) {
      const error = await awsFailure(client.send(new GetSecretValueCommand({ SecretId: secretId })));
      expect(error.name).toBe('AccessDeniedException');
      expect(error.$metadata.attempts).toBe(1);
    }
    expect((await client.send(new GetSecretValueCommand({ SecretId: 'public' }))).SecretString).toBe('p');
    sm.allowSecret('private');
    expect((await client.send(new GetSecretValueCommand({ SecretId: 'private' }))).SecretString).toBe('v');
  });
});

describe('wire protocol', () => {
  async function post(headers: Record<string, string>, body: string): Promise<Response> {
    return fetch(`${sm.url}/`, { method: 'POST', headers, body });
  }

  const signed = {
    'content-type': 'application/x-amz-json-1.1',
    authorization: 'AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=00',
  };

  it('answers MissingAuthenticationTokenException without an Authorization header', async () => {
    sm.createSecret('s', 'v');
    const response = await post(
      { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'secretsmanager.GetSecretValue' },
      '{"SecretId":"s"}',
    );
    expect(response.status).toBe(400);
    expect(response.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
    const body = (await response.json()) as { __type: string; message: string };
    expect(body.__type).toBe('MissingAuthenticationTokenException');
    expect(JSON.stringify(body)).not.toContain('"v"');
  });

  it('answers UnknownOperationException for another service or operation, SerializationException for bad JSON', async () => {
    const otherService = await post({ ...signed, 'x-amz-target': 'TrentService.Encrypt' }, '{}');
    expect(((await otherService.json()) as { __type: string }).__type).toBe('UnknownOperationException');
    const unknownOperation = await post({ ...signed, 'x-amz-target': 'secretsmanager.RotateSecret' }, '{}');
    expect(((await unknownOperation.json()) as { __type: string }).__type).toBe('UnknownOperationException');
    const badJson = await post({ ...signed, 'x-amz-target': 'secretsmanager.GetSecretValue' }, '{nope');
    expect(badJson.status).toBe(400);
    expect(((await badJson.json()) as { __type: string }).__type).toBe('SerializationException');
  });

  it('answers with the JSON 1.1 content type and a request id', async () => {
    sm.createSecret('s', 'v');
    const response = await post({ ...signed, 'x-amz-target': 'secretsmanager.GetSecretValue' }, '{"SecretId":"s"}');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/x-amz-json-1.1');
    expect(response.headers.get('x-amzn-requestid')).toEqual(expect.any(String));
    expect(((await response.json()) as { SecretString: string }).SecretString).toBe('v');
  });
});

describe('test controls', () => {
  it('records calls with secret values redacted; counts per operation; resets', async () => {
    await client.send(new CreateSecretCommand({ Name: 'rec', SecretString: 'top-secret' }));
    await client.send(new GetSecretValueCommand({ SecretId: 'rec' }));
    await client.send(new GetSecretValueCommand({ SecretId: 'rec' }));
    await awsFailure(client.send(new GetSecretValueCommand({ SecretId: 'missing' })));

    expect(sm.callCount()).toBe(4);
    expect(sm.callCount('GetSecretValue')).toBe(3);
    expect(sm.callCount('CreateSecret')).toBe(1);
    expect(sm.callCount('PutSecretValue')).toBe(0);
    const [create, ...gets] = sm.calls;
    expect(create).toMatchObject({ operation: 'CreateSecret', input: { Name: 'rec', SecretString: '[redacted]' } });
    expect(create?.at).toEqual(expect.any(Number));
    expect(gets.map((call) => call.errorCode)).toEqual([undefined, undefined, 'ResourceNotFoundException']);
    expect(JSON.stringify(sm.calls)).not.toContain('top-secret');

    sm.resetCalls();
    expect(sm.callCount()).toBe(0);
    expect(sm.calls).toEqual([]);
  });

  it('helpers are not recorded as calls', () => {
    sm.createSecret('quiet', 'v');
    sm.putSecretValue('quiet', 'w');
    expect(sm.callCount()).toBe(0);
  });

  it('injected latency delays answers that still succeed', async () => {
    sm.createSecret('slow', 'v');
    sm.setLatency(200);
    const started = performance.now();
    const got = await client.send(new GetSecretValueCommand({ SecretId: 'slow' }));
    expect(got.SecretString).toBe('v');
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
    sm.setLatency(0);
    expect(() => sm.setLatency(-1)).toThrow(RangeError);
  });

  it('throttling is retried by the SDK and surfaces as ThrottlingException once attempts run out', async () => {
    sm.createSecret('busy', 'v');
    const twoAttempts = clientFor(2);
    sm.injectFault({ operation: 'GetSecretValue', kind: 'throttle', times: 2 });
    const error = await awsFailure(twoAttempts.send(new GetSecretValueCommand({ SecretId: 'busy' })));
    expect(error.name).toBe('ThrottlingException');
    expect(error.$metadata.httpStatusCode).toBe(400);
    expect(error.$metadata.attempts).toBe(2);
    expect(sm.callCount('GetSecretValue')).toBe(2);
    expect(sm.calls.map((call) => call.errorCode)).toEqual(['ThrottlingException', 'ThrottlingException']);

    sm.resetCalls();
    sm.injectFault({ operation: 'GetSecretValue', kind: 'throttle', times: 1 });
    const recovered = await twoAttempts.send(new GetSecretValueCommand({ SecretId: 'busy' }));
    expect(recovered.SecretString).toBe('v');
    expect(recovered.$metadata.attempts).toBe(2);
    expect(sm.callCount('GetSecretValue')).toBe(2);
  });

  it('server errors are 500 InternalServiceError, retried by the SDK', async () => {
    sm.createSecret('flaky', 'v');
    const noRetry = clientFor(1);
    sm.injectFault({ kind: 'server-error' });
    const error = await awsFailure(noRetry.send(new GetSecretValueCommand({ SecretId: 'flaky' })));
    expect(error.name).toBe('InternalServiceError');
    expect(error.$fault).toBe('server');
    expect(error.$metadata.httpStatusCode).toBe(500);

    sm.injectFault({ kind: 'server-error', times: 1 });
    const recovered = await clientFor(2).send(new GetSecretValueCommand({ SecretId: 'flaky' }));
    expect(recovered.SecretString).toBe('v');
    expect(recovered.$metadata.attempts).toBe(2);
  });

  it('access-denied faults are not retried, and faults only hit the named operation', async () => {
    sm.createSecret('guarded', 'v');
    sm.injectFault({ operation: 'BatchGetSecretValue', kind: 'access-denied', times: 1 });
    expect((await client.send(new GetSecretValueCommand({ SecretId: 'guarded' }))).SecretString).toBe('v');
    const error = await awsFailure(client.send(new BatchGetSecretValueCommand({ SecretIdList: ['guarded'] })));
    expect(error.name).toBe('AccessDeniedException');
    expect(error.$metadata.attempts).toBe(1);
    expect(sm.callCount('BatchGetSecretValue')).toBe(1);
    expect((await client.send(new BatchGetSecretValueCommand({ SecretIdList: ['guarded'] }))).SecretValues).toHaveLength(1);
  });

  it('clearFaults drops pending faults', async () => {
    sm.createSecret('cleared', 'v');
    sm.injectFault({ kind: 'access-denied', times: 5 });
    sm.clearFaults();
    expect((await client.send(new GetSecretValueCommand({ SecretId: 'cleared' }))).SecretString).toBe('v');
  });

  it('close() stops the server', async () => {
    const url = sm.url;
    await sm.close();
    await expect(fetch(url, { method: 'POST' })).rejects.toThrow();
    sm = await startSecretsManager();
  });
});
