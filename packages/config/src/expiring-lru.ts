/**
 * A bounded map whose entries expire: the store under the process-wide cache (cache.ts). It
 * replaced `lru-cache`, whose module probes the global `performance` when it loads, and on Node
 * 20 and 22 that probe loads perf_hooks and nine internal modules: with its own 18 KiB to compile,
 * about 1.5 ms of every cold start, for what a Map in insertion order does here.
 */

interface Slot<V> {
  readonly value: V;
  readonly expiresAt: number;
}

/** At most `max` entries; the least recently read or written goes first. */
export class ExpiringLru<K, V> {
  readonly #slots = new Map<K, Slot<V>>();
  readonly #max: number;
  readonly #now: () => number;

  /** `now`: the clock of the TTLs, in milliseconds; read through `Date` at each call, so a faked Date counts. */
  constructor(max: number, now: () => number = () => Date.now()) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`max must be a positive integer, not ${max}`);
    this.#max = max;
    this.#now = now;
  }

  /** How many entries it holds, expired ones not yet read included. */
  get size(): number {
    return this.#slots.size;
  }

  /** The value, unless it has expired (it is then dropped); a read makes it the most recent. */
  get(key: K): V | undefined {
    const slot = this.#slots.get(key);
    if (slot === undefined) return undefined;
    this.#slots.delete(key);
    if (this.#now() > slot.expiresAt) return undefined;
    this.#slots.set(key, slot);
    return slot.value;
  }

  /** Stores `value` for `ttlMs` from now, as the most recent entry, evicting the least recent. */
  set(key: K, value: V, ttlMs: number): void {
    this.#slots.delete(key);
    this.#slots.set(key, { value, expiresAt: this.#now() + ttlMs });
    if (this.#slots.size > this.#max) this.#slots.delete(this.#slots.keys().next().value as K);
  }

  /** Drops `key`, if it is there. */
  delete(key: K): void {
    this.#slots.delete(key);
  }

  /** Drops every entry. */
  clear(): void {
    this.#slots.clear();
  }
}
