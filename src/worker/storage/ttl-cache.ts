/**
 * A cache in the isolate's memory whose values expire: the data plane keeps the KV projection it
 * parsed in three of them (state-cache.ts), so that a warm isolate answers checks with no KV read.
 */

export interface TtlCacheOptions {
  ttlMs: number;
  maxEntries: number;
  /** Clock in milliseconds; injectable for tests. */
  now?: () => number;
}

interface Entry<T> {
  expiresAt: number;
  value: Promise<T>;
}

/**
 * Values live `ttlMs`; concurrent misses for one key share one load; a failed load is not kept; the
 * number of keys is bounded so that requests for random names cannot grow memory without limit.
 */
export class TtlCache<T> {
  readonly #entries = new Map<string, Entry<T>>();
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;

  constructor(options: TtlCacheOptions) {
    this.#ttlMs = options.ttlMs;
    this.#maxEntries = options.maxEntries;
    this.#now = options.now ?? Date.now;
  }

  /** The value of `key`, loaded when absent or expired; `ttlMs` (default the cache's) of 0 or less bypasses the cache. */
  get(key: string, load: () => Promise<T>, ttlMs = this.#ttlMs): Promise<T> {
    if (ttlMs <= 0) return load();
    const now = this.#now();
    const hit = this.#entries.get(key);
    if (hit && hit.expiresAt > now) return hit.value;

    const entry: Entry<T> = { expiresAt: now + ttlMs, value: load() };
    // Delete then set keeps the Map ordered oldest-first, so eviction drops the stalest keys.
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    this.#evict(now);
    entry.value.catch(() => {
      if (this.#entries.get(key) === entry) this.#entries.delete(key);
    });
    return entry.value;
  }

  /** Drops `key`, so the next get loads it again. */
  delete(key: string): void {
    this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }

  #evict(now: number): void {
    if (this.#entries.size <= this.#maxEntries) return;
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt <= now) this.#entries.delete(key);
    }
    for (const key of this.#entries.keys()) {
      if (this.#entries.size <= this.#maxEntries) break;
      this.#entries.delete(key);
    }
  }
}
