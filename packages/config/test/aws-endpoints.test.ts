import { describe, expect, it } from 'vitest';
import { credentialSource } from '../src/aws/credentials.js';
import { leanRoute } from '../src/aws/json-call.js';
import { partitionOf, regionalHostname, resolveEndpoint } from '../src/aws/endpoints.js';
import { KMS, SECRETS_MANAGER } from '../src/aws/services.js';

// Hostnames from the SDK's endpoint rule sets: client-secrets-manager and client-kms
// dist-cjs/index.js `_data.results` ("https://secretsmanager-fips.{Region}.{PartitionResult#dnsSuffix}",
// "https://secretsmanager.{Region}.amazonaws.com.cn", ...), and the partitions' dnsSuffix.
describe('regional hostnames', () => {
  it.each([
    ['us-east-1', false, 'secretsmanager.us-east-1.amazonaws.com', 'kms.us-east-1.amazonaws.com'],
    ['eu-central-2', false, 'secretsmanager.eu-central-2.amazonaws.com', 'kms.eu-central-2.amazonaws.com'],
    ['us-east-1', true, 'secretsmanager-fips.us-east-1.amazonaws.com', 'kms-fips.us-east-1.amazonaws.com'],
    ['cn-north-1', false, 'secretsmanager.cn-north-1.amazonaws.com.cn', 'kms.cn-north-1.amazonaws.com.cn'],
    ['cn-northwest-1', true, 'secretsmanager-fips.cn-northwest-1.amazonaws.com.cn', 'kms-fips.cn-northwest-1.amazonaws.com.cn'],
    ['us-gov-west-1', false, 'secretsmanager.us-gov-west-1.amazonaws.com', 'kms.us-gov-west-1.amazonaws.com'],
    ['us-gov-east-1', true, 'secretsmanager-fips.us-gov-east-1.amazonaws.com', 'kms-fips.us-gov-east-1.amazonaws.com'],
  ])('%s (FIPS %s)', (region, fips, secretsManager, kms) => {
    expect(regionalHostname(SECRETS_MANAGER, region, fips)).toBe(secretsManager);
    expect(regionalHostname(KMS, region, fips)).toBe(kms);
  });

  it('names the partition of a region, aws for regions it does not know (as the SDK does)', () => {
    expect(partitionOf('ap-southeast-7').name).toBe('aws');
    expect(partitionOf('cn-north-1').name).toBe('aws-cn');
    expect(partitionOf('us-gov-west-1').name).toBe('aws-us-gov');
    expect(partitionOf('local').name).toBe('aws');
  });
});

describe('endpoint env vars', () => {
  const base = { AWS_REGION: 'eu-west-1' };

  it('uses the regional endpoint without endpoint vars, FIPS with AWS_USE_FIPS_ENDPOINT=true', () => {
    expect(url(resolveEndpoint(SECRETS_MANAGER, base))).toBe('https://secretsmanager.eu-west-1.amazonaws.com/');
    expect(url(resolveEndpoint(KMS, { ...base, AWS_USE_FIPS_ENDPOINT: 'true' }))).toBe('https://kms-fips.eu-west-1.amazonaws.com/');
    expect(url(resolveEndpoint(KMS, { ...base, AWS_USE_FIPS_ENDPOINT: 'false' }))).toBe('https://kms.eu-west-1.amazonaws.com/');
  });

  it('reads AWS_DEFAULT_REGION when AWS_REGION is unset', () => {
    expect(url(resolveEndpoint(KMS, { AWS_DEFAULT_REGION: 'cn-north-1' }))).toBe('https://kms.cn-north-1.amazonaws.com.cn/');
  });

  it('prefers the service endpoint var to AWS_ENDPOINT_URL, each service its own', () => {
    const env = {
      ...base,
      AWS_ENDPOINT_URL: 'http://127.0.0.1:1000',
      AWS_ENDPOINT_URL_SECRETS_MANAGER: 'http://127.0.0.1:2000',
    };
    expect(url(resolveEndpoint(SECRETS_MANAGER, env))).toBe('http://127.0.0.1:2000/');
    expect(url(resolveEndpoint(KMS, env))).toBe('http://127.0.0.1:1000/');
    expect(url(resolveEndpoint(KMS, { ...env, AWS_ENDPOINT_URL_KMS: 'https://kms.example.test:8443' }))).toBe('https://kms.example.test:8443/');
  });

  it('ignores the endpoint vars with AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true', () => {
    const env = { ...base, AWS_ENDPOINT_URL_KMS: 'http://127.0.0.1:1000', AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' };
    expect(url(resolveEndpoint(KMS, env))).toBe('https://kms.eu-west-1.amazonaws.com/');
  });

  it('leaves to the SDK clients what it does not cover: no region, dual-stack, isolated partitions, a bad URL', () => {
    expect(resolveEndpoint(KMS, {})).toEqual({ ok: false, reason: 'no region (AWS_REGION)' });
    expect(resolveEndpoint(KMS, { ...base, AWS_USE_DUALSTACK_ENDPOINT: 'true' }).ok).toBe(false);
    expect(resolveEndpoint(KMS, { AWS_REGION: 'us-iso-east-1' }).ok).toBe(false);
    expect(resolveEndpoint(KMS, { AWS_REGION: 'us-isob-east-1' }).ok).toBe(false);
    expect(resolveEndpoint(KMS, { ...base, AWS_ENDPOINT_URL_KMS: 'not a url' }).ok).toBe(false);
  });
});

describe('the lean route', () => {
  const endpoint = { AWS_REGION: 'us-east-1' };

  it('takes env credentials first, then the container endpoint; profiles and web identity go to the SDK', () => {
    expect(credentialSource({ AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 's', AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://127.0.0.1/' })).toBe('env');
    expect(credentialSource({ AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://127.0.0.1/' })).toBe('container');
    expect(credentialSource({ AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '/v2/credentials/x' })).toBe('container');
    expect(credentialSource({ AWS_PROFILE: 'dev', AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://127.0.0.1/' })).toBeUndefined();
    expect(credentialSource({ AWS_WEB_IDENTITY_TOKEN_FILE: '/t' })).toBeUndefined();
    expect(credentialSource({ AWS_ACCESS_KEY_ID: 'a' })).toBeUndefined();
  });

  it('is off with CUSTOM_RUNTIME_CONFIG_TRANSPORT=sdk or without credentials it covers', () => {
    const creds = { AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 's' };
    expect(leanRoute(SECRETS_MANAGER, { ...endpoint, ...creds })).toMatchObject({ ok: true, region: 'us-east-1', credentials: 'env' });
    expect(leanRoute(SECRETS_MANAGER, { ...endpoint, ...creds, CUSTOM_RUNTIME_CONFIG_TRANSPORT: 'sdk' })).toMatchObject({ ok: false });
    expect(leanRoute(SECRETS_MANAGER, endpoint)).toMatchObject({ ok: false, reason: 'no environment or container credentials' });
  });
});

function url(resolution: ReturnType<typeof resolveEndpoint>): string {
  if (!resolution.ok) throw new Error(`no endpoint: ${resolution.reason}`);
  return resolution.url.href;
}
