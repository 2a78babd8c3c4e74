import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryStorage } from '../../src/client/memory-storage.ts';
import { signDocument } from '../../src/protocol/jws.ts';
import { generateKeyPair, publicJwk } from '../../src/protocol/keys.ts';
import { APP, CHANNEL, DAY, FakeServer, iso, NOW, refusal, updaterFor } from './fake-server.ts';

let server: FakeServer;
beforeEach(async () => {
  server = await FakeServer.create();
  server.answer = { status: 'none', channel: CHANNEL, signed: { snapshot: await server.snapshot([]) } };
});

/** `days` days and a minute after NOW: stored keys are older than a day, so a check asks for the newest. */
const daysLater = (days: number) => {
  const at = new Date(NOW.getTime() + days * DAY + 60_000);
  return () => at;
};
const keyRequests = () => server.requests.filter((r) => r.startsWith('GET /v1/keys'));
const trusted = (storage: MemoryStorage) => JSON.parse(storage.snapshot()[`updraft:${APP}:keys`] ?? 'null');

describe('check(): the keys chain', () => {
  it('verifies version 1 against the pinned root on a first run and keeps it', async () => {
    const storage = new MemoryStorage();
    await updaterFor(server, { storage }).check();
    expect(keyRequests()).toEqual(['GET /v1/keys']);
    expect(trusted(storage)).toMatchObject({ version: 1, jws: server.keysDocs[0] });
  });

  it('accepts a correct root rotation, walking only the versions published since', async () => {
    const storage = new MemoryStorage();
    await updaterFor(server, { storage }).check();
    const newRoot = (await generateKeyPair()).privateJwk;
    await server.addKeys({ signer: server.root, root: newRoot }); // v2: the old root hands over
    await server.addKeys({ signer: newRoot, root: newRoot }); // v3: signed by the new root
    server.requests.length = 0;
    await updaterFor(server, { storage, now: daysLater(1) }).check();
    expect(keyRequests()).toEqual(['GET /v1/keys', 'GET /v1/keys/2']);
    expect(trusted(storage)).toMatchObject({ version: 3, payload: { root: [publicJwk(newRoot)] } });

    // A fresh install pinning the original root walks the whole chain.
    server.requests.length = 0;
    await updaterFor(server).check();
    expect(keyRequests()).toEqual(['GET /v1/keys', 'GET /v1/keys/1', 'GET /v1/keys/2']);
    // An app built after the rotation may pin the new root: the newest document, which that root
    // signs, is trusted at once, with no walk.
    server.requests.length = 0;
    expect((await updaterFor(server, { rootKeys: [publicJwk(newRoot)] }).check()).status).toBe('none');
    expect(keyRequests()).toEqual(['GET /v1/keys']);
    // One more rotation later, a build pinning that (now former) root skips the links it cannot
    // verify, anchors on the first one its root signs and chains from there.
    const third = (await generateKeyPair()).privateJwk;
    await server.addKeys({ signer: newRoot, root: third }); // v4
    await server.addKeys({ signer: third, root: third }); // v5
    const pinnedV3 = new MemoryStorage();
    await updaterFor(server, { storage: pinnedV3, rootKeys: [publicJwk(newRoot)] }).check();
    expect(trusted(pinnedV3)).toMatchObject({ version: 5, payload: { root: [publicJwk(third)] } });
  });

  it('refuses a keys document signed only by a new root, first run or not', async () => {
    const storage = new MemoryStorage();
    await updaterFor(server, { storage }).check();
    const intruder = (await generateKeyPair()).privateJwk;
    await server.addKeys({ signer: intruder, root: intruder });
    const refused = await refusal(updaterFor(server, { storage, now: daysLater(1) }).check());
    expect(refused).toMatchObject({
      code: 'keys_untrusted',
      message: expect.stringContaining('trusted version 1'),
    });
    expect(trusted(storage).version).toBe(1);
    expect(await refusal(updaterFor(server).check())).toMatchObject({ code: 'keys_untrusted' });
  });

  it('refuses keys whose first document no pinned root signed', async () => {
    const stranger = (await generateKeyPair()).publicJwk;
    expect(await refusal(updaterFor(server, { rootKeys: [stranger] }).check())).toMatchObject({
      code: 'keys_untrusted',
      message: expect.stringContaining('pinned root'),
    });
  });

  it('refuses an expired newest keys document, and a trusted one that has expired since', async () => {
    await server.addKeys({ signer: server.root, expires: iso(-DAY) });
    expect(await refusal(updaterFor(server).check())).toMatchObject({ code: 'keys_untrusted' });

    const other = await FakeServer.create();
    other.answer = { status: 'none', channel: CHANNEL, signed: { snapshot: await other.snapshot([]) } };
    const storage = new MemoryStorage();
    await updaterFor(other, { storage }).check();
    const later = new Date(NOW.getTime() + 400 * DAY);
    expect(await refusal(updaterFor(other, { storage, now: () => later }).check())).toMatchObject({
      code: 'keys_untrusted',
      message: expect.stringContaining('expired'),
    });
  });

  it('refuses two different documents for one version, and keeps a newer trust over an older answer', async () => {
    const storage = new MemoryStorage();
    await server.addKeys({ signer: server.root });
    await updaterFor(server, { storage }).check();
    const second = server.keysDocs[1];
    // A stale cache answering version 1 changes nothing: version 2 stays trusted.
    server.keysDocs.pop();
    expect((await updaterFor(server, { storage, now: daysLater(1) }).check()).status).toBe('none');
    // Another version 2 (same signer, other bytes) is equivocation.
    await server.addKeys({ signer: server.root, expires: iso(300 * DAY) });
    expect(server.keysDocs[1]).not.toBe(second);
    expect(await refusal(updaterFor(server, { storage, now: daysLater(2) }).check())).toMatchObject({
      code: 'keys_untrusted',
      message: expect.stringContaining('differs'),
    });
  });

  it('throws away trust built on other pinned roots', async () => {
    const storage = new MemoryStorage();
    await updaterFor(server, { storage }).check();
    const other = await FakeServer.create();
    other.answer = { status: 'none', channel: CHANNEL, signed: { snapshot: await other.snapshot([]) } };
    await updaterFor(other, { storage }).check();
    expect(trusted(storage).jws).toBe(other.keysDocs[0]);
  });

  it('does not fetch an absurdly long chain', async () => {
    const liar = await generateKeyPair();
    const storage = new MemoryStorage();
    await updaterFor(server, { storage }).check();
    // A document claiming version 10^6 (unverifiable anyway) must not cause a million fetches.
    const forged = await signDocument(
      'keys',
      {
        version: 1_000_000,
        expires: iso(DAY),
        root: [liar.publicJwk],
        release: [liar.publicJwk],
        online: [liar.publicJwk],
      },
      liar.privateJwk,
    );
    server.keysDocs.push(forged);
    server.requests.length = 0;
    expect(await refusal(updaterFor(server, { storage, now: daysLater(1) }).check())).toMatchObject({
      code: 'keys_untrusted',
    });
    expect(keyRequests()).toEqual(['GET /v1/keys']);
  });
});

describe('check(): keys are cached', () => {
  it('asks for keys only on the first check while the stored ones are fresh and know every signer', async () => {
    const storage = new MemoryStorage();
    await updaterFor(server, { storage }).check();
    server.requests.length = 0;
    await updaterFor(server, { storage }).check();
    await updaterFor(server, { storage, now: daysLater(0.5) }).check();
    expect(keyRequests()).toEqual([]);
    expect(server.requests).toHaveLength(2);
  });

  it('asks again when a document names a key it does not know (a rotated online key)', async () => {
    const storage = new MemoryStorage();
    await updaterFor(server, { storage }).check();
    const online = (await generateKeyPair()).privateJwk;
    await server.addKeys({ signer: server.root, online });
    server.answer = {
      status: 'none',
      channel: CHANNEL,
      signed: { snapshot: await server.snapshot([], [], { signer: online }) },
    };
    server.requests.length = 0;
    expect((await updaterFor(server, { storage }).check()).status).toBe('none');
    expect(keyRequests()).toEqual(['GET /v1/keys']);
    expect(trusted(storage).version).toBe(2);
  });

  it('asks again a day later, so a key that a newer document dropped stops being trusted', async () => {
    const storage = new MemoryStorage();
    await updaterFor(server, { storage }).check();
    await server.addKeys({ signer: server.root });
    server.requests.length = 0;
    await updaterFor(server, { storage, now: daysLater(1) }).check();
    expect(keyRequests()).toEqual(['GET /v1/keys']);
    expect(trusted(storage).version).toBe(2);
  });

  it('asks again while the stored document nears its expiry', async () => {
    const other = await FakeServer.create();
    other.keysDocs.length = 0;
    await other.addKeys({ signer: other.root, expires: iso(20 * DAY) });
    other.answer = { status: 'none', channel: CHANNEL, signed: { snapshot: await other.snapshot([]) } };
    const storage = new MemoryStorage();
    await updaterFor(other, { storage }).check();
    other.requests.length = 0;
    await updaterFor(other, { storage }).check();
    expect(other.requests.filter((r) => r.startsWith('GET /v1/keys'))).toEqual(['GET /v1/keys']);
  });
});
