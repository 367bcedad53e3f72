import { randomInt, randomUUID } from 'node:crypto';
import {
  AwsJsonServer,
  AwsServiceError,
  epochSeconds,
  lengthError,
  optionalBlob,
  optionalBoolean,
  optionalNumber,
  optionalString,
  optionalStringList,
  requireString,
  type AwsJsonStandIn,
  type JsonObject,
} from './aws-json-server.js';
import type { StandInCredentials } from './sigv4-verifier.js';

/** Options for {@link startSecretsManager}. */
export interface SecretsManagerOptions {
  /** Region in the secrets' ARNs; `us-east-1` when omitted. */
  readonly region?: string;
  /** Account id in the secrets' ARNs; `123456789012` when omitted. */
  readonly accountId?: string;
  /**
   * Dummy credentials every request must be signed with (SigV4, for `region` and the signing name
   * `secretsmanager`); when omitted only the `Authorization` header's form is checked.
   */
  readonly credentials?: StandInCredentials;
}

/** A secret as created by {@link SecretsManagerStandIn.createSecret}. */
export interface CreatedSecret {
  /** Full ARN, ending in `-` and six random characters. */
  readonly arn: string;
  /** The secret's name. */
  readonly name: string;
  /** Id of the version holding the value, labelled `AWSCURRENT`. */
  readonly versionId: string;
}

/**
 * A local AWS Secrets Manager speaking the JSON 1.1 protocol, for tests and development only.
 *
 * Operations: CreateSecret, PutSecretValue, GetSecretValue, BatchGetSecretValue (by
 * `SecretIdList`; `Filters` answer `ValidationException`), DescribeSecret, DeleteSecret,
 * RestoreSecret, UpdateSecretVersionStage. Secret ids may be a name, a full ARN or a partial
 * ARN (without the six-character suffix). The helpers below change state directly: they are
 * not recorded as calls and are not subject to latency or faults.
 */
export interface SecretsManagerStandIn extends AwsJsonStandIn {
  /** Region in ARNs; the SDK client's `region` should match it. */
  readonly region: string;
  /** Account id in ARNs. */
  readonly accountId: string;
  /** Creates a secret whose `AWSCURRENT` version holds `value` (a string, or bytes as SecretBinary). */
  createSecret(name: string, value: string | Uint8Array): CreatedSecret;
  /** Adds a version holding `value` and moves `AWSCURRENT` to it (the old one becomes `AWSPREVIOUS`). */
  putSecretValue(secretId: string, value: string | Uint8Array): { readonly versionId: string };
  /**
   * Deletes a secret: scheduled for deletion (reads answer `InvalidRequestException`) or, with
   * `force`, removed at once (reads answer `ResourceNotFoundException`).
   */
  deleteSecret(secretId: string, options?: { readonly force?: boolean }): void;
  /**
   * Denies reading this secret: `GetSecretValue` answers `AccessDeniedException` and
   * `BatchGetSecretValue` reports it as a per-secret error. `secretId` may be any id form and
   * need not exist yet.
   */
  denySecret(secretId: string): void;
  /** Undoes {@link SecretsManagerStandIn.denySecret} for exactly that id. */
  allowSecret(secretId: string): void;
}

/** Starts a Secrets Manager stand-in on 127.0.0.1 and a free port. */
export async function startSecretsManager(options: SecretsManagerOptions = {}): Promise<SecretsManagerStandIn> {
  const server = new SecretsManagerServer(options.region ?? 'us-east-1', options.accountId ?? '123456789012', options.credentials);
  await server.listen();
  return server;
}

const CURRENT = 'AWSCURRENT';
const PREVIOUS = 'AWSPREVIOUS';
const BATCH_LIMIT = 20;
const NAME_PATTERN = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const SUFFIX_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

type SecretValue = { readonly kind: 'string'; readonly text: string } | { readonly kind: 'binary'; readonly bytes: Buffer };

interface SecretVersion {
  readonly id: string;
  readonly value: SecretValue;
  readonly created: Date;
  readonly stages: Set<string>;
}

interface Secret {
  readonly name: string;
  readonly arn: string;
  readonly created: Date;
  readonly description: string | undefined;
  readonly kmsKeyId: string | undefined;
  /** Insertion order is creation order. */
  readonly versions: Map<string, SecretVersion>;
  lastChanged: Date;
  lastAccessed: Date | undefined;
  deletedAt: Date | undefined;
}

class SecretsManagerServer extends AwsJsonServer implements SecretsManagerStandIn {
  readonly region: string;
  readonly accountId: string;
  readonly #secrets = new Map<string, Secret>();
  readonly #deniedIds = new Set<string>();

  constructor(region: string, accountId: string, credentials: StandInCredentials | undefined) {
    super({
      targetPrefix: 'secretsmanager',
      iamPrefix: 'secretsmanager',
      serverErrorCode: 'InternalServiceError',
      accountId,
      signingName: 'secretsmanager',
      region,
      credentials,
    });
    this.region = region;
    this.accountId = accountId;
    this.register('CreateSecret', (input) => this.#createSecretOp(input));
    this.register('PutSecretValue', (input) => this.#putSecretValueOp(input));
    this.register('GetSecretValue', (input) => this.#getSecretValueOp(input));
    this.register('BatchGetSecretValue', (input) => this.#batchGetSecretValueOp(input));
    this.register('DescribeSecret', (input) => this.#describeSecretOp(input));
    this.register('DeleteSecret', (input) => this.#deleteSecretOp(input));
    this.register('RestoreSecret', (input) => this.#restoreSecretOp(input));
    this.register('UpdateSecretVersionStage', (input) => this.#updateSecretVersionStageOp(input));
  }

  createSecret(name: string, value: string | Uint8Array): CreatedSecret {
    const secret = this.#create(name, toSecretValue(value), undefined, undefined, undefined);
    const version = currentVersion(secret)!;
    return { arn: secret.arn, name: secret.name, versionId: version.id };
  }

  putSecretValue(secretId: string, value: string | Uint8Array): { readonly versionId: string } {
    const version = this.#put(this.#resolveLive(secretId), toSecretValue(value), randomUUID(), [CURRENT]);
    return { versionId: version.id };
  }

  deleteSecret(secretId: string, options: { readonly force?: boolean } = {}): void {
    this.#delete(this.#resolve(secretId), options.force === true);
  }

  denySecret(secretId: string): void {
    this.#deniedIds.add(secretId);
  }

  allowSecret(secretId: string): void {
    this.#deniedIds.delete(secretId);
  }

  #createSecretOp(input: JsonObject): JsonObject {
    const name = requireString(input, 'Name');
    const token = clientRequestToken(input);
    const value = valueFromInput(input);
    const secret = this.#create(name, value, token, optionalString(input, 'Description'), optionalString(input, 'KmsKeyId'));
    const version = currentVersion(secret);
    return { ARN: secret.arn, Name: secret.name, ...(version === undefined ? {} : { VersionId: version.id }) };
  }

  #putSecretValueOp(input: JsonObject): JsonObject {
    const secret = this.#resolveLive(requireString(input, 'SecretId'));
    const value = valueFromInput(input);
    if (value === undefined) {
      throw new AwsServiceError('InvalidParameterException', 'You must provide either SecretString or SecretBinary.');
    }
    const stages = optionalStringList(input, 'VersionStages') ?? [CURRENT];
    if (stages.length < 1) throw lengthError('VersionStages', 'greater than or equal to', 1);
    if (stages.length > 20) throw lengthError('VersionStages', 'less than or equal to', 20);
    const version = this.#put(secret, value, clientRequestToken(input) ?? randomUUID(), stages);
    return { ARN: secret.arn, Name: secret.name, VersionId: version.id, VersionStages: [...version.stages] };
  }

  #getSecretValueOp(input: JsonObject): JsonObject {
    const secretId = requireString(input, 'SecretId');
    if (this.#isDenied(secretId)) throw this.accessDenied('GetSecretValue', secretId);
    const secret = this.#resolveLive(secretId);
    const version = pickVersion(secret, optionalString(input, 'VersionId'), optionalString(input, 'VersionStage'));
    secret.lastAccessed = new Date();
    return secretValueEntry(secret, version);
  }

  #batchGetSecretValueOp(input: JsonObject): JsonObject {
    if (input['Filters'] !== undefined && input['Filters'] !== null) {
      throw new AwsServiceError('ValidationException', 'Filters is not supported by this stand-in; pass SecretIdList instead.');
    }
    const ids = optionalStringList(input, 'SecretIdList');
    if (ids === undefined) {
      throw new AwsServiceError('InvalidParameterException', 'You must include Filters or SecretIdList, but not both.');
    }
    if (optionalNumber(input, 'MaxResults') !== undefined) {
      throw new AwsServiceError('InvalidParameterException', 'MaxResults can only be used with Filters.');
    }
    if (ids.length < 1) throw lengthError('SecretIdList', 'greater than or equal to', 1);
    if (ids.length > BATCH_LIMIT) throw lengthError('SecretIdList', 'less than or equal to', BATCH_LIMIT);

    const values: JsonObject[] = [];
    const errors: JsonObject[] = [];
    for (const secretId of ids) {
      try {
        if (this.#isDenied(secretId)) throw this.accessDenied('GetSecretValue', secretId);
        const secret = this.#resolveLive(secretId);
        const version = pickVersion(secret, undefined, undefined);
        secret.lastAccessed = new Date();
        values.push(secretValueEntry(secret, version));
      } catch (error) {
        if (!(error instanceof AwsServiceError)) throw error;
        errors.push({ SecretId: secretId, ErrorCode: error.code, Message: error.message });
      }
    }
    return { SecretValues: values, Errors: errors };
  }

  #describeSecretOp(input: JsonObject): JsonObject {
    const secret = this.#resolve(requireString(input, 'SecretId'));
    const stages: JsonObject = {};
    for (const version of secret.versions.values()) {
      // Versions without labels are deprecated and not listed, as in the real service.
      if (version.stages.size > 0) stages[version.id] = [...version.stages];
    }
    return {
      ARN: secret.arn,
      Name: secret.name,
      ...(secret.description === undefined ? {} : { Description: secret.description }),
      ...(secret.kmsKeyId === undefined ? {} : { KmsKeyId: secret.kmsKeyId }),
      RotationEnabled: false,
      CreatedDate: epochSeconds(secret.created),
      LastChangedDate: epochSeconds(secret.lastChanged),
      ...(secret.lastAccessed === undefined ? {} : { LastAccessedDate: epochSeconds(startOfDay(secret.lastAccessed)) }),
      ...(secret.deletedAt === undefined ? {} : { DeletedDate: epochSeconds(secret.deletedAt) }),
      VersionIdsToStages: stages,
    };
  }

  #deleteSecretOp(input: JsonObject): JsonObject {
    const secret = this.#resolve(requireString(input, 'SecretId'));
    const force = optionalBoolean(input, 'ForceDeleteWithoutRecovery') === true;
    const window = optionalNumber(input, 'RecoveryWindowInDays');
    if (force && window !== undefined) {
      throw new AwsServiceError(
        'InvalidParameterException',
        "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.",
      );
    }
    if (window !== undefined && (!Number.isInteger(window) || window < 7 || window > 30)) {
      throw new AwsServiceError('InvalidParameterException', 'RecoveryWindowInDays value must be between 7 and 30 days (inclusive).');
    }
    if (secret.deletedAt !== undefined && !force) throw markedForDeletion();
    const deletionDate = this.#delete(secret, force, window ?? 30);
    return { ARN: secret.arn, Name: secret.name, DeletionDate: epochSeconds(deletionDate) };
  }

  #restoreSecretOp(input: JsonObject): JsonObject {
    const secret = this.#resolve(requireString(input, 'SecretId'));
    secret.deletedAt = undefined;
    secret.lastChanged = new Date();
    return { ARN: secret.arn, Name: secret.name };
  }

  #updateSecretVersionStageOp(input: JsonObject): JsonObject {
    const secret = this.#resolveLive(requireString(input, 'SecretId'));
    const stage = requireString(input, 'VersionStage');
    const moveTo = optionalString(input, 'MoveToVersionId');
    const removeFrom = optionalString(input, 'RemoveFromVersionId');
    const holder = [...secret.versions.values()].find((version) => version.stages.has(stage));
    const target = moveTo === undefined ? undefined : secret.versions.get(moveTo);
    if (moveTo !== undefined && target === undefined) {
      throw new AwsServiceError('ResourceNotFoundException', `Secrets Manager can't find the specified secret value for VersionId: ${moveTo}`);
    }
    if (removeFrom !== undefined && holder?.id !== removeFrom) {
      throw new AwsServiceError(
        'InvalidParameterException',
        `The parameter RemoveFromVersionId can't be ${removeFrom} because the staging label ${stage} isn't attached to it.`,
      );
    }
    if (target !== undefined && holder !== undefined && holder !== target && removeFrom !== holder.id) {
      throw new AwsServiceError(
        'InvalidParameterException',
        `The staging label ${stage} is currently attached to version ${holder.id}, ` +
          'so you must explicitly reference that version in RemoveFromVersionId.',
      );
    }
    if (target === undefined && stage === CURRENT) {
      throw new AwsServiceError('InvalidParameterException', `You can't remove the staging label ${CURRENT} without moving it.`);
    }
    if (target !== undefined) attachStages(secret, target, [stage]);
    else holder?.stages.delete(stage);
    secret.lastChanged = new Date();
    return { ARN: secret.arn, Name: secret.name };
  }

  #create(
    name: string,
    value: SecretValue | undefined,
    token: string | undefined,
    description: string | undefined,
    kmsKeyId: string | undefined,
  ): Secret {
    if (!NAME_PATTERN.test(name)) {
      throw new AwsServiceError(
        'ValidationException',
        'Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!',
      );
    }
    const existing = this.#secrets.get(name);
    if (existing?.deletedAt !== undefined) {
      throw new AwsServiceError(
        'InvalidRequestException',
        "You can't create this secret because a secret with this name is already scheduled for deletion.",
      );
    }
    if (existing !== undefined) {
      throw new AwsServiceError('ResourceExistsException', `The operation failed because the secret ${name} already exists.`);
    }
    const now = new Date();
    const secret: Secret = {
      name,
      arn: `arn:aws:secretsmanager:${this.region}:${this.accountId}:secret:${name}-${randomSuffix()}`,
      created: now,
      description,
      kmsKeyId,
      versions: new Map(),
      lastChanged: now,
      lastAccessed: undefined,
      deletedAt: undefined,
    };
    if (value !== undefined) this.#put(secret, value, token ?? randomUUID(), [CURRENT]);
    this.#secrets.set(name, secret);
    return secret;
  }

  #put(secret: Secret, value: SecretValue, token: string, stages: readonly string[]): SecretVersion {
    const existing = secret.versions.get(token);
    if (existing !== undefined) {
      // Same token and value is an SDK retry of a request that already succeeded.
      if (sameValue(existing.value, value)) return existing;
      throw new AwsServiceError('ResourceExistsException', "You can't modify an existing version, you can only create a new version.");
    }
    const version: SecretVersion = { id: token, value, created: new Date(), stages: new Set() };
    secret.versions.set(token, version);
    attachStages(secret, version, stages);
    secret.lastChanged = version.created;
    return version;
  }

  #delete(secret: Secret, force: boolean, windowDays = 30): Date {
    const now = new Date();
    if (force) {
      this.#secrets.delete(secret.name);
      return now;
    }
    secret.deletedAt = now;
    secret.lastChanged = now;
    return new Date(now.getTime() + windowDays * 86_400_000);
  }

  #find(secretId: string): Secret | undefined {
    if (!secretId.startsWith('arn:')) return this.#secrets.get(secretId);
    for (const secret of this.#secrets.values()) {
      if (secret.arn === secretId || partialArn(secret) === secretId) return secret;
    }
    return undefined;
  }

  #resolve(secretId: string): Secret {
    const secret = this.#find(secretId);
    if (secret === undefined) throw new AwsServiceError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    return secret;
  }

  /** Like #resolve, but a secret scheduled for deletion is refused as the real service does. */
  #resolveLive(secretId: string): Secret {
    const secret = this.#resolve(secretId);
    if (secret.deletedAt !== undefined) throw markedForDeletion();
    return secret;
  }

  #isDenied(secretId: string): boolean {
    if (this.#deniedIds.has(secretId)) return true;
    const secret = this.#find(secretId);
    if (secret === undefined) return false;
    for (const denied of this.#deniedIds) if (this.#find(denied) === secret) return true;
    return false;
  }
}

function markedForDeletion(): AwsServiceError {
  return new AwsServiceError(
    'InvalidRequestException',
    "You can't perform this operation on the secret because it was marked for deletion.",
  );
}

function toSecretValue(value: string | Uint8Array): SecretValue {
  return typeof value === 'string' ? { kind: 'string', text: value } : { kind: 'binary', bytes: Buffer.from(value) };
}

function valueFromInput(input: JsonObject): SecretValue | undefined {
  const text = optionalString(input, 'SecretString');
  const bytes = optionalBlob(input, 'SecretBinary');
  if (text !== undefined && bytes !== undefined) {
    throw new AwsServiceError(
      'InvalidParameterException',
      "You can't specify both a binary secret value and a string secret value in the same secret.",
    );
  }
  if (text !== undefined) return { kind: 'string', text };
  if (bytes !== undefined) return { kind: 'binary', bytes };
  return undefined;
}

function clientRequestToken(input: JsonObject): string | undefined {
  const token = optionalString(input, 'ClientRequestToken');
  if (token === undefined) return undefined;
  if (token.length < 32) throw lengthError('ClientRequestToken', 'greater than or equal to', 32);
  if (token.length > 64) throw lengthError('ClientRequestToken', 'less than or equal to', 64);
  return token;
}

function sameValue(a: SecretValue, b: SecretValue): boolean {
  if (a.kind === 'string' && b.kind === 'string') return a.text === b.text;
  if (a.kind === 'binary' && b.kind === 'binary') return a.bytes.equals(b.bytes);
  return false;
}

/** Moves each label to `version`; moving AWSCURRENT relabels its former holder AWSPREVIOUS. */
function attachStages(secret: Secret, version: SecretVersion, stages: readonly string[]): void {
  for (const stage of stages) {
    for (const other of secret.versions.values()) {
      if (other === version || !other.stages.has(stage)) continue;
      other.stages.delete(stage);
      if (stage === CURRENT) {
        for (const any of secret.versions.values()) any.stages.delete(PREVIOUS);
        other.stages.add(PREVIOUS);
      }
    }
    version.stages.add(stage);
  }
}

function currentVersion(secret: Secret): SecretVersion | undefined {
  for (const version of secret.versions.values()) if (version.stages.has(CURRENT)) return version;
  return undefined;
}

function pickVersion(secret: Secret, versionId: string | undefined, versionStage: string | undefined): SecretVersion {
  if (versionId !== undefined) {
    const version = secret.versions.get(versionId);
    if (version === undefined || (versionStage !== undefined && !version.stages.has(versionStage))) {
      throw new AwsServiceError(
        'ResourceNotFoundException',
        `Secrets Manager can't find the specified secret value for VersionId: ${versionId}` +
          (versionStage === undefined ? '' : ` and staging label: ${versionStage}`),
      );
    }
    return version;
  }
  const stage = versionStage ?? CURRENT;
  for (const version of secret.versions.values()) if (version.stages.has(stage)) return version;
  throw new AwsServiceError('ResourceNotFoundException', `Secrets Manager can't find the specified secret value for staging label: ${stage}`);
}

function secretValueEntry(secret: Secret, version: SecretVersion): JsonObject {
  return {
    ARN: secret.arn,
    Name: secret.name,
    VersionId: version.id,
    ...(version.value.kind === 'string'
      ? { SecretString: version.value.text }
      : { SecretBinary: version.value.bytes.toString('base64') }),
    VersionStages: [...version.stages],
    CreatedDate: epochSeconds(version.created),
  };
}

function partialArn(secret: Secret): string {
  return secret.arn.slice(0, -7);
}

function randomSuffix(): string {
  let suffix = '';
  for (let i = 0; i < 6; i++) suffix += SUFFIX_ALPHABET.charAt(randomInt(SUFFIX_ALPHABET.length));
  return suffix;
}

/** The real service reports LastAccessedDate truncated to the day. */
function startOfDay(date: Date): Date {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
}
