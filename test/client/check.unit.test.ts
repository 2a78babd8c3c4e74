import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryStorage } from '../../src/client/memory-storage.ts';
import { generateKeyPair } from '../../src/protocol/keys.ts';
import { APP, CHANNEL, DAY, FakeServer, json, NOW, refusal, updaterFor } from './fake-server.ts';

let server: FakeServer;
beforeEach(async () => {
  server = await FakeServer.create();
});

describe('check(): accepted answers', () => {
  it('accepts a verified update and returns the signed artifact with its url', async () => {
    const release = await server.publish('1.1.0', { mandatory: true });
    server.offer('update', release, await server.snapshot([{ release }]));
    const result = await updaterFor(server).check();
    expect(result).toMatchObject({ status: 'update', channel: CHANNEL, version: '1.1.0', mandatory: true });
    if (result.status === 'none') throw new Error('expected an update');
    expect(result.release).toEqual(release.payload);
    expect(result.artifact).toEqual({ ...release.payload.artifacts[0], url: release.url });
    expect(server.requests[0]).toBe(
      `GET /v1/apps/${APP}/check?client_id=client-1&version=1.0.0&platform=linux&arch=x64`,
    );
  });

  it('sends channel and os_version when given', async () => {
    server.answer = { status: 'none', channel: CHANNEL, signed: { snapshot: await server.snapshot([]) } };
    await updaterFor(server, { channel: 'beta', osVersion: '14.2' }).check();
    expect(server.requests[0]).toContain('&channel=beta&os_version=14.2');
  });

  it('sends its runtime, and takes only the signed artifact of that runtime (docs/protocol.md §3)', async () => {
    const release = await server.publish('1.1.0');
    const [artifact] = release.payload.artifacts;
    if (!artifact) throw new Error('no artifact');
    const pinned = await server.publish('1.1.0', { artifacts: [{ ...artifact, runtime: 'exposdk:52.0.0' }] });
    server.offer('update', pinned, await server.snapshot([{ release: pinned }]));
    const result = await updaterFor(server, { runtime: 'exposdk:52.0.0' }).check();
    expect(result).toMatchObject({ status: 'update', artifact: { runtime: 'exposdk:52.0.0' } });
    expect(server.requests[0]).toContain('&runtime=exposdk%3A52.0.0');
    // A client of another runtime, or of none, refuses that artifact whatever the server says.
    for (const runtime of ['exposdk:51.0.0', undefined]) {
      expect(await refusal(updaterFor(server, { runtime }).check())).toMatchObject({
        code: 'release_mismatch',
      });
    }
    expect(() => updaterFor(server, { runtime: 'has space' })).toThrow(/runtime/);
  });

  it('answers none, with yanked read from the verified snapshot', async () => {
    const yank = await server.yank('1.0.0', null);
    server.answer = {
      status: 'none',
      channel: CHANNEL,
      yanked: false,
      signed: { snapshot: await server.snapshot([], [yank]) },
    };
    expect(await updaterFor(server).check()).toEqual({ status: 'none', channel: CHANNEL, yanked: true });
  });

  it('accepts a rollback authorised by a yank signed with the release key', async () => {
    const target = await server.publish('1.0.0');
    const yank = await server.yank('1.1.0', '1.0.0');
    server.offer('rollback', target, await server.snapshot([{ release: target }], [yank]), yank);
    const result = await updaterFor(server, { currentVersion: '1.1.0' }).check();
    expect(result).toMatchObject({ status: 'rollback', version: '1.0.0', mandatory: true });
  });

  it('accepts a rollback to a release the snapshot does not list (the yank authorises it)', async () => {
    const target = await server.publish('1.0.0');
    const yank = await server.yank('1.1.0', '1.0.0');
    server.offer('rollback', target, await server.snapshot([], [yank]), yank);
    expect(await updaterFor(server, { currentVersion: '1.1.0' }).check()).toMatchObject({
      status: 'rollback',
    });
  });

  it('checks the bucket only when asked, and accepts a complete rollout whatever its percentage', async () => {
    const release = await server.publish('1.1.0');
    // docs/protocol.md §3 vectors: client-1 is in bucket 1118, client-2 in 4977.
    const snapshot = await server.snapshot([{ release, rollout: { percent_bp: 2000 } }]);
    server.offer('update', release, snapshot);
    expect((await updaterFor(server, { clientId: 'client-1', verifyBucket: true }).check()).status).toBe(
      'update',
    );
    expect((await updaterFor(server, { clientId: 'client-2' }).check()).status).toBe('update');
    expect(
      await refusal(updaterFor(server, { clientId: 'client-2', verifyBucket: true }).check()),
    ).toMatchObject({
      code: 'bucket_mismatch',
      message: expect.stringContaining('outside the 20 % rollout'),
    });
    server.offer(
      'update',
      release,
      await server.snapshot([{ release, rollout: { percent_bp: 0, state: 'complete' } }]),
    );
    expect((await updaterFor(server, { clientId: 'client-2', verifyBucket: true }).check()).status).toBe(
      'update',
    );
  });
});

describe('check(): the snapshot', () => {
  it('refuses a snapshot signed by a key that is not an online key', async () => {
    const release = await server.publish('1.1.0');
    server.offer('update', release, await server.snapshot([{ release }], [], { signer: server.release }));
    expect(await refusal(updaterFor(server).check())).toMatchObject({ code: 'snapshot_invalid' });
  });

  it('refuses an expired snapshot, judged by the injected clock', async () => {
    const release = await server.publish('1.1.0');
    server.offer('update', release, await server.snapshot([{ release }]));
    const later = new Date(NOW.getTime() + 7 * DAY);
    expect(await refusal(updaterFor(server, { now: () => later }).check())).toMatchObject({
      code: 'snapshot_expired',
      message: expect.stringContaining('expired at'),
    });
  });

  it('refuses a snapshot of another app or another channel than the answer names', async () => {
    server.answer = {
      status: 'none',
      channel: CHANNEL,
      signed: { snapshot: await server.snapshot([], [], { app: 'other' }) },
    };
    expect(await refusal(updaterFor(server).check())).toMatchObject({ code: 'snapshot_invalid' });
    server.answer = { status: 'none', channel: 'beta', signed: { snapshot: await server.snapshot([]) } };
    expect(await refusal(updaterFor(server).check())).toMatchObject({
      code: 'snapshot_invalid',
      message: expect.stringContaining(`is for ${APP}/${CHANNEL}, the answer is for ${APP}/beta`),
    });
  });

  it('refuses a replayed older revision, remembered across restarts through storage', async () => {
    const storage = new MemoryStorage();
    const old = await server.snapshot([], [], { revision: 5 });
    const newer = await server.snapshot([], [], { revision: 7 });
    server.answer = { status: 'none', channel: CHANNEL, signed: { snapshot: newer } };
    await updaterFor(server, { storage }).check();
    // The same revision again is fine (a re-fetch); a lower one is a replay.
    await updaterFor(server, { storage }).check();
    server.answer = { status: 'none', channel: CHANNEL, signed: { snapshot: old } };
    expect(await refusal(updaterFor(server, { storage }).check())).toMatchObject({
      code: 'snapshot_replayed',
      message: expect.stringContaining('revision 5'),
    });
  });

  it('persists the channel the server routed to, for telemetry', async () => {
    const storage = new MemoryStorage();
    server.answer = { status: 'none', channel: CHANNEL, signed: { snapshot: await server.snapshot([]) } };
    await updaterFor(server, { storage, channel: 'beta' }).check();
    expect(storage.snapshot()[`updraft:${APP}:channel`]).toBe(CHANNEL);
  });
});

describe('check(): transport failures', () => {
  it('maps an error answer to server_error naming its code', async () => {
    server.intercept = () => json({ error: { code: 'unknown_app', message: 'no app named demo' } }, 404);
    expect(await refusal(updaterFor(server).check())).toEqual({
      code: 'server_error',
      message: 'check: server answered 404: unknown_app: no app named demo',
    });
  });

  it('maps a thrown fetch to network, and a body that is not a check answer to server_error', async () => {
    server.intercept = () => {
      throw new TypeError('fetch failed');
    };
    expect(await refusal(updaterFor(server).check())).toMatchObject({ code: 'network' });
    server.intercept = () => json({ status: 'maybe' });
    expect(await refusal(updaterFor(server).check())).toMatchObject({ code: 'server_error' });
    server.intercept = () => new Response('<html>');
    expect(await refusal(updaterFor(server).check())).toMatchObject({ code: 'server_error' });
  });

  it('refuses an answer larger than the cap without reading it all', async () => {
    let pulled = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += 1;
        controller.enqueue(new Uint8Array(1 << 20).fill(32));
      },
    });
    server.intercept = () => new Response(endless);
    expect(await refusal(updaterFor(server).check())).toMatchObject({ code: 'server_error' });
    expect(pulled).toBeLessThan(20);
  });

  it('refuses an answer that a fetch ignoring redirect: manual (React Native) fetched from elsewhere', async () => {
    server.answer = { status: 'none', channel: CHANNEL, signed: { snapshot: await server.snapshot([]) } };
    server.intercept = (_request, url) => {
      if (!url.pathname.endsWith('/check')) return undefined;
      const followed = json(server.answer);
      Object.defineProperty(followed, 'url', { value: `https://tracker.example${url.pathname}` });
      return followed;
    };
    expect(await refusal(updaterFor(server).check())).toMatchObject({
      code: 'redirect_refused',
      message: expect.stringContaining('redirected off the server'),
    });
  });
});

describe('createUpdater()', () => {
  it('refuses bad options with a TypeError naming them', async () => {
    const { publicJwk } = await generateKeyPair();
    expect(() => updaterFor(server, { server: 'http://updates.example.com' })).toThrow(/https/);
    expect(() => updaterFor(server, { currentVersion: 'v1' })).toThrow(/currentVersion/);
    expect(() => updaterFor(server, { rootKeys: [] })).toThrow(/rootKeys/);
    expect(() => updaterFor(server, { app: 'Demo' })).toThrow(/app/);
    expect(() =>
      updaterFor(server, { server: 'http://127.0.0.1:8787', rootKeys: [publicJwk] }),
    ).not.toThrow();
  });

  it('creates a client ID once and keeps it in storage', async () => {
    const storage = new MemoryStorage();
    const first = await updaterFor(server, { storage, clientId: undefined }).clientId();
    expect(first).toMatch(/^[0-9a-f-]{36}$/);
    expect(await updaterFor(server, { storage, clientId: undefined }).clientId()).toBe(first);
    expect(await updaterFor(server, { storage, clientId: 'given' }).clientId()).toBe('given');
  });

  it('keeps a server path prefix in every URL', async () => {
    server.answer = { status: 'none', channel: CHANNEL, signed: { snapshot: await server.snapshot([]) } };
    const prefixed: typeof fetch = (input, init) => {
      const url = new URL(new Request(input, init).url);
      expect(url.pathname.startsWith('/updraft/')).toBe(true);
      return server.fetch(new Request(url.href.replace('/updraft', ''), init));
    };
    await updaterFor(server, { server: 'https://updates.test/updraft/', fetch: prefixed }).check();
  });
});
