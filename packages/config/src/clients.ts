import type { KMSClient } from '@aws-sdk/client-kms';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/**
 * SDK clients to use instead of the default ones. The default clients are created on first use
 * with no options: the SDK itself reads the region, credentials, `AWS_MAX_ATTEMPTS`, and the
 * endpoint from `AWS_ENDPOINT_URL_SECRETS_MANAGER` / `AWS_ENDPOINT_URL_KMS` / `AWS_ENDPOINT_URL`.
 */
export interface ConfigClients {
  readonly secretsManager?: SecretsManagerClient;
  readonly kms?: KMSClient;
}

type SecretsManagerModule = typeof import('@aws-sdk/client-secrets-manager');
type KmsModule = typeof import('@aws-sdk/client-kms');

// Loaded on first use: a definition with only env and payload fields never pays for the SDK.
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
let lazySecretsManager: SecretsManagerClient | undefined;
let lazyKms: KMSClient | undefined;

/**
 * Sets the clients every definition uses unless it was given its own (`defineConfig(fields, {
 * clients })`). Pass `{}` to go back to the default clients.
 */
export function setConfigClients(clients: ConfigClients): void {
  injected = { ...clients };
}

/** @internal The client for a definition: its own, else the injected one, else the default. */
export async function secretsManagerClient(own: SecretsManagerClient | undefined): Promise<SecretsManagerClient> {
  const client = own ?? injected.secretsManager ?? lazySecretsManager;
  if (client !== undefined) return client;
  const { SecretsManagerClient: Client } = await loadSecretsManagerSdk();
  return (lazySecretsManager ??= asDefault(new Client({}), 'secretsManager'));
}

/** @internal */
export async function kmsClient(own: KMSClient | undefined): Promise<KMSClient> {
  const client = own ?? injected.kms ?? lazyKms;
  if (client !== undefined) return client;
  const { KMSClient: Client } = await loadKmsSdk();
  return (lazyKms ??= asDefault(new Client({}), 'kms'));
}

/** @internal Forgets the default clients (their endpoint is read once per client). */
export function forgetDefaultClients(): void {
  lazySecretsManager?.destroy();
  lazyKms?.destroy();
  lazySecretsManager = undefined;
  lazyKms = undefined;
}

const ids = new WeakMap<object, number>();
let nextId = 1;
// Every default client of a service speaks for the function's own role, whichever instance:
// one id, so values cached through a forgotten client still serve stale after a failure.
const defaultIds: Partial<Record<keyof ConfigClients, number>> = {};

function asDefault<C extends object>(client: C, service: keyof ConfigClients): C {
  ids.set(client, (defaultIds[service] ??= nextId++));
  return client;
}

/** @internal A stable id per client object, so cache keys of different accounts never meet. */
export function clientId(client: object): number {
  let id = ids.get(client);
  if (id === undefined) {
    id = nextId++;
    ids.set(client, id);
  }
  return id;
}
