/**
 * Pruned snapshots and snapshot elision in the SDK (docs/protocol.md §2, §4): the check sends the hash of the
 * snapshot it holds, verifies an answer without a snapshot against that copy (expiry and revision
 * included), refuses one it holds no copy for, and reads `mandatory_floor` from the snapshot.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryStorage } from '../../src/client/memory-storage.ts';
import { sha256Hex } from '../../src/protocol/encoding.ts';
import { CHANNEL, DAY, FakeServer, NOW, refusal, updaterFor } from './fake-server.ts';

let server: FakeServer;
beforeEach(async () => {
  server = await FakeServer.create();
});

const checkQuery = (index: number) =>
  new URL(`https://x${server.requests.filter((r) => r.includes('/check?'))[index]?.split(' ')[1]}`)
    .searchParams;

describe('check() with snapshot elision', () => {
  it('sends the hash of the snapshot it holds, and verifies an answer without one against its copy', async () => {
    const storage = new MemoryStorage();
    const snapshot = await server.snapshot([]);
    server.answer = { status: 'none', channel: CHANNEL, signed: { snapshot } };
    expect(await updaterFor(server, { storage }).check()).toMatchObject({ status: 'none' });
    expect(checkQuery(0).has('snapshot')).toBe(false);

    const sha = await sha256Hex(snapshot);
    server.answer = { status: 'none', channel: CHANNEL, signed: { snapshot_sha256: sha } };
    expect(await updaterFor(server, { storage }).check()).toEqual({
      status: 'none',
      channel: CHANNEL,
      yanked: false,
    });
    expect(checkQuery(1).get('snapshot')).toBe(sha);
  });

  it('accepts an elided update only for a release its copy lists', async () => {
    const storage = new MemoryStorage();
    const release = await server.publish('1.1.0');
    const snapshot = await server.snapshot([{ release }]);
    server.answer = { status: 'none', channel: CHANNEL, signed: { snapshot } };
    await updaterFor(server, { storage }).check();

    const offer = server.offer('update', release, snapshot);
    const { snapshot: _left, ...documents } = offer.signed;
    server.answer = { ...offer, signed: { snapshot_sha256: await sha256Hex(snapshot), ...documents } };
    expect(await updaterFor(server, { storage }).check()).toMatchObject({
      status: 'update',
      version: '1.1.0',
    });

    const unlisted = await server.publish('1.2.0');
    const other = server.offer('update', unlisted, snapshot);
    server.answer = {
      ...other,
      signed: { snapshot_sha256: await sha256Hex(snapshot), release: unlisted.jws },
    };
    expect(await refusal(updaterFor(server, { storage }).check())).toMatchObject({
      code: 'release_not_listed',
    });
  });

  it('refuses an answer without a snapshot when it holds none, or another one, and keeps what it holds', async () => {
    const release = await server.publish('1.1.0');
    const snapshot = await server.snapshot([{ release }]);
    const offer = server.offer('update', release, snapshot);
    const elided = { ...offer, signed: { snapshot_sha256: await sha256Hex(snapshot), release: release.jws } };
    server.answer = elided;
    // A fresh install holds nothing: the answer cannot be verified and is not acted on.
    expect(await refusal(updaterFor(server).check())).toMatchObject({ code: 'unverifiable' });

    const storage = new MemoryStorage();
    const held = await server.snapshot([]);
    server.answer = { status: 'none', channel: CHANNEL, signed: { snapshot: held } };
    await updaterFor(server, { storage }).check();
    server.answer = elided;
    const refused = await refusal(updaterFor(server, { storage }).check());
    expect(refused).toMatchObject({ code: 'unverifiable' });
    expect(refused.message).toContain('holds another');
    expect(await storage.get('updraft:demo:snapshot')).toBe(held);
  });

  it('judges a held copy like a fresh one: an expired copy is refused', async () => {
    const storage = new MemoryStorage();
    const snapshot = await server.snapshot([]);
    server.answer = { status: 'none', channel: CHANNEL, signed: { snapshot } };
    await updaterFor(server, { storage }).check();
    server.answer = {
      status: 'none',
      channel: CHANNEL,
      signed: { snapshot_sha256: await sha256Hex(snapshot) },
    };
    const later = () => new Date(NOW.getTime() + 8 * DAY);
    expect(await refusal(updaterFor(server, { storage, now: later }).check())).toMatchObject({
      code: 'snapshot_expired',
    });
  });

  it('keeps the newest snapshot it verified, so the next check names it', async () => {
    const storage = new MemoryStorage();
    let newest = '';
    for (let i = 0; i < 2; i++) {
      newest = await server.snapshot([]);
      server.answer = { status: 'none', channel: CHANNEL, signed: { snapshot: newest } };
      await updaterFor(server, { storage }).check();
    }
    expect(await storage.get('updraft:demo:snapshot')).toBe(newest);
    await updaterFor(server, { storage }).check();
    expect(checkQuery(2).get('snapshot')).toBe(await sha256Hex(newest));
  });
});

describe('check() on a pruned snapshot', () => {
  it('is forced by the mandatory_floor of the target when the installed version is below it', async () => {
    const release = await server.publish('1.4.0');
    const snapshot = await server.snapshot([{ release, mandatory_floor: '1.2.0' }]);
    for (const [installed, mandatory] of [
      ['1.1.0', true],
      ['1.2.0', false],
    ] as const) {
      const answer = server.offer('update', release, snapshot);
      // The answer's unsigned flag says no: the signed snapshot decides.
      answer.mandatory = false;
      expect(await updaterFor(server, { currentVersion: installed }).check()).toMatchObject({
        status: 'update',
        version: '1.4.0',
        mandatory,
      });
    }
  });
});
