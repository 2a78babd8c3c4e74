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
    await updaterFor(server, { storage }).check();
    expect(keyRequests()).toEqual(['GET /v1/keys', 'GET /v1/keys/2']);
    expect(trusted(storage)).toMatchObject({ version: 3, payload: { root: [publicJwk(newRoot)] } });

    // A fresh install pinning the original root walks the whole chain.
    server.requests.length = 0;
    await updaterFor(server).check();
    expect(keyRequests()).toEqual(['GET /v1/keys', 'GET /v1/keys/1', 'GET /v1/keys/2']);
    // An app built after the rotation may pin the new root: its chain starts where that root signs.
    expect((await updaterFor(server, { rootKeys: [publicJwk(newRoot)] }).check()).status).toBe('none');
  });

  it('refuses a keys document signed only by a new root, first run or not', async () => {
    const storage = new MemoryStorage();
    await updaterFor(server, { storage }).check();
    const intruder = (await generateKeyPair()).privateJwk;
    await server.addKeys({ signer: intruder, root: intruder });
    const refused = await refusal(updaterFor(server, { storage }).check());
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
    expect((await updaterFor(server, { storage }).check()).status).toBe('none');
    // Another version 2 (same signer, other bytes) is equivocation.
    await server.addKeys({ signer: server.root, expires: iso(300 * DAY) });
    expect(server.keysDocs[1]).not.toBe(second);
    expect(await refusal(updaterFor(server, { storage }).check())).toMatchObject({
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
    expect(await refusal(updaterFor(server, { storage }).check())).toMatchObject({ code: 'keys_untrusted' });
    expect(keyRequests()).toEqual(['GET /v1/keys']);
  });
});
