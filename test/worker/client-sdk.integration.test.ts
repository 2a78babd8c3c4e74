/**
 * The client SDK against the real Worker, inside workerd: data published through the admin API,
 * the SDK's `fetch` wired to the Worker's entry point. Update, rollback after a yank, and a root
 * rotation, each verified end to end by the SDK exactly as an app would run it.
 */
import { describe, expect, it, vi } from 'vitest';
import type { UpdaterOptions } from '../../src/client/index.ts';
import { MemoryStorage } from '../../src/client/memory-storage.ts';
import { sha256Hex } from '../../src/protocol/encoding.ts';
import { generateKeyPair, publicJwk } from '../../src/protocol/keys.ts';
import { clearStateCache } from '../../src/worker/storage/state-cache.ts';
import {
  admin,
  bootstrapKeys,
  createApp,
  keysDocument,
  ORIGIN,
  promote,
  publish,
  signYank,
} from './support/fixtures.ts';
import { eventIds } from './support/telemetry-fixtures.ts';
import { workerUpdater } from './support/updater.ts';

/** The real queue consumer runs after its batch timeout: wait for D1 to show the events. */
const QUEUE_WAIT = { timeout: 15_000, interval: 250 };

async function updater(app: string, currentVersion: string, options: Partial<UpdaterOptions> = {}) {
  return workerUpdater(await bootstrapKeys(), app, currentVersion, options);
}

describe('the client SDK against the real Worker', () => {
  it('checks, downloads, reports and flushes a full update; the events land in D1 through the queue', {
    timeout: 30_000,
  }, async () => {
    const app = await createApp();
    await publish(app, '1.1.0', { mandatory: true });
    expect((await promote(app, 'stable', '1.1.0')).status).toBe(200);
    const client = await updater(app, '1.0.0', { channel: 'stable', osVersion: '14.2' });

    const result = await client.check();
    if (result.status !== 'update') throw new Error(`expected an update, got ${JSON.stringify(result)}`);
    expect(result).toMatchObject({ channel: 'stable', version: '1.1.0', mandatory: true });
    expect(result.artifact.url).toBe(
      `${ORIGIN}/v1/apps/${app}/artifacts/1.1.0/linux-x64/${result.artifact.file}`,
    );

    const progress: number[] = [];
    const bytes = await client.download(result, { onProgress: (received) => progress.push(received) });
    expect(bytes.length).toBe(result.artifact.size);
    expect(await sha256Hex(bytes)).toBe(result.artifact.sha256);
    expect(progress.at(-1)).toBe(result.artifact.size);

    await client.report({ type: 'check' });
    await client.report({ type: 'download_succeeded', to_version: '1.1.0', duration_ms: 20 });
    await client.report({
      type: 'install_succeeded',
      from_version: '1.0.0',
      to_version: '1.1.0',
      duration_ms: 900,
    });
    client.setCurrentVersion('1.1.0');
    await client.flush();

    await vi.waitFor(async () => expect(await eventIds(app)).toHaveLength(3), QUEUE_WAIT);
    // Nothing left to send; a second flush sends nothing and changes nothing.
    await client.flush();
    expect(await client.check()).toEqual({ status: 'none', channel: 'stable', yanked: false });
  });

  it('rolls back to the version a signed yank names', { timeout: 30_000 }, async () => {
    const app = await createApp();
    await publish(app, '1.0.0');
    expect((await promote(app, 'stable', '1.0.0')).status).toBe(200);
    await publish(app, '1.1.0');
    expect((await promote(app, 'stable', '1.1.0')).status).toBe(200);
    const storage = new MemoryStorage();
    const client = await updater(app, '1.1.0', { storage });
    expect(await client.check()).toMatchObject({ status: 'none', yanked: false });

    const yanked = await admin(`/apps/${app}/yanks`, {
      method: 'POST',
      body: { yank: await signYank(app, '1.1.0', '1.0.0') },
    });
    expect(yanked.status).toBe(201);
    clearStateCache();

    const result = await client.check();
    if (result.status !== 'rollback') throw new Error(`expected a rollback, got ${JSON.stringify(result)}`);
    expect(result).toMatchObject({ version: '1.0.0', mandatory: true, release: { app, version: '1.0.0' } });
    const bytes = await client.download(result);
    expect(await sha256Hex(bytes)).toBe(result.artifact.sha256);

    await client.report({ type: 'rollback', from_version: '1.1.0', to_version: '1.0.0' });
    client.setCurrentVersion('1.0.0');
    await client.flush();
    await vi.waitFor(async () => expect(await eventIds(app)).toHaveLength(1), QUEUE_WAIT);
    // On 1.0.0 now: the yanked 1.1.0 is never offered again.
    expect(await client.check()).toMatchObject({ status: 'none', yanked: false });
  });

  // Last in this file: the keys document is global to the file's storage.
  it('follows a root rotation: v2 signed by the old root names a new one, v3 is signed by it', async () => {
    const keys = await bootstrapKeys();
    const app = await createApp();
    await publish(app, '1.1.0');
    expect((await promote(app, 'stable', '1.1.0')).status).toBe(200);
    const storage = new MemoryStorage();
    expect((await (await updater(app, '1.0.0', { storage })).check()).status).toBe('update');

    const newRoot = (await generateKeyPair()).privateJwk;
    const v2 = await keysDocument(2, { root: newRoot, release: keys.release, signer: keys.root });
    expect((await admin('/keys', { method: 'POST', body: { keys: v2 } })).status).toBe(201);
    const v3 = await keysDocument(3, { root: newRoot, release: keys.release, signer: newRoot });
    expect((await admin('/keys', { method: 'POST', body: { keys: v3 } })).status).toBe(201);
    clearStateCache();

    // An install that trusted v1 walks v2 and v3 when its keys are a day old; a new one chains from
    // v1; one built with the new pin trusts v3 at once.
    const dayLater = new Date(Date.now() + 24 * 3600_000 + 60_000);
    expect((await (await updater(app, '1.0.0', { storage, now: () => dayLater })).check()).status).toBe(
      'update',
    );
    const trusted = JSON.parse((await storage.get(`updraft:${app}:keys`)) ?? '{}');
    expect(trusted).toMatchObject({ version: 3, jws: v3 });
    expect((await (await updater(app, '1.0.0')).check()).status).toBe('update');
    const pinnedNew = await updater(app, '1.0.0', { rootKeys: [publicJwk(newRoot)] });
    expect((await pinnedNew.check()).status).toBe('update');
  });
});
