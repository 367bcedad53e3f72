/**
 * The lean AWS path (signed JSON 1.1 over node:http) against signature-verifying stand-ins: each
 * credential source, each endpoint variable, retries, error kinds, and the SDK fallback.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  startContainerCredentials,
  startKms,
  startSecretsManager,
  type ContainerCredentialsStandIn,
  type KmsStandIn,
  type SecretsManagerStandIn,
} from '@custom-runtime/local';
import { afterEach, describe, expect, it } from 'vitest';
import { forgetDefaultClients } from '../src/clients.js';
import { clearConfigCache, ConfigError, defineConfig, getConfig, kms, secret, setConfigClients } from '../src/index.js';
import { setEnv } from './helpers.js';

const LEAN_AGENT = 'custom-runtime-config (lean)';
const envCredentials = { accessKeyId: 'AKIDENV', secretAccessKey: 'env-secret', sessionToken: 'env-session' };
const containerCredentials = { accessKeyId: 'AKIDCONTAINER', secretAccessKey: 'container-secret', sessionToken: 'container-session' };

// Every variable the lean path or the SDK reads: unset unless a test sets it.
const CLEAN = Object.fromEntries(
  [
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_SESSION_TOKEN',
    'AWS_PROFILE',
    'AWS_CONTAINER_CREDENTIALS_FULL_URI',
    'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
    'AWS_CONTAINER_AUTHORIZATION_TOKEN',
    'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE',
    'AWS_ENDPOINT_URL',
    'AWS_ENDPOINT_URL_SECRETS_MANAGER',
    'AWS_ENDPOINT_URL_KMS',
    'AWS_USE_FIPS_ENDPOINT',
    'AWS_DEFAULT_REGION',
    'CUSTOM_RUNTIME_CONFIG_TRANSPORT',
  ].map((name) => [name, undefined]),
);

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  setConfigClients({});
  clearConfigCache();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Aws {
  readonly sm: SecretsManagerStandIn;
  readonly kms: KmsStandIn;
  readonly keyId: string;
}

async function standIns(credentials: typeof envCredentials): Promise<Aws> {
  const [sm, kmsStandIn] = await Promise.all([
    startSecretsManager({ region: 'eu-west-1', credentials }),
    startKms({ region: 'eu-west-1', credentials }),
  ]);
  cleanups.push(() => Promise.all([sm.close(), kmsStandIn.close()]));
  return { sm, kms: kmsStandIn, keyId: kmsStandIn.createKey().keyId };
}

function env(vars: Record<string, string | undefined>): void {
  cleanups.push(setEnv({ ...CLEAN, AWS_REGION: 'eu-west-1', AWS_MAX_ATTEMPTS: '3', ...vars }));
  clearConfigCache();
}

function endpoints(aws: Aws): Record<string, string> {
  return { AWS_ENDPOINT_URL_SECRETS_MANAGER: aws.sm.url, AWS_ENDPOINT_URL_KMS: aws.kms.url };
}

/** A definition reading one secret and one KMS ciphertext, and what it resolves to. */
function appConfig(aws: Aws): { config: ReturnType<typeof defineConfig>; expected: Record<string, string> } {
  const name = `app/${Math.random().toString(36).slice(2)}`;
  aws.sm.createSecret(name, JSON.stringify({ apiKey: 'k-1' }));
  cleanups.push(setEnv({ API_SECRET: name, TOKEN: aws.kms.encryptToBase64(aws.keyId, 'plain-1') }));
  return {
    config: defineConfig({ apiKey: secret('API_SECRET', { key: 'apiKey' }), token: kms('TOKEN') }),
    expected: { apiKey: 'k-1', token: 'plain-1' },
  };
}

function agents(aws: Aws): Array<string | undefined> {
  return [...aws.sm.calls, ...aws.kms.calls].map((call) => call.userAgent);
}

describe('credential sources', () => {
  it('signs with the environment credentials (with session token), no SDK client involved', async () => {
    const aws = await standIns(envCredentials);
    env({
      ...endpoints(aws),
      AWS_ACCESS_KEY_ID: envCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: envCredentials.secretAccessKey,
      AWS_SESSION_TOKEN: envCredentials.sessionToken,
    });
    const { config, expected } = appConfig(aws);
    await expect(getConfig(config)).resolves.toEqual(expected);
    expect(agents(aws)).toEqual([LEAN_AGENT, LEAN_AGENT]);
    expect(aws.sm.calls.map((c) => c.operation)).toEqual(['BatchGetSecretValue']);
  });

  it('a wrongly signed request is rejected by the stand-in and reported per field', async () => {
    const aws = await standIns(envCredentials);
    env({ ...endpoints(aws), AWS_ACCESS_KEY_ID: envCredentials.accessKeyId, AWS_SECRET_ACCESS_KEY: 'wrong', AWS_SESSION_TOKEN: envCredentials.sessionToken });
    const { config } = appConfig(aws);
    const error = (await getConfig(config).catch((e: unknown) => e)) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.issues.map((i) => [i.field, i.reason])).toEqual([
      ['apiKey', 'invalid-request'],
      ['token', 'invalid-request'],
    ]);
    expect(aws.sm.calls.map((c) => c.errorCode)).toContain('InvalidSignatureException');
    expect(aws.kms.calls.map((c) => c.errorCode)).toEqual(['InvalidSignatureException']);
  });

  async function container(token?: string): Promise<ContainerCredentialsStandIn> {
    const endpoint = await startContainerCredentials({ credentials: containerCredentials, ...(token === undefined ? {} : { authorizationToken: token }) });
    cleanups.push(() => endpoint.close());
    return endpoint;
  }

  it('takes container credentials from AWS_CONTAINER_CREDENTIALS_FULL_URI with AWS_CONTAINER_AUTHORIZATION_TOKEN, fetched once', async () => {
    const aws = await standIns(containerCredentials);
    const endpoint = await container('token-abc');
    env({ ...endpoints(aws), AWS_CONTAINER_CREDENTIALS_FULL_URI: endpoint.url, AWS_CONTAINER_AUTHORIZATION_TOKEN: 'token-abc' });
    const { config, expected } = appConfig(aws);
    await expect(getConfig(config)).resolves.toEqual(expected);
    // A second definition: the credentials are cached until 5 minutes before they expire.
    const other = appConfig(aws);
    await expect(getConfig(other.config)).resolves.toEqual(other.expected);
    expect(endpoint.requestCount()).toBe(1);
    expect(agents(aws).every((agent) => agent === LEAN_AGENT)).toBe(true);
  });

  it('fetches container credentials again after forgetDefaultClients() (as after a SnapStart restore), keeping cached values', async () => {
    const aws = await standIns(containerCredentials);
    const endpoint = await container();
    env({ ...endpoints(aws), AWS_CONTAINER_CREDENTIALS_FULL_URI: endpoint.url });
    const first = appConfig(aws);
    await expect(getConfig(first.config)).resolves.toEqual(first.expected);
    forgetDefaultClients();
    await expect(getConfig(first.config)).resolves.toEqual(first.expected);
    expect(endpoint.requestCount()).toBe(1); // served from the cache: no call, no credentials
    const second = appConfig(aws);
    await expect(getConfig(second.config)).resolves.toEqual(second.expected);
    expect(endpoint.requestCount()).toBe(2);
  });

  it('fetches container credentials again when they expire within 5 minutes', async () => {
    const aws = await standIns(containerCredentials);
    const endpoint = await container();
    endpoint.setExpiresIn(4 * 60_000);
    env({ ...endpoints(aws), AWS_CONTAINER_CREDENTIALS_FULL_URI: endpoint.url });
    const first = appConfig(aws);
    await expect(getConfig(first.config)).resolves.toEqual(first.expected);
    const calls = endpoint.requestCount();
    const second = appConfig(aws);
    await expect(getConfig(second.config)).resolves.toEqual(second.expected);
    expect(endpoint.requestCount()).toBeGreaterThan(calls);
  });

  it('reads the token from AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE', async () => {
    const aws = await standIns(containerCredentials);
    const endpoint = await container('token-from-file');
    const dir = mkdtempSync(join(tmpdir(), 'container-token-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'token'), 'token-from-file');
    env({ ...endpoints(aws), AWS_CONTAINER_CREDENTIALS_FULL_URI: endpoint.url, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: join(dir, 'token') });
    const { config, expected } = appConfig(aws);
    await expect(getConfig(config)).resolves.toEqual(expected);
    expect(endpoint.requestCount()).toBe(1);
  });

  it('reports a refused container token as unavailable credentials, per field', async () => {
    const aws = await standIns(containerCredentials);
    const endpoint = await container('right');
    env({ ...endpoints(aws), AWS_CONTAINER_CREDENTIALS_FULL_URI: endpoint.url, AWS_CONTAINER_AUTHORIZATION_TOKEN: 'wrong' });
    const { config } = appConfig(aws);
    const error = (await getConfig(config).catch((e: unknown) => e)) as ConfigError;
    expect(error.issues.map((i) => [i.field, i.reason, i.message])).toEqual([
      ['apiKey', 'unavailable', 'could not load AWS credentials (CredentialsProviderError)'],
      ['token', 'unavailable', 'could not load AWS credentials (CredentialsProviderError)'],
    ]);
    expect(aws.sm.callCount() + aws.kms.callCount()).toBe(0);
  });
});

describe('endpoint variables', () => {
  const creds = { AWS_ACCESS_KEY_ID: envCredentials.accessKeyId, AWS_SECRET_ACCESS_KEY: envCredentials.secretAccessKey, AWS_SESSION_TOKEN: envCredentials.sessionToken };

  it('AWS_ENDPOINT_URL alone reaches both services when they share it', async () => {
    // One stand-in per call: the generic variable reaches Secrets Manager, the KMS var KMS.
    const aws = await standIns(envCredentials);
    env({ ...creds, AWS_ENDPOINT_URL: aws.sm.url, AWS_ENDPOINT_URL_KMS: aws.kms.url });
    const { config, expected } = appConfig(aws);
    await expect(getConfig(config)).resolves.toEqual(expected);
    expect([aws.sm.callCount(), aws.kms.callCount()]).toEqual([1, 1]);
  });

  it('the service variables win over AWS_ENDPOINT_URL', async () => {
    const aws = await standIns(envCredentials);
    // A port nothing listens on: reaching it would fail the fetch.
    env({ ...creds, ...endpoints(aws), AWS_ENDPOINT_URL: 'http://127.0.0.1:9' });
    const { config, expected } = appConfig(aws);
    await expect(getConfig(config)).resolves.toEqual(expected);
  });

  it('AWS_ENDPOINT_URL_KMS is read for KMS only', async () => {
    const aws = await standIns(envCredentials);
    env({ ...creds, AWS_ENDPOINT_URL_KMS: aws.kms.url, AWS_ENDPOINT_URL: aws.sm.url });
    const { config, expected } = appConfig(aws);
    await expect(getConfig(config)).resolves.toEqual(expected);
    expect(aws.kms.calls.map((c) => c.operation)).toEqual(['Decrypt']);
    expect(aws.sm.calls.map((c) => c.operation)).toEqual(['BatchGetSecretValue']);
  });
});

describe('retries and error kinds', () => {
  async function leanEnv(): Promise<Aws> {
    const aws = await standIns(envCredentials);
    env({
      ...endpoints(aws),
      AWS_ACCESS_KEY_ID: envCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: envCredentials.secretAccessKey,
      AWS_SESSION_TOKEN: envCredentials.sessionToken,
    });
    return aws;
  }

  it('retries throttling and 5xx up to AWS_MAX_ATTEMPTS', async () => {
    const aws = await leanEnv();
    const { config, expected } = appConfig(aws);
    aws.sm.injectFault({ kind: 'server-error', times: 2 });
    aws.kms.injectFault({ kind: 'throttle', times: 2 });
    await expect(getConfig(config)).resolves.toEqual(expected);
    expect([aws.sm.callCount(), aws.kms.callCount()]).toEqual([3, 3]);
  });

  it('reports throttled and unavailable after the last attempt, with the attempts made', async () => {
    const aws = await leanEnv();
    const { config } = appConfig(aws);
    aws.sm.injectFault({ kind: 'throttle', times: 3 });
    aws.kms.injectFault({ kind: 'server-error', times: 3 });
    const error = (await getConfig(config).catch((e: unknown) => e)) as ConfigError;
    expect(error.issues.map((i) => [i.field, i.reason, i.message])).toEqual([
      ['apiKey', 'throttled', 'throttled after 3 attempts'],
      ['token', 'unavailable', 'service error (KMSInternalException) after 3 attempts'],
    ]);
  });

  it('maps not-found, access-denied, invalid-request, bad-ciphertext and key-unusable as the SDK path does', async () => {
    const aws = await leanEnv();
    const scheduled = aws.sm.createSecret('app/scheduled', 'x');
    aws.sm.deleteSecret(scheduled.name);
    aws.sm.createSecret('app/denied', 'x');
    aws.sm.denySecret('app/denied');
    const disabledKey = aws.kms.createKey().keyId;
    const disabled = aws.kms.encryptToBase64(disabledKey, 'p');
    aws.kms.disableKey(disabledKey);
    cleanups.push(
      setEnv({
        MISSING: 'app/missing',
        DENIED: 'app/denied',
        SCHEDULED: 'app/scheduled',
        BAD: Buffer.from('not a ciphertext').toString('base64'),
        DISABLED: disabled,
        WRONG_CONTEXT: aws.kms.encryptToBase64(aws.keyId, 'p', { a: 'b' }),
      }),
    );
    const config = defineConfig({
      missing: secret('MISSING'),
      denied: secret('DENIED'),
      scheduled: secret('SCHEDULED'),
      bad: kms('BAD'),
      disabled: kms('DISABLED'),
      wrongContext: kms('WRONG_CONTEXT'),
    });
    const lean = (await getConfig(config).catch((e: unknown) => e)) as ConfigError;
    const leanKinds = lean.issues.map((i) => [i.field, i.reason, i.message]);
    expect(leanKinds).toEqual([
      ['missing', 'not-found', 'secret not found'],
      ['denied', 'access-denied', 'access denied'],
      ['scheduled', 'invalid-request', 'the secret cannot be read now (e.g. scheduled for deletion)'],
      ['bad', 'bad-ciphertext', 'bad ciphertext or wrong encryption context'],
      ['disabled', 'key-unusable', 'the KMS key is not usable (DisabledException)'],
      ['wrongContext', 'bad-ciphertext', 'bad ciphertext or wrong encryption context'],
    ]);
    expect(agents(aws).every((agent) => agent === LEAN_AGENT)).toBe(true);

    // The same definition through the SDK clients gives the same reasons and messages.
    cleanups.push(setEnv({ CUSTOM_RUNTIME_CONFIG_TRANSPORT: 'sdk' }));
    clearConfigCache();
    aws.sm.resetCalls();
    aws.kms.resetCalls();
    const sdk = (await getConfig(config).catch((e: unknown) => e)) as ConfigError;
    expect(sdk.issues.map((i) => [i.field, i.reason, i.message])).toEqual(leanKinds);
    expect(agents(aws).every((agent) => agent?.includes('aws-sdk-js'))).toBe(true);
  });

  it('uses a user-supplied SDK client instead of the lean path', async () => {
    const aws = await leanEnv();
    const { config, expected } = appConfig(aws);
    const client = new SecretsManagerClient({ endpoint: aws.sm.url, region: 'eu-west-1', credentials: envCredentials });
    cleanups.push(() => client.destroy());
    setConfigClients({ secretsManager: client });
    await expect(getConfig(config)).resolves.toEqual(expected);
    expect(aws.sm.calls.map((c) => c.userAgent?.includes('aws-sdk-js'))).toEqual([true]);
    expect(aws.kms.calls.map((c) => c.userAgent)).toEqual([LEAN_AGENT]);
  });
});
