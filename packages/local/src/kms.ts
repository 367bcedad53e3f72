import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto';
import {
  AwsJsonServer,
  AwsServiceError,
  epochSeconds,
  lengthError,
  optionalBlob,
  optionalNumber,
  optionalString,
  optionalStringMap,
  requireString,
  type AwsJsonStandIn,
  type JsonObject,
} from './aws-json-server.js';
import type { StandInCredentials } from './sigv4-verifier.js';

/** Options for {@link startKms}. */
export interface KmsOptions {
  /** Region in the keys' ARNs; `us-east-1` when omitted. */
  readonly region?: string;
  /** Account id in the keys' ARNs; `123456789012` when omitted. */
  readonly accountId?: string;
  /**
   * Dummy credentials every request must be signed with (SigV4, for `region` and the signing name
   * `kms`); when omitted only the `Authorization` header's form is checked.
   */
  readonly credentials?: StandInCredentials;
}

/** A KMS encryption context: non-secret key-value pairs bound to a ciphertext. */
export type EncryptionContext = Readonly<Record<string, string>>;

/** A key as created by {@link KmsStandIn.createKey}. */
export interface CreatedKey {
  /** The key id, a UUID. */
  readonly keyId: string;
  /** `arn:aws:kms:REGION:ACCOUNT:key/KEY_ID`. */
  readonly arn: string;
}

/**
 * A local AWS KMS speaking the JSON 1.1 protocol (`TrentService`), for tests and development only.
 *
 * Operations: CreateKey, DescribeKey, CreateAlias, EnableKey, DisableKey, Encrypt, Decrypt,
 * GenerateDataKey; symmetric `ENCRYPT_DECRYPT` keys only. `KeyId` may be a key id, a key ARN,
 * `alias/NAME` or an alias ARN. Ciphertexts are AES-256-GCM under a random per-key secret,
 * carry the key id, and authenticate the encryption context; they only decrypt in the stand-in
 * that made them. The helpers below change state directly: they are not recorded as calls and
 * are not subject to latency or faults.
 */
export interface KmsStandIn extends AwsJsonStandIn {
  /** Region in ARNs; the SDK client's `region` should match it. */
  readonly region: string;
  /** Account id in ARNs. */
  readonly accountId: string;
  /** Creates an enabled symmetric key. */
  createKey(options?: { readonly description?: string }): CreatedKey;
  /** Points `aliasName` (`alias/...`) at a key. */
  createAlias(aliasName: string, keyId: string): void;
  /** Encrypts as the Encrypt operation does and returns the ciphertext blob. */
  encrypt(keyId: string, plaintext: string | Uint8Array, context?: EncryptionContext): Buffer;
  /**
   * Encrypts and returns the blob as base64: what one stores in an environment variable, as the
   * Lambda console's encryption helper does with context `{LambdaFunctionName: <function name>}`.
   */
  encryptToBase64(keyId: string, plaintext: string | Uint8Array, context?: EncryptionContext): string;
  /** Decrypts a blob made by this stand-in, as the Decrypt operation does. */
  decrypt(ciphertext: Uint8Array, context?: EncryptionContext): Buffer;
  /** Disables a key: Encrypt and Decrypt with it answer `DisabledException`. */
  disableKey(keyId: string): void;
  /** Re-enables a disabled key. */
  enableKey(keyId: string): void;
}

/** Starts a KMS stand-in on 127.0.0.1 and a free port. */
export async function startKms(options: KmsOptions = {}): Promise<KmsStandIn> {
  const server = new KmsServer(options.region ?? 'us-east-1', options.accountId ?? '123456789012', options.credentials);
  await server.listen();
  return server;
}

const ALGORITHM = 'SYMMETRIC_DEFAULT';
const MAX_PLAINTEXT_BYTES = 4096;
const MAX_CIPHERTEXT_BYTES = 6144;

// Blob layout: version (1) | key id as UUID bytes (16) | IV (12) | AES-256-GCM ciphertext | tag (16).
// The header is part of the AAD so the key id inside the blob cannot be swapped.
const BLOB_VERSION = 0x01;
const KEY_ID_BYTES = 16;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + KEY_ID_BYTES + IV_BYTES;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Key {
  readonly id: string;
  readonly arn: string;
  readonly created: Date;
  readonly description: string;
  readonly material: Buffer;
  enabled: boolean;
}

class KmsServer extends AwsJsonServer implements KmsStandIn {
  readonly region: string;
  readonly accountId: string;
  readonly #keys = new Map<string, Key>();
  readonly #aliases = new Map<string, string>();

  constructor(region: string, accountId: string, credentials: StandInCredentials | undefined) {
    super({
      targetPrefix: 'TrentService',
      iamPrefix: 'kms',
      serverErrorCode: 'KMSInternalException',
      accountId,
      signingName: 'kms',
      region,
      credentials,
    });
    this.region = region;
    this.accountId = accountId;
    this.register('CreateKey', (input) => this.#createKeyOp(input));
    this.register('DescribeKey', (input) => ({ KeyMetadata: this.#metadata(this.#resolve(requireString(input, 'KeyId'))) }));
    this.register('CreateAlias', (input) => {
      this.createAlias(requireString(input, 'AliasName'), requireString(input, 'TargetKeyId'));
      return {};
    });
    this.register('EnableKey', (input) => {
      this.#resolve(requireString(input, 'KeyId')).enabled = true;
      return {};
    });
    this.register('DisableKey', (input) => {
      this.#resolve(requireString(input, 'KeyId')).enabled = false;
      return {};
    });
    this.register('Encrypt', (input) => this.#encryptOp(input));
    this.register('Decrypt', (input) => this.#decryptOp(input));
    this.register('GenerateDataKey', (input) => this.#generateDataKeyOp(input));
  }

  createKey(options: { readonly description?: string } = {}): CreatedKey {
    const key = this.#newKey(options.description ?? '');
    return { keyId: key.id, arn: key.arn };
  }

  createAlias(aliasName: string, keyId: string): void {
    if (!/^alias\/[A-Za-z0-9/_-]{1,250}$/.test(aliasName)) {
      throw new AwsServiceError('ValidationException', `Alias must start with the prefix "alias/" and contain only [A-Za-z0-9/_-]: ${aliasName}`);
    }
    if (aliasName.startsWith('alias/aws/')) {
      throw new AwsServiceError('NotAuthorizedException', "Cannot create alias with prefix 'alias/aws/'");
    }
    if (this.#aliases.has(aliasName)) {
      throw new AwsServiceError('AlreadyExistsException', `An alias with the name ${this.#aliasArn(aliasName)} already exists`);
    }
    // An alias must target a key, not another alias.
    if (keyId.startsWith('alias/') || keyId.includes(':alias/')) throw this.#notFound(keyId);
    this.#aliases.set(aliasName, this.#resolve(keyId).id);
  }

  encrypt(keyId: string, plaintext: string | Uint8Array, context: EncryptionContext = {}): Buffer {
    return this.#encrypt(this.#resolve(keyId), toBytes(plaintext), context);
  }

  encryptToBase64(keyId: string, plaintext: string | Uint8Array, context: EncryptionContext = {}): string {
    return this.encrypt(keyId, plaintext, context).toString('base64');
  }

  decrypt(ciphertext: Uint8Array, context: EncryptionContext = {}): Buffer {
    return this.#decrypt(Buffer.from(ciphertext), context, undefined).plaintext;
  }

  disableKey(keyId: string): void {
    this.#resolve(keyId).enabled = false;
  }

  enableKey(keyId: string): void {
    this.#resolve(keyId).enabled = true;
  }

  #createKeyOp(input: JsonObject): JsonObject {
    const usage = optionalString(input, 'KeyUsage') ?? 'ENCRYPT_DECRYPT';
    const spec = optionalString(input, 'KeySpec') ?? optionalString(input, 'CustomerMasterKeySpec') ?? ALGORITHM;
    if (usage !== 'ENCRYPT_DECRYPT' || spec !== ALGORITHM) {
      throw new AwsServiceError(
        'UnsupportedOperationException',
        `This stand-in supports only KeyUsage ENCRYPT_DECRYPT with KeySpec ${ALGORITHM}.`,
      );
    }
    return { KeyMetadata: this.#metadata(this.#newKey(optionalString(input, 'Description') ?? '')) };
  }

  #encryptOp(input: JsonObject): JsonObject {
    const key = this.#resolve(requireString(input, 'KeyId'));
    const plaintext = optionalBlob(input, 'Plaintext');
    if (plaintext === undefined) throw lengthError('Plaintext', 'greater than or equal to', 1);
    this.#checkAlgorithm(input, key);
    const blob = this.#encrypt(key, plaintext, optionalStringMap(input, 'EncryptionContext') ?? {});
    return { CiphertextBlob: blob.toString('base64'), KeyId: key.arn, EncryptionAlgorithm: ALGORITHM };
  }

  #decryptOp(input: JsonObject): JsonObject {
    const blob = optionalBlob(input, 'CiphertextBlob');
    if (blob === undefined) throw lengthError('CiphertextBlob', 'greater than or equal to', 1);
    if (blob.length > MAX_CIPHERTEXT_BYTES) throw lengthError('CiphertextBlob', 'less than or equal to', MAX_CIPHERTEXT_BYTES);
    const keyId = optionalString(input, 'KeyId');
    const expected = keyId === undefined ? undefined : this.#resolve(keyId);
    if (expected !== undefined) this.#checkAlgorithm(input, expected);
    const { key, plaintext } = this.#decrypt(blob, optionalStringMap(input, 'EncryptionContext') ?? {}, expected);
    return { KeyId: key.arn, Plaintext: plaintext.toString('base64'), EncryptionAlgorithm: ALGORITHM };
  }

  #generateDataKeyOp(input: JsonObject): JsonObject {
    const key = this.#resolve(requireString(input, 'KeyId'));
    const spec = optionalString(input, 'KeySpec');
    const count = optionalNumber(input, 'NumberOfBytes');
    if ((spec === undefined) === (count === undefined)) {
      throw new AwsServiceError('ValidationException', 'Please specify either number of bytes or key spec.');
    }
    const dataKey = randomBytes(dataKeySize(spec, count));
    const blob = this.#encrypt(key, dataKey, optionalStringMap(input, 'EncryptionContext') ?? {});
    return { CiphertextBlob: blob.toString('base64'), Plaintext: dataKey.toString('base64'), KeyId: key.arn };
  }

  #newKey(description: string): Key {
    const id = randomUUID();
    const key: Key = {
      id,
      arn: `arn:aws:kms:${this.region}:${this.accountId}:key/${id}`,
      created: new Date(),
      description,
      material: randomBytes(32),
      enabled: true,
    };
    this.#keys.set(id, key);
    return key;
  }

  #encrypt(key: Key, plaintext: Buffer, context: EncryptionContext): Buffer {
    if (plaintext.length < 1) throw lengthError('Plaintext', 'greater than or equal to', 1);
    if (plaintext.length > MAX_PLAINTEXT_BYTES) throw lengthError('Plaintext', 'less than or equal to', MAX_PLAINTEXT_BYTES);
    if (!key.enabled) throw this.#disabled(key);
    const header = Buffer.concat([Buffer.of(BLOB_VERSION), uuidToBytes(key.id), randomBytes(IV_BYTES)]);
    const cipher = createCipheriv('aes-256-gcm', key.material, header.subarray(1 + KEY_ID_BYTES));
    cipher.setAAD(Buffer.concat([header, canonicalContext(context)]));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([header, body, cipher.getAuthTag()]);
  }

  #decrypt(blob: Buffer, context: EncryptionContext, expected: Key | undefined): { key: Key; plaintext: Buffer } {
    if (blob.length < HEADER_BYTES + TAG_BYTES || blob[0] !== BLOB_VERSION) throw invalidCiphertext();
    // A blob naming a key this stand-in never made is indistinguishable from garbage, as in real KMS.
    const key = this.#keys.get(bytesToUuid(blob.subarray(1, 1 + KEY_ID_BYTES)));
    if (key === undefined) throw invalidCiphertext();
    if (expected !== undefined && expected !== key) {
      throw new AwsServiceError(
        'IncorrectKeyException',
        'The key ID in the request does not identify a CMK that can perform this operation.',
      );
    }
    if (!key.enabled) throw this.#disabled(key);
    const header = blob.subarray(0, HEADER_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', key.material, header.subarray(1 + KEY_ID_BYTES));
    decipher.setAAD(Buffer.concat([header, canonicalContext(context)]));
    decipher.setAuthTag(blob.subarray(blob.length - TAG_BYTES));
    try {
      const plaintext = Buffer.concat([decipher.update(blob.subarray(HEADER_BYTES, blob.length - TAG_BYTES)), decipher.final()]);
      return { key, plaintext };
    } catch {
      throw invalidCiphertext();
    }
  }

  #checkAlgorithm(input: JsonObject, key: Key): void {
    const algorithm = optionalString(input, 'EncryptionAlgorithm');
    if (algorithm !== undefined && algorithm !== ALGORITHM) {
      throw new AwsServiceError(
        'InvalidKeyUsageException',
        `${key.arn} key usage is ENCRYPT_DECRYPT which is not valid for ${algorithm}; use ${ALGORITHM}.`,
      );
    }
  }

  /** Accepts a key id, key ARN, `alias/NAME` or alias ARN. */
  #resolve(keyId: string): Key {
    const aliasPrefix = `arn:aws:kms:${this.region}:${this.accountId}:alias/`;
    const keyPrefix = `arn:aws:kms:${this.region}:${this.accountId}:key/`;
    let id: string | undefined;
    if (keyId.startsWith('alias/') || keyId.startsWith(aliasPrefix)) {
      const alias = keyId.startsWith('alias/') ? keyId : `alias/${keyId.slice(aliasPrefix.length)}`;
      id = this.#aliases.get(alias);
      if (id === undefined) throw new AwsServiceError('NotFoundException', `Alias ${this.#aliasArn(alias)} is not found.`);
    } else if (keyId.startsWith(keyPrefix)) {
      id = keyId.slice(keyPrefix.length);
    } else if (UUID_PATTERN.test(keyId)) {
      id = keyId;
    } else if (keyId.startsWith('arn:')) {
      throw this.#notFound(keyId);
    } else {
      throw new AwsServiceError('NotFoundException', `Invalid keyId '${keyId}'`);
    }
    const key = this.#keys.get(id);
    if (key === undefined) throw this.#notFound(keyId);
    return key;
  }

  #metadata(key: Key): JsonObject {
    return {
      AWSAccountId: this.accountId,
      KeyId: key.id,
      Arn: key.arn,
      CreationDate: epochSeconds(key.created),
      Enabled: key.enabled,
      Description: key.description,
      KeyUsage: 'ENCRYPT_DECRYPT',
      KeyState: key.enabled ? 'Enabled' : 'Disabled',
      Origin: 'AWS_KMS',
      KeyManager: 'CUSTOMER',
      CustomerMasterKeySpec: ALGORITHM,
      KeySpec: ALGORITHM,
      EncryptionAlgorithms: [ALGORITHM],
      MultiRegion: false,
    };
  }

  #aliasArn(alias: string): string {
    return `arn:aws:kms:${this.region}:${this.accountId}:${alias}`;
  }

  #notFound(keyId: string): AwsServiceError {
    const arn = UUID_PATTERN.test(keyId) ? `arn:aws:kms:${this.region}:${this.accountId}:key/${keyId}` : keyId;
    return new AwsServiceError('NotFoundException', `Key '${arn}' does not exist`);
  }

  #disabled(key: Key): AwsServiceError {
    return new AwsServiceError('DisabledException', `${key.arn} is disabled.`);
  }
}

function invalidCiphertext(): AwsServiceError {
  return new AwsServiceError(
    'InvalidCiphertextException',
    'The ciphertext is invalid, was tampered with, or does not match the encryption context.',
  );
}

/** Sorted key-value pairs as JSON: one byte string per context, whatever the member order. */
function canonicalContext(context: EncryptionContext): Buffer {
  const pairs = Object.keys(context)
    .sort()
    .map((name) => [name, context[name]]);
  return Buffer.from(JSON.stringify(pairs), 'utf8');
}

function dataKeySize(spec: string | undefined, count: number | undefined): number {
  if (spec === 'AES_256') return 32;
  if (spec === 'AES_128') return 16;
  if (spec !== undefined) throw new AwsServiceError('ValidationException', `KeySpec must be AES_256 or AES_128, got ${spec}`);
  if (count !== undefined && Number.isInteger(count) && count >= 1 && count <= 1024) return count;
  throw new AwsServiceError('ValidationException', 'NumberOfBytes must be an integer between 1 and 1024.');
}

function toBytes(value: string | Uint8Array): Buffer {
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
}

function uuidToBytes(uuid: string): Buffer {
  return Buffer.from(uuid.replaceAll('-', ''), 'hex');
}

function bytesToUuid(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
