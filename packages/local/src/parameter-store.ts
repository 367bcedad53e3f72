import {
  AwsJsonServer,
  AwsServiceError,
  epochSeconds,
  lengthError,
  optionalBoolean,
  optionalNumber,
  optionalString,
  optionalStringList,
  requireString,
  type AwsJsonStandIn,
  type JsonObject,
} from './aws-json-server.js';
import { startKms, type KmsStandIn } from './kms.js';
import type { StandInCredentials } from './sigv4-verifier.js';

/** Options for {@link startParameterStore}. */
export interface ParameterStoreOptions {
  /** Region in the parameters' ARNs; `us-east-1` when omitted. */
  readonly region?: string;
  /** Account id in the parameters' ARNs; `123456789012` when omitted. */
  readonly accountId?: string;
  /**
   * The KMS stand-in `SecureString` values are encrypted with. When omitted, the store starts
   * its own (closed with the store).
   */
  readonly kms?: KmsStandIn;
  /**
   * Dummy credentials every request must be signed with (SigV4, for `region` and the signing name
   * `ssm`); when omitted only the `Authorization` header's form is checked. A KMS stand-in the
   * store starts itself gets them too.
   */
  readonly credentials?: StandInCredentials;
}

/** The three parameter types. */
export type ParameterType = 'String' | 'StringList' | 'SecureString';

/** Options of {@link ParameterStoreStandIn.putParameter}. */
export interface PutParameterOptions {
  /** `String` by default, `StringList` when the value is an array. */
  readonly type?: ParameterType;
  /** KMS key of a `SecureString`: key id, ARN or alias; `alias/aws/ssm` when omitted. */
  readonly keyId?: string;
}

/** What {@link ParameterStoreStandIn.putParameter} created. */
export interface PutParameterResult {
  /** The new version number (1 for a new parameter). */
  readonly version: number;
  /** `arn:aws:ssm:REGION:ACCOUNT:parameter/NAME` (one slash, whether the name has one or not). */
  readonly arn: string;
}

/**
 * A local AWS Systems Manager Parameter Store speaking the JSON 1.1 protocol (`AmazonSSM`), for
 * tests and development only.
 *
 * Operations: PutParameter, GetParameter, GetParameters (1-10 names), GetParametersByPath
 * (`Recursive`, `MaxResults` 1-10, `NextToken`), LabelParameterVersion, DeleteParameter.
 * Names may be a name or a parameter ARN, followed by `:VERSION` or `:LABEL` as a selector.
 * `SecureString` values are encrypted through the KMS stand-in with the encryption context
 * `{PARAMETER_ARN: arn}`, as the service does, and answered as ciphertext unless
 * `WithDecryption`. The helpers below change state directly: they are not recorded as calls and
 * are not subject to latency or faults.
 */
export interface ParameterStoreStandIn extends AwsJsonStandIn {
  /** Region in ARNs; the SDK client's `region` should match it. */
  readonly region: string;
  /** Account id in ARNs. */
  readonly accountId: string;
  /** The KMS stand-in `SecureString` values go through. */
  readonly kms: KmsStandIn;
  /** Creates the parameter, or adds a version to it (the helper always overwrites). */
  putParameter(name: string, value: string | readonly string[], options?: PutParameterOptions): PutParameterResult;
  /** Moves `labels` to `version` (the latest when omitted), as LabelParameterVersion does. */
  labelParameterVersion(name: string, labels: readonly string[], version?: number): void;
  /** Removes the parameter with every version. */
  deleteParameter(name: string): void;
  /** The parameter's ARN. */
  arnOf(name: string): string;
  /**
   * Denies reading this parameter: any Get call naming it answers `AccessDeniedException`, as
   * IAM fails the whole call. A path (`/app/prod`, no trailing slash) denies GetParametersByPath
   * on it, which IAM authorizes on the path's own ARN. `name` is a plain name.
   */
  denyParameter(name: string): void;
  /** Undoes {@link ParameterStoreStandIn.denyParameter}. */
  allowParameter(name: string): void;
}

/** Starts a Parameter Store stand-in on 127.0.0.1 and a free port. */
export async function startParameterStore(options: ParameterStoreOptions = {}): Promise<ParameterStoreStandIn> {
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '123456789012';
  const credentials = options.credentials;
  const ownKms = options.kms === undefined ? await startKms({ region, accountId, ...(credentials && { credentials }) }) : undefined;
  const server = new ParameterStoreServer(region, accountId, credentials, options.kms ?? ownKms!, ownKms !== undefined);
  await server.listen();
  return server;
}

const DEFAULT_KEY_ALIAS = 'alias/aws/ssm';
const MAX_NAMES = 10;
const MAX_RESULTS = 10;
const MAX_VERSIONS = 100;
const MAX_LABELS_PER_VERSION = 10;
const MAX_HIERARCHY_LEVELS = 15;
const MAX_NAME_LENGTH = 2048;
const MAX_VALUE_BYTES = 4096;
const SEGMENT = /^[A-Za-z0-9._-]+$/;
const LABEL = /^[A-Za-z0-9._-]{1,100}$/;
const TYPES = new Set<string>(['String', 'StringList', 'SecureString']);

interface Version {
  readonly number: number;
  readonly type: ParameterType;
  /** Plain text, or base64 ciphertext for a SecureString. */
  readonly stored: string;
  readonly keyId: string | undefined;
  readonly modified: Date;
  readonly labels: Set<string>;
}

interface Parameter {
  readonly name: string;
  readonly arn: string;
  readonly versions: Version[];
}

/** A name as a Get call may write it: name or ARN, optional `:selector`. */
interface ParsedName {
  readonly name: string;
  readonly version: number | undefined;
  readonly label: string | undefined;
  /** `:3` or `:label`, as the Parameter's `Selector` member echoes it. */
  readonly selector: string | undefined;
}

class ParameterStoreServer extends AwsJsonServer implements ParameterStoreStandIn {
  readonly region: string;
  readonly accountId: string;
  readonly kms: KmsStandIn;
  readonly #ownsKms: boolean;
  readonly #parameters = new Map<string, Parameter>();
  readonly #denied = new Set<string>();
  #defaultKeyId: string | undefined;

  constructor(region: string, accountId: string, credentials: StandInCredentials | undefined, kms: KmsStandIn, ownsKms: boolean) {
    super({
      targetPrefix: 'AmazonSSM',
      iamPrefix: 'ssm',
      serverErrorCode: 'InternalServerError',
      accountId,
      signingName: 'ssm',
      region,
      credentials,
    });
    this.region = region;
    this.accountId = accountId;
    this.kms = kms;
    this.#ownsKms = ownsKms;
    this.register('PutParameter', (input) => this.#putParameterOp(input));
    this.register('GetParameter', (input) => this.#getParameterOp(input));
    this.register('GetParameters', (input) => this.#getParametersOp(input));
    this.register('GetParametersByPath', (input) => this.#getParametersByPathOp(input));
    this.register('LabelParameterVersion', (input) => this.#labelParameterVersionOp(input));
    this.register('DeleteParameter', (input) => {
      this.deleteParameter(requireString(input, 'Name'));
      return {};
    });
  }

  override async close(): Promise<void> {
    await super.close();
    if (this.#ownsKms) await this.kms.close();
  }

  putParameter(name: string, value: string | readonly string[], options: PutParameterOptions = {}): PutParameterResult {
    const type = options.type ?? (typeof value === 'string' ? 'String' : 'StringList');
    const text = typeof value === 'string' ? value : value.join(',');
    const version = this.#put(name, text, type, options.keyId, true);
    return { version: version.number, arn: this.arnOf(name) };
  }

  labelParameterVersion(name: string, labels: readonly string[], version?: number): void {
    const invalid = this.#label(this.#require(name), labels, version);
    if (invalid.length > 0) throw new TypeError(`invalid labels: ${invalid.join(', ')}`);
  }

  deleteParameter(name: string): void {
    if (!this.#parameters.delete(name)) throw parameterNotFound(name);
  }

  arnOf(name: string): string {
    return `arn:aws:ssm:${this.region}:${this.accountId}:parameter/${name.replace(/^\//, '')}`;
  }

  denyParameter(name: string): void {
    this.#denied.add(name);
  }

  allowParameter(name: string): void {
    this.#denied.delete(name);
  }

  #putParameterOp(input: JsonObject): JsonObject {
    const name = requireString(input, 'Name');
    const value = optionalString(input, 'Value');
    if (value === undefined) {
      throw new AwsServiceError(
        'ValidationException',
        "1 validation error detected: Value null at 'value' failed to satisfy constraint: Member must not be null",
      );
    }
    const type = optionalString(input, 'Type') ?? this.#parameters.get(name)?.versions.at(-1)?.type ?? 'String';
    if (!TYPES.has(type)) {
      throw new AwsServiceError(
        'ValidationException',
        `1 validation error detected: Value '${type}' at 'type' failed to satisfy constraint: ` +
          'Member must satisfy enum value set: [SecureString, StringList, String]',
      );
    }
    const overwrite = optionalBoolean(input, 'Overwrite') === true;
    const version = this.#put(name, value, type as ParameterType, optionalString(input, 'KeyId'), overwrite);
    return { Version: version.number, Tier: 'Standard' };
  }

  #getParameterOp(input: JsonObject): JsonObject {
    const requested = requireString(input, 'Name');
    const decrypt = optionalBoolean(input, 'WithDecryption') === true;
    const parsed = this.#parseName(requested);
    if (this.#denied.has(parsed.name)) throw this.accessDenied('GetParameter', this.arnOf(parsed.name));
    const parameter = this.#parameters.get(parsed.name);
    if (parameter === undefined) throw parameterNotFound(requested);
    const version = pickVersion(parameter, parsed);
    if (version === undefined) {
      throw new AwsServiceError(
        'ParameterVersionNotFound',
        `Systems Manager could not find version ${parsed.selector?.slice(1) ?? ''} of ${parameter.name}. ` +
          'Verify the version and try again.',
      );
    }
    return { Parameter: this.#entry(parameter, version, parsed.selector, decrypt) };
  }

  #getParametersOp(input: JsonObject): JsonObject {
    const names = optionalStringList(input, 'Names');
    if (names === undefined) {
      throw new AwsServiceError(
        'ValidationException',
        "1 validation error detected: Value null at 'names' failed to satisfy constraint: Member must not be null",
      );
    }
    if (names.length < 1) throw lengthError('Names', 'greater than or equal to', 1);
    if (names.length > MAX_NAMES) throw lengthError('Names', 'less than or equal to', MAX_NAMES);
    const decrypt = optionalBoolean(input, 'WithDecryption') === true;
    const parsed = names.map((name) => this.#parseName(name));
    // IAM authorizes every named resource before the call runs: one denied name fails it whole.
    const denied = parsed.find((p) => this.#denied.has(p.name));
    if (denied !== undefined) throw this.accessDenied('GetParameters', this.arnOf(denied.name));

    const found: JsonObject[] = [];
    const invalid: string[] = [];
    const seen = new Set<string>();
    names.forEach((requested, index) => {
      if (seen.has(requested)) return; // duplicates are answered once
      seen.add(requested);
      const p = parsed[index]!;
      const parameter = this.#parameters.get(p.name);
      const version = parameter === undefined ? undefined : pickVersion(parameter, p);
      if (parameter === undefined || version === undefined) invalid.push(requested);
      else found.push(this.#entry(parameter, version, p.selector, decrypt));
    });
    return { Parameters: found, InvalidParameters: invalid };
  }

  #getParametersByPathOp(input: JsonObject): JsonObject {
    const path = requireString(input, 'Path');
    if (!path.startsWith('/') || (path !== '/' && !path.replace(/\/$/, '').slice(1).split('/').every((s) => SEGMENT.test(s)))) {
      throw new AwsServiceError(
        'ValidationException',
        'The parameter doesn\'t meet the parameter name requirements. The parameter name must begin with a forward slash "/". ' +
          'It can\'t be prefixed with "aws" or "ssm" (case-insensitive). It must use only letters, numbers, or the following symbols: . (period), - (hyphen), _ (underscore).',
      );
    }
    if (input['ParameterFilters'] !== undefined && input['ParameterFilters'] !== null) {
      throw new AwsServiceError('ValidationException', 'ParameterFilters is not supported by this stand-in.');
    }
    const recursive = optionalBoolean(input, 'Recursive') === true;
    const decrypt = optionalBoolean(input, 'WithDecryption') === true;
    const maxResults = optionalNumber(input, 'MaxResults') ?? MAX_RESULTS;
    if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > MAX_RESULTS) {
      throw new AwsServiceError(
        'ValidationException',
        `1 validation error detected: Value '${maxResults}' at 'maxResults' failed to satisfy constraint: ` +
          `Member must have value ${maxResults < 1 ? 'greater than or equal to 1' : `less than or equal to ${MAX_RESULTS}`}`,
      );
    }
    const prefix = path.endsWith('/') ? path : `${path}/`;
    const matching = [...this.#parameters.values()]
      .filter((p) => p.name.startsWith(prefix) && (recursive || !p.name.slice(prefix.length).includes('/')))
      .sort((a, b) => (a.name < b.name ? -1 : 1));
    // IAM authorizes GetParametersByPath on the path itself, not on the parameters under it.
    const pathName = path === '/' ? path : path.replace(/\/$/, '');
    if (this.#denied.has(pathName)) throw this.accessDenied('GetParametersByPath', this.arnOf(pathName));

    const token = optionalString(input, 'NextToken');
    let start = 0;
    if (token !== undefined) {
      const decoded = decodeToken(token);
      if (decoded === undefined || decoded.path !== path) throw new AwsServiceError('InvalidNextToken', 'The specified token is not valid.');
      start = matching.findIndex((p) => p.name > decoded.after);
      if (start < 0) start = matching.length;
    }
    const page = matching.slice(start, start + maxResults);
    const more = start + maxResults < matching.length;
    return {
      Parameters: page.map((p) => this.#entry(p, p.versions.at(-1)!, undefined, decrypt)),
      ...(more ? { NextToken: encodeToken(path, page.at(-1)!.name) } : {}),
    };
  }

  #labelParameterVersionOp(input: JsonObject): JsonObject {
    const name = requireString(input, 'Name');
    if (name.startsWith('arn:')) {
      throw new AwsServiceError('ValidationException', 'You can not use an ARN as the parameter name; use the name itself.');
    }
    const labels = optionalStringList(input, 'Labels') ?? [];
    if (labels.length < 1) throw lengthError('Labels', 'greater than or equal to', 1);
    if (labels.length > MAX_LABELS_PER_VERSION) throw lengthError('Labels', 'less than or equal to', MAX_LABELS_PER_VERSION);
    const parameter = this.#require(name);
    const requested = optionalNumber(input, 'ParameterVersion');
    const invalid = this.#label(parameter, labels, requested);
    return { InvalidLabels: invalid, ParameterVersion: requested ?? parameter.versions.at(-1)!.number };
  }

  #label(parameter: Parameter, labels: readonly string[], requested: number | undefined): string[] {
    const version = requested === undefined ? parameter.versions.at(-1) : parameter.versions.find((v) => v.number === requested);
    if (version === undefined) {
      throw new AwsServiceError(
        'ParameterVersionNotFound',
        `Systems Manager could not find version ${requested ?? ''} of ${parameter.name}. Verify the version and try again.`,
      );
    }
    const invalid = labels.filter((label) => !validLabel(label));
    const valid = labels.filter(validLabel);
    const after = new Set([...version.labels, ...valid]);
    if (after.size > MAX_LABELS_PER_VERSION) {
      throw new AwsServiceError(
        'ParameterVersionLabelLimitExceeded',
        `A parameter version can have maximum ${MAX_LABELS_PER_VERSION} labels.`,
      );
    }
    for (const label of valid) {
      for (const other of parameter.versions) other.labels.delete(label);
      version.labels.add(label);
    }
    return invalid;
  }

  #put(name: string, value: string, type: ParameterType, keyId: string | undefined, overwrite: boolean): Version {
    checkName(name);
    if (value === '') throw lengthError('Value', 'greater than or equal to', 1);
    if (Buffer.byteLength(value) > MAX_VALUE_BYTES) throw lengthError('Value', 'less than or equal to', MAX_VALUE_BYTES);
    if (keyId !== undefined && type !== 'SecureString') {
      throw new AwsServiceError('ValidationException', 'KeyId is required for SecureString type parameter only.');
    }
    const existing = this.#parameters.get(name);
    if (existing !== undefined && !overwrite) {
      throw new AwsServiceError('ParameterAlreadyExists', 'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.');
    }
    if (existing !== undefined && existing.versions.length >= MAX_VERSIONS) {
      throw new AwsServiceError(
        'ParameterMaxVersionLimitExceeded',
        `You attempted to create a new version of ${name} by calling the PutParameter API with the overwrite flag. ` +
          `Version ${existing.versions[0]!.number}, the oldest version, can't be deleted because it has a label associated with it.`,
      );
    }
    const parameter = existing ?? { name, arn: this.arnOf(name), versions: [] };
    let stored = value;
    let key: string | undefined;
    if (type === 'SecureString') {
      key = keyId === undefined || keyId === DEFAULT_KEY_ALIAS ? this.#defaultKey() : keyId;
      try {
        stored = this.kms.encrypt(key, value, { PARAMETER_ARN: parameter.arn }).toString('base64');
      } catch (error) {
        if (error instanceof AwsServiceError) throw new AwsServiceError('InvalidKeyId', `The KMS key ${key} can't be used: ${error.code}`);
        throw error;
      }
    }
    const version: Version = {
      number: (parameter.versions.at(-1)?.number ?? 0) + 1,
      type,
      stored,
      keyId: key,
      modified: new Date(),
      labels: new Set(),
    };
    parameter.versions.push(version);
    this.#parameters.set(name, parameter);
    return version;
  }

  // The AWS managed key (alias/aws/ssm) exists once per account; KMS refuses user aliases under
  // alias/aws/, so the store keeps its key id itself.
  #defaultKey(): string {
    this.#defaultKeyId ??= this.kms.createKey({ description: 'Default key that protects my SSM parameters' }).keyId;
    return this.#defaultKeyId;
  }

  #entry(parameter: Parameter, version: Version, selector: string | undefined, decrypt: boolean): JsonObject {
    let value = version.stored;
    if (version.type === 'SecureString' && decrypt) {
      try {
        value = this.kms.decrypt(Buffer.from(version.stored, 'base64'), { PARAMETER_ARN: parameter.arn }).toString('utf8');
      } catch (error) {
        if (!(error instanceof AwsServiceError)) throw error;
        // Messages name the key and the failure, never the value.
        throw new AwsServiceError('InvalidKeyId', `Systems Manager could not decrypt ${parameter.name}: ${error.code}`);
      }
    }
    return {
      Name: parameter.name,
      Type: version.type,
      Value: value,
      Version: version.number,
      ...(selector === undefined ? {} : { Selector: selector }),
      LastModifiedDate: epochSeconds(version.modified),
      ARN: parameter.arn,
      DataType: 'text',
    };
  }

  #parseName(requested: string): ParsedName {
    let text = requested;
    if (text.startsWith('arn:')) {
      const parts = text.split(':');
      const resource = parts.slice(5).join(':');
      if (parts.length < 6 || parts[2] !== 'ssm' || !resource.startsWith('parameter/')) {
        throw new AwsServiceError('ValidationException', 'Invalid parameter ARN.');
      }
      const rest = resource.slice('parameter'.length);
      // The ARN drops the leading slash of a name that has none: `parameter/name`.
      const path = rest.split(':')[0]!;
      const bare = path.slice(1);
      const name = bare.includes('/') ? path : this.#parameters.has(bare) ? bare : this.#parameters.has(path) ? path : bare;
      text = `${name}${rest.slice(path.length)}`;
    }
    const colon = text.indexOf(':');
    if (colon < 0) return { name: text, version: undefined, label: undefined, selector: undefined };
    const name = text.slice(0, colon);
    const selector = text.slice(colon + 1);
    if (selector === '' || selector.includes(':')) {
      throw new AwsServiceError('ValidationException', `Invalid parameter selector in ${requested}.`);
    }
    if (/^\d+$/.test(selector)) return { name, version: Number(selector), label: undefined, selector: `:${selector}` };
    return { name, version: undefined, label: selector, selector: `:${selector}` };
  }

  #require(name: string): Parameter {
    const parameter = this.#parameters.get(name);
    if (parameter === undefined) throw parameterNotFound(name);
    return parameter;
  }
}

function pickVersion(parameter: Parameter, parsed: ParsedName): Version | undefined {
  if (parsed.version !== undefined) return parameter.versions.find((v) => v.number === parsed.version);
  if (parsed.label !== undefined) return parameter.versions.find((v) => v.labels.has(parsed.label!));
  return parameter.versions.at(-1);
}

function parameterNotFound(name: string): AwsServiceError {
  return new AwsServiceError('ParameterNotFound', `Parameter ${name} not found.`);
}

function checkName(name: string): void {
  const invalid = (): AwsServiceError =>
    new AwsServiceError(
      'ValidationException',
      'Parameter name: can\'t be prefixed with "aws" or "ssm" (case-insensitive). If formed as a path, it can consist of ' +
        'sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 symbols .-_',
    );
  if (name.length > MAX_NAME_LENGTH) throw lengthError('Name', 'less than or equal to', MAX_NAME_LENGTH);
  const hierarchical = name.startsWith('/');
  const segments = (hierarchical ? name.slice(1) : name).split('/');
  if (!hierarchical && segments.length > 1) {
    throw new AwsServiceError('ValidationException', 'Parameter name must be a fully qualified name.');
  }
  if (!segments.every((segment) => SEGMENT.test(segment))) throw invalid();
  if (/^(aws|ssm)/i.test(segments[0]!)) throw invalid();
  if (segments.length > MAX_HIERARCHY_LEVELS) {
    throw new AwsServiceError(
      'HierarchyLevelLimitExceededException',
      `A hierarchy can have a maximum of ${MAX_HIERARCHY_LEVELS} levels.`,
    );
  }
}

// Labels can't be only digits (they would read as a version) nor start with aws/ssm or a digit.
function validLabel(label: string): boolean {
  return LABEL.test(label) && !/^\d/.test(label) && !/^(aws|ssm)/i.test(label);
}

function encodeToken(path: string, after: string): string {
  return Buffer.from(JSON.stringify({ path, after })).toString('base64');
}

function decodeToken(token: string): { path: string; after: string } | undefined {
  try {
    const value = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as unknown;
    if (typeof value !== 'object' || value === null) return undefined;
    const { path, after } = value as { path?: unknown; after?: unknown };
    return typeof path === 'string' && typeof after === 'string' ? { path, after } : undefined;
  } catch {
    return undefined;
  }
}
