/**
 * Credentials of the lean path: the environment (the variables `fromEnv` of
 * `@aws-sdk/credential-provider-env` reads) or the container credentials
 * endpoint (`fromHttp`: `AWS_CONTAINER_CREDENTIALS_FULL_URI` / `_RELATIVE_URI` with
 * `AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE]`, as SnapStart and Lambda Managed Instances provide
 * them), in the SDK default chain's order. Anything else (profiles, SSO, web identity, IMDS) is
 * left to the SDK clients.
 */

/** Signing credentials. */
export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string | undefined;
  readonly expiration?: Date | undefined;
}

/** Where the lean path takes credentials from. */
export type CredentialSource = 'env' | 'container';

// The SDK's memoized providers refresh 5 minutes before expiry (credential-provider-node memoize).
const REFRESH_BEFORE_EXPIRY_MS = 5 * 60_000;

/**
 * Which source the SDK's default chain would pick first, if the lean path covers it; `undefined`
 * sends the call to the SDK clients.
 */
export function credentialSource(env: NodeJS.ProcessEnv = process.env): CredentialSource | undefined {
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) return 'env';
  // The chain reads profiles, SSO and web identity before the container endpoint.
  if (env.AWS_PROFILE || env.AWS_WEB_IDENTITY_TOKEN_FILE) return undefined;
  if (env.AWS_CONTAINER_CREDENTIALS_FULL_URI || env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI) return 'container';
  return undefined;
}

interface Cached {
  readonly key: string;
  readonly promise: Promise<Credentials>;
}

let container: Cached | undefined;
let generation = 0;

/** Current credentials from `source`; container credentials are cached until 5 minutes before expiry. */
export async function loadCredentials(source: CredentialSource, timeoutMs: number): Promise<Credentials> {
  if (source === 'env') return environmentCredentials(process.env);
  const env = process.env;
  const key = [
    env.AWS_CONTAINER_CREDENTIALS_FULL_URI,
    env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI,
    env.AWS_CONTAINER_AUTHORIZATION_TOKEN,
    env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE,
  ].join('\u0000');
  const cached = container;
  if (cached !== undefined && cached.key === key) {
    const credentials = await cached.promise.catch(() => undefined);
    if (credentials !== undefined && !expiresSoon(credentials)) return credentials;
  }
  const mine = generation;
  const promise = fetchContainerCredentials(timeoutMs);
  container = { key, promise };
  try {
    return await promise;
  } catch (error) {
    if (container?.promise === promise) container = undefined;
    throw error;
  } finally {
    // A reset while fetching: these credentials belong to the old environment.
    if (mine !== generation && container?.promise === promise) container = undefined;
  }
}

/**
 * The variables `fromEnv` of `@aws-sdk/credential-provider-env` 3.972 reads, read the same way
 * (dist-es/fromEnv.js). Not imported: that module pulls in @aws-sdk/core's client barrel, ~35 KiB
 * evaluated on every cold start, for three `process.env` reads.
 */
export function environmentCredentials(env: NodeJS.ProcessEnv): Credentials {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  // credentialSource() chose 'env' because both are set; a reset in between is an error, as in fromEnv.
  if (!accessKeyId || !secretAccessKey) {
    throw Object.assign(new Error('Unable to find environment variable credentials.'), { name: 'CredentialsProviderError' });
  }
  const expiry = env.AWS_CREDENTIAL_EXPIRATION;
  return {
    accessKeyId,
    secretAccessKey,
    ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
    ...(expiry ? { expiration: new Date(expiry) } : {}),
  };
}

async function fetchContainerCredentials(timeoutMs: number): Promise<Credentials> {
  const { fromHttp } = await import('@aws-sdk/credential-provider-http');
  // One retry inside the connect timeout: the SDK's default (3 retries, 1 s apart) could take 8 s.
  return fromHttp({ timeout: timeoutMs, maxRetries: 1 })();
}

function expiresSoon(credentials: Credentials): boolean {
  return credentials.expiration !== undefined && credentials.expiration.getTime() - Date.now() < REFRESH_BEFORE_EXPIRY_MS;
}

// The default chain's last words when no provider had credentials (credential-provider-node's
// chain), and fromEnv's when a key is missing.
const NONE_FOUND = /Could not load credentials from any providers|Unable to find environment variable credentials/;

/**
 * Why credentials could not be loaded, for a field's message: names the variables to set when
 * none were found, the container endpoint's answer when it failed. Never a key or a token.
 */
export function describeCredentialsFailure(providerMessage: string, env: NodeJS.ProcessEnv = process.env): string {
  if (NONE_FOUND.test(providerMessage)) {
    if (env.AWS_ACCESS_KEY_ID && !env.AWS_SECRET_ACCESS_KEY) return 'no AWS credentials: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not';
    if (!env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) return 'no AWS credentials: AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not';
    const profile = env.AWS_PROFILE ? `; the profile '${env.AWS_PROFILE}' (AWS_PROFILE) gave none` : '';
    return (
      'no AWS credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile (AWS_PROFILE), or the container ' +
      `credentials variables (AWS_CONTAINER_CREDENTIALS_FULL_URI or AWS_CONTAINER_CREDENTIALS_RELATIVE_URI)${profile}`
    );
  }
  // The first line only: fromHttp's URL error goes on with a list of accepted hosts.
  const first = providerMessage.split('\n')[0]?.trim() || 'CredentialsProviderError';
  const variable = env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
    ? 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI'
    : env.AWS_CONTAINER_CREDENTIALS_FULL_URI
      ? 'AWS_CONTAINER_CREDENTIALS_FULL_URI'
      : undefined;
  if (variable !== undefined && credentialSource(env) === 'container') {
    return `could not load AWS credentials from the container credentials endpoint (${variable}): ${first}`;
  }
  return `could not load AWS credentials: ${first}`;
}

/** Forgets cached container credentials (after a SnapStart restore, or in tests). */
export function forgetCredentials(): void {
  generation++;
  container = undefined;
}
