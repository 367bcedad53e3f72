import type { EndpointSpec } from './endpoints.js';

/** An AWS JSON 1.1 service as the lean path calls it. */
export interface AwsJsonService extends EndpointSpec {
  /** `X-Amz-Target` prefix, e.g. `secretsmanager` or `TrentService`. */
  readonly targetPrefix: string;
  /** SigV4 signing name. */
  readonly signingName: string;
  /** The service's name in messages. */
  readonly title: string;
}

/** AWS Secrets Manager (`secretsmanager.GetSecretValue`, ...). */
export const SECRETS_MANAGER: AwsJsonService = Object.freeze({
  targetPrefix: 'secretsmanager',
  signingName: 'secretsmanager',
  hostPrefix: 'secretsmanager',
  endpointEnv: 'AWS_ENDPOINT_URL_SECRETS_MANAGER',
  title: 'Secrets Manager',
});

/** AWS KMS (`TrentService.Decrypt`). */
export const KMS: AwsJsonService = Object.freeze({
  targetPrefix: 'TrentService',
  signingName: 'kms',
  hostPrefix: 'kms',
  endpointEnv: 'AWS_ENDPOINT_URL_KMS',
  title: 'KMS',
});

/** AWS Systems Manager Parameter Store (`AmazonSSM.GetParameters`, `AmazonSSM.GetParametersByPath`). */
export const SSM: AwsJsonService = Object.freeze({
  targetPrefix: 'AmazonSSM',
  signingName: 'ssm',
  hostPrefix: 'ssm',
  endpointEnv: 'AWS_ENDPOINT_URL_SSM',
  title: 'Systems Manager',
});
