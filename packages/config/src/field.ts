import { string } from 'zod/mini';
import type { $ZodType } from 'zod/v4/core';

/** Any zod 4 schema (classic or mini). */
export type Schema = $ZodType;

/** Where a field's value can come from. */
export type SourceKind = 'env' | 'payload' | 'secretsmanager' | 'kms' | 'ssm' | 'ssm-path';

/**
 * How a fetched secret or decrypted plaintext is handed to the schema.
 * - `auto` (default): a `SecretBinary` stays a `Uint8Array`; text that looks like a JSON object
 *   or array is parsed when the field declares its own schema; anything else is a string.
 * - `json`: always parsed as JSON. `text`: always a string (binary decoded as UTF-8).
 * - `binary`: always a `Uint8Array` (text encoded as UTF-8).
 */
export type ValueFormat = 'auto' | 'json' | 'text' | 'binary';

/** An environment variable. */
export interface EnvSource {
  readonly kind: 'env';
  readonly name: string;
}

/** A value of the current invocation's event, by dotted path. */
export interface PayloadSource {
  readonly kind: 'payload';
  readonly path: string;
  /** `undefined` when the path has a `__proto__`/`constructor`/`prototype` segment: never read. */
  readonly segments: readonly string[] | undefined;
}

/** A Secrets Manager secret whose reference is in an env var or given literally. */
export interface SecretSource {
  readonly kind: 'secretsmanager';
  readonly envName: string | undefined;
  readonly reference: string | undefined;
  readonly jsonKey: string | undefined;
  readonly versionStage: string | undefined;
  readonly versionId: string | undefined;
  readonly format: ValueFormat;
}

/** Encryption context of a KMS ciphertext; `'function-name'` is the Lambda console helper's. */
export type EncryptionContextOption = Readonly<Record<string, string>> | 'function-name';

/** Base64 KMS ciphertext read from an env var or from the event. */
export interface KmsSource {
  readonly kind: 'kms';
  readonly input: EnvSource | PayloadSource;
  readonly encryptionContext: EncryptionContextOption | undefined;
  readonly keyId: string | undefined;
  readonly format: ValueFormat;
}

/** The three Parameter Store parameter types. */
export type ParameterType = 'String' | 'StringList' | 'SecureString';

/** A Parameter Store parameter whose reference is in an env var or given literally. */
export interface ParameterSource {
  readonly kind: 'ssm';
  readonly envName: string | undefined;
  readonly reference: string | undefined;
  readonly jsonKey: string | undefined;
  readonly version: number | undefined;
  readonly label: string | undefined;
  /** The type the parameter must have; `undefined` accepts any (and redacts the field). */
  readonly type: ParameterType | undefined;
  /** Customer managed KMS key of a SecureString, declared for `custom-runtime check`. */
  readonly keyId: string | undefined;
  readonly format: ValueFormat;
}

/** A Parameter Store hierarchy read as one object, its path in an env var or given literally. */
export interface ParameterPathSource {
  readonly kind: 'ssm-path';
  readonly envName: string | undefined;
  readonly path: string | undefined;
  readonly recursive: boolean;
  /** More parameters than this under the path is an error, not a truncated object. */
  readonly maxParameters: number;
  /** `false`: no SecureString expected under the path (one there is an error); the field is not redacted. */
  readonly secure: boolean;
  /** Customer managed KMS key of the SecureStrings under the path, declared for `custom-runtime check`. */
  readonly keyId: string | undefined;
}

/** One place a field may be read from. */
export type Source = EnvSource | PayloadSource | SecretSource | KmsSource | ParameterSource | ParameterPathSource;

/** Caching of a field's Secrets Manager and KMS values. */
export interface FieldCacheOptions {
  /** Seconds a fetched value is used before it is fetched again. */
  readonly ttlSeconds?: number;
  /** Seconds past the TTL during which the last good value is served when a refresh fails. */
  readonly maxStalenessSeconds?: number;
}

/** Per-field settings beyond its sources and schema. */
export interface FieldSettings extends FieldCacheOptions {
  /** Variable name given to a command handler; default: the field key in UPPER_SNAKE_CASE. */
  readonly envName?: string;
  /** Redacted like a secret wherever the config is rendered (set by `.sensitive()`). */
  readonly sensitive?: boolean;
}

/** True for a source read from the invocation's event (directly or as KMS ciphertext). */
export function isPayloadKind(source: Source): boolean {
  return source.kind === 'payload' || (source.kind === 'kms' && source.input.kind === 'payload');
}

/** True for a source fetched from AWS, whose value is redacted by default. */
export function isSecretKind(source: Source): boolean {
  // A parameter's type is only known once fetched: unless declared plain, it may be a SecureString.
  if (source.kind === 'ssm') return source.type !== 'String' && source.type !== 'StringList';
  if (source.kind === 'ssm-path') return source.secure;
  return source.kind === 'secretsmanager' || source.kind === 'kms';
}

/** True for a field whose value is redacted: fed by Secrets Manager or KMS, or marked sensitive. */
export function isSensitiveField(field: ConfigField<unknown>): boolean {
  return field.settings.sensitive === true || field.sources.some(isSecretKind);
}

const defaultSchema: Schema = string();

/** The schema used when a field declares none: a required string. */
export function defaultStringSchema(): Schema {
  return defaultSchema;
}

/** True for a zod 4 schema (both classic and mini carry `_zod`). */
export function isSchema(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && '_zod' in value;
}

/**
 * One configuration field: an ordered list of sources (the first present one wins) and the zod
 * schema its value is validated with. `T` is the schema's output type; build fields with
 * {@link env}, {@link payload}, {@link secret} and {@link kms}.
 */
export class ConfigField<T> {
  /** Type-level only: the field's value type. */
  declare readonly '~output': T;
  /** Sources in priority order. */
  readonly sources: readonly Source[];
  /** Validates (and may transform or default) the first present raw value. */
  readonly schema: Schema;
  /** False when the field uses the default string schema. */
  readonly hasCustomSchema: boolean;
  /** TTL, staleness and command-handler variable name. */
  readonly settings: FieldSettings;

  /** @internal Use the source builders instead. */
  constructor(sources: readonly Source[], schema: Schema | undefined, settings: FieldSettings = {}) {
    checkSourceOrder(sources);
    this.sources = Object.freeze([...sources]);
    this.schema = schema ?? defaultSchema;
    this.hasCustomSchema = schema !== undefined;
    this.settings = Object.freeze({ ...settings });
  }

  /**
   * Adds fallback sources, tried in order when this field's sources are all absent. Only the
   * fallbacks' sources are used: this field's schema and settings apply to every value.
   */
  or(...fallbacks: ReadonlyArray<ConfigField<unknown>>): ConfigField<T> {
    const sources = [...this.sources, ...fallbacks.flatMap((f) => f.sources)];
    return new ConfigField<T>(sources, this.hasCustomSchema ? this.schema : undefined, this.settings);
  }

  /** Sets this field's cache TTL and maximum staleness (overrides the definition's). */
  cache(options: FieldCacheOptions): ConfigField<T> {
    checkSeconds(options.ttlSeconds, 'ttlSeconds');
    checkSeconds(options.maxStalenessSeconds, 'maxStalenessSeconds');
    return new ConfigField<T>(this.sources, this.hasCustomSchema ? this.schema : undefined, {
      ...this.settings,
      ...options,
    });
  }

  /**
   * Redacts this field's value exactly like a secret's: in `console.*` and `util.inspect`
   * output (with any options), `JSON.stringify`, error messages and `describeConfig`. For
   * values that arrive as plain environment variables or in the event but are secrets, such as
   * CloudFormation `NoEcho` parameters and `{{resolve:secretsmanager:...}}` references.
   *
   * @example
   * ```ts
   * apiToken: env('API_TOKEN').sensitive()
   * ```
   */
  sensitive(): ConfigField<T> {
    return new ConfigField<T>(this.sources, this.hasCustomSchema ? this.schema : undefined, {
      ...this.settings,
      sensitive: true,
    });
  }

  /** Names the variable this field is given as to a command handler. */
  exportAs(envName: string): ConfigField<T> {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(envName)) {
      throw new TypeError(`exportAs: "${envName}" is not a valid environment variable name`);
    }
    return new ConfigField<T>(this.sources, this.hasCustomSchema ? this.schema : undefined, {
      ...this.settings,
      envName,
    });
  }
}

/**
 * A field read only from the event; also accepted by {@link kms} as the place the ciphertext is.
 */
export class PayloadField<T> extends ConfigField<T> {
  /** The dotted path read from the event. */
  readonly path: string;

  /** @internal Use {@link payload}. */
  constructor(source: PayloadSource, schema: Schema | undefined) {
    super([source], schema);
    this.path = source.path;
  }
}

// The event may only fill a field when nothing else did: otherwise an invoker could override
// a value that came from the function's own configuration.
function checkSourceOrder(sources: readonly Source[]): void {
  let seenPayload = false;
  for (const source of sources) {
    if (isPayloadKind(source)) seenPayload = true;
    else if (seenPayload) {
      throw new TypeError(
        'payload sources must come after every env, secret and kms source of a field: ' +
          'the event may fill a field, never override a value from another source',
      );
    }
  }
  if (sources.length === 0) throw new TypeError('a field needs at least one source');
}

/** @internal */
export function checkSeconds(value: number | undefined, name: string): void {
  if (value !== undefined && !(Number.isFinite(value) && value >= 0)) {
    throw new TypeError(`${name} must be a finite number of seconds >= 0, got ${String(value)}`);
  }
}
