import { describe, expect, it } from 'vitest';
import { TtlCache } from '../../src/worker/storage/ttl-cache.ts';

function clock() {
  let now = 1_000_000;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('TtlCache', () => {
  it('serves a value for ttlMs, then loads it again', async () => {
    const time = clock();
    const cache = new TtlCache<number>({ ttlMs: 5000, maxEntries: 10, now: time.now });
    let loads = 0;
    const load = async () => ++loads;
    expect(await cache.get('k', load)).toBe(1);
    time.advance(4999);
    expect(await cache.get('k', load)).toBe(1);
    time.advance(1);
    expect(await cache.get('k', load)).toBe(2);
  });

  it('shares one load among concurrent misses', async () => {
    const cache = new TtlCache<string>({ ttlMs: 5000, maxEntries: 10 });
    let loads = 0;
    let release = (_: string) => {};
    const load = () => {
      loads += 1;
      return new Promise<string>((resolve) => {
        release = resolve;
      });
    };
    const all = Promise.all([cache.get('k', load), cache.get('k', load), cache.get('k', load)]);
    release('value');
    expect(await all).toEqual(['value', 'value', 'value']);
    expect(loads).toBe(1);
  });

  it('does not keep a failed load', async () => {
    const cache = new TtlCache<string>({ ttlMs: 5000, maxEntries: 10 });
    await expect(cache.get('k', () => Promise.reject(new Error('KV down')))).rejects.toThrow('KV down');
    expect(await cache.get('k', async () => 'recovered')).toBe('recovered');
  });

  it('loads every time, and keeps nothing, when the TTL of a call is 0', async () => {
    const cache = new TtlCache<number>({ ttlMs: 5000, maxEntries: 10 });
    let loads = 0;
    const load = async () => ++loads;
    expect(await cache.get('k', load, 0)).toBe(1);
    expect(await cache.get('k', load, 0)).toBe(2);
    expect(cache.size).toBe(0);
    expect(await cache.get('k', load)).toBe(3);
    expect(await cache.get('k', load)).toBe(3);
  });

  it('keeps at most maxEntries keys, dropping the oldest', async () => {
    const cache = new TtlCache<string>({ ttlMs: 5000, maxEntries: 3 });
    for (const key of ['a', 'b', 'c', 'd']) await cache.get(key, async () => key);
    expect(cache.size).toBe(3);
    expect(await cache.get('a', async () => 'reloaded')).toBe('reloaded');
    expect(await cache.get('d', async () => 'reloaded')).toBe('d');
  });
});
