import type { KMSClient } from '@aws-sdk/client-kms';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { safeParse } from 'zod/v4/core';
import { sourceCache, type CacheRequest, type ConfigLogger, type Outcome } from './cache.js';
import { clientId, forgetDefaultClients, kmsClient, secretsManagerClient, type ConfigClients } from './clients.js';
import { ConfigError, type ConfigIssue, type ConfigIssueReason } from './config-error.js';
import { decode } from './fetched-value.js';
import { isPayloadKind, isSecretKind, type ConfigField, type KmsSource, type Source } from './field.js';
import { currentEvent, NO_EVENT } from './invocation.js';
import { redactingPrototype, scrub, secretStrings } from './redaction.js';
import { readEnv } from './sources/env.js';
import { decryptAll, kmsCacheKey, kmsRequest, type KmsRequest } from './sources/kms.js';
import { readPath } from './sources/payload.js';
import {
  fetchSecrets,
  forgetBatchDenials,
  lookupReference,
  secretCacheKey,
  secretLabel,
} from './sources/secrets-manager.js';
import type { SecretReference } from './secret-reference.js';

/** Options of a definition. */
export interface DefinitionOptions {
  /** Cache TTL of Secrets Manager and KMS values, in seconds (default 300, or `CUSTOM_RUNTIME_CONFIG_TTL_SECONDS`). */
  readonly ttlSeconds?: number;
  /** How long past its TTL a value is served when refreshing fails (default 900, or `CUSTOM_RUNTIME_CONFIG_MAX_STALENESS_SECONDS`). */
  readonly maxStalenessSeconds?: number;
  /** SDK clients for this definition (default: the process-wide ones, see `setConfigClients`). */
  readonly clients?: ConfigClients;
  /** Where the stale-value and rotation log lines go (default: `console`). */
  readonly logger?: ConfigLogger;
}

/** Env var overriding the default TTL, in seconds. */
export const TTL_ENV = 'CUSTOM_RUNTIME_CONFIG_TTL_SECONDS';
/** Env var overriding the default max staleness, in seconds. */
export const MAX_STALENESS_ENV = 'CUSTOM_RUNTIME_CONFIG_MAX_STALENESS_SECONDS';
const DEFAULT_TTL_SECONDS = 300;
const DEFAULT_MAX_STALENESS_SECONDS = 900;

/** A field's position and sources, split where the event may take over. */
export interface FieldPlan {
  readonly key: string;
  readonly index: number;
  readonly field: ConfigField<unknown>;
  /** Sources resolved once per snapshot (env, secrets, KMS of env values). */
  readonly staticSources: readonly Source[];
  /** Sources read per invocation (payload, KMS of payload values); always last. */
  readonly dynamicSources: readonly Source[];
  /** Fed by Secrets Manager or KMS: redacted in `inspect` output. */
  readonly secret: boolean;
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

/** The resolved non-payload part of a definition, valid until the earliest TTL it depends on. */
export interface Snapshot {
  readonly generation: number;
  readonly createdAt: number;
  readonly validUntil: number;
  readonly resolutions: readonly FieldResolution[];
  /** Every key in definition order, static values filled in; cloned per invocation. */
  readonly template: Readonly<Record<string, unknown>>;
  /** Fields resolved per invocation. */
  readonly dynamic: readonly FieldPlan[];
  /** For definitions without payload fields: the config, already resolved. */
  readonly promise: Promise<object> | undefined;
  /** Config outside an invocation (payload fields undefined), built on first use. */
  outside: Promise<object> | undefined;
}

type Resolved = { readonly ok: true; readonly snapshot: Snapshot } | { readonly ok: false; readonly issues: ConfigIssue[]; readonly resolutions: ReadonlyArray<FieldResolution | undefined> };

// Bumped by clearConfigCache(): every snapshot of an older generation is stale.
let generation = 0;
let warnedBadEnv = false;

/**
 * Forgets every cached secret, plaintext and resolved snapshot, the default SDK clients and
 * batch-permission knowledge. For tests.
 */
export function clearConfigCache(): void {
  generation++;
  sourceCache.clear();
  forgetDefaultClients();
  forgetBatchDenials();
}

/** Per-definition state: the plan, the current snapshot and the one in-flight refresh. */
export class DefinitionState {
  readonly plan: readonly FieldPlan[];
  readonly options: DefinitionOptions;
  readonly #proto: object;
  readonly #shape: Readonly<Record<string, unknown>>;
  readonly #hasDynamic: boolean;
  readonly #logger: ConfigLogger;
  #snapshot: Snapshot | undefined;
  #refreshing: Promise<Resolved> | undefined;
  #lastIssues: readonly ConfigIssue[] | undefined;
  // Last per-invocation result, so repeated getConfig calls in one invocation share it.
  #lastEvent: unknown = NO_EVENT;
  #lastSnapshot: Snapshot | undefined;
  #lastResult: Promise<object> | undefined;
  // Per payload field: last primitive raw value and its parsed value (skips zod when unchanged).
  readonly #dynamicMemo: Array<{ raw: unknown; value: unknown } | undefined>;

  constructor(fields: Readonly<Record<string, ConfigField<unknown>>>, options: DefinitionOptions) {
    this.options = options;
    this.#logger = options.logger ?? console;
    this.plan = Object.keys(fields).map((key, index) => {
      const field = fields[key] as ConfigField<unknown>;
      const split = field.sources.findIndex(isPayloadKind);
      const cut = split === -1 ? field.sources.length : split;
      return {
        key,
        index,
        field,
        staticSources: field.sources.slice(0, cut),
        dynamicSources: field.sources.slice(cut),
        secret: field.sources.some(isSecretKind),
      };
    });
    this.#hasDynamic = this.plan.some((p) => p.dynamicSources.length > 0);
    this.#proto = redactingPrototype(new Set(this.plan.filter((p) => p.secret).map((p) => p.key)));
    // Objects that get more than a dozen properties by keyed stores turn into slow dictionaries;
    // JSON.parse builds a fast-mode object, and clones of it stay fast.
    this.#shape = JSON.parse(JSON.stringify(Object.fromEntries(this.plan.map((p) => [p.key, null])))) as Record<
      string,
      unknown
    >;
    this.#dynamicMemo = this.plan.map(() => undefined);
  }

  /** The current snapshot (for describeConfig). */
  get snapshot(): Snapshot | undefined {
    return this.#snapshot?.generation === generation ? this.#snapshot : undefined;
  }

  /** Issues of the last failed resolution, if the last one failed. */
  get lastIssues(): readonly ConfigIssue[] | undefined {
    return this.#lastIssues;
  }

  /** The config for the current invocation (the hot path). */
  get(): Promise<object> {
    const snapshot = this.#snapshot;
    if (snapshot !== undefined && snapshot.generation === generation && Date.now() < snapshot.validUntil) {
      return snapshot.promise ?? this.#forEvent(snapshot, currentEvent());
    }
    const event = this.#hasDynamic ? currentEvent() : NO_EVENT;
    return this.#refresh().then((resolved) => {
      if (resolved.ok) return resolved.snapshot.promise ?? this.#forEvent(resolved.snapshot, event);
      return this.#fail(resolved, event);
    });
  }

  /** Resolves every non-payload source and warms the cache. */
  async prefetch(): Promise<void> {
    const resolved = await this.#refresh();
    if (!resolved.ok) throw new ConfigError(resolved.issues);
  }

  #refresh(): Promise<Resolved> {
    if (this.#refreshing !== undefined) return this.#refreshing;
    const previous = this.#snapshot?.generation === generation ? this.#snapshot : undefined;
    const refreshing = this.#resolveStatic(previous).then((resolved) => {
      if (resolved.ok) {
        this.#snapshot = resolved.snapshot;
        this.#lastIssues = undefined;
      } else {
        this.#lastIssues = resolved.issues;
      }
      return resolved;
    });
    this.#refreshing = refreshing;
    const clear = (): void => {
      if (this.#refreshing === refreshing) this.#refreshing = undefined;
    };
    refreshing.then(clear, clear);
    return refreshing;
  }

  // Static issues are reported together with this invocation's payload issues.
  async #fail(resolved: Extract<Resolved, { ok: false }>, event: unknown): Promise<never> {
    const issues = [...resolved.issues];
    if (event !== NO_EVENT) {
      const dynamic = this.plan.filter((p) => resolved.resolutions[p.index]?.state === 'dynamic');
      const run = new Resolution(this, event);
      const result = await run.resolveFields(dynamic, 'dynamic');
      issues.push(...result.issues);
    }
    issues.sort((a, b) => this.#order(a.field) - this.#order(b.field));
    throw new ConfigError(issues);
  }

  #order(key: string): number {
    return this.plan.findIndex((p) => p.key === key);
  }

  #forEvent(snapshot: Snapshot, event: unknown): Promise<object> {
    if (event === NO_EVENT) return (snapshot.outside ??= Promise.resolve(this.#outside(snapshot)));
    if (event === this.#lastEvent && snapshot === this.#lastSnapshot && this.#lastResult !== undefined) {
      return this.#lastResult;
    }
    let result: Promise<object>;
    try {
      const values = this.#dynamicSync(snapshot, event);
      result = values === undefined ? this.#dynamicAsync(snapshot, event) : Promise.resolve(values);
    } catch (error) {
      result = Promise.reject(error as Error);
    }
    this.#lastEvent = event;
    this.#lastSnapshot = snapshot;
    this.#lastResult = result;
    return result;
  }

  /** A fresh config object: the snapshot's values, fast properties, redacting prototype. */
  #instantiate(snapshot: Snapshot): Record<string, unknown> {
    return Object.setPrototypeOf({ ...snapshot.template }, this.#proto) as Record<string, unknown>;
  }

  // Payload fields without KMS: read and validate synchronously. Returns undefined when a
  // field needs KMS (the async path handles the whole definition then).
  #dynamicSync(snapshot: Snapshot, event: unknown): object | undefined {
    let out: Record<string, unknown> | undefined;
    let issues: ConfigIssue[] | undefined;
    for (const plan of snapshot.dynamic) {
      let found = false;
      let value: unknown;
      for (const source of plan.dynamicSources) {
        if (source.kind !== 'payload') return undefined;
        const raw = readPath(event, source.segments);
        if (raw === undefined || raw === null || raw === '') continue;
        found = true;
        const memo = this.#dynamicMemo[plan.index];
        if (memo !== undefined && memo.raw === raw) {
          value = memo.value;
          break;
        }
        const parsed = validate(plan, source, raw);
        if (parsed.ok) {
          value = parsed.value;
          if (typeof raw !== 'object') this.#dynamicMemo[plan.index] = { raw, value };
        } else {
          (issues ??= []).push(parsed.issue);
        }
        break;
      }
      if (!found) {
        const fallback = validateAbsent(plan, []);
        if (fallback.ok) value = fallback.value;
        else (issues ??= []).push(fallback.issue);
      }
      (out ??= this.#instantiate(snapshot))[plan.key] = value;
    }
    if (issues !== undefined) throw new ConfigError(issues);
    return out ?? this.#instantiate(snapshot);
  }

  async #dynamicAsync(snapshot: Snapshot, event: unknown): Promise<object> {
    const run = new Resolution(this, event);
    const result = await run.resolveFields(snapshot.dynamic, 'dynamic');
    if (result.issues.length > 0) throw new ConfigError(result.issues);
    const out = this.#instantiate(snapshot);
    for (const plan of snapshot.dynamic) {
      const resolution = result.resolutions.get(plan.index);
      out[plan.key] = resolution !== undefined && resolution.state !== 'dynamic' ? resolution.value : undefined;
    }
    return out;
  }

  // Outside an invocation payload fields are undefined, unless their schema supplies a default.
  #outside(snapshot: Snapshot): object {
    const out = this.#instantiate(snapshot);
    for (const plan of snapshot.dynamic) {
      const fallback = safeParse(plan.field.schema, undefined);
      out[plan.key] = fallback.success ? fallback.data : undefined;
    }
    return Object.freeze(out);
  }

  async #resolveStatic(previous: Snapshot | undefined): Promise<Resolved> {
    const now = Date.now();
    const run = new Resolution(this, NO_EVENT, previous);
    const result = await run.resolveFields(this.plan, 'static');
    const resolutions = this.plan.map((p) => result.resolutions.get(p.index));
    if (result.issues.length > 0) return { ok: false, issues: result.issues, resolutions };
    const complete = resolutions as FieldResolution[];
    const template: Record<string, unknown> = { ...this.#shape };
    for (const plan of this.plan) {
      const resolution = complete[plan.index];
      template[plan.key] = resolution === undefined || resolution.state === 'dynamic' ? undefined : resolution.value;
    }
    const snapshot: Snapshot = {
      generation,
      createdAt: now,
      validUntil: run.validUntil,
      resolutions: complete,
      template,
      dynamic: this.plan.filter((p) => complete[p.index]?.state === 'dynamic'),
      promise: undefined,
      outside: undefined,
    };
    if (!this.#hasDynamic) {
      const config = Object.freeze(Object.setPrototypeOf({ ...template }, this.#proto) as object);
      return { ok: true, snapshot: { ...snapshot, promise: Promise.resolve(config) } };
    }
    return { ok: true, snapshot };
  }

  /** @internal Cache policy of a field, in milliseconds. */
  policy(plan: FieldPlan): { ttlMs: number; maxStalenessMs: number } {
    const ttl = plan.field.settings.ttlSeconds ?? this.options.ttlSeconds ?? this.#envSeconds(TTL_ENV) ?? DEFAULT_TTL_SECONDS;
    const stale =
      plan.field.settings.maxStalenessSeconds ??
      this.options.maxStalenessSeconds ??
      this.#envSeconds(MAX_STALENESS_ENV) ??
      DEFAULT_MAX_STALENESS_SECONDS;
    return { ttlMs: ttl * 1000, maxStalenessMs: stale * 1000 };
  }

  /** @internal */
  get logger(): ConfigLogger {
    return this.#logger;
  }

  #envSeconds(name: string): number | undefined {
    const text = readEnv(name);
    if (text === undefined) return undefined;
    const value = Number(text);
    if (Number.isFinite(value) && value >= 0) return value;
    if (!warnedBadEnv) {
      warnedBadEnv = true;
      this.#logger.warn(`[@custom-runtime/config] ignoring ${name}: not a number of seconds >= 0`);
    }
    return undefined;
  }
}

type Step =
  | {
      readonly kind: 'present';
      readonly raw: unknown;
      readonly fingerprint: unknown;
      readonly fetched: FetchInfo | undefined;
    }
  | { readonly kind: 'absent'; readonly note: string | undefined }
  | { readonly kind: 'issue'; readonly issue: ConfigIssue }
  | { readonly kind: 'wait' };

interface FieldsResult {
  readonly resolutions: Map<number, FieldResolution>;
  readonly issues: ConfigIssue[];
}

/**
 * One resolution of some fields: walks each field's sources in order, gathering every Secrets
 * Manager and KMS key still needed into one round of fetches, until every field is settled.
 */
class Resolution {
  validUntil = Number.POSITIVE_INFINITY;
  readonly #state: DefinitionState;
  readonly #event: unknown;
  readonly #previous: Snapshot | undefined;
  readonly #outcomes = new Map<string, Outcome>();
  #secretsRequests = new Map<string, CacheRequest<SecretReference>>();
  #kmsRequests = new Map<string, CacheRequest<KmsRequest>>();
  #secretsManager: SecretsManagerClient | undefined;
  #kms: KMSClient | undefined;

  constructor(state: DefinitionState, event: unknown, previous?: Snapshot) {
    this.#state = state;
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
    const before = this.#previous?.resolutions[plan.index];
    if (
      before !== undefined &&
      before.state === 'value' &&
      before.sourceIndex === sourceIndex &&
      Object.is(before.fingerprint, step.fingerprint)
    ) {
      return { ok: true, resolution: { ...before, fetched: step.fetched } };
    }
    const parsed = validate(plan, source, step.raw);
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
    for (const plan of plans) {
      for (const source of phase === 'static' ? plan.staticSources : plan.dynamicSources) {
        if (source.kind === 'secretsmanager') needsSecrets = true;
        if (source.kind === 'kms') needsKms = true;
      }
    }
    const own = this.#state.options.clients;
    const [secrets, kmsOne] = await Promise.all([
      needsSecrets ? secretsManagerClient(own?.secretsManager) : undefined,
      needsKms ? kmsClient(own?.kms) : undefined,
    ]);
    this.#secretsManager = secrets;
    this.#kms = kmsOne;
  }

  #step(plan: FieldPlan, source: Source): Step {
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
        const client = this.#secretsManager as SecretsManagerClient;
        const key = secretCacheKey(clientId(client), lookup.ref);
        const label = secretLabel(lookup.ref);
        return this.#fromOutcome(plan, source, key, label, () => {
          this.#secretsRequests.set(key, { request: lookup.ref, label, ...this.#state.policy(plan) });
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
        const client = this.#kms as KMSClient;
        const key = kmsCacheKey(clientId(client), built.request);
        const label = kmsLabel(source);
        return this.#fromOutcome(plan, source, key, label, () => {
          this.#kmsRequests.set(key, { request: built.request, label, ...this.#state.policy(plan) });
        }, undefined);
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
    const decoded = decode(outcome.value, {
      format,
      jsonKey,
      hasCustomSchema: plan.field.hasCustomSchema,
      bytesAreText: source.kind === 'kms',
    });
    if (decoded.kind === 'absent') return { kind: 'absent', note: decoded.note && `${decoded.note} (${label})` };
    if (decoded.kind === 'error') return issue(plan, source, 'invalid', `invalid: ${decoded.message}`, label);
    // A refetch makes new objects; parsed JSON is compared by its source text instead.
    const raw = decoded.raw;
    const fingerprint =
      typeof raw === 'object' && raw !== null && !(raw instanceof Uint8Array)
        ? `json\u0000${jsonKey ?? ''}\u0000${outcome.value.text()}`
        : raw;
    return { kind: 'present', raw, fingerprint, fetched: { label, fetchedAt: outcome.fetchedAt, stale: outcome.stale } };
  }

  async #fetchPending(): Promise<void> {
    const secrets = this.#secretsRequests;
    const kmsRequests = this.#kmsRequests;
    this.#secretsRequests = new Map();
    this.#kmsRequests = new Map();
    const logger = this.#state.logger;
    const secretsClient = this.#secretsManager;
    const kmsOne = this.#kms;
    const [a, b] = await Promise.all([
      secrets.size > 0 && secretsClient !== undefined
        ? sourceCache.resolve(secrets, (requests) => fetchSecrets(secretsClient, requests), logger)
        : undefined,
      kmsRequests.size > 0 && kmsOne !== undefined
        ? sourceCache.resolve(kmsRequests, (requests) => decryptAll(kmsOne, requests), logger)
        : undefined,
    ]);
    for (const outcomes of [a, b]) {
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
  }
}

function kmsLabel(source: KmsSource): string {
  return source.input.kind === 'env' ? `kms via env ${source.input.name}` : `kms via payload ${source.input.path}`;
}

function issue(plan: FieldPlan, source: Source, reason: ConfigIssueReason, message: string, label?: string): Step {
  const where = locationOf(source);
  const location = label !== undefined && source.kind === 'secretsmanager' && source.envName !== undefined ? `${label} via env ${source.envName}` : where;
  return { kind: 'issue', issue: { field: plan.key, source: source.kind, location, reason, message } };
}

/** Validates a present raw value with the field's schema. */
function validate(
  plan: FieldPlan,
  source: Source,
  raw: unknown,
): { ok: true; value: unknown } | { ok: false; issue: ConfigIssue } {
  const result = safeParse(plan.field.schema, raw);
  if (result.success) return { ok: true, value: result.data };
  const detail = result.error.issues
    .map((i) => (i.path.length > 0 ? `${i.path.map(String).join('.')}: ${i.message}` : i.message))
    .join('; ');
  // A custom zod message could echo the input; never let a value into an error.
  const message = `invalid: ${scrub(detail, secretStrings(raw))}`;
  return { ok: false, issue: { field: plan.key, source: source.kind, location: locationOf(source), reason: 'invalid', message } };
}

/** No source was present: the schema's default or optional, else `missing`. */
function validateAbsent(
  plan: FieldPlan,
  notes: readonly string[],
): { ok: true; value: unknown } | { ok: false; issue: ConfigIssue } {
  const result = safeParse(plan.field.schema, undefined);
  if (result.success) return { ok: true, value: result.data };
  const first = plan.field.sources[0] as Source;
  const location = plan.field.sources.map(locationOf).join(', ');
  const message = notes.length > 0 ? `missing: ${notes.join('; ')}` : 'missing';
  return { ok: false, issue: { field: plan.key, source: first.kind, location, reason: 'missing', message } };
}
