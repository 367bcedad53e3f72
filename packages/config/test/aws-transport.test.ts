/**
 * The lean AWS path (signed JSON 1.1 over node:http) against signature-verifying stand-ins: each
 * credential source, each endpoint variable, retries, error kinds, and the SDK fallback.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
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
import { afterEach, describe, expect, it, vi } from 'vitest';
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
      ['apiKey', 'unavailable', 'could not load AWS credentials from the container credentials endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI): Server responded with status: 403'],
      ['token', 'unavailable', 'could not load AWS credentials from the container credentials endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI): Server responded with status: 403'],
    ]);
    expect(aws.sm.callCount() + aws.kms.callCount()).toBe(0);
  });
});

describe('credential sources: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', () => {
  // fromHttp makes the relative URI a path on the ECS/Lambda link-local host
  // (@aws-sdk/credential-provider-http fromHttp: `${DEFAULT_LINK_LOCAL_HOST}${relative}`, with
  // DEFAULT_LINK_LOCAL_HOST "http://169.254.170.2"). No test may leave 127.0.0.1, so Node's
  // http.request (which @smithy/node-http-handler reads from node:http at call time) is intercepted:
  // the URL is recorded, and the request goes on to the credentials stand-in instead.
  it('asks http://169.254.170.2 + the relative path for credentials, and signs with them', async () => {
    const aws = await standIns(containerCredentials);
    const endpoint = await startContainerCredentials({ credentials: containerCredentials });
    cleanups.push(() => endpoint.close());
    const standInPort = Number(new URL(endpoint.url).port);
    const asked: Array<{ host: unknown; port: number; path: unknown; authorization: unknown }> = [];
    const original = http.request;
    const spy = vi.spyOn(http, 'request').mockImplementation(((options: http.RequestOptions, callback?: (res: http.IncomingMessage) => void) => {
      if (options.host !== '169.254.170.2' && options.hostname !== '169.254.170.2') return original(options, callback);
      const headers = (options.headers ?? {}) as Record<string, unknown>;
      // Node connects to port 80 when the port is 0 or absent (http.ClientRequest: `options.port || defaultPort`).
      asked.push({ host: options.host ?? options.hostname, port: Number(options.port) || 80, path: options.path, authorization: headers.Authorization });
      return original({ ...options, host: '127.0.0.1', hostname: '127.0.0.1', port: standInPort }, callback);
    }) as unknown as typeof http.request);
    cleanups.push(() => spy.mockRestore());
    env({ ...endpoints(aws), AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '/v1/credentials' });
    const { config, expected } = appConfig(aws);
    await expect(getConfig(config)).resolves.toEqual(expected);
    expect(asked).toEqual([{ host: '169.254.170.2', port: 80, path: '/v1/credentials', authorization: undefined }]);
    expect(endpoint.requestCount()).toBe(1);
    // Signed with the container's credentials: the stand-ins verify the signature against them.
    expect(agents(aws)).toEqual([LEAN_AGENT, LEAN_AGENT]);
  });
});

describe('endpoints: an IPv6 literal', () => {
  // No test server may listen beyond 127.0.0.1, so node:http's request is intercepted as above:
  // the address the lean path connects to is recorded, and the request goes on to the stand-in.
  it('connects to the address without its brackets, the Host header keeping them, as signed', async () => {
    const aws = await standIns(envCredentials);
    const port = Number(new URL(aws.sm.url).port);
    const asked: Array<{ hostname: unknown; host: unknown }> = [];
    const original = http.request;
    const spy = vi.spyOn(http, 'request').mockImplementation(((options: http.RequestOptions, callback?: (res: http.IncomingMessage) => void) => {
      if (Number(options.port) !== port || options.hostname === '127.0.0.1') return original(options, callback);
      asked.push({ hostname: options.hostname, host: (options.headers as Record<string, unknown> | undefined)?.host });
      return original({ ...options, hostname: '127.0.0.1' }, callback);
    }) as unknown as typeof http.request);
    cleanups.push(() => spy.mockRestore());
    env({
      ...endpoints(aws),
      AWS_ENDPOINT_URL_SECRETS_MANAGER: `http://[::1]:${port}`,
      AWS_ACCESS_KEY_ID: envCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: envCredentials.secretAccessKey,
      AWS_SESSION_TOKEN: envCredentials.sessionToken,
    });
    const { config, expected } = appConfig(aws);
    await expect(getConfig(config)).resolves.toEqual(expected);
    expect(asked).toEqual([{ hostname: '::1', host: `[::1]:${port}` }]);
  });
});

describe('no credentials, no region: the message names the cause', () => {
  // The SDK's default chain must find nothing on this machine either: no IMDS (it would try
  // 169.254.169.254), no shared config or credentials file.
  function bare(vars: Record<string, string | undefined>): void {
    const dir = mkdtempSync(join(tmpdir(), 'no-credentials-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    env({
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CONFIG_FILE: join(dir, 'config'),
      AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials'),
      AWS_WEB_IDENTITY_TOKEN_FILE: undefined,
      ...vars,
    });
  }

  async function messages(aws: Aws): Promise<string[]> {
    const { config } = appConfig(aws);
    const error = (await getConfig(config).catch((e: unknown) => e)) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(aws.sm.callCount() + aws.kms.callCount()).toBe(0);
    return error.issues.map((i) => `${i.field}: ${i.reason}: ${i.message}`);
  }

  it('says no credentials were found and which variables give them, never "could not reach"', async () => {
    const aws = await standIns(envCredentials);
    bare(endpoints(aws));
    const none =
      'unavailable: no AWS credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile (AWS_PROFILE), or the ' +
      'container credentials variables (AWS_CONTAINER_CREDENTIALS_FULL_URI or AWS_CONTAINER_CREDENTIALS_RELATIVE_URI)';
    expect(await messages(aws)).toEqual([`apiKey: ${none}`, `token: ${none}`]);
  });

  it('names the half of the key pair that is missing', async () => {
    const aws = await standIns(envCredentials);
    bare({ ...endpoints(aws), AWS_ACCESS_KEY_ID: envCredentials.accessKeyId });
    const half = 'unavailable: no AWS credentials: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not';
    expect(await messages(aws)).toEqual([`apiKey: ${half}`, `token: ${half}`]);
  });

  it('says the region is missing', async () => {
    const aws = await standIns(envCredentials);
    bare({ ...endpoints(aws), AWS_ACCESS_KEY_ID: envCredentials.accessKeyId, AWS_SECRET_ACCESS_KEY: envCredentials.secretAccessKey, AWS_REGION: undefined });
    const region = 'invalid-request: no AWS region: set AWS_REGION (Lambda sets it)';
    expect(await messages(aws)).toEqual([`apiKey: ${region}`, `token: ${region}`]);
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
      ['bad', 'bad-ciphertext', expect.stringMatching(/^bad ciphertext or wrong encryption context \(InvalidCiphertextException\): sent no encryption context; /)],
      ['disabled', 'key-unusable', 'the KMS key is not usable (DisabledException)'],
      ['wrongContext', 'bad-ciphertext', expect.stringMatching(/^bad ciphertext or wrong encryption context \(InvalidCiphertextException\): sent no encryption context; /)],
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
