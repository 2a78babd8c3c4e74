import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { appKey } from '../../src/worker/storage/projection.ts';
import { clearStateCache, loadApp, loadChannel } from '../../src/worker/storage/state-cache.ts';
import { release, seedApp, seedChannel, uniqueApp, yank } from './support/seed-projection.ts';

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
