import {
  GetFunctionConfigurationCommand,
  LambdaClient,
  UpdateFunctionConfigurationCommand,
  type UpdateFunctionConfigurationCommandInput,
} from '@aws-sdk/client-lambda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { awsFailure } from './aws-failure.js';
import { startLambdaControlPlane, type LambdaControlPlaneStandIn } from '../src/lambda-control-plane.js';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

let lambda: LambdaControlPlaneStandIn;
let client: LambdaClient;



function update(input: UpdateFunctionConfigurationCommandInput) {
  return client.send(new UpdateFunctionConfigurationCommand(input));
}

beforeEach(async () => {
  lambda = await startLambdaControlPlane();
  client = new LambdaClient({ endpoint: lambda.url, region: lambda.region, credentials, maxAttempts: 1 });
});

afterEach(async () => {
  client.destroy();
  await lambda.close();
});

describe('GetFunctionConfiguration', () => {
  it('returns the configuration of a container-image function', async () => {
    const created = lambda.createFunction('orders', {
      environment: { TABLE: 'orders', LOG_LEVEL: 'info' },
      kmsKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      memorySize: 512,
      timeout: 30,
    });
    const config = await client.send(new GetFunctionConfigurationCommand({ FunctionName: 'orders' }));
    expect(config).toMatchObject({
      FunctionName: 'orders',
      FunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:orders',
      Environment: { Variables: { TABLE: 'orders', LOG_LEVEL: 'info' } },
      KMSKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      RevisionId: created.revisionId,
      State: 'Active',
      LastUpdateStatus: 'Successful',
      PackageType: 'Image',
      MemorySize: 512,
      Timeout: 30,
      Version: '$LATEST',
    });
    expect(config.FunctionArn).toBe(created.functionArn);
    expect(config.LastModified).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/);
  });

  it('finds the function by full ARN, partial ARN and $LATEST qualifier', async () => {
    const { functionArn } = lambda.createFunction('orders');
    for (const id of [functionArn, '123456789012:function:orders', 'orders:$LATEST', `${functionArn}:$LATEST`]) {
      const config = await client.send(new GetFunctionConfigurationCommand({ FunctionName: id }));
      expect(config.FunctionName).toBe('orders');
    }
    const viaQualifier = await client.send(new GetFunctionConfigurationCommand({ FunctionName: 'orders', Qualifier: '$LATEST' }));
    expect(viaQualifier.FunctionName).toBe('orders');
  });

  it('omits Environment for a function without variables', async () => {
    lambda.createFunction('bare');
    const config = await client.send(new GetFunctionConfigurationCommand({ FunctionName: 'bare' }));
    expect(config.Environment).toBeUndefined();
    expect(config.KMSKeyArn).toBeUndefined();
  });

  it('answers 404 ResourceNotFoundException for an unknown function, version or account', async () => {
    lambda.createFunction('orders');
    for (const input of [
      { FunctionName: 'missing' },
      { FunctionName: 'orders', Qualifier: '7' },
      { FunctionName: '999999999999:function:orders' },
    ]) {
      const error = await awsFailure(client.send(new GetFunctionConfigurationCommand(input)));
      expect(error.name).toBe('ResourceNotFoundException');
      expect(error.$metadata.httpStatusCode).toBe(404);
      expect(error.message).toMatch(/^Function not found: arn:aws:lambda:us-east-1:123456789012:function:/);
    }
  });

  it('reports Environment.Error instead of variables it cannot decrypt', async () => {
    lambda.createFunction('locked', {
      environment: { A_KEY: 'value' },
      environmentError: { errorCode: 'AccessDeniedException', message: 'Lambda was unable to decrypt the environment variables' },
    });
    const config = await client.send(new GetFunctionConfigurationCommand({ FunctionName: 'locked' }));
    expect(config.Environment?.Variables).toBeUndefined();
    expect(config.Environment?.Error).toEqual({
      ErrorCode: 'AccessDeniedException',
      Message: 'Lambda was unable to decrypt the environment variables',
    });
  });
});

describe('UpdateFunctionConfiguration', () => {
  it('replaces the whole Environment.Variables map and issues a new revision', async () => {
    const { revisionId } = lambda.createFunction('orders', { environment: { KEEP: '1', DROP: '2' } });
    const updated = await update({ FunctionName: 'orders', Environment: { Variables: { KEEP: '1', ADDED: '3' } } });
    expect(updated.Environment?.Variables).toEqual({ KEEP: '1', ADDED: '3' });
    expect(updated.RevisionId).not.toBe(revisionId);
    expect(lambda.getFunction('orders')).toMatchObject({
      environment: { KEEP: '1', ADDED: '3' },
      revisionId: updated.RevisionId,
      updateCount: 1,
    });
  });

  it('leaves the variables alone when Environment is not sent, and clears them with an empty map', async () => {
    lambda.createFunction('orders', { environment: { KEEP: '1' } });
    await update({ FunctionName: 'orders', MemorySize: 256, Description: 'resized' });
    expect(lambda.getFunction('orders')).toMatchObject({ environment: { KEEP: '1' }, memorySize: 256, description: 'resized' });
    const cleared = await update({ FunctionName: 'orders', Environment: { Variables: {} } });
    expect(cleared.Environment).toBeUndefined();
    expect(lambda.getFunction('orders')?.environment).toEqual({});
  });

  it('succeeds with the current RevisionId', async () => {
    const { revisionId } = lambda.createFunction('orders');
    const updated = await update({ FunctionName: 'orders', RevisionId: revisionId, Environment: { Variables: { A_KEY: 'x' } } });
    expect(updated.RevisionId).toBe(lambda.getFunction('orders')?.revisionId);
  });

  it('answers 412 PreconditionFailedException for a stale RevisionId and changes nothing', async () => {
    const { revisionId } = lambda.createFunction('orders', { environment: { A_KEY: 'old' } });
    const touched = lambda.touch('orders', { OTHER: 'set elsewhere' });
    expect(touched).not.toBe(revisionId);

    const error = await awsFailure(update({ FunctionName: 'orders', RevisionId: revisionId, Environment: { Variables: { A_KEY: 'new' } } }));
    expect(error.name).toBe('PreconditionFailedException');
    expect(error.$metadata.httpStatusCode).toBe(412);
    expect(error.$fault).toBe('client');
    expect(lambda.getFunction('orders')).toMatchObject({
      environment: { A_KEY: 'old', OTHER: 'set elsewhere' },
      revisionId: touched,
      updateCount: 0,
    });
  });

  it('answers 404 ResourceNotFoundException for an unknown function', async () => {
    const error = await awsFailure(update({ FunctionName: 'missing', Environment: { Variables: {} } }));
    expect(error.name).toBe('ResourceNotFoundException');
    expect(error.$metadata.httpStatusCode).toBe(404);
  });

  it('rejects invalid and reserved keys and more than 4 KB, without echoing values', async () => {
    lambda.createFunction('orders');
    const badKey = await awsFailure(update({ FunctionName: 'orders', Environment: { Variables: { '1BAD': 'x' } } }));
    expect(badKey.name).toBe('ValidationException');

    const reserved = await awsFailure(update({ FunctionName: 'orders', Environment: { Variables: { AWS_REGION: 'eu-west-1', OK_KEY: 'x' } } }));
    expect(reserved.name).toBe('InvalidParameterValueException');
    expect(reserved.message).toContain('Reserved keys used in this request: AWS_REGION');

    const big = 'v'.repeat(5000);
    const tooLarge = await awsFailure(update({ FunctionName: 'orders', Environment: { Variables: { BIG: big } } }));
    expect(tooLarge.name).toBe('InvalidParameterValueException');
    expect(tooLarge.message).toContain('4KB');
    expect(tooLarge.message).not.toContain('vvvv');
    expect(lambda.getFunction('orders')?.updateCount).toBe(0);
  });

  it('sets and resets KMSKeyArn', async () => {
    lambda.createFunction('orders');
    const key = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    expect((await update({ FunctionName: 'orders', KMSKeyArn: key })).KMSKeyArn).toBe(key);
    expect((await update({ FunctionName: 'orders', KMSKeyArn: '' })).KMSKeyArn).toBeUndefined();
  });

  it('answers 409 ResourceConflictException while the previous update is in progress', async () => {
    await lambda.close();
    lambda = await startLambdaControlPlane({ updateSettleMs: 60_000 });
    client.destroy();
    client = new LambdaClient({ endpoint: lambda.url, region: lambda.region, credentials, maxAttempts: 1 });
    lambda.createFunction('orders');
    const first = await update({ FunctionName: 'orders', Environment: { Variables: { A_KEY: '1' } } });
    expect(first.LastUpdateStatus).toBe('InProgress');
    const error = await awsFailure(update({ FunctionName: 'orders', Environment: { Variables: { A_KEY: '2' } } }));
    expect(error.name).toBe('ResourceConflictException');
    expect(error.$metadata.httpStatusCode).toBe(409);
  });
});

describe('test helpers', () => {
  it('records calls with variable values redacted', async () => {
    lambda.createFunction('orders');
    await client.send(new GetFunctionConfigurationCommand({ FunctionName: 'orders' }));
    await update({ FunctionName: 'orders', Environment: { Variables: { TOKEN: 'hunter2' } } });
    await awsFailure(client.send(new GetFunctionConfigurationCommand({ FunctionName: 'missing' })));

    expect(lambda.callCount()).toBe(3);
    expect(lambda.callCount('UpdateFunctionConfiguration')).toBe(1);
    expect(lambda.calls.map((call) => [call.operation, call.errorCode])).toEqual([
      ['GetFunctionConfiguration', undefined],
      ['UpdateFunctionConfiguration', undefined],
      ['GetFunctionConfiguration', 'ResourceNotFoundException'],
    ]);
    expect(lambda.calls[1]?.input).toMatchObject({ FunctionName: 'orders', Environment: { Variables: { TOKEN: '[redacted]' } } });
    expect(JSON.stringify(lambda.calls)).not.toContain('hunter2');
    lambda.resetCalls();
    expect(lambda.callCount()).toBe(0);
  });

  it('refuses unsigned requests and unknown routes', async () => {
    lambda.createFunction('orders');
    const unsigned = await fetch(`${lambda.url}/2015-03-31/functions/orders/configuration`);
    expect(unsigned.status).toBe(403);
    expect(unsigned.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
    const unknown = await fetch(`${lambda.url}/2015-03-31/functions/orders/code`, { method: 'POST' });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ Type: 'User', message: expect.stringContaining('not supported') });
  });

  it('createFunction rejects a duplicate name and bad variables; touch needs an existing function', () => {
    lambda.createFunction('orders');
    expect(() => lambda.createFunction('orders')).toThrow(/already exist/);
    expect(() => lambda.createFunction('bad name')).toThrow(/Function name/);
    expect(() => lambda.createFunction('reserved', { environment: { _HANDLER: 'x' } })).toThrow(/ValidationException|pattern/);
    expect(() => lambda.touch('missing')).toThrow(/no function named missing/);
  });
});
