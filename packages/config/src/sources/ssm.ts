import { record, string, unknown } from 'zod/mini';
import type { output } from 'zod/v4/core';
import { failureFromCode, failureFromError } from '../aws-errors.js';
import type { FetchResult } from '../cache.js';
import { decode, FetchedValue, type Decoded } from '../fetched-value.js';
import {
  ConfigField,
  isSchema,
  type ParameterPathSource,
  type ParameterSource,
  type ParameterType,
  type Schema,
  type ValueFormat,
} from '../field.js';
import {
  isParameterPath,
  parseParameterReference,
  ParameterReferenceError,
  type ParameterReference,
} from '../parameter-reference.js';
import type { ParameterStoreApi, ParameterEntry } from '../parameter-store-api.js';
import { readEnv } from './env.js';

/** How a parameter is read. A selector in the reference itself takes precedence over these. */
export interface ParameterOptions {
  /** Key of a JSON value whose value is wanted. */
  readonly key?: string;
  /** Version number. */
  readonly version?: number;
  /** Version label. */
  readonly label?: string;
  /**
   * The type the parameter must have (another is an error). `String` or `StringList` also
   * means the value is not sensitive: it is printed in logs. When omitted any type is read
   * and the field is redacted like a secret, as it may be a SecureString.
   */
  readonly type?: ParameterType;
  /**
   * How the value is handed to the schema; see {@link ValueFormat}. In `auto`, a StringList
   * arrives as an array of strings.
   */
  readonly format?: ValueFormat;
  /**
   * The customer managed KMS key (id, ARN or alias) a SecureString is encrypted with. Reading
   * does not need it; `custom-runtime check` then verifies the role may `kms:Decrypt` with it
   * (the AWS managed key `alias/aws/ssm` needs no grant).
   */
  readonly keyId?: string;
}

/** Options of a parameter whose reference is written in code rather than held by an env var. */
export interface LiteralParameterOptions extends ParameterOptions {
  /** A name, an ARN, `name:version`, `name:label`, or `{{resolve:ssm:...}}` / `{{resolve:ssm-secure:...}}`. */
  readonly reference: string;
}

/** How a hierarchy is read by {@link ssmPath}. */
export interface ParameterPathOptions {
  /** Also read the levels below the path's direct children (default `true`). */
  readonly recursive?: boolean;
  /** At most this many parameters (default 100, at most 1000); more is an error, never a partial object. */
  readonly maxParameters?: number;
  /**
   * `false` when no SecureString lives under the path: the object is then printed in logs, and
   * a SecureString found there is an error. Default `true`: the field is redacted.
   */
  readonly secure?: boolean;
  /** The customer managed KMS key of the SecureStrings under the path; see {@link ParameterOptions.keyId}. */
  readonly keyId?: string;
}

/**
 * A field read from AWS Systems Manager Parameter Store. The env var `envName` holds a
 * reference (never the value), resolved at run time:
 *
 * - a parameter name (`/app/prod/db-host`) or a parameter ARN (for a shared parameter),
 * - optionally followed by `:version` or `:label`,
 * - or a whole `{{resolve:ssm:name[:version]}}` or `{{resolve:ssm-secure:name[:version]}}`
 *   CloudFormation dynamic reference.
 *
 * SecureString values are decrypted; a StringList arrives as an array of strings; with a
 * schema, a JSON value is parsed and validated, and `key` picks one of its keys. All the
 * parameters of a definition are fetched together, ten per `GetParameters` call. An unset env
 * var makes the source absent (so a fallback can apply).
 *
 * @example
 * ```ts
 * dbHost: ssm('DB_HOST_PARAM', { type: 'String' }),
 * dbPassword: ssm('DB_PASSWORD_PARAM'),
 * hosts: ssm({ reference: '/app/prod/hosts' }, z.array(z.string())),
 * ```
 */
export function ssm(envName: string, options?: ParameterOptions): ConfigField<string>;
export function ssm<S extends Schema>(envName: string, schema: S, options?: ParameterOptions): ConfigField<output<S>>;
export function ssm(options: LiteralParameterOptions): ConfigField<string>;
export function ssm<S extends Schema>(options: LiteralParameterOptions, schema: S): ConfigField<output<S>>;
export function ssm(
  target: string | LiteralParameterOptions,
  schemaOrOptions?: Schema | ParameterOptions,
  maybeOptions?: ParameterOptions,
): ConfigField<unknown> {
  const schema = isSchema(schemaOrOptions) ? schemaOrOptions : undefined;
  const options: ParameterOptions =
    typeof target === 'object' ? target : ((isSchema(schemaOrOptions) ? maybeOptions : schemaOrOptions) ?? {});
  if (typeof target === 'string' && target === '') throw new TypeError('ssm: the env var name must be a non-empty string');
  if (typeof target === 'object') {
    if (typeof target.reference !== 'string' || target.reference === '') {
      throw new TypeError('ssm: `reference` must be a non-empty string');
    }
    parseParameterReference(target.reference); // a literal reference is checked once, at definition
  }
  if (options.version !== undefined && options.label !== undefined) throw new TypeError('ssm: give version or label, not both');
  if (options.version !== undefined && !(Number.isInteger(options.version) && options.version >= 1)) {
    throw new TypeError('ssm: version must be an integer >= 1');
  }
  if (options.label !== undefined && (typeof options.label !== 'string' || !/^[A-Za-z._-][A-Za-z0-9._-]{0,99}$/.test(options.label))) {
    throw new TypeError('ssm: a label is 1-100 letters, digits and ._-, not starting with a digit');
  }
  if (options.type !== undefined && !['String', 'StringList', 'SecureString'].includes(options.type)) {
    throw new TypeError('ssm: type must be String, StringList or SecureString');
  }
  const source: ParameterSource = Object.freeze({
    kind: 'ssm',
    envName: typeof target === 'string' ? target : undefined,
    reference: typeof target === 'object' ? target.reference : undefined,
    jsonKey: options.key,
    version: options.version,
    label: options.label,
    type: options.type,
    keyId: options.keyId,
    format: options.format ?? 'auto',
  });
  return new ConfigField([source], schema);
}

const DEFAULT_MAX_PARAMETERS = 100;
const MAX_MAX_PARAMETERS = 1000;

/**
 * A field holding a whole Parameter Store hierarchy as one object, read with
 * `GetParametersByPath` (decrypted, paged ten at a time). `/app/prod/db/host` under the path
 * `/app/prod/` becomes `{ db: { host: ... } }`; a StringList becomes an array. The path is
 * given literally or held by an env var (`{ envName: 'CONFIG_PATH' }`). An empty hierarchy is
 * absent.
 *
 * @example
 * ```ts
 * settings: ssmPath('/app/prod/', z.object({ db: z.object({ host: z.string(), port: z.coerce.number() }) })),
 * ```
 */
export function ssmPath(path: string | { readonly envName: string }, options?: ParameterPathOptions): ConfigField<Record<string, unknown>>;
export function ssmPath<S extends Schema>(
  path: string | { readonly envName: string },
  schema: S,
  options?: ParameterPathOptions,
): ConfigField<output<S>>;
export function ssmPath(
  path: string | { readonly envName: string },
  schemaOrOptions?: Schema | ParameterPathOptions,
  maybeOptions?: ParameterPathOptions,
): ConfigField<unknown> {
  const schema = isSchema(schemaOrOptions) ? schemaOrOptions : undefined;
  const options: ParameterPathOptions = (isSchema(schemaOrOptions) ? maybeOptions : schemaOrOptions) ?? {};
  if (typeof path === 'string') {
    if (!isParameterPath(path)) {
      throw new TypeError('ssmPath: the path must start with "/" and be made of segments of letters, digits and ._-');
    }
  } else if (typeof path?.envName !== 'string' || path.envName === '') {
    throw new TypeError('ssmPath: give a path or { envName } naming the variable that holds it');
  }
  const max = options.maxParameters ?? DEFAULT_MAX_PARAMETERS;
  if (!Number.isInteger(max) || max < 1 || max > MAX_MAX_PARAMETERS) {
    throw new TypeError(`ssmPath: maxParameters must be an integer from 1 to ${MAX_MAX_PARAMETERS}`);
  }
  const source: ParameterPathSource = Object.freeze({
    kind: 'ssm-path',
    envName: typeof path === 'string' ? undefined : path.envName,
    path: typeof path === 'string' ? path : undefined,
    recursive: options.recursive ?? true,
    maxParameters: max,
    secure: options.secure ?? true,
    keyId: options.keyId,
  });
  // Without a schema the object is taken as it is.
  return new ConfigField([source], schema ?? ANY_OBJECT);
}

const ANY_OBJECT: Schema = record(string(), unknown());

/** A source's reference as read now. */
export type ParameterLookup =
  | { readonly kind: 'absent' }
  | { readonly kind: 'error'; readonly message: string }
  | { readonly kind: 'ref'; readonly ref: ParameterReference };

/** Reads and parses the reference of `source`; the source's version or label applies when the reference has none. */
export function lookupParameter(source: ParameterSource): ParameterLookup {
  const text = source.reference ?? (source.envName === undefined ? undefined : readEnv(source.envName));
  if (text === undefined) return { kind: 'absent' };
  let ref: ParameterReference;
  try {
    ref = parseParameterReference(text);
  } catch (error) {
    if (error instanceof ParameterReferenceError) return { kind: 'error', message: error.message };
    throw error;
  }
  if (ref.version === undefined && ref.label === undefined && (source.version !== undefined || source.label !== undefined)) {
    const selector = `${ref.name}:${source.version ?? source.label ?? ''}`;
    ref = { ...ref, version: source.version, label: source.label, selector };
  }
  return { kind: 'ref', ref };
}

/** A path source's path as read now. */
export type PathLookup =
  | { readonly kind: 'absent' }
  | { readonly kind: 'error'; readonly message: string }
  | { readonly kind: 'path'; readonly request: PathRequest };

/** What a path source needs fetched. */
export interface PathRequest {
  /** The path with a trailing slash. */
  readonly path: string;
  readonly recursive: boolean;
  readonly maxParameters: number;
}

/** Reads and checks the path of `source`. */
export function lookupPath(source: ParameterPathSource): PathLookup {
  const text = source.path ?? (source.envName === undefined ? undefined : readEnv(source.envName));
  if (text === undefined) return { kind: 'absent' };
  const path = text.trim();
  if (!isParameterPath(path)) {
    return { kind: 'error', message: 'a path starts with "/" and is made of segments of letters, digits and ._-' };
  }
  return {
    kind: 'path',
    request: { path: path.endsWith('/') ? path : `${path}/`, recursive: source.recursive, maxParameters: source.maxParameters },
  };
}

/** Cache key of a parameter: client and selector (not the JSON key: one fetch serves all keys). */
export function parameterCacheKey(client: number, ref: ParameterReference): string {
  return `ssm\u0000${client}\u0000${ref.selector}`;
}

/** Cache key of a hierarchy: client, path, recursion and bound. */
export function pathCacheKey(client: number, request: PathRequest): string {
  return `ssm-path\u0000${client}\u0000${request.path}\u0000${request.recursive ? 'r' : ''}\u0000${request.maxParameters}`;
}

/** How a parameter is named in messages and log lines. */
export function parameterLabel(ref: ParameterReference): string {
  return `ssm "${ref.selector}"`;
}

/** How a hierarchy is named in messages and log lines. */
export function pathLabel(request: PathRequest): string {
  return `ssm path "${request.path}"${request.recursive ? '' : ' (one level)'}`;
}

/** A fetched parameter: its value with the type and version it had. */
export class ParameterValue extends FetchedValue {
  /** The parameter's type. */
  readonly type: ParameterType;
  /** The version answered. */
  readonly version: number | undefined;

  constructor(text: string, type: ParameterType, version: number | undefined) {
    super(text, undefined);
    this.type = type;
    this.version = version;
  }
}

/** A fetched hierarchy, as JSON text of the nested object. */
export class ParameterTreeValue extends FetchedValue {
  /** A SecureString was among the parameters. */
  readonly hasSecure: boolean;

  constructor(json: string, hasSecure: boolean) {
    super(json, undefined);
    this.hasSecure = hasSecure;
  }
}

/** What a fetched parameter yields for a field: type checks, StringList as an array, then the secrets' rules. */
export function decodeParameter(
  value: FetchedValue,
  source: ParameterSource,
  ref: ParameterReference | undefined,
  hasCustomSchema: boolean,
): Decoded {
  const type = value instanceof ParameterValue ? value.type : 'String';
  const expected = source.type ?? (ref?.dynamic === 'ssm-secure' ? 'SecureString' : undefined);
  if (expected !== undefined && type !== expected) {
    return { kind: 'error', message: `the parameter is a ${type}, the field expects a ${expected}` };
  }
  // CloudFormation's `ssm` dynamic references read String and StringList parameters only.
  if (ref?.dynamic === 'ssm' && source.type === undefined && type === 'SecureString') {
    return { kind: 'error', message: 'the parameter is a SecureString: reference it as {{resolve:ssm-secure:...}}' };
  }
  if (type === 'StringList' && source.jsonKey === undefined && source.format === 'auto') {
    const text = value.text();
    return text === '' ? { kind: 'absent', note: undefined } : { kind: 'present', raw: text.split(',') };
  }
  return decode(value, { format: source.format, jsonKey: source.jsonKey, hasCustomSchema, bytesAreText: true });
}

/** What a fetched hierarchy yields for a field. */
export function decodeTree(value: FetchedValue, source: ParameterPathSource): Decoded {
  if (value instanceof ParameterTreeValue && value.hasSecure && !source.secure) {
    return { kind: 'error', message: 'a SecureString is under the path, and the field is declared secure: false' };
  }
  const json = value.json();
  if (!json.ok) return { kind: 'error', message: 'the hierarchy could not be read' };
  const tree = json.value;
  if (typeof tree === 'object' && tree !== null && Object.keys(tree).length === 0) {
    return { kind: 'absent', note: 'no parameter under the path' };
  }
  return { kind: 'present', raw: tree };
}

const BATCH_SIZE = 10;

type Item = readonly [key: string, ref: ParameterReference];

/**
 * Fetches parameters with `GetParameters`: ten names per call, every call in parallel, versions
 * and labels as `name:selector` in the same calls, always decrypted. `InvalidParameters` are
 * mapped back to their keys. A call refused as a whole (IAM fails a call naming one denied
 * parameter) is retried name by name, so the failure lands on the field that caused it.
 */
export async function fetchParameters(
  api: ParameterStoreApi,
  requests: ReadonlyMap<string, ParameterReference>,
): Promise<Map<string, FetchResult>> {
  const results = new Map<string, FetchResult>();
  // Keys hold the client and the selector: within one call, one key per selector, but the
  // grouping keeps that an assumption of no one.
  const bySelector = new Map<string, Item[]>();
  for (const item of requests) {
    const list = bySelector.get(item[1].selector);
    if (list === undefined) bySelector.set(item[1].selector, [item]);
    else list.push(item);
  }
  const selectors = [...bySelector.keys()];
  const chunks: string[][] = [];
  for (let i = 0; i < selectors.length; i += BATCH_SIZE) chunks.push(selectors.slice(i, i + BATCH_SIZE));
  const settle = (selector: string, result: FetchResult): void => {
    for (const [key] of bySelector.get(selector) ?? []) results.set(key, result);
  };
  const refOf = (selector: string): ParameterReference => bySelector.get(selector)![0]![1];
  await Promise.all(chunks.map((chunk) => fetchChunk(api, chunk, refOf, settle)));
  return results;
}

async function fetchChunk(
  api: ParameterStoreApi,
  chunk: readonly string[],
  refOf: (selector: string) => ParameterReference,
  settle: (selector: string, result: FetchResult) => void,
): Promise<void> {
  let answer: { parameters: readonly ParameterEntry[]; invalid: readonly string[] };
  try {
    answer = await api.getParameters(chunk, true);
  } catch (error) {
    const failure = failureFromError('ssm', error);
    if (failure.kind === 'access-denied' && chunk.length > 1) {
      await Promise.all(chunk.map((selector) => fetchChunk(api, [selector], refOf, settle)));
      return;
    }
    for (const selector of chunk) settle(selector, { ok: false, failure });
    return;
  }
  const invalid = new Set(answer.invalid);
  for (const selector of chunk) {
    const ref = refOf(selector);
    if (invalid.has(selector)) {
      const code = ref.version !== undefined || ref.label !== undefined ? 'ParameterVersionNotFound' : 'ParameterNotFound';
      settle(selector, { ok: false, failure: failureFromCode('ssm', code) });
      continue;
    }
    const entry = answer.parameters.find((p) => matches(ref, p));
    settle(
      selector,
      entry === undefined
        ? { ok: false, failure: { kind: 'unavailable', code: 'MissingParameter', message: 'not in the GetParameters answer' } }
        : { ok: true, value: new ParameterValue(entry.value, entry.type, entry.version) },
    );
  }
}

// Answers carry the plain name (an ARN request may come back as either) and `:selector`.
function matches(ref: ParameterReference, entry: ParameterEntry): boolean {
  const sameName = entry.name === ref.name || entry.arn === ref.name || (ref.form === 'arn' && arnName(ref.name) === entry.name);
  if (!sameName) return false;
  const selector = ref.version !== undefined ? `:${ref.version}` : ref.label !== undefined ? `:${ref.label}` : undefined;
  return (entry.selector ?? undefined) === selector;
}

function arnName(arn: string): string {
  const resource = arn.split(':').slice(5).join(':').slice('parameter/'.length);
  return resource.includes('/') ? `/${resource}` : resource;
}

const PAGE_SIZE = 10;

/** Fetches each hierarchy with `GetParametersByPath`, paging until done or past its bound. */
export async function fetchPaths(api: ParameterStoreApi, requests: ReadonlyMap<string, PathRequest>): Promise<Map<string, FetchResult>> {
  const results = new Map<string, FetchResult>();
  await Promise.all(
    [...requests].map(async ([key, request]) => {
      try {
        results.set(key, await fetchTree(api, request));
      } catch (error) {
        results.set(key, { ok: false, failure: failureFromError('ssm', error) });
      }
    }),
  );
  return results;
}

async function fetchTree(api: ParameterStoreApi, request: PathRequest): Promise<FetchResult> {
  const entries: ParameterEntry[] = [];
  let nextToken: string | undefined;
  do {
    const page = await api.getParametersByPath({
      path: request.path,
      recursive: request.recursive,
      withDecryption: true,
      maxResults: PAGE_SIZE,
      nextToken,
    });
    entries.push(...page.parameters);
    nextToken = page.nextToken;
    if (entries.length > request.maxParameters) {
      return {
        ok: false,
        failure: { kind: 'invalid-request', code: 'TooManyParameters', message: `more than ${request.maxParameters} parameters under the path (maxParameters)` },
      };
    }
  } while (nextToken !== undefined);
  const tree: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  let hasSecure = false;
  for (const entry of entries) {
    hasSecure ||= entry.type === 'SecureString';
    const relative = entry.name.startsWith(request.path) ? entry.name.slice(request.path.length) : entry.name;
    const segments = relative.split('/');
    let node = tree;
    for (const segment of segments.slice(0, -1)) {
      const next = node[segment];
      if (next !== undefined && (typeof next !== 'object' || Array.isArray(next))) return conflict(segments, segment);
      node = (next as Record<string, unknown> | undefined) ?? (node[segment] = Object.create(null) as Record<string, unknown>);
    }
    const leaf = segments.at(-1)!;
    if (node[leaf] !== undefined) return conflict(segments, leaf);
    node[leaf] = entry.type === 'StringList' ? entry.value.split(',') : entry.value;
  }
  return { ok: true, value: new ParameterTreeValue(JSON.stringify(tree), hasSecure) };
}

// `/p/db` and `/p/db/host` can both exist; one object can't hold both.
function conflict(segments: readonly string[], at: string): FetchResult {
  const where = segments.slice(0, segments.indexOf(at) + 1).join('/');
  return {
    ok: false,
    failure: { kind: 'invalid-request', code: 'PathConflict', message: `"${where}" is both a parameter and a level of the hierarchy` },
  };
}
