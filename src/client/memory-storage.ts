/** A `StorageAdapter` that keeps everything in memory: for tests, and for browsers that persist elsewhere. */
import type { StorageAdapter } from './types.ts';

/**
 * Nothing survives a restart: the next run is a first run (a new client ID unless one is given,
 * the keys chain walked again from the pinned roots, replay protection from scratch, queued
 * telemetry lost). Use `FileStorage` in Node and Electron, or an adapter over localStorage/IndexedDB.
 */
export class MemoryStorage implements StorageAdapter {
  readonly #values = new Map<string, string>();

  /** Optionally starts with `initial` values (tests seed a trust state this way). */
  constructor(initial?: Record<string, string>) {
    for (const [key, value] of Object.entries(initial ?? {})) this.#values.set(key, value);
  }

  async get(key: string): Promise<string | null> {
    return this.#values.get(key) ?? null;
  }

  async set(key: string, value: string): Promise<void> {
    this.#values.set(key, value);
  }

  async delete(key: string): Promise<void> {
    this.#values.delete(key);
  }

  /** A copy of everything stored, for inspection in tests. */
  snapshot(): Record<string, string> {
    return Object.fromEntries(this.#values);
  }
}
