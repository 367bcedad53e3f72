import { isRotationFailure, isTransient, type FetchFailure } from './aws-errors.js';
import { ExpiringLru } from './expiring-lru.js';
import type { FetchedValue } from './fetched-value.js';

/** Result of fetching one key. */
export type FetchResult =
  | { readonly ok: true; readonly value: FetchedValue }
  | { readonly ok: false; readonly failure: FetchFailure };

/** What a resolution learns about one key. */
export type Outcome =
  | {
      readonly ok: true;
      readonly value: FetchedValue;
      readonly fetchedAt: number;
      /** Until when this outcome may be reused without asking the cache again. */
      readonly validUntil: number;
      /** Served after a failed refresh. */
      readonly stale: boolean;
    }
  | { readonly ok: false; readonly failure: FetchFailure };

/** How one key is cached, in milliseconds. */
export interface CachePolicy {
  readonly ttlMs: number;
  readonly maxStalenessMs: number;
}

/** One key a resolution needs. */
export interface CacheRequest<R> extends CachePolicy {
  /** What the fetcher needs to fetch it. */
  readonly request: R;
  /** Names the value in log lines, e.g. `secretsmanager "prod/db"`; never a value. */
  readonly label: string;
}

/** Fetches many keys at once; returns a result for every key it was given. */
export type BatchFetcher<R> = (requests: ReadonlyMap<string, R>) => Promise<Map<string, FetchResult>>;

/** Where log lines go. */
export interface ConfigLogger {
  warn(message: string): void;
}

interface Entry {
  value: FetchedValue | undefined;
  fetchedAt: number;
  /** Consecutive failed refreshes. */
  failures: number;
  /** No fetch before this time (backoff after a failure). */
  retryAt: number;
  /** Set when there is no value: the transient failure to report until `retryAt`. */
  failure: FetchFailure | undefined;
  /** Last moment a value may be served stale. */
  hardUntil: number;
  /** The cache's epoch when this entry was written: older entries are never fresh. */
  epoch: number;
}

const BACKOFF_BASE_MS = 1_000;
const BACKOFF_MAX_MS = 60_000;
const MAX_ENTRIES = 2_000;

/** Delay before the n-th retry (n >= 1): 1 s, 2 s, 4 s ... capped at 60 s. */
export function backoffMs(failures: number): number {
  return Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, failures - 1));
}

/**
 * Process-wide cache of fetched secrets and plaintexts, keyed by reference (with version id and
 * stage) or by ciphertext digest and context. Concurrent resolutions share one in-flight fetch
 * per key; a failed refresh serves the last good value with exponential backoff until the max
 * staleness, except after `AccessDenied`/`DecryptionFailure`, when the entry is dropped and
 * fetched once again.
 */
export class SourceCache {
  // The entry's TTL enforces the max staleness; freshness is per request (fields may differ).
  readonly #entries = new ExpiringLru<string, Entry>(MAX_ENTRIES);
  readonly #inflight = new Map<string, Promise<Outcome>>();
  #epoch = 0;

  /** Forgets everything (in-flight fetches still settle for their callers). */
  clear(): void {
    this.#entries.clear();
    this.#inflight.clear();
  }

  /**
   * Makes every entry due for a fetch (after a SnapStart restore: what was fetched before the
   * snapshot is not fresh, whatever its age) while keeping the values, so a failed fetch still
   * serves them within their max staleness, as any failed refresh does.
   */
  expire(): void {
    this.#epoch++;
    this.#inflight.clear();
  }

  /**
   * Outcomes for every requested key: from the cache when fresh (or backing off), else from one
   * shared fetch of all the missing keys.
   */
  async resolve<R>(
    requests: ReadonlyMap<string, CacheRequest<R>>,
    fetch: BatchFetcher<R>,
    logger: ConfigLogger,
  ): Promise<Map<string, Outcome>> {
    const now = Date.now();
    const outcomes = new Map<string, Outcome>();
    const joined: Array<Promise<void>> = [];
    const missing = new Map<string, CacheRequest<R>>();

    for (const [key, req] of requests) {
      const cached = this.#lookup(key, req, now);
      if (cached !== undefined) {
        outcomes.set(key, cached);
        continue;
      }
      const pending = this.#inflight.get(key);
      if (pending !== undefined) joined.push(pending.then((o) => void outcomes.set(key, o)));
      else missing.set(key, req);
    }

    if (missing.size > 0) {
      const fetched = this.#fetchShared(missing, fetch, logger);
      for (const [key, promise] of fetched) joined.push(promise.then((o) => void outcomes.set(key, o)));
    }
    await Promise.all(joined);
    return outcomes;
  }

  #lookup(key: string, policy: CachePolicy, now: number): Outcome | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined || entry.epoch !== this.#epoch) return undefined;
    if (entry.value === undefined) {
      return entry.failure !== undefined && now < entry.retryAt ? { ok: false, failure: entry.failure } : undefined;
    }
    const freshUntil = entry.fetchedAt + policy.ttlMs;
    if (now < freshUntil && entry.failures === 0) {
      return { ok: true, value: entry.value, fetchedAt: entry.fetchedAt, validUntil: freshUntil, stale: false };
    }
    if (entry.failures > 0 && now < entry.retryAt && now < entry.hardUntil) {
      return { ok: true, value: entry.value, fetchedAt: entry.fetchedAt, validUntil: entry.retryAt, stale: true };
    }
    return undefined;
  }

  #fetchShared<R>(
    missing: ReadonlyMap<string, CacheRequest<R>>,
    fetch: BatchFetcher<R>,
    logger: ConfigLogger,
  ): Map<string, Promise<Outcome>> {
    const run = this.#fetchAndSettle(missing, fetch, logger);
    const promises = new Map<string, Promise<Outcome>>();
    for (const key of missing.keys()) {
      const promise = run.then((outcomes) => outcomes.get(key) ?? internalFailure());
      promises.set(key, promise);
      this.#inflight.set(key, promise);
      const done = (): void => {
        if (this.#inflight.get(key) === promise) this.#inflight.delete(key);
      };
      // Callers handle the rejection; this branch must not create an unhandled one.
      promise.then(done, done);
    }
    return promises;
  }

  async #fetchAndSettle<R>(
    missing: ReadonlyMap<string, CacheRequest<R>>,
    fetch: BatchFetcher<R>,
    logger: ConfigLogger,
  ): Promise<Map<string, Outcome>> {
    const results = await safeFetch(missing, fetch);

    // A rotation (new key policy, re-encrypted secret) can make the old grant fail: drop what
    // we hold and ask once more instead of masking the failure with a stale value.
    const again = new Map<string, CacheRequest<R>>();
    for (const [key, req] of missing) {
      const result = results.get(key);
      if (result?.ok === false && isRotationFailure(result.failure) && this.#entries.get(key)?.value !== undefined) {
        this.#entries.delete(key);
        again.set(key, req);
        logger.warn(
          `[@custom-runtime/config] ${req.label}: ${result.failure.code} on refresh; dropped the cached value and fetching once again`,
        );
      }
    }
    if (again.size > 0) {
      for (const [key, result] of await safeFetch(again, fetch)) results.set(key, result);
    }

    const now = Date.now();
    const outcomes = new Map<string, Outcome>();
    for (const [key, req] of missing) {
      outcomes.set(key, this.#settle(key, req, results.get(key) ?? { ok: false, failure: INTERNAL }, now, logger));
    }
    return outcomes;
  }

  #settle<R>(key: string, req: CacheRequest<R>, result: FetchResult, now: number, logger: ConfigLogger): Outcome {
    if (result.ok) {
      const hardUntil = now + req.ttlMs + req.maxStalenessMs;
      this.#entries.set(
        key,
        { value: result.value, fetchedAt: now, failures: 0, retryAt: 0, failure: undefined, hardUntil, epoch: this.#epoch },
        Math.max(1, req.ttlMs + req.maxStalenessMs),
      );
      return { ok: true, value: result.value, fetchedAt: now, validUntil: now + req.ttlMs, stale: false };
    }

    const failure = result.failure;
    const entry = this.#entries.get(key);
    if (entry?.value !== undefined && now < entry.hardUntil) {
      entry.failures += 1;
      entry.epoch = this.#epoch;
      const delay = backoffMs(entry.failures);
      entry.retryAt = Math.min(now + delay, entry.hardUntil);
      const age = Math.round((now - entry.fetchedAt) / 1000);
      logger.warn(
        `[@custom-runtime/config] ${req.label}: refresh failed (${failure.message}); serving the value fetched ${age}s ago, next attempt in ${Math.round(delay / 1000)}s`,
      );
      return { ok: true, value: entry.value, fetchedAt: entry.fetchedAt, validUntil: entry.retryAt, stale: true };
    }

    if (isTransient(failure)) {
      // Without a value to serve, still keep callers from hammering a throttled service.
      const failures = (entry?.failures ?? 0) + 1;
      const delay = backoffMs(failures);
      this.#entries.set(
        key,
        { value: undefined, fetchedAt: 0, failures, retryAt: now + delay, failure, hardUntil: 0, epoch: this.#epoch },
        // Kept past retryAt, so the next failure doubles the delay instead of starting over at 1 s.
        delay + BACKOFF_MAX_MS,
      );
    } else {
      this.#entries.delete(key);
    }
    return { ok: false, failure };
  }
}

const INTERNAL: FetchFailure = { kind: 'unavailable', code: 'InternalError', message: 'no result for this key' };

function internalFailure(): Outcome {
  return { ok: false, failure: INTERNAL };
}

async function safeFetch<R>(
  requests: ReadonlyMap<string, CacheRequest<R>>,
  fetch: BatchFetcher<R>,
): Promise<Map<string, FetchResult>> {
  const plain = new Map<string, R>();
  for (const [key, req] of requests) plain.set(key, req.request);
  try {
    return await fetch(plain);
  } catch (error) {
    // Fetchers map SDK errors themselves; anything escaping is a bug, reported per key.
    const code = error instanceof Error ? error.name : 'Error';
    const failure: FetchFailure = { kind: 'unavailable', code, message: `fetch failed (${code})` };
    return new Map([...requests.keys()].map((k) => [k, { ok: false, failure }]));
  }
}

/** The process-wide cache. */
export const sourceCache = new SourceCache();
