/**
 * Fault: KV holds a channel projection that does not verify (docs/hardening.md). KV is a projection
 * anyone with storage access could write; the Worker must refuse to serve what it cannot verify,
 * answer `none` with nothing signed, say so in /healthz, and serve again once D1 re-projects it.
 * Faults are injected honestly: the real KV value is overwritten, then repaired the documented way.
 */
import { env } from 'cloudflare:workers';
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from 'vitest';
import type { ChannelPayload } from '../../src/protocol/documents.ts';
import { generateKeyPair } from '../../src/protocol/keys.ts';
import { runScheduled } from '../../src/worker/scheduler/scheduled.ts';
import { type ChannelProjection, channelKey, KEYS_KEY } from '../../src/worker/storage/projection.ts';
import { clearRefusals } from '../../src/worker/storage/refusals.ts';
import { clearStateCache, loadChannel, loadKeys } from '../../src/worker/storage/state-cache.ts';
import {
  expectRefusal,
  flipPayloadByte,
  payloadOf,
  resignSnapshot,
  signSnapshot,
  tamperPayload,
  victim,
} from '../security/attacker.ts';
import {
  admin,
  bootstrapKeys,
  call,
  createApp,
  keysDocument,
  promote,
  publish,
  signYank,
  uniqueApp,
} from './support/fixtures.ts';

interface HealthBody {
  ok: boolean;
  checks: Record<string, string>;
  unverified?: { app: string; channel: string }[];
}

const REFUSED = { status: 'none', channel: 'stable', yanked: false, signed: {} };

async function checkOf(app: string) {
  const response = await call(`/v1/apps/${app}/check?client_id=c-1&version=1.0.0&platform=linux&arch=x64`, {
    token: null,
  });
  return {
    status: response.status,
    cacheControl: response.headers.get('Cache-Control'),
    body: await response.json<Record<string, unknown>>(),
  };
}

async function healthz(): Promise<{ status: number; body: HealthBody }> {
  const response = await call('/healthz', { token: null });
  return { status: response.status, body: await response.json<HealthBody>() };
}

/** An app on `stable` with 1.0.0, 1.0.1 (yanked back to 1.0.0) and 1.1.0: a client on 1.0.0 gets 1.1.0. */
async function genuineApp(): Promise<{ app: string; value: string; projection: ChannelProjection }> {
  const app = await createApp(uniqueApp('fault'));
  for (const version of ['1.0.0', '1.0.1', '1.1.0']) {
    await publish(app, version);
    expect((await promote(app, 'stable', version)).status).toBe(200);
  }
  const yank = await admin(`/apps/${app}/yanks`, {
    method: 'POST',
    body: { yank: await signYank(app, '1.0.1', '1.0.0') },
  });
  expect(yank.status).toBe(201);
  const value = await env.STATE.get(channelKey(app, 'stable'));
  if (value === null) throw new Error('the channel was not projected');
  clearStateCache();
  expect((await checkOf(app)).body).toMatchObject({ status: 'update', version: '1.1.0' });
  return { app, value, projection: JSON.parse(value) };
}

async function overwrite(app: string, value: string): Promise<void> {
  await env.STATE.put(channelKey(app, 'stable'), value);
  clearStateCache();
}

const withSnapshot = (projection: ChannelProjection, snapshot: string) =>
  JSON.stringify({ ...projection, snapshot });
const withReleases = (projection: ChannelProjection, releases: Record<string, string>) =>
  JSON.stringify({ ...projection, releases });

/** Each way a projection can fail to verify: the value written over the genuine one. */
const TAMPERINGS: [string, (app: string, projection: ChannelProjection) => Promise<string>][] = [
  [
    'a snapshot edited after signing (claims a higher revision; the signature no longer matches)',
    async (_, p) =>
      withSnapshot(
        p,
        tamperPayload('channel', p.snapshot, (s) => ({ ...s, revision: s.revision + 1000 })),
      ),
  ],
  [
    'a snapshot signed by a key that keys:current does not list',
    async (_, p) =>
      withSnapshot(p, await resignSnapshot(p.snapshot, (s) => s, (await generateKeyPair()).privateJwk)),
  ],
  [
    'an expired snapshot, genuinely signed with the online key',
    async (_, p) => {
      const dayMs = 24 * 3600 * 1000;
      const issued = new Date(Math.floor((Date.now() - 8 * dayMs) / 1000) * 1000);
      const payload: ChannelPayload = {
        ...payloadOf('channel', p.snapshot),
        issued_at: issued.toISOString().replace('.000Z', 'Z'),
        expires: new Date(issued.getTime() + 7 * dayMs).toISOString().replace('.000Z', 'Z'),
      };
      return withSnapshot(p, await signSnapshot(payload));
    },
  ],
  ["the genuine snapshot of another app's channel", async () => (await genuineApp()).value],
  [
    "a release manifest that does not hash to the snapshot's release_sha256",
    async (_, p) => withReleases(p, { ...p.releases, '1.1.0': flipPayloadByte(p.releases['1.1.0'] ?? '') }),
  ],
  [
    'a listed release whose manifest is missing',
    async (_, p) => {
      const { '1.1.0': _dropped, ...rest } = p.releases;
      return withReleases(p, rest);
    },
  ],
  [
    'a release manifest the snapshot does not reference',
    async (_, p) => withReleases(p, { ...p.releases, '0.9.0': p.releases['1.0.0'] ?? '' }),
  ],
  [
    'a yank statement swapped for another validly signed one',
    async (app, p) =>
      JSON.stringify({ ...p, yanks: { '1.0.1': await signYank(app, '1.0.1', '1.0.0', 'another reason') } }),
  ],
  ['a value that is not JSON', async () => '{"snapshot": '],
];

let logged: { error: MockInstance<typeof console.error>; warn: MockInstance<typeof console.warn> };

beforeEach(() => {
  logged = {
    error: vi.spyOn(console, 'error').mockImplementation(() => {}),
    warn: vi.spyOn(console, 'warn').mockImplementation(() => {}),
  };
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('a channel projection that does not verify', () => {
  it.each(TAMPERINGS)(
    '%s: check answers none with nothing signed, /healthz names it, and re-projecting from D1 repairs it',
    async (_, tamper) => {
      const { app, projection } = await genuineApp();
      expect((await healthz()).status).toBe(200);

      await overwrite(app, await tamper(app, projection));
      const refused = await checkOf(app);
      expect(refused).toEqual({ status: 200, cacheControl: 'no-store', body: REFUSED });
      // The SDK can verify nothing in that answer and acts on nothing.
      await expectRefusal((await victim({ app, currentVersion: '1.0.0' })).check(), 'unverifiable');
      expect(logged.error).toHaveBeenCalledWith(
        expect.stringContaining(`state: refusing to serve channel ${app}/stable:`),
      );

      const health = await healthz();
      expect(health.status).toBe(503);
      expect(health.body).toEqual({
        ok: false,
        checks: { kv: 'ok', r2: 'ok', d1: 'ok', online_key: 'ok', projection: 'fail' },
        unverified: [{ app, channel: 'stable' }],
      });

      // The repair of docs/hardening.md: mark the channel unprojected; the scheduler re-projects it
      // from D1 (a tampered value claiming a higher revision does not hold it back).
      await env.DB.prepare('UPDATE channels SET projected_revision = 0 WHERE app = ?1').bind(app).run();
      await runScheduled(env, new Date());
      clearStateCache();
      expect((await checkOf(app)).body).toMatchObject({ status: 'update', version: '1.1.0' });
      expect(await healthz()).toMatchObject({ status: 200, body: { ok: true } });
      expect(logged.warn).toHaveBeenCalledWith(`state: channel ${app}/stable verifies again; serving it`);
    },
  );

  it('is read and verified once per cache fill, refused or not, however many checks arrive', async () => {
    const { app, projection } = await genuineApp();
    const reads: string[] = [];
    const counted = {
      get: (key: string, type: 'text') => {
        reads.push(key);
        return env.STATE.get(key, type);
      },
    } as unknown as KVNamespace;

    clearStateCache();
    const states = await Promise.all(Array.from({ length: 50 }, () => loadChannel(counted, app, 'stable')));
    expect(new Set(states).size).toBe(1);
    expect(states[0]?.verified).toBe(true);
    expect(reads.sort()).toEqual([channelKey(app, 'stable'), KEYS_KEY]);

    reads.length = 0;
    await overwrite(
      app,
      withSnapshot(
        projection,
        tamperPayload('channel', projection.snapshot, (p) => ({ ...p, releases: [] })),
      ),
    );
    const refused = await Promise.all(Array.from({ length: 50 }, () => loadChannel(counted, app, 'stable')));
    expect(new Set(refused).size).toBe(1);
    expect(refused[0]?.verified).toBe(false);
    // Before refusing, the fill reads keys:current once more, uncached (it may be newer than the cache).
    expect(reads.sort()).toEqual([channelKey(app, 'stable'), KEYS_KEY, KEYS_KEY]);
    // Logged once, not once per request.
    expect(logged.error.mock.calls.filter(([line]) => String(line).includes(`${app}/stable`))).toHaveLength(
      1,
    );

    await env.DB.prepare('UPDATE channels SET projected_revision = 0 WHERE app = ?1').bind(app).run();
    await runScheduled(env, new Date());
    clearStateCache();
    expect((await checkOf(app)).body).toMatchObject({ status: 'update' });
  });
});

describe('keys:current that cannot vouch for the snapshots', () => {
  let saved: string | null = null;

  beforeEach(async () => {
    await bootstrapKeys();
    saved = await env.STATE.get(KEYS_KEY);
  });

  afterEach(async () => {
    if (saved !== null) await env.STATE.put(KEYS_KEY, saved);
    clearStateCache();
    clearRefusals();
  });

  it('a keys document that does not list the online key: every channel is refused, and /healthz fails even before any check', async () => {
    const { app } = await genuineApp();
    const keys = await bootstrapKeys();
    const other = await generateKeyPair();
    const jws = await keysDocument(keys.version, {
      root: keys.root,
      release: keys.release,
      online: [other.publicJwk],
    });
    await env.STATE.put(KEYS_KEY, JSON.stringify({ version: keys.version, jws }));
    clearStateCache();

    // The active check: nothing has been refused yet, and still the Worker knows it cannot be verified.
    expect(await healthz()).toEqual({
      status: 503,
      body: { ok: false, checks: { kv: 'ok', r2: 'ok', d1: 'ok', online_key: 'ok', projection: 'fail' } },
    });
    expect((await checkOf(app)).body).toEqual(REFUSED);
    expect((await healthz()).body.unverified).toEqual([{ app, channel: 'stable' }]);

    if (saved !== null) await env.STATE.put(KEYS_KEY, saved);
    clearStateCache();
    expect((await checkOf(app)).body).toMatchObject({ status: 'update', version: '1.1.0' });
    expect((await healthz()).status).toBe(200);
  });

  it('keys:current deleted: channels are refused (nothing to verify against) and reported', async () => {
    const { app } = await genuineApp();
    await env.STATE.delete(KEYS_KEY);
    clearStateCache();
    // Absent keys alone are a fresh deployment, not a failure; the refused channel is.
    expect((await checkOf(app)).body).toEqual(REFUSED);
    expect(logged.error).toHaveBeenCalledWith(expect.stringContaining('no keys document (keys:current)'));
    expect(await healthz()).toMatchObject({
      status: 503,
      body: { unverified: [{ app, channel: 'stable' }] },
    });
  });

  it('keys:current that is not a keys document: /healthz fails at once', async () => {
    await env.STATE.put(KEYS_KEY, JSON.stringify({ version: 1, jws: 'not.a.jws' }));
    clearStateCache();
    expect(await healthz()).toMatchObject({ status: 503, body: { checks: { projection: 'fail' } } });
  });
});

describe('a keys document newer than the isolate cache', () => {
  it('serves a channel projected right after the first keys registration, without waiting for the cache', async () => {
    const { app } = await genuineApp();
    const saved = await env.STATE.get(KEYS_KEY);
    // The isolate cached "no keys document" a moment before the keys were registered.
    await env.STATE.delete(KEYS_KEY);
    clearStateCache();
    await loadKeys(env.STATE);
    if (saved !== null) await env.STATE.put(KEYS_KEY, saved);
    expect((await checkOf(app)).body).toMatchObject({ status: 'update', version: '1.1.0' });
  });
});
