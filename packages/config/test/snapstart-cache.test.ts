/**
 * SourceCache.expire(), what a SnapStart restore does to the cache: nothing fetched before is
 * fresh any more, whatever its age, yet a failed fetch still serves it within its max staleness.
 */
import { describe, expect, it } from 'vitest';
import { SourceCache, type BatchFetcher, type CacheRequest, type FetchResult } from '../src/cache.js';
import { FetchedValue } from '../src/fetched-value.js';
import { captureLogger } from './helpers.js';

const request: CacheRequest<string> = { request: 'r', label: 'secretsmanager "k"', ttlMs: 300_000, maxStalenessMs: 900_000 };

function fetcher(answers: FetchResult[]): BatchFetcher<string> & { readonly count: () => number } {
  let count = 0;
  const fetch = async (requests: ReadonlyMap<string, string>) => {
    const answer = answers[Math.min(count++, answers.length - 1)] as FetchResult;
    return new Map([...requests.keys()].map((key) => [key, answer] as const));
  };
  return Object.assign(fetch, { count: () => count });
}

const value = (text: string): FetchResult => ({ ok: true, value: new FetchedValue(text, undefined) });
const failure: FetchResult = { ok: false, failure: { kind: 'unavailable', code: 'InternalServiceError', message: 'service error (InternalServiceError)' } };

describe('SourceCache.expire', () => {
  it('makes a value within its TTL due for a fetch', async () => {
    const cache = new SourceCache();
    const logger = captureLogger();
    const fetch = fetcher([value('v1'), value('v2')]);
    const requests = new Map([['k', request]]);
    expect((await cache.resolve(requests, fetch, logger)).get('k')).toMatchObject({ ok: true, stale: false });
    await cache.resolve(requests, fetch, logger);
    expect(fetch.count()).toBe(1);
    cache.expire();
    const after = (await cache.resolve(requests, fetch, logger)).get('k');
    expect(fetch.count()).toBe(2);
    expect(after?.ok && after.value.text()).toBe('v2');
    await cache.resolve(requests, fetch, logger);
    expect(fetch.count()).toBe(2);
  });

  it('still serves the value from before when the fetch fails, and logs it', async () => {
    const cache = new SourceCache();
    const logger = captureLogger();
    const fetch = fetcher([value('v1'), failure]);
    const requests = new Map([['k', request]]);
    await cache.resolve(requests, fetch, logger);
    cache.expire();
    const after = (await cache.resolve(requests, fetch, logger)).get('k');
    expect(after).toMatchObject({ ok: true, stale: true });
    expect(after?.ok && after.value.text()).toBe('v1');
    expect(logger.lines.join('\n')).toMatch(/secretsmanager "k": refresh failed \(service error \(InternalServiceError\)\); serving the value fetched 0s ago/);
  });
});
