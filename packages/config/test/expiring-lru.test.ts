import { describe, expect, it } from 'vitest';
import { ExpiringLru } from '../src/expiring-lru.js';

function withClock(max: number): { lru: ExpiringLru<string, number>; advance(ms: number): void } {
  let now = 1_000;
  return { lru: new ExpiringLru<string, number>(max, () => now), advance: (ms) => void (now += ms) };
}

describe('ExpiringLru', () => {
  it('evicts the least recently written entry past its bound', () => {
    const { lru } = withClock(2);
    lru.set('a', 1, 60_000);
    lru.set('b', 2, 60_000);
    lru.set('c', 3, 60_000);
    expect(lru.get('a')).toBeUndefined();
    expect([lru.get('b'), lru.get('c'), lru.size]).toEqual([2, 3, 2]);
  });

  it('counts a read as a use: the entry read last is kept', () => {
    const { lru } = withClock(2);
    lru.set('a', 1, 60_000);
    lru.set('b', 2, 60_000);
    expect(lru.get('a')).toBe(1);
    lru.set('c', 3, 60_000);
    expect([lru.get('a'), lru.get('b'), lru.get('c')]).toEqual([1, undefined, 3]);
  });

  it('counts a rewrite as a use and as a new TTL', () => {
    const { lru, advance } = withClock(2);
    lru.set('a', 1, 100);
    lru.set('b', 2, 60_000);
    advance(90);
    lru.set('a', 10, 100);
    lru.set('c', 3, 60_000);
    advance(90);
    expect([lru.get('a'), lru.get('b'), lru.get('c')]).toEqual([10, undefined, 3]);
  });

  it('serves an entry up to its TTL and drops it after', () => {
    const { lru, advance } = withClock(10);
    lru.set('a', 1, 100);
    advance(100);
    expect(lru.get('a')).toBe(1);
    advance(1);
    expect(lru.get('a')).toBeUndefined();
    expect(lru.size).toBe(0);
  });

  it('gives each entry its own TTL', () => {
    const { lru, advance } = withClock(10);
    lru.set('short', 1, 10);
    lru.set('long', 2, 1_000);
    advance(500);
    expect([lru.get('short'), lru.get('long')]).toEqual([undefined, 2]);
  });

  it('deletes one entry and clears all', () => {
    const { lru } = withClock(10);
    lru.set('a', 1, 100);
    lru.set('b', 2, 100);
    lru.delete('a');
    lru.delete('missing');
    expect([lru.get('a'), lru.get('b')]).toEqual([undefined, 2]);
    lru.clear();
    expect([lru.get('b'), lru.size]).toEqual([undefined, 0]);
  });

  it('refuses a bound that holds nothing', () => {
    expect(() => new ExpiringLru(0)).toThrow('max must be a positive integer, not 0');
    expect(() => new ExpiringLru(1.5)).toThrow(RangeError);
  });
});
