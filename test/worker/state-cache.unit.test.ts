import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { appKey } from '../../src/worker/storage/projection.ts';
import {
  clearStateCache,
  loadApp,
  loadChannel,
  STATE_TTL_MS,
  stateTtlMs,
  TtlCache,
} from '../../src/worker/storage/state-cache.ts';
import { release, seedApp, seedChannel, uniqueApp, yank } from './seed-projection.ts';

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

describe('stateTtlMs', () => {
  it('reads STATE_CACHE_TTL_MS: whole milliseconds up to 60 s, 0 turning the cache off', () => {
    expect(stateTtlMs({ STATE_CACHE_TTL_MS: '0' })).toBe(0);
    expect(stateTtlMs({ STATE_CACHE_TTL_MS: '250' })).toBe(250);
    expect(stateTtlMs({ STATE_CACHE_TTL_MS: '60000' })).toBe(60_000);
  });

  it('falls back to 5 s when the var is unset or not a valid TTL', () => {
    expect(STATE_TTL_MS).toBe(5000);
    for (const value of [undefined, '', '-1', '1.5', 'off', '60001', '1e3']) {
      expect(stateTtlMs({ STATE_CACHE_TTL_MS: value })).toBe(STATE_TTL_MS);
    }
  });
});

describe('loadApp and loadChannel', () => {
  it('answer null for what KV does not hold', async () => {
    clearStateCache();
    const app = uniqueApp('absent');
    expect(await loadApp(env.STATE, app)).toBeNull();
    expect(await loadChannel(env.STATE, app, 'stable')).toBeNull();
  });

  it('serve the parsed projection from memory until the cache is cleared', async () => {
    const app = uniqueApp('cached');
    const config = await seedApp(app);
    expect(await loadApp(env.STATE, app)).toEqual(config);

    await env.STATE.put(appKey(app), JSON.stringify({ ...config, default_channel: 'beta' }));
    expect((await loadApp(env.STATE, app))?.default_channel).toBe('stable');
    clearStateCache();
    expect((await loadApp(env.STATE, app))?.default_channel).toBe('beta');
  });

  it('read KV once per key however many requests arrive together', async () => {
    const app = uniqueApp('coalesced');
    await seedApp(app);
    let reads = 0;
    // The real binding, counted: a warm isolate must not touch KV at all.
    const counted = {
      get: (key: string, type: 'json') => {
        reads += 1;
        return env.STATE.get(key, type);
      },
    } as unknown as KVNamespace;
    const configs = await Promise.all(Array.from({ length: 50 }, () => loadApp(counted, app)));
    expect(new Set(configs).size).toBe(1);
    expect(await loadApp(counted, app)).toBe(configs[0]);
    expect(reads).toBe(1);
  });

  it('read KV on every call when the TTL is 0', async () => {
    const app = uniqueApp('uncached');
    const config = await seedApp(app);
    expect(await loadApp(env.STATE, app, 0)).toEqual(config);
    await env.STATE.put(appKey(app), JSON.stringify({ ...config, default_channel: 'beta' }));
    expect((await loadApp(env.STATE, app, 0))?.default_channel).toBe('beta');
  });

  it('decode the snapshot, releases and yanks once, indexed by version', async () => {
    const app = uniqueApp('decoded');
    const projection = await seedChannel({
      app,
      releases: [{ release: release(app, '1.0.0') }, { release: release(app, '1.1.0') }],
      yanks: [yank(app, '1.1.0', '1.0.0')],
    });
    const state = await loadChannel(env.STATE, app, 'stable');
    if (!state?.verified) throw new Error(`the seeded channel does not verify: ${JSON.stringify(state)}`);
    expect(state.snapshotJws).toBe(projection.snapshot);
    expect(state.snapshot.releases.map((r) => r.version)).toEqual(['1.0.0', '1.1.0']);
    expect(state.releases.get('1.1.0')?.version).toBe('1.1.0');
    expect(state.releaseJws.get('1.0.0')).toBe(projection.releases['1.0.0']);
    expect(state.yanks.get('1.1.0')?.rollback_to).toBe('1.0.0');
    expect(state.yankJws.get('1.1.0')).toBe(projection.yanks['1.1.0']);
    expect(await loadChannel(env.STATE, app, 'stable')).toBe(state);
  });
});
