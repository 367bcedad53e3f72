import { safeParse } from 'zod/v4/core';
import { sourceCache, type CacheRequest, type ConfigLogger, type Outcome } from './cache.js';
import {
  clientId,
  kmsApi,
  parameterStoreApi,
  secretsManagerApi,
  type ConfigClients,
  type KmsApi,
  type SecretsManagerApi,
} from './clients.js';
import type { ConfigIssue, ConfigIssueReason } from './config-error.js';
import { TimeoutSettingError } from './aws/timeouts.js';
import { decode, type Decoded, type FetchedValue } from './fetched-value.js';
import type { ConfigField, KmsSource, Source } from './field.js';
import { NO_EVENT } from './invocation.js';
import { scrub, secretStrings } from './redaction.js';
import type { SecretReference } from './secret-reference.js';
import { readEnv } from './sources/env.js';
import { decryptAll, kmsCacheKey, kmsRequest, type KmsRequest } from './sources/kms.js';
import { readPath } from './sources/payload.js';
import { fetchSecrets, lookupReference, secretCacheKey, secretLabel } from './sources/secrets-manager.js';
import type { ParameterReference } from './parameter-reference.js';
import type { ParameterStoreApi } from './parameter-store-api.js';
import * as params from './sources/ssm.js';

/** A field's position and sources, split where the event may take over. */
export interface FieldPlan {
  readonly key: string;
  readonly index: number;
  readonly field: ConfigField<unknown>;
  /** Sources resolved once per snapshot (env, secrets, KMS of env values). */
  readonly staticSources: readonly Source[];
  /** Sources read per invocation (payload, KMS of payload values); always last. */
  readonly dynamicSources: readonly Source[];
  /** Fed by Secrets Manager or KMS, or marked `.sensitive()`: redacted wherever rendered. */
  readonly sensitive: boolean;
}

/** Where a Secrets Manager or KMS value came from, and when. */
export interface FetchInfo {
  readonly label: string;
  readonly fetchedAt: number;
  readonly stale: boolean;
}

/** How one field was resolved in a snapshot. */
export type FieldResolution =
  | {
      readonly state: 'value' | 'default';
      /** Index in the field's sources, -1 for a schema default. */
      readonly sourceIndex: number;
      readonly raw: unknown;
      /** Equal fingerprints mean an equal raw value: the parsed value is reused. */
      readonly fingerprint: unknown;
      readonly value: unknown;
      /** For Secrets Manager/KMS values. */
      readonly fetched: FetchInfo | undefined;
    }
  | { readonly state: 'dynamic' };

/** What a resolution needs from its definition. */
export interface ResolutionContext {
  readonly clients: ConfigClients | undefined;
  readonly logger: ConfigLogger;
  /** Cache policy of a field, in milliseconds. */
  policy(plan: FieldPlan): { ttlMs: number; maxStalenessMs: number };
}

type Step =
  | {
      readonly kind: 'present';
      readonly raw: unknown;
      readonly fingerprint: unknown;
      readonly fetched: FetchInfo | undefined;
      /** The whole secret or plaintext the raw value came from: messages are scrubbed of it. */
      readonly whole?: FetchedValue;
    }
  | { readonly kind: 'absent'; readonly note: string | undefined }
  | { readonly kind: 'issue'; readonly issue: ConfigIssue }
  | { readonly kind: 'wait' };

/** Settled fields of one resolution. */
export interface FieldsResult {
  readonly resolutions: Map<number, FieldResolution>;
  readonly issues: ConfigIssue[];
}

/**
 * One resolution of some fields: walks each field's sources in order, gathering every Secrets
 * Manager and KMS key still needed into one round of fetches, until every field is settled.
 */
export class Resolution {
  validUntil = Number.POSITIVE_INFINITY;
  readonly #context: ResolutionContext;
  readonly #event: unknown;
  // Resolutions of the previous snapshot, to reuse parsed values.
  readonly #previous: ReadonlyArray<FieldResolution | undefined> | undefined;
  readonly #outcomes = new Map<string, Outcome>();
  #secretsRequests = new Map<string, CacheRequest<SecretReference>>();
  #kmsRequests = new Map<string, CacheRequest<KmsRequest>>();
  #parameterRequests = new Map<string, CacheRequest<ParameterReference>>();
  #pathRequests = new Map<string, CacheRequest<params.PathRequest>>();
  #secretsManager: SecretsManagerApi | undefined;
  #kms: KmsApi | undefined;
  #ssm: ParameterStoreApi | undefined;
  // Why no AWS call can be made (a bad timeout variable): every AWS field reports it.
  #settingError: string | undefined;

  constructor(context: ResolutionContext, event: unknown, previous?: ReadonlyArray<FieldResolution | undefined>) {
    this.#context = context;
    this.#event = event;
    this.#previous = previous;
  }

  async resolveFields(plans: readonly FieldPlan[], phase: 'static' | 'dynamic'): Promise<FieldsResult> {
    await this.#clients(plans, phase);
    const resolutions = new Map<number, FieldResolution>();
    const issues: ConfigIssue[] = [];
    const cursors = new Map<number, number>();
    const notes = new Map<number, string[]>();
    let pending = [...plans];
    for (;;) {
      const waiting: FieldPlan[] = [];
      for (const plan of pending) {
        const sources = phase === 'static' ? plan.staticSources : plan.dynamicSources;
        let cursor = cursors.get(plan.index) ?? 0;
        let settled = false;
        while (cursor < sources.length) {
          const source = sources[cursor] as Source;
          const step = this.#step(plan, source);
          if (step.kind === 'wait') break;
          if (step.kind === 'absent') {
            if (step.note !== undefined) notes.set(plan.index, [...(notes.get(plan.index) ?? []), step.note]);
            cursor++;
            continue;
          }
          settled = true;
          if (step.kind === 'issue') {
            issues.push(step.issue);
          } else {
            const sourceIndex = plan.field.sources.indexOf(source);
            const result = this.#validateStep(plan, source, sourceIndex, step);
            if (result.ok) resolutions.set(plan.index, result.resolution);
            else issues.push(result.issue);
          }
          break;
        }
        cursors.set(plan.index, cursor);
        if (settled) continue;
        if (cursor < sources.length) {
          waiting.push(plan);
        } else if (phase === 'static' && plan.dynamicSources.length > 0) {
          resolutions.set(plan.index, { state: 'dynamic' });
        } else {
          const fallback = validateAbsent(plan, notes.get(plan.index) ?? []);
          if (fallback.ok) {
            resolutions.set(plan.index, {
              state: 'default',
              sourceIndex: -1,
              raw: undefined,
              fingerprint: undefined,
              value: fallback.value,
              fetched: undefined,
            });
          } else {
            issues.push(fallback.issue);
          }
        }
      }
      if (waiting.length === 0) break;
      await this.#fetchPending();
      pending = waiting;
    }
    return { resolutions, issues };
  }

  // A previous snapshot's parsed value is reused when the same source yields the same raw value.
  #validateStep(
    plan: FieldPlan,
    source: Source,
    sourceIndex: number,
    step: Extract<Step, { kind: 'present' }>,
  ): { ok: true; resolution: FieldResolution } | { ok: false; issue: ConfigIssue } {
    const before = this.#previous?.[plan.index];
    if (
      before !== undefined &&
      before.state === 'value' &&
      before.sourceIndex === sourceIndex &&
      Object.is(before.fingerprint, step.fingerprint)
    ) {
      return { ok: true, resolution: { ...before, fetched: step.fetched } };
    }
    const parsed = validate(plan, source, step.raw, step.whole);
    if (!parsed.ok) return parsed;
    return {
      ok: true,
      resolution: {
        state: 'value',
        sourceIndex,
        raw: step.raw,
        fingerprint: step.fingerprint,
        value: parsed.value,
        fetched: step.fetched,
      },
    };
  }

  async #clients(plans: readonly FieldPlan[], phase: 'static' | 'dynamic'): Promise<void> {
    let needsSecrets = false;
    let needsKms = false;
    let needsSsm = false;
    for (const plan of plans) {
      for (const source of phase === 'static' ? plan.staticSources : plan.dynamicSources) {
        if (source.kind === 'secretsmanager') needsSecrets = true;
        if (source.kind === 'kms') needsKms = true;
        if (source.kind === 'ssm' || source.kind === 'ssm-path') needsSsm = true;
      }
    }
    const own = this.#context.clients;
    const client = <Api>(needed: boolean, choose: (o: typeof own) => Promise<Api>): Promise<Api | undefined> =>
      !needed
        ? Promise.resolve(undefined)
        : choose(own).catch((error: unknown) => {
            // A bad timeout variable fails the fields that would call AWS, by name, not the process.
            if (!(error instanceof TimeoutSettingError)) throw error;
            this.#settingError = error.message;
            return undefined;
          });
    const [secrets, kmsOne, ssmOne] = await Promise.all([
      client(needsSecrets, secretsManagerApi),
      client(needsKms, kmsApi),
      client(needsSsm, parameterStoreApi),
    ]);
    this.#secretsManager = secrets;
    this.#kms = kmsOne;
    this.#ssm = ssmOne;
  }

  #step(plan: FieldPlan, source: Source): Step {
    if (this.#settingError !== undefined && source.kind !== 'env' && source.kind !== 'payload') {
      return issue(plan, source, 'invalid-request', this.#settingError);
    }
    switch (source.kind) {
      case 'env': {
        const raw = readEnv(source.name);
        return raw === undefined ? ABSENT : { kind: 'present', raw, fingerprint: raw, fetched: undefined };
      }
      case 'payload': {
        const raw = this.#event === NO_EVENT ? undefined : readPath(this.#event, source.segments);
        return raw === undefined || raw === null || raw === ''
          ? ABSENT
          : { kind: 'present', raw, fingerprint: raw, fetched: undefined };
      }
      case 'secretsmanager': {
        const lookup = lookupReference(source);
        if (lookup.kind === 'absent') return ABSENT;
        if (lookup.kind === 'error') {
          return issue(plan, source, 'bad-reference', `bad reference: ${lookup.message}`);
        }
        const client = this.#secretsManager as SecretsManagerApi;
        const key = secretCacheKey(clientId(client), lookup.ref);
        const label = secretLabel(lookup.ref);
        return this.#fromOutcome(plan, source, key, label, () => {
          this.#secretsRequests.set(key, { request: lookup.ref, label, ...this.#context.policy(plan) });
        }, lookup.ref.jsonKey);
      }
      case 'kms': {
        const input = source.input;
        const text =
          input.kind === 'env'
            ? readEnv(input.name)
            : this.#event === NO_EVENT
              ? undefined
              : readPath(this.#event, input.segments);
        if (text === undefined || text === null || text === '') return ABSENT;
        const built = kmsRequest(source, text);
        if (!built.ok) return issue(plan, source, 'bad-ciphertext', built.message);
        const client = this.#kms as KmsApi;
        const key = kmsCacheKey(clientId(client), built.request);
        const label = kmsLabel(source);
        return this.#fromOutcome(plan, source, key, label, () => {
          this.#kmsRequests.set(key, { request: built.request, label, ...this.#context.policy(plan) });
        }, undefined);
      }
      case 'ssm': {
        const lookup = params.lookupParameter(source);
        if (lookup.kind === 'absent') return ABSENT;
        if (lookup.kind === 'error') return issue(plan, source, 'bad-reference', `bad reference: ${lookup.message}`);
        const key = params.parameterCacheKey(clientId(this.#ssm!), lookup.ref);
        const label = params.parameterLabel(lookup.ref);
        return this.#fromOutcome(plan, source, key, label, () => {
          this.#parameterRequests.set(key, { request: lookup.ref, label, ...this.#context.policy(plan) });
        }, source.jsonKey, (value) => params.decodeParameter(value, source, lookup.ref, plan.field.hasCustomSchema));
      }
      case 'ssm-path': {
        const lookup = params.lookupPath(source);
        if (lookup.kind === 'absent') return ABSENT;
        if (lookup.kind === 'error') return issue(plan, source, 'bad-reference', `bad path: ${lookup.message}`);
        const key = params.pathCacheKey(clientId(this.#ssm!), lookup.request);
        const label = params.pathLabel(lookup.request);
        return this.#fromOutcome(plan, source, key, label, () => {
          this.#pathRequests.set(key, { request: lookup.request, label, ...this.#context.policy(plan) });
        }, undefined, (value) => params.decodeTree(value, source));
      }
    }
  }

  #fromOutcome(
    plan: FieldPlan,
    source: Source,
    key: string,
    label: string,
    request: () => void,
    jsonKey: string | undefined,
    decoder?: (value: FetchedValue) => Decoded,
  ): Step {
    const outcome = this.#outcomes.get(key);
    if (outcome === undefined) {
      request();
      return WAIT;
    }
    if (!outcome.ok) {
      return issue(plan, source, outcome.failure.kind, outcome.failure.message, label);
    }
    if (outcome.validUntil < this.validUntil) this.validUntil = outcome.validUntil;
    const format = source.kind === 'secretsmanager' || source.kind === 'kms' ? source.format : 'auto';
    const decoded =
      decoder?.(outcome.value) ??
      decode(outcome.value, { format, jsonKey, hasCustomSchema: plan.field.hasCustomSchema, bytesAreText: source.kind === 'kms' });
    if (decoded.kind === 'absent') return { kind: 'absent', note: decoded.note && `${decoded.note} (${label})` };
    if (decoded.kind === 'error') return issue(plan, source, 'invalid', `invalid: ${decoded.message}`, label);
    // A refetch makes new objects; parsed JSON is compared by its source text instead.
    const raw = decoded.raw;
    const fingerprint =
      typeof raw === 'object' && raw !== null && !(raw instanceof Uint8Array)
        ? `json\u0000${jsonKey ?? ''}\u0000${outcome.value.text()}`
        : raw;
    return {
      kind: 'present',
      raw,
      fingerprint,
      fetched: { label, fetchedAt: outcome.fetchedAt, stale: outcome.stale },
      whole: outcome.value,
    };
  }

  async #fetchPending(): Promise<void> {
    const secrets = this.#secretsRequests;
    const kmsRequests = this.#kmsRequests;
    const parameterRequests = this.#parameterRequests;
    const pathRequests = this.#pathRequests;
    this.#secretsRequests = new Map();
    this.#kmsRequests = new Map();
    this.#parameterRequests = new Map();
    this.#pathRequests = new Map();
    const logger = this.#context.logger;
    const secretsClient = this.#secretsManager;
    const kmsOne = this.#kms;
    const ssmApi = this.#ssm;
    const [a, b, c, d] = await Promise.all([
      secrets.size > 0 && secretsClient !== undefined
        ? sourceCache.resolve(secrets, (requests) => fetchSecrets(secretsClient, requests), logger)
        : undefined,
      kmsRequests.size > 0 && kmsOne !== undefined
        ? sourceCache.resolve(kmsRequests, (requests) => decryptAll(kmsOne, requests), logger)
        : undefined,
      parameterRequests.size > 0 && ssmApi !== undefined
        ? sourceCache.resolve(parameterRequests, (requests) => params.fetchParameters(ssmApi, requests), logger)
        : undefined,
      pathRequests.size > 0 && ssmApi !== undefined
        ? sourceCache.resolve(pathRequests, (requests) => params.fetchPaths(ssmApi, requests), logger)
        : undefined,
    ]);
    for (const outcomes of [a, b, c, d]) {
      if (outcomes !== undefined) for (const [key, outcome] of outcomes) this.#outcomes.set(key, outcome);
    }
  }
}

const ABSENT: Step = { kind: 'absent', note: undefined };
const WAIT: Step = { kind: 'wait' };

/** Where a source looks, for messages: never a value. */
export function locationOf(source: Source): string {
  switch (source.kind) {
    case 'env':
      return `env ${source.name}`;
    case 'payload':
      return `payload ${source.path}`;
    case 'secretsmanager':
      return source.envName !== undefined ? `secretsmanager via env ${source.envName}` : `secretsmanager "${source.reference ?? ''}"`;
    case 'kms':
      return kmsLabel(source);
    case 'ssm':
      return source.envName !== undefined ? `ssm via env ${source.envName}` : `ssm "${source.reference ?? ''}"`;
    case 'ssm-path':
      return source.envName !== undefined ? `ssm path via env ${source.envName}` : `ssm path "${source.path ?? ''}"`;
  }
}

function kmsLabel(source: KmsSource): string {
  return source.input.kind === 'env' ? `kms via env ${source.input.name}` : `kms via payload ${source.input.path}`;
}

function issue(plan: FieldPlan, source: Source, reason: ConfigIssueReason, message: string, label?: string): Step {
  const where = locationOf(source);
  const envName = source.kind === 'secretsmanager' || source.kind === 'ssm' || source.kind === 'ssm-path' ? source.envName : undefined;
  const location = label !== undefined && envName !== undefined ? `${label} via env ${envName}` : where;
  return { kind: 'issue', issue: { field: plan.key, source: source.kind, location, reason, message } };
}

/**
 * Validates a present raw value with the field's schema. `whole` is the fetched value `raw` was
 * read from (a JSON key's secret): a failure's message is scrubbed of it too.
 */
export function validate(
  plan: FieldPlan,
  source: Source,
  raw: unknown,
  whole?: FetchedValue,
): { ok: true; value: unknown } | { ok: false; issue: ConfigIssue } {
  const result = parseOrIssue(plan, source, raw);
  if ('issue' in result) return { ok: false, issue: result.issue };
  if (result.success) return { ok: true, value: result.data };
  const detail = result.error.issues
    .map((i) => (i.path.length > 0 ? `${i.path.map(String).join('.')}: ${i.message}` : i.message))
    .join('; ');
  // A custom zod message could echo the input; never let a value into an error. Only built on
  // failure, so the warm path never pays for it.
  const json = whole?.json();
  const strings = secretStrings([raw, json?.ok === true ? json.value : undefined], whole?.text());
  const message = `invalid: ${scrub(detail, strings)}`;
  return { ok: false, issue: { field: plan.key, source: source.kind, location: locationOf(source), reason: 'invalid', message } };
}

/**
 * `safeParse`, except that a schema which throws (a `.transform()` calling `JSON.parse`,
 * `new URL` or `BigInt`, a `.refine()` that throws) is an issue naming the field and the error's
 * type. Its message is left out: those messages quote the input (`JSON.parse` its first
 * characters, which no scrubbing of whole values would catch).
 */
function parseOrIssue(
  plan: FieldPlan,
  source: Source | undefined,
  raw: unknown,
): ReturnType<typeof safeParse> | { readonly issue: ConfigIssue } {
  try {
    return safeParse(plan.field.schema, raw);
  } catch (error) {
    const first = plan.field.sources[0] as Source;
    const at = source ?? first;
    const location = source !== undefined ? locationOf(source) : plan.field.sources.map(locationOf).join(', ');
    const message = `invalid: the schema threw (${thrownName(error)}; its message is not shown: it may quote the value)`;
    return { issue: { field: plan.key, source: at.kind, location, reason: 'invalid', message } };
  }
}

function thrownName(error: unknown): string {
  try {
    const name = error instanceof Error ? error.name : undefined;
    return typeof name === 'string' && /^[\w.$]{1,64}$/.test(name) ? name : 'a value that is not an Error';
  } catch {
    return 'a value';
  }
}

/** No source was present: the schema's default or optional, else `missing`. */
export function validateAbsent(
  plan: FieldPlan,
  notes: readonly string[],
): { ok: true; value: unknown } | { ok: false; issue: ConfigIssue } {
  const result = parseOrIssue(plan, undefined, undefined);
  if ('issue' in result) return { ok: false, issue: result.issue };
  if (result.success) return { ok: true, value: result.data };
  const first = plan.field.sources[0] as Source;
  const location = plan.field.sources.map(locationOf).join(', ');
  const message = notes.length > 0 ? `missing: ${notes.join('; ')}` : 'missing';
  return { ok: false, issue: { field: plan.key, source: first.kind, location, reason: 'missing', message } };
}
