import { safeParse } from 'zod/v4/core';
import type { ConfigDefinition, FieldMap } from './definition.js';
import { isSecretKind, type ConfigField, type EncryptionContextOption, type FieldSettings, type ParameterType, type Source } from './field.js';
import { locationOf } from './field-resolution.js';

/** An environment variable read as the field's value. */
export interface EnvSourceInfo {
  readonly kind: 'env';
  /** The variable's name. */
  readonly name: string;
  /** How messages name this source, e.g. `env TABLE_NAME`. */
  readonly location: string;
}

/** A value of the invocation's event, by dotted path. */
export interface PayloadSourceInfo {
  readonly kind: 'payload';
  /** The dotted path, as declared. */
  readonly path: string;
  /** How messages name this source, e.g. `payload customer.id`. */
  readonly location: string;
}

/**
 * A Secrets Manager secret. Exactly one of `envName` (the variable holding the reference) and
 * `reference` (written in code) is set; `key`, `versionStage` and `versionId` are the field's
 * options (a reference may carry its own segments, which take precedence at run time).
 */
export interface SecretSourceInfo {
  readonly kind: 'secretsmanager';
  readonly envName?: string;
  readonly reference?: string;
  readonly key?: string;
  readonly versionStage?: string;
  readonly versionId?: string;
  /** How messages name this source, e.g. `secretsmanager via env DB_SECRET`. */
  readonly location: string;
}

/**
 * KMS ciphertext decrypted with `Decrypt`. Exactly one of `envName` (the variable holding the
 * base64 ciphertext) and `payloadPath` (ciphertext in the event) is set.
 */
export interface KmsSourceInfo {
  readonly kind: 'kms';
  readonly envName?: string;
  readonly payloadPath?: string;
  /** The encryption context the ciphertext was made with; `undefined` for none. */
  readonly encryptionContext: EncryptionContextOption | undefined;
  /** The key the field requires, when it names one. */
  readonly keyId?: string;
  /** How messages name this source, e.g. `kms via env TOKEN_ENCRYPTED`. */
  readonly location: string;
}

/**
 * A Parameter Store parameter read with `GetParameters`. Exactly one of `envName` (the variable
 * holding the reference) and `reference` (written in code) is set; `version`, `label` and `type`
 * are the field's options (a reference may carry its own selector, which takes precedence).
 */
export interface ParameterSourceInfo {
  readonly kind: 'ssm';
  readonly envName?: string;
  readonly reference?: string;
  readonly key?: string;
  readonly version?: number;
  readonly label?: string;
  readonly type?: ParameterType;
  /** The customer managed KMS key the field declares. */
  readonly keyId?: string;
  /** How messages name this source, e.g. `ssm via env DB_HOST_PARAM`. */
  readonly location: string;
}

/** A Parameter Store hierarchy read with `GetParametersByPath`; one of `envName` and `path` is set. */
export interface ParameterPathSourceInfo {
  readonly kind: 'ssm-path';
  readonly envName?: string;
  readonly path?: string;
  readonly recursive: boolean;
  readonly maxParameters: number;
  /** The customer managed KMS key the field declares. */
  readonly keyId?: string;
  /** How messages name this source, e.g. `ssm path "/app/prod/"`. */
  readonly location: string;
}

/** Where a field may be read from: one of its sources, described without any value. */
export type SourceInfo =
  | EnvSourceInfo
  | PayloadSourceInfo
  | SecretSourceInfo
  | KmsSourceInfo
  | ParameterSourceInfo
  | ParameterPathSourceInfo;

/** One field of a definition: its key, its sources in priority order, whether it may be absent. */
export interface FieldInfo {
  /** The field's key in the definition. */
  readonly key: string;
  /** Sources in the order they are tried; the first present one wins. */
  readonly sources: readonly SourceInfo[];
  /** True when the schema accepts a missing value (it has a default or is optional). */
  readonly acceptsAbsent: boolean;
  /** True when the value is redacted: fed by Secrets Manager or KMS, or marked `.sensitive()`. */
  readonly redacted: boolean;
}

/**
 * The fields of a definition and where each is read from (env vars, secret references, KMS
 * ciphertext, event paths), for tools that check a deployment against the code: no I/O, no
 * environment read, no value. Works on a definition made by any copy of this package (a bundled
 * handler carries its own), as it reads only the public `fields`.
 *
 * @throws TypeError when `definition` has no fields or a field has a source kind this version
 *   does not know
 *
 * @example
 * ```ts
 * for (const field of inspectConfig(config)) {
 *   for (const source of field.sources) if (source.kind === 'env') console.log(field.key, source.name);
 * }
 * ```
 */
export function inspectConfig(definition: Pick<ConfigDefinition<FieldMap>, 'fields'>): readonly FieldInfo[] {
  const fields = (definition as { fields?: unknown } | null | undefined)?.fields;
  if (typeof fields !== 'object' || fields === null) {
    throw new TypeError('inspectConfig: expected a definition created by defineConfig()');
  }
  return Object.freeze(
    Object.entries(fields as FieldMap).map(([key, field]) => {
      if (typeof field !== 'object' || field === null || !Array.isArray(field.sources)) {
        throw new TypeError(`inspectConfig: "${key}" is not a field`);
      }
      return Object.freeze({
        key,
        sources: Object.freeze(field.sources.map((source) => sourceInfo(key, source))),
        acceptsAbsent: acceptsAbsent(field),
        // A definition from an older copy may have no settings.
        redacted: (field.settings as FieldSettings | undefined)?.sensitive === true || field.sources.some(isSecretKind),
      });
    }),
  );
}

function sourceInfo(key: string, source: Source): SourceInfo {
  const location = locationOf(source);
  switch (source.kind) {
    case 'env':
      return Object.freeze({ kind: 'env', name: source.name, location });
    case 'payload':
      return Object.freeze({ kind: 'payload', path: source.path, location });
    case 'secretsmanager':
      return Object.freeze({
        kind: 'secretsmanager',
        ...defined('envName', source.envName),
        ...defined('reference', source.reference),
        ...defined('key', source.jsonKey),
        ...defined('versionStage', source.versionStage),
        ...defined('versionId', source.versionId),
        location,
      });
    case 'kms':
      return Object.freeze({
        kind: 'kms',
        ...(source.input.kind === 'env' ? { envName: source.input.name } : { payloadPath: source.input.path }),
        encryptionContext: source.encryptionContext,
        ...defined('keyId', source.keyId),
        location,
      });
    case 'ssm':
      return Object.freeze({
        kind: 'ssm',
        ...defined('envName', source.envName),
        ...defined('reference', source.reference),
        ...defined('key', source.jsonKey),
        ...(source.version === undefined ? {} : { version: source.version }),
        ...defined('label', source.label),
        ...(source.type === undefined ? {} : { type: source.type }),
        ...defined('keyId', source.keyId),
        location,
      });
    case 'ssm-path':
      return Object.freeze({
        kind: 'ssm-path',
        ...defined('envName', source.envName),
        ...defined('path', source.path),
        recursive: source.recursive,
        maxParameters: source.maxParameters,
        ...defined('keyId', source.keyId),
        location,
      });
    default:
      // A definition from a newer copy of this package may know more kinds.
      throw new TypeError(`inspectConfig: field "${key}" has a source of unknown kind "${String((source as { kind?: unknown }).kind)}"`);
  }
}

/** `{ [name]: value }` when `value` is set, else `{}` (optional properties stay absent). */
function defined<K extends string>(name: K, value: string | undefined): { [P in K]?: string } {
  return value === undefined ? {} : ({ [name]: value } as { [P in K]?: string });
}

// Only whether the schema passes on `undefined` is kept: a default's value never leaves here.
function acceptsAbsent(field: ConfigField<unknown>): boolean {
  try {
    return safeParse(field.schema, undefined).success;
  } catch {
    return false;
  }
}
