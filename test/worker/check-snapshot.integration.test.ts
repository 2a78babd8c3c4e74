/**
 * Pruned snapshots and snapshot elision through the real Worker (docs/protocol.md §2, §4): releases published
 * and promoted through the admin API are signed into a snapshot of the live ones only, the check
 * decides the same as over the whole history, and a client that names the snapshot it holds gets an
 * answer without it, which the SDK verifies against its own copy.
 */
import { env, exports } from 'cloudflare:workers';
import { describe, expect, it, vi } from 'vitest';
import { MemoryStorage } from '../../src/client/memory-storage.ts';
import type { CheckResponse, ElidedCheckResponse } from '../../src/protocol/api.ts';
import { sha256Hex } from '../../src/protocol/encoding.ts';
import { clearStateCache } from '../../src/worker/storage/state-cache.ts';
import {
  admin,
  bootstrapKeys,
  createApp,
  projected,
  promote,
  publish,
  signYank,
} from './support/fixtures.ts';
import { errorOf, fetchWorker, release, seedApp, seedChannel, uniqueApp } from './support/seed-projection.ts';
import { workerUpdater } from './support/updater.ts';

const checkPath = (app: string, params: Record<string, string>) =>
  `/v1/apps/${app}/check?${new URLSearchParams({ client_id: 'client-1', version: '1.0.0', platform: 'linux', arch: 'x64', ...params })}`;

async function check<T = CheckResponse>(app: string, params: Record<string, string>) {
  const response = await fetchWorker(checkPath(app, params));
  const text = await response.text();
  return { response, bytes: new TextEncoder().encode(text).byteLength, body: JSON.parse(text) as T };
}

describe('pruned snapshots, projected from D1', () => {
  it('list the live releases only, keep a skipped mandatory release forcing, and fall back when the top one is halted', {
    timeout: 30_000,
  }, async () => {
    const app = await createApp();
    const versions = ['1.1.0', '1.2.0', '1.3.0', '1.4.0', '1.5.0'];
    for (const version of versions) {
      await publish(app, version, { mandatory: version === '1.2.0' });
      expect((await promote(app, 'stable', version)).status).toBe(200);
    }
    const kv = await projected(app, 'stable');
    expect(kv?.payload.releases).toEqual([
      expect.objectContaining({ version: '1.5.0', mandatory_floor: '1.2.0' }),
    ]);
    expect(Object.keys(kv?.releases ?? {})).toEqual(['1.5.0']);
    expect(kv?.history).toEqual(['1.5.0', '1.4.0', '1.3.0', '1.2.0', '1.1.0']);

    // The mandatory 1.2.0 is not listed, and still forces clients below it.
    expect((await check(app, { version: '1.1.0' })).body).toMatchObject({
      version: '1.5.0',
      mandatory: true,
    });
    expect((await check(app, { version: '1.2.0' })).body).toMatchObject({
      version: '1.5.0',
      mandatory: false,
    });

    // Halting the top release brings the one below it back into the snapshot: nobody is stranded.
    const halt = await admin(`/apps/${app}/channels/stable/rollouts/1.5.0/halt`, {
      method: 'POST',
      body: { reason: 'crash' },
    });
    expect(halt.status).toBe(200);
    clearStateCache();
    const after = await projected(app, 'stable');
    expect(after?.payload.releases.map((r) => r.version)).toEqual(['1.4.0']);
    expect((await check(app, { version: '1.1.0' })).body).toMatchObject({
      version: '1.4.0',
      mandatory: true,
    });
  });
});

describe('GET /v1/apps/{app}/check?snapshot=', () => {
  /** A channel of 200 releases at 100 %, as a Worker with an unpruned history would serve it. */
  async function longChannel() {
    const app = uniqueApp('elide');
    await seedApp(app);
    const releases = Array.from({ length: 200 }, (_, i) => ({ release: release(app, `1.${i}.0`) }));
    const projection = await seedChannel({ app, releases });
    return { app, projection, sha: await sha256Hex(projection.snapshot) };
  }

  it('leaves out the snapshot the client holds: an up-to-date answer is well under 1 KiB', async () => {
    const { app, projection, sha } = await longChannel();
    const full = await check(app, { version: '1.199.0' });
    expect(full.bytes).toBeGreaterThan(50_000);
    const elided = await check<ElidedCheckResponse>(app, { version: '1.199.0', snapshot: sha });
    expect(elided.response.status).toBe(200);
    expect(elided.body).toEqual({
      status: 'none',
      channel: 'stable',
      yanked: false,
      signed: { snapshot_sha256: sha },
    });
    expect(elided.bytes).toBeLessThan(300);

    // An update keeps its release document, and only the snapshot goes.
    const update = await check<ElidedCheckResponse>(app, { version: '1.0.0', snapshot: sha });
    expect(update.body.signed).toEqual({ snapshot_sha256: sha, release: projection.releases['1.199.0'] });

    // Any other hash (an older snapshot) gets the whole answer.
    const stale = await check(app, { version: '1.199.0', snapshot: 'a'.repeat(64) });
    expect(stale.body.signed.snapshot).toBe(projection.snapshot);
  });

  it('gives the elided and the whole answer different ETags, each answering its own If-None-Match', async () => {
    const { app, sha } = await longChannel();
    const full = await check(app, { version: '1.199.0' });
    const elided = await check(app, { version: '1.199.0', snapshot: sha });
    const [fullTag, elidedTag] = [full.response.headers.get('ETag'), elided.response.headers.get('ETag')];
    expect(elidedTag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(elidedTag).not.toBe(fullTag);
    const ask = (params: Record<string, string>, tag: string | null) =>
      fetchWorker(checkPath(app, { version: '1.199.0', ...params }), {
        headers: { 'If-None-Match': tag ?? '' },
      });
    expect((await ask({ snapshot: sha }, elidedTag)).status).toBe(304);
    expect((await ask({}, fullTag)).status).toBe(304);
    // A tag of the other body must not stand for this one.
    const crossed = await ask({ snapshot: sha }, fullTag);
    expect(crossed.status).toBe(200);
    expect(((await crossed.json()) as ElidedCheckResponse).signed.snapshot_sha256).toBe(sha);
    expect((await ask({}, elidedTag)).status).toBe(200);
  });

  it.each([
    ['not hex', 'xyz'],
    ['short', 'a'.repeat(63)],
    ['upper case', 'A'.repeat(64)],
  ])('answers 400 invalid_query naming snapshot when it is %s', async (_, value) => {
    const { app } = await longChannel();
    const response = await fetchWorker(checkPath(app, { snapshot: value }));
    expect(response.status).toBe(400);
    const error = await errorOf(response);
    expect(error.code).toBe('invalid_query');
    expect(error.message).toMatch(/^snapshot: /);
  });

  it('answers 400 when snapshot is given twice', async () => {
    const { app, sha } = await longChannel();
    const response = await fetchWorker(`${checkPath(app, { snapshot: sha })}&snapshot=${sha}`);
    expect(response.status).toBe(400);
    expect((await errorOf(response)).message).toMatch(/^snapshot: /);
  });
});

describe('what only the Worker reads of the history', () => {
  it('an updater checking from a release the snapshot no longer lists still counts as an install of it', {
    timeout: 30_000,
  }, async () => {
    const app = await createApp();
    for (const version of ['1.1.0', '1.2.0']) {
      await publish(app, version);
      expect((await promote(app, 'stable', version)).status).toBe(200);
    }
    expect((await projected(app, 'stable'))?.payload.releases.map((r) => r.version)).toEqual(['1.2.0']);
    clearStateCache();
    const poll = await fetchWorker(`/v1/apps/${app}/electron/stable/latest-linux.yml`, {
      headers: { 'x-user-staging-id': 'desk-1', 'x-updraft-version': '1.1.0' },
    });
    expect(poll.status).toBe(200);
    await poll.text();
    const installs = () =>
      env.DB.prepare(
        `SELECT count(*) AS n FROM events WHERE app = ?1 AND type = 'install_succeeded' AND to_version = '1.1.0'`,
      )
        .bind(app)
        .first<{ n: number }>()
        .then((row) => row?.n ?? 0);
    await vi.waitFor(async () => expect(await installs()).toBe(1), { timeout: 20_000, interval: 250 });
  });
});

describe('the SDK on a pruned snapshot, against the Worker', () => {
  it('is forced across a mandatory release the snapshot left out, and rolls back to a release it does not list', {
    timeout: 30_000,
  }, async () => {
    const app = await createApp();
    for (const version of ['1.1.0', '1.2.0', '1.3.0', '1.4.0', '1.5.0']) {
      await publish(app, version, { mandatory: version === '1.2.0' });
      expect((await promote(app, 'stable', version)).status).toBe(200);
    }
    const keys = await bootstrapKeys();
    const sdk = (currentVersion: string) => workerUpdater(keys, app, currentVersion);
    expect(await sdk('1.1.0').check()).toMatchObject({ status: 'update', version: '1.5.0', mandatory: true });
    expect(await sdk('1.3.0').check()).toMatchObject({
      status: 'update',
      version: '1.5.0',
      mandatory: false,
    });

    // 1.5.0 is yanked back to 1.3.0, which the snapshot no longer lists: the signed yank authorises it.
    const yank = await signYank(app, '1.5.0', '1.3.0');
    expect((await admin(`/apps/${app}/yanks`, { method: 'POST', body: { yank } })).status).toBe(201);
    clearStateCache();
    expect((await projected(app, 'stable'))?.payload.releases.map((r) => r.version)).toEqual(['1.4.0']);
    expect(await sdk('1.5.0').check()).toMatchObject({
      status: 'rollback',
      version: '1.3.0',
      mandatory: true,
    });
  });
});

describe('the SDK with snapshot elision, against the Worker', () => {
  it('sends the hash of its snapshot from the second check on and verifies the short answer against its copy', {
    timeout: 30_000,
  }, async () => {
    const app = await createApp();
    await publish(app, '1.1.0');
    expect((await promote(app, 'stable', '1.1.0')).status).toBe(200);
    const keys = await bootstrapKeys();
    const sizes: number[] = [];
    const requests: string[] = [];
    const storage = new MemoryStorage();
    const client = workerUpdater(keys, app, '1.1.0', {
      storage,
      fetch: async (input, init) => {
        const request = new Request(input, init);
        const response = await exports.default.fetch(request);
        if (request.url.includes('/check?')) {
          requests.push(request.url);
          sizes.push((await response.clone().arrayBuffer()).byteLength);
        }
        return response;
      },
    });
    expect(await client.check()).toMatchObject({ status: 'none' });
    expect(await client.check()).toMatchObject({ status: 'none' });
    const sha = await sha256Hex((await projected(app, 'stable'))?.snapshot ?? '');
    expect(new URL(requests[0] ?? '').searchParams.has('snapshot')).toBe(false);
    expect(new URL(requests[1] ?? '').searchParams.get('snapshot')).toBe(sha);
    expect(sizes[1]).toBeLessThan(1024);
    expect(sizes[1]).toBeLessThan(sizes[0] ?? 0);
  });
});

describe('the isolate that makes a change', () => {
  it('answers the next check from the new projection, not from its cached copy', async () => {
    expect(env.STATE_CACHE_TTL_MS).not.toBe('0');
    const app = await createApp();
    await publish(app, '1.1.0');
    expect((await promote(app, 'stable', '1.1.0')).status).toBe(200);
    expect((await check(app, {})).body).toMatchObject({ status: 'update', version: '1.1.0' });

    // Within the cache's TTL: a promotion made through this isolate (as every request is under
    // `wrangler dev`) is what its next check answers, and so is a halt.
    await publish(app, '1.2.0');
    expect((await promote(app, 'stable', '1.2.0')).status).toBe(200);
    expect((await check(app, {})).body).toMatchObject({ status: 'update', version: '1.2.0' });
    const halted = await admin(`/apps/${app}/channels/stable/rollouts/1.2.0/halt`, {
      method: 'POST',
      body: { reason: 'crash on start' },
    });
    expect(halted.status, JSON.stringify(halted.body)).toBe(200);
    expect((await check(app, {})).body).toMatchObject({ status: 'update', version: '1.1.0' });
  });
});
