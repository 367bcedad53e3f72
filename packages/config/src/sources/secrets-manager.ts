import type { output } from 'zod/v4/core';
import { failureFromCode, failureFromError, type FetchFailure } from '../aws-errors.js';
import type { FetchResult } from '../cache.js';
import type { SecretValueOutput, SecretsManagerApi } from '../clients.js';
import { FetchedValue } from '../fetched-value.js';
import { ConfigField, isSchema, type Schema, type SecretSource, type ValueFormat } from '../field.js';
import { parseSecretReference, SecretReferenceError, type SecretReference } from '../secret-reference.js';
import { readEnv } from './env.js';

/** How a secret is read. Segments of the reference itself take precedence over these. */
export interface SecretOptions {
  /** Key of a JSON secret whose value is wanted. */
  readonly key?: string;
  /** Version staging label, e.g. `AWSPREVIOUS`. */
  readonly versionStage?: string;
  /** Version id. */
  readonly versionId?: string;
  /** How the value is handed to the schema; see {@link ValueFormat}. */
  readonly format?: ValueFormat;
}

/** Options of a secret whose reference is written in code rather than held by an env var. */
export interface LiteralSecretOptions extends SecretOptions {
  /** A name, ARN, partial ARN or `{{resolve:secretsmanager:...}}` reference. */
  readonly reference: string;
}

/**
 * A field read from AWS Secrets Manager. The env var `envName` holds a reference (never the
 * value), resolved at run time:
 *
 * - a secret name, a full ARN, or a partial ARN (no 6-character suffix),
 * - optionally followed by `:SecretString:json-key:version-stage:version-id`,
 * - or a whole `{{resolve:secretsmanager:...}}` CloudFormation dynamic reference.
 *
 * With a schema, a JSON secret is parsed and validated; `SecretBinary` arrives as a
 * `Uint8Array`. An unset env var makes the source absent (so a fallback can apply).
 *
 * @example
 * ```ts
 * apiKey: secret('API_KEY_SECRET', { key: 'apiKey' }),
 * db: secret('DB_SECRET', z.object({ username: z.string(), password: z.string() })),
 * signing: secret({ reference: 'prod/signing-key', format: 'binary' }, z.instanceof(Uint8Array)),
 * ```
 */
export function secret(envName: string, options?: SecretOptions): ConfigField<string>;
export function secret<S extends Schema>(envName: string, schema: S, options?: SecretOptions): ConfigField<output<S>>;
export function secret(options: LiteralSecretOptions): ConfigField<string>;
export function secret<S extends Schema>(options: LiteralSecretOptions, schema: S): ConfigField<output<S>>;
export function secret(
  target: string | LiteralSecretOptions,
  schemaOrOptions?: Schema | SecretOptions,
  maybeOptions?: SecretOptions,
): ConfigField<unknown> {
  const schema = isSchema(schemaOrOptions) ? schemaOrOptions : undefined;
  const options: SecretOptions =
    typeof target === 'object' ? target : ((isSchema(schemaOrOptions) ? maybeOptions : schemaOrOptions) ?? {});
  if (typeof target === 'string' && target === '') {
    throw new TypeError('secret: the env var name must be a non-empty string');
  }
  if (typeof target === 'object') {
    if (typeof target.reference !== 'string' || target.reference === '') {
      throw new TypeError('secret: `reference` must be a non-empty string');
    }
    parseSecretReference(target.reference); // a literal reference is checked once, at definition
  }
  if (options.versionStage !== undefined && options.versionId !== undefined) {
    throw new TypeError('secret: give versionStage or versionId, not both');
  }
  const source: SecretSource = Object.freeze({
    kind: 'secretsmanager',
    envName: typeof target === 'string' ? target : undefined,
    reference: typeof target === 'object' ? target.reference : undefined,
    jsonKey: options.key,
    versionStage: options.versionStage,
    versionId: options.versionId,
    format: options.format ?? 'auto',
  });
  return new ConfigField([source], schema);
}

/** A source's reference as read now. */
export type ReferenceLookup =
  | { readonly kind: 'absent' }
  | { readonly kind: 'error'; readonly message: string }
  | { readonly kind: 'ref'; readonly ref: SecretReference };

/** Reads and parses the reference of `source`, merging the source's options. */
export function lookupReference(source: SecretSource): ReferenceLookup {
  const text = source.reference ?? (source.envName === undefined ? undefined : readEnv(source.envName));
  if (text === undefined) return { kind: 'absent' };
  let parsed: SecretReference;
  try {
    parsed = parseSecretReference(text);
  } catch (error) {
    if (error instanceof SecretReferenceError) return { kind: 'error', message: error.message };
    throw error;
  }
  const versioned = parsed.versionStage !== undefined || parsed.versionId !== undefined;
  return {
    kind: 'ref',
    ref: {
      ...parsed,
      jsonKey: parsed.jsonKey ?? source.jsonKey,
      versionStage: versioned ? parsed.versionStage : source.versionStage,
      versionId: versioned ? parsed.versionId : source.versionId,
    },
  };
}

/** Cache key: client, secret id, version id, version stage (not the JSON key: one fetch serves all keys). */
export function secretCacheKey(client: number, ref: SecretReference): string {
  const stage = ref.versionId === undefined && ref.versionStage === 'AWSCURRENT' ? '' : (ref.versionStage ?? '');
  return `sm\u0000${client}\u0000${ref.secretId}\u0000${ref.versionId ?? ''}\u0000${stage}`;
}

/** How a reference is named in messages and log lines. */
export function secretLabel(ref: SecretReference): string {
  const version = ref.versionId ? ` version ${ref.versionId}` : ref.versionStage ? ` stage ${ref.versionStage}` : '';
  return `secretsmanager "${ref.secretId}"${version}`;
}

const BATCH_SIZE = 20;
/** Pages of one BatchGetSecretValue call: 20 ids fit in one page; a service paging on and on is a fault. */
export const MAX_BATCH_PAGES = 20;

// Clients whose BatchGetSecretValue was denied: they go straight to GetSecretValue.
let batchDenied = new WeakSet<object>();

/** @internal Forget which clients were denied BatchGetSecretValue. */
export function forgetBatchDenials(): void {
  batchDenied = new WeakSet<object>();
}

type Item = readonly [key: string, ref: SecretReference];

/**
 * Fetches secrets: references without a version through `BatchGetSecretValue` (20 per call,
 * per-item errors mapped back), the rest, and everything once the batch call is denied,
 * through `GetSecretValue`.
 */
export async function fetchSecrets(
  client: SecretsManagerApi,
  requests: ReadonlyMap<string, SecretReference>,
): Promise<Map<string, FetchResult>> {
  const results = new Map<string, FetchResult>();
  const batchable: Item[] = [];
  const single: Item[] = [];
  for (const item of requests) {
    const ref = item[1];
    const current = ref.versionId === undefined && (ref.versionStage ?? 'AWSCURRENT') === 'AWSCURRENT';
    (current && !batchDenied.has(client.identity) ? batchable : single).push(item);
  }
  const chunks: Item[][] = [];
  for (let i = 0; i < batchable.length; i += BATCH_SIZE) chunks.push(batchable.slice(i, i + BATCH_SIZE));

  const singles = Promise.all(single.map((item) => fetchOne(client, item, results)));
  const batches = Promise.all(chunks.map((chunk) => fetchBatch(client, chunk, results))).then((leftovers) =>
    Promise.all(leftovers.flat().map((item) => fetchOne(client, item, results))),
  );
  await Promise.all([singles, batches]);
  return results;
}

/** Fetches one chunk; returns the items that must be fetched one by one instead. */
async function fetchBatch(client: SecretsManagerApi, chunk: Item[], results: Map<string, FetchResult>): Promise<Item[]> {
  const values: SecretValueOutput[] = [];
  const errors: Array<{ readonly SecretId?: string | undefined; readonly ErrorCode?: string | undefined }> = [];
  let pagingFailure: FetchFailure | undefined;
  try {
    const seen = new Set<string>();
    let nextToken: string | undefined;
    let pages = 0;
    do {
      const out = await client.batchGetSecretValue({ SecretIdList: chunk.map(([, ref]) => ref.secretId), NextToken: nextToken });
      pages++;
      values.push(...(out.SecretValues ?? []));
      errors.push(...(out.Errors ?? []));
      nextToken = out.NextToken === '' ? undefined : out.NextToken;
      if (nextToken !== undefined && seen.has(nextToken)) {
        pagingFailure = pagingError('answered a NextToken it had already given; stopped paging');
      } else if (nextToken !== undefined && pages >= MAX_BATCH_PAGES) {
        pagingFailure = pagingError(`still paging after ${MAX_BATCH_PAGES} pages; stopped`);
      }
      if (nextToken !== undefined) seen.add(nextToken);
    } while (nextToken !== undefined && pagingFailure === undefined);
  } catch (error) {
    const failure = failureFromError('secretsmanager', error);
    if (failure.kind === 'throttled' || failure.kind === 'unavailable') {
      for (const [key] of chunk) results.set(key, { ok: false, failure });
      return [];
    }
    // Denied (no secretsmanager:BatchGetSecretValue), or not supported here: one by one.
    if (failure.kind === 'access-denied') batchDenied.add(client.identity);
    return chunk;
  }

  const leftovers: Item[] = [];
  for (const item of chunk) {
    const [key, ref] = item;
    const value = values.find((v) => matches(ref, v.ARN, v.Name));
    if (value !== undefined) {
      results.set(key, { ok: true, value: new FetchedValue(value.SecretString, value.SecretBinary) });
      continue;
    }
    const error = errors.find((e) => e.SecretId === ref.secretId) ?? errors.find((e) => matches(ref, e.SecretId, e.SecretId));
    if (error !== undefined) {
      results.set(key, { ok: false, failure: failureFromCode('secretsmanager', error.ErrorCode ?? 'UnknownError') });
    } else if (pagingFailure !== undefined) {
      // Asking again one by one would only multiply the calls to a misbehaving endpoint.
      results.set(key, { ok: false, failure: pagingFailure });
    } else {
      leftovers.push(item);
    }
  }
  return leftovers;
}

function pagingError(what: string): FetchFailure {
  return { kind: 'unavailable', code: 'PaginationLoop', message: `BatchGetSecretValue ${what}` };
}

async function fetchOne(client: SecretsManagerApi, [key, ref]: Item, results: Map<string, FetchResult>): Promise<void> {
  try {
    const out = await client.getSecretValue({ SecretId: ref.secretId, VersionId: ref.versionId, VersionStage: ref.versionStage });
    results.set(key, { ok: true, value: new FetchedValue(out.SecretString, out.SecretBinary) });
  } catch (error) {
    results.set(key, { ok: false, failure: failureFromError('secretsmanager', error) });
  }
}

// Batch answers carry the ARN and name, whatever form the request used.
function matches(ref: SecretReference, arn: string | undefined, name: string | undefined): boolean {
  const id = ref.secretId;
  if (ref.form === 'name') return name === id || (arn !== undefined && arnName(arn) === id);
  if (arn === undefined) return false;
  return arn === id || (arn.startsWith(`${id}-`) && arn.length === id.length + 7);
}

// The name in a full ARN, without its 6-character suffix.
function arnName(arn: string): string | undefined {
  const name = arn.split(':').slice(6).join(':');
  return name === '' ? undefined : name.replace(/-[A-Za-z0-9]{6}$/, '');
}
