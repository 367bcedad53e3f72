import type { KMSClient } from '@aws-sdk/client-kms';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { forgetClockOffset } from './aws/clock-skew.js';
import { forgetCredentials } from './aws/credentials.js';
import { isRecording } from './aws/init-requests.js';
import { callAwsJson, leanRoute, RECORDING_ROUTE, UNRECORDED_ROUTE, type LeanRoute } from './aws/json-call.js';
import { KMS, SECRETS_MANAGER, SSM, type AwsJsonService } from './aws/services.js';
import { forgetConnections } from './aws/signed-request.js';
import { checkOwnTimeouts, DEFAULT_TIMEOUTS, resolveTimeouts, type AwsTimeouts, type ResolvedTimeouts } from './aws/timeouts.js';
import { leanParameterStore, loadSsmSdk, sdkParameterStore, type ParameterStoreApi } from './parameter-store-api.js';

/**
 * How the layer reaches AWS. By default it makes signed JSON calls itself (the lean path: no SDK
 * client is loaded) with credentials from the environment or the container credentials endpoint,
 * and falls back to the generated SDK clients for anything else. SDK clients given here are used
 * instead, with their own settings (region, credentials, retries, timeouts).
 */
export interface ConfigClients {
  /** Secrets Manager client for `secret()` fields. */
  readonly secretsManager?: SecretsManagerClient;
  /** KMS client for `kms()` fields. */
  readonly kms?: KMSClient;
  /** Parameter Store (`ssm()` and `ssmPath()` fields). */
  readonly ssm?: SSMClient;
  /** Deadlines of the built-in calls (and of the default SDK clients); see {@link AwsTimeouts}. */
  readonly timeouts?: AwsTimeouts;
}

/** What the Secrets Manager source needs of a client: the SDK's input and output shapes, trimmed. */
export interface SecretsManagerApi {
  /** Same identity, same account and endpoint: keys cache entries and batch denials. */
  readonly identity: object;
  batchGetSecretValue(input: { SecretIdList: string[]; NextToken?: string | undefined }): Promise<BatchSecretsOutput>;
  getSecretValue(input: { SecretId: string; VersionId?: string | undefined; VersionStage?: string | undefined }): Promise<SecretValueOutput>;
}

/** One secret value as `GetSecretValue` and `BatchGetSecretValue` answer it. */
export interface SecretValueOutput {
  readonly ARN?: string | undefined;
  readonly Name?: string | undefined;
  readonly SecretString?: string | undefined;
  readonly SecretBinary?: Uint8Array | undefined;
}

/** One page of `BatchGetSecretValue`. */
export interface BatchSecretsOutput {
  readonly SecretValues?: readonly SecretValueOutput[] | undefined;
  readonly Errors?: ReadonlyArray<{ readonly SecretId?: string | undefined; readonly ErrorCode?: string | undefined }> | undefined;
  readonly NextToken?: string | undefined;
}

/** What the KMS source needs of a client. */
export interface KmsApi {
  /** See {@link SecretsManagerApi.identity}. */
  readonly identity: object;
  decrypt(input: {
    CiphertextBlob: Uint8Array;
    EncryptionContext?: Record<string, string> | undefined;
    KeyId?: string | undefined;
  }): Promise<{ readonly Plaintext?: Uint8Array | undefined }>;
}

type SecretsManagerModule = typeof import('@aws-sdk/client-secrets-manager');
type KmsModule = typeof import('@aws-sdk/client-kms');

// Loaded on first use: the lean path and env-only definitions never pay for the SDK.
let secretsManagerModule: Promise<SecretsManagerModule> | undefined;
let kmsModule: Promise<KmsModule> | undefined;

/** The Secrets Manager SDK module (commands and client class). */
export function loadSecretsManagerSdk(): Promise<SecretsManagerModule> {
  return (secretsManagerModule ??= import('@aws-sdk/client-secrets-manager'));
}

/** The KMS SDK module (commands and client class). */
export function loadKmsSdk(): Promise<KmsModule> {
  return (kmsModule ??= import('@aws-sdk/client-kms'));
}

let injected: ConfigClients = {};
// The function's own role behind the default path, lean or SDK, whichever client instance: one
// cache identity, so values cached before a reset (a SnapStart restore) still serve stale after a failure.
const defaultIdentity: object = {};

/**
 * Sets the clients (and timeouts) every definition uses unless it was given its own
 * (`defineConfig(fields, { clients })`). Pass `{}` to go back to the defaults.
 */
export function setConfigClients(clients: ConfigClients): void {
  if (clients.timeouts !== undefined) checkOwnTimeouts(clients.timeouts); // reject bad values now
  injected = { ...clients };
}

/** An SDK client as far as the fallback needs one. */
interface DestroyableClient {
  destroy(): void;
}

/** How one service is reached: what {@link chooseApi} needs to pick the lean path or an SDK client. */
interface ServiceAccess<Api, Client extends DestroyableClient> {
  readonly service: AwsJsonService;
  /** The injected client of a definition or of the process, if any. */
  readonly injected: (clients: ConfigClients) => Client | undefined;
  readonly lean: (route: LeanOk, timeouts: ResolvedTimeouts) => Api;
  /** Creates a default SDK client (the fallback) with these request-handler options. */
  readonly create: (requestHandler: SdkHandlerOptions) => Promise<Client>;
  readonly wrap: (client: Client, identity: object) => Api;
}

// Default SDK clients (the fallback), per service and timeouts setting; destroyed by forgetDefaultClients().
const lazyClients = new Map<string, Promise<DestroyableClient>>();

/**
 * The client of one service for a definition: its own injected client, else the process's, else
 * the lean path when it covers the environment, else a default SDK client. A third JSON 1.1
 * service is one {@link ServiceAccess} and a call of this.
 */
async function chooseApi<Api, Client extends DestroyableClient>(
  access: ServiceAccess<Api, Client>,
  own: ConfigClients | undefined,
): Promise<Api> {
  const client = (own === undefined ? undefined : access.injected(own)) ?? access.injected(injected);
  // Image build: the lean path's calls are listed, not sent; a user's client is never called.
  if (isRecording()) return access.lean(client === undefined ? RECORDING_ROUTE : UNRECORDED_ROUTE, DEFAULT_TIMEOUTS);
  if (client !== undefined) return access.wrap(client, client);
  const timeouts = resolveTimeouts({ ...injected.timeouts, ...own?.timeouts });
  const route = leanRoute(access.service);
  if (route.ok) return access.lean(route, timeouts);
  const key = `${access.service.signingName}\u0000${JSON.stringify(timeouts)}`;
  let lazy = lazyClients.get(key);
  if (lazy === undefined) {
    lazy = access.create(sdkHandlerOptions(timeouts));
    lazyClients.set(key, lazy);
    lazy.catch(() => lazyClients.delete(key));
  }
  return access.wrap((await lazy) as Client, defaultIdentity);
}

const SECRETS_MANAGER_ACCESS: ServiceAccess<SecretsManagerApi, SecretsManagerClient> = {
  service: SECRETS_MANAGER,
  injected: (clients) => clients.secretsManager,
  lean: leanSecretsManager,
  create: async (requestHandler) => new (await loadSecretsManagerSdk()).SecretsManagerClient({ requestHandler }),
  wrap: sdkSecretsManager,
};

const KMS_ACCESS: ServiceAccess<KmsApi, KMSClient> = {
  service: KMS,
  injected: (clients) => clients.kms,
  lean: leanKms,
  create: async (requestHandler) => new (await loadKmsSdk()).KMSClient({ requestHandler }),
  wrap: sdkKms,
};

const SSM_ACCESS: ServiceAccess<ParameterStoreApi, SSMClient> = {
  service: SSM,
  injected: (clients) => clients.ssm,
  lean: (route, timeouts) => leanParameterStore(route, timeouts, defaultIdentity),
  create: async (requestHandler) => new (await loadSsmSdk()).SSMClient({ requestHandler }),
  wrap: sdkParameterStore,
};

/** @internal The Secrets Manager client for a definition. */
export function secretsManagerApi(own: ConfigClients | undefined): Promise<SecretsManagerApi> {
  return chooseApi(SECRETS_MANAGER_ACCESS, own);
}

/** @internal The KMS client for a definition. */
export function kmsApi(own: ConfigClients | undefined): Promise<KmsApi> {
  return chooseApi(KMS_ACCESS, own);
}

/** @internal The Parameter Store client for a definition. */
export function parameterStoreApi(own: ConfigClients | undefined): Promise<ParameterStoreApi> {
  return chooseApi(SSM_ACCESS, own);
}

interface SdkHandlerOptions {
  readonly connectionTimeout: number;
  readonly requestTimeout: number;
  readonly throwOnRequestTimeout: true;
}

// The SDK has no per-call budget: connect and per-attempt timeouts are what it offers. Without
// throwOnRequestTimeout, @smithy/node-http-handler 4.14 only logs a warning when requestTimeout passes.
function sdkHandlerOptions(timeouts: ResolvedTimeouts): SdkHandlerOptions {
  return { connectionTimeout: timeouts.connectMs, requestTimeout: timeouts.attemptMs, throwOnRequestTimeout: true };
}

type LeanOk = Extract<LeanRoute, { ok: true }>;

function leanSecretsManager(route: LeanOk, timeouts: ResolvedTimeouts): SecretsManagerApi {
  return {
    identity: defaultIdentity,
    async batchGetSecretValue(input) {
      const out = await callAwsJson(SECRETS_MANAGER, route, 'BatchGetSecretValue', input, timeouts);
      return {
        SecretValues: Array.isArray(out.SecretValues) ? out.SecretValues.map(secretValue) : undefined,
        Errors: Array.isArray(out.Errors)
          ? out.Errors.map((e: unknown) => ({ SecretId: stringMember(e, 'SecretId'), ErrorCode: stringMember(e, 'ErrorCode') }))
          : undefined,
        NextToken: stringMember(out, 'NextToken'),
      };
    },
    async getSecretValue(input) {
      return secretValue(await callAwsJson(SECRETS_MANAGER, route, 'GetSecretValue', input, timeouts));
    },
  };
}

function leanKms(route: LeanOk, timeouts: ResolvedTimeouts): KmsApi {
  return {
    identity: defaultIdentity,
    async decrypt(input) {
      const out = await callAwsJson(
        KMS,
        route,
        'Decrypt',
        { ...input, CiphertextBlob: Buffer.from(input.CiphertextBlob).toString('base64') },
        timeouts,
      );
      return { Plaintext: blobMember(out, 'Plaintext') };
    },
  };
}

// JSON 1.1 blobs travel as base64 strings.
function secretValue(item: unknown): SecretValueOutput {
  return {
    ARN: stringMember(item, 'ARN'),
    Name: stringMember(item, 'Name'),
    SecretString: stringMember(item, 'SecretString'),
    SecretBinary: blobMember(item, 'SecretBinary'),
  };
}

function stringMember(item: unknown, key: string): string | undefined {
  const value = typeof item === 'object' && item !== null ? (item as Record<string, unknown>)[key] : undefined;
  return typeof value === 'string' ? value : undefined;
}

function blobMember(item: unknown, key: string): Uint8Array | undefined {
  const text = stringMember(item, key);
  return text === undefined ? undefined : new Uint8Array(Buffer.from(text, 'base64'));
}

const sdkSecretsManagerApis = new WeakMap<object, SecretsManagerApi>();
const sdkKmsApis = new WeakMap<object, KmsApi>();

function sdkSecretsManager(client: SecretsManagerClient, identity: object): SecretsManagerApi {
  let api = sdkSecretsManagerApis.get(client);
  if (api === undefined || api.identity !== identity) {
    api = {
      identity,
      async batchGetSecretValue(input) {
        const { BatchGetSecretValueCommand } = await loadSecretsManagerSdk();
        return client.send(new BatchGetSecretValueCommand(input));
      },
      async getSecretValue(input) {
        const { GetSecretValueCommand } = await loadSecretsManagerSdk();
        return client.send(new GetSecretValueCommand(input));
      },
    };
    sdkSecretsManagerApis.set(client, api);
  }
  return api;
}

function sdkKms(client: KMSClient, identity: object): KmsApi {
  let api = sdkKmsApis.get(client);
  if (api === undefined || api.identity !== identity) {
    api = {
      identity,
      async decrypt(input) {
        const { DecryptCommand } = await loadKmsSdk();
        return client.send(new DecryptCommand(input));
      },
    };
    sdkKmsApis.set(client, api);
  }
  return api;
}

/**
 * @internal Drops every cached AWS connection, credential and clock correction, and the default
 * SDK clients: the next call starts afresh, with the same cache identity. Called by
 * `clearConfigCache()` and after a SnapStart restore (snapstart-refresh.ts), where the snapshot's
 * credentials, sockets and clock no longer hold.
 */
export function forgetDefaultClients(): void {
  for (const client of lazyClients.values()) void client.then((c) => c.destroy(), () => undefined);
  lazyClients.clear();
  forgetCredentials();
  forgetConnections();
  forgetClockOffset();
}

const ids = new WeakMap<object, number>();
let nextId = 1;

/** @internal A stable id per account behind a client, so cache keys of different accounts never meet. */
export function clientId(api: { readonly identity: object }): number {
  let id = ids.get(api.identity);
  if (id === undefined) {
    id = nextId++;
    ids.set(api.identity, id);
  }
  return id;
}
