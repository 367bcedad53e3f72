import { safeParse } from 'zod/v4/core';
import { sourceCache, type ConfigLogger } from './cache.js';
import { forgetDefaultClients, type ConfigClients } from './clients.js';
import { ConfigError, type ConfigIssue } from './config-error.js';
import { isPayloadKind, isSensitiveField, type ConfigField } from './field.js';
import { currentScope, mayStillRun, NO_EVENT } from './invocation.js';
import { ConfigShape } from './redaction.js';
import {
  Resolution,
  validate,
  validateAbsent,
  type FieldPlan,
  type FieldResolution,
  type ResolutionContext,
} from './field-resolution.js';
import { readEnv } from './sources/env.js';
import { readPath } from './sources/payload.js';
import { forgetBatchDenials } from './sources/secrets-manager.js';

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
// Set by Lambda when one environment handles several invocations at once.
const MAX_CONCURRENCY_ENV = 'AWS_LAMBDA_MAX_CONCURRENCY';
const DEFAULT_TTL_SECONDS = 300;
const DEFAULT_MAX_STALENESS_SECONDS = 900;

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

interface PerInvocation {
  readonly snapshot: Snapshot;
  readonly result: Promise<object>;
}

type Resolved =
  | { readonly ok: true; readonly snapshot: Snapshot }
  | {
      readonly ok: false;
      readonly issues: ConfigIssue[];
      readonly resolutions: ReadonlyArray<FieldResolution | undefined>;
    };

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

/**
 * @internal Makes every resolved snapshot stale without forgetting the cached values (after a
 * SnapStart restore, see snapstart-refresh.ts): the next read of any definition resolves again.
 */
export function expireResolvedConfig(): void {
  generation++;
}

/** Per-definition state: the plan, the current snapshot and the one in-flight refresh. */
export class DefinitionState implements ResolutionContext {
  readonly plan: readonly FieldPlan[];
  readonly options: DefinitionOptions;
  readonly #shape: ConfigShape;
  readonly #keys: Readonly<Record<string, unknown>>;
  readonly #hasDynamic: boolean;
  readonly #logger: ConfigLogger;
  #snapshot: Snapshot | undefined;
  #refreshing: Promise<Resolved> | undefined;
  #lastIssues: readonly ConfigIssue[] | undefined;
  // Per-invocation results, so repeated getConfig calls in one invocation share one config. The
  // current invocation's is in one slot; when another invocation takes the slot while the first
  // may still run (concurrent invocations), the first's moves to a WeakMap keyed on its scope.
  // Sequential invocations never pay for the WeakMap.
  #lastScope: object | undefined;
  #lastResult: PerInvocation | undefined;
  readonly #perInvocation = new WeakMap<object, PerInvocation>();
  readonly #concurrent: boolean;
  // Per payload field: last primitive raw value and its parsed value (skips zod when unchanged).
  readonly #dynamicMemo: Array<{ raw: unknown; value: unknown } | undefined>;

  constructor(fields: Readonly<Record<string, ConfigField<unknown>>>, options: DefinitionOptions) {
    this.options = options;
    this.#logger = options.logger ?? console;
    this.#concurrent = Number(readEnv(MAX_CONCURRENCY_ENV)) > 1;
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
        sensitive: isSensitiveField(field),
      };
    });
    this.#hasDynamic = this.plan.some((p) => p.dynamicSources.length > 0);
    this.#shape = new ConfigShape(this.plan.filter((p) => p.sensitive).map((p) => p.key));
    // Objects that get more than a dozen properties by keyed stores turn into slow dictionaries;
    // JSON.parse builds a fast-mode object, and clones of it stay fast.
    this.#keys = JSON.parse(JSON.stringify(Object.fromEntries(this.plan.map((p) => [p.key, null])))) as Record<
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
      return snapshot.promise ?? this.#forScope(snapshot, currentScope());
    }
    const scope = this.#hasDynamic ? currentScope() : undefined;
    return this.#refresh().then((resolved) => {
      if (resolved.ok) return resolved.snapshot.promise ?? this.#forScope(resolved.snapshot, scope);
      return this.#fail(resolved, scope === undefined ? NO_EVENT : scope.event);
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

  #forScope(snapshot: Snapshot, scope: { readonly event: unknown } | undefined): Promise<object> {
    if (scope === undefined) return (snapshot.outside ??= Promise.resolve(this.#outside(snapshot)));
    let entry = this.#lastResult;
    if (scope !== this.#lastScope) {
      const previous = this.#lastScope;
      if (previous !== undefined && entry !== undefined && mayStillRun(previous, this.#concurrent)) {
        this.#perInvocation.set(previous, entry);
      }
      entry = this.#perInvocation.get(scope);
      this.#lastScope = scope;
    }
    if (entry === undefined || entry.snapshot !== snapshot) {
      entry = { snapshot, result: this.#forEvent(snapshot, scope.event) };
    }
    this.#lastResult = entry;
    return entry.result;
  }

  #forEvent(snapshot: Snapshot, event: unknown): Promise<object> {
    let result: Promise<object>;
    try {
      const values = this.#dynamicSync(snapshot, event);
      result = values === undefined ? this.#dynamicAsync(snapshot, event) : Promise.resolve(values);
    } catch (error) {
      result = Promise.reject(error as Error);
    }
    return result;
  }

  /** A fresh values object: the snapshot's values, fast properties; sealed once filled. */
  #instantiate(snapshot: Snapshot): Record<string, unknown> {
    return { ...snapshot.template };
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
    return this.#shape.seal(out ?? this.#instantiate(snapshot), false);
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
    return this.#shape.seal(out, false);
  }

  // Outside an invocation payload fields are undefined, unless their schema supplies a default.
  #outside(snapshot: Snapshot): object {
    const out = this.#instantiate(snapshot);
    for (const plan of snapshot.dynamic) {
      const fallback = safeParse(plan.field.schema, undefined);
      out[plan.key] = fallback.success ? fallback.data : undefined;
    }
    return this.#shape.seal(out, true);
  }

  async #resolveStatic(previous: Snapshot | undefined): Promise<Resolved> {
    const now = Date.now();
    const run = new Resolution(this, NO_EVENT, previous?.resolutions);
    const result = await run.resolveFields(this.plan, 'static');
    const resolutions = this.plan.map((p) => result.resolutions.get(p.index));
    if (result.issues.length > 0) return { ok: false, issues: result.issues, resolutions };
    const complete = resolutions as FieldResolution[];
    const template: Record<string, unknown> = { ...this.#keys };
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
      const config = this.#shape.seal({ ...template }, true);
      return { ok: true, snapshot: { ...snapshot, promise: Promise.resolve(config) } };
    }
    return { ok: true, snapshot };
  }

  /** @internal */
  get clients(): ConfigClients | undefined {
    return this.options.clients;
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
