import { describe, expect, it } from 'vitest';
import { parseSecretReference, SecretReferenceError } from '../src/index.js';

const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbC123';
const PARTIAL = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db';

describe('parseSecretReference', () => {
  it('reads a plain name', () => {
    expect(parseSecretReference('prod/db')).toEqual({
      secretId: 'prod/db',
      form: 'name',
      jsonKey: undefined,
      versionStage: undefined,
      versionId: undefined,
    });
  });

  it('tells a full ARN from a partial one', () => {
    expect(parseSecretReference(ARN)).toMatchObject({ secretId: ARN, form: 'arn' });
    expect(parseSecretReference(PARTIAL)).toMatchObject({ secretId: PARTIAL, form: 'partial-arn' });
    expect(parseSecretReference('arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:x')).toMatchObject({
      form: 'partial-arn',
    });
  });

  it('reads the CloudFormation segments after a name or an ARN', () => {
    expect(parseSecretReference('prod/db:SecretString:password')).toMatchObject({
      secretId: 'prod/db',
      jsonKey: 'password',
    });
    expect(parseSecretReference(`${ARN}:SecretString:password:AWSPREVIOUS`)).toMatchObject({
      secretId: ARN,
      jsonKey: 'password',
      versionStage: 'AWSPREVIOUS',
      versionId: undefined,
    });
    expect(parseSecretReference(`${PARTIAL}:SecretString:::v-123`)).toMatchObject({
      secretId: PARTIAL,
      form: 'partial-arn',
      jsonKey: undefined,
      versionStage: undefined,
      versionId: 'v-123',
    });
    expect(parseSecretReference('prod/db:SecretString')).toMatchObject({ secretId: 'prod/db', jsonKey: undefined });
  });

  it('accepts a whole {{resolve:secretsmanager:...}} dynamic reference', () => {
    expect(parseSecretReference('{{resolve:secretsmanager:prod/db:SecretString:username}}')).toMatchObject({
      secretId: 'prod/db',
      jsonKey: 'username',
    });
    expect(parseSecretReference(`{{resolve:secretsmanager:${ARN}}}`)).toMatchObject({ secretId: ARN, form: 'arn' });
  });

  it('trims surrounding whitespace', () => {
    expect(parseSecretReference('  prod/db \n').secretId).toBe('prod/db');
  });

  it.each([
    ['', /empty/],
    ['   ', /empty/],
    ['prod/db:SecretBinary', /"SecretString"/],
    ['prod/db:SecretString:k:AWSCURRENT:v1', /version stage or a version id, not both/],
    ['prod/db:SecretString:k:s:v:extra', /too many segments/],
    ['bad name!', /letters, digits/],
    ['{{resolve:ssm:/param}}', /only secretsmanager/],
    ['{{resolve:secretsmanager:x', /dynamic reference must look like/],
    ['arn:aws:secretsmanager:us-east-1:123456789012', /an ARN must look like/],
    ['arn:aws:ssm:us-east-1:123456789012:secret:x', /service is "ssm"/],
    ['arn:aws:secretsmanager:us-east-1:12345:secret:x', /12-digit account/],
    ['arn:aws:secretsmanager:us-east-1:123456789012:parameter:x', /resource type is "parameter"/],
    ['arn:nope:secretsmanager:us-east-1:123456789012:secret:x', /not an AWS partition/],
    ['arn:aws:secretsmanager:us-east-1:123456789012:secret:', /name is empty/],
  ])('rejects %j', (input, message) => {
    expect(() => parseSecretReference(input)).toThrow(SecretReferenceError);
    expect(() => parseSecretReference(input)).toThrow(message);
  });

  it('does not echo a mistyped segment, which could be a value', () => {
    try {
      parseSecretReference('prod/db:hunter2-password');
      expect.unreachable();
    } catch (error) {
      expect(String(error)).not.toContain('hunter2');
    }
  });
});
