/**
 * Recovery from a stolen ONLINE key: `updraft keys rotate --role online --drop-old` publishes a keys
 * document that no longer lists it. The Worker's own online key cannot be swapped inside a test, so
 * the stolen key is modelled as a second online key listed next to it in keys document v2 (what
 * `keys rotate --role online` without `--drop-old` leaves) and dropped again in v3.
 *
 * Attacker capability: the (old) online key and a position in the network.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { PrivateJwk } from '../../src/protocol/jws.ts';
import { generateKeyPair, publicJwk } from '../../src/protocol/keys.ts';
import { clearStateCache } from '../../src/worker/storage/state-cache.ts';
import {
  admin,
  bootstrapKeys,
  keysDocument,
  onlinePublic,
  type TestKeys,
} from '../worker/support/fixtures.ts';
import {
  expectRefusal,
  genuineApp,
  MemoryStorage,
  mitm,
  offered,
  onCheck,
  payloadOf,
  signSnapshot,
  victim,
  workerFetch,
} from './attacker.ts';

/** A check answer of `none` under a snapshot signed with `key` at `revision`. */
function forgedNone(key: PrivateJwk, revision: number) {
  return onCheck(async (answer) => ({
    status: 'none',
    channel: answer.channel,
    yanked: false,
    signed: {
      snapshot: await signSnapshot({ ...payloadOf('channel', answer.signed.snapshot), revision }, key),
    },
  }));
}

describe('after the stolen online key is dropped from the keys document', () => {
  let keys: TestKeys;
  let stolen: PrivateJwk;
  let app = '';
  const storage = new MemoryStorage();

  beforeAll(async () => {
    keys = await bootstrapKeys();
    stolen = (await generateKeyPair()).privateJwk;
    const v2 = await keysDocument(2, {
      root: keys.root,
      release: keys.release,
      online: [onlinePublic(), publicJwk(stolen)],
    });
    expect((await admin('/keys', { method: 'POST', body: { keys: v2 } })).status).toBe(201);
    ({ app } = await genuineApp(['1.0.0', '1.1.0']));
  });

  it('while the key is listed, its snapshots are accepted (the reason to rotate)', async () => {
    const fetch = mitm(workerFetch, forgedNone(stolen, 1_000));
    const client = await victim({ app, currentVersion: '1.0.0', fetch, storage });
    expect(await client.check()).toMatchObject({ status: 'none' });
  });

  it('once v3 drops it, a snapshot signed with it is refused: snapshot_invalid', async () => {
    const v3 = await keysDocument(3, { root: keys.root, release: keys.release });
    expect((await admin('/keys', { method: 'POST', body: { keys: v3 } })).status).toBe(201);
    clearStateCache();

    const fetch = mitm(workerFetch, forgedNone(stolen, 2_000));
    const fresh = await victim({ app, currentVersion: '1.0.0', fetch });
    await expectRefusal(fresh.check(), 'snapshot_invalid');
  });

  it('a revision floor set by the stolen key goes with the key: once it is rotated out, the client updates again', async () => {
    // The same install as the first test: it recorded revision 1,000 from the forged snapshot. The
    // floor is kept with the kid that signed it, and that kid is no longer in the keys document, so
    // the genuine snapshot (a small revision) is accepted and 1.1.0 is offered.
    const client = await victim({ app, currentVersion: '1.0.0', storage });
    expect(offered(await client.check()).version).toBe('1.1.0');
  });

  it('an install that never met the stolen key is unaffected', async () => {
    const client = await victim({ app, currentVersion: '1.0.0' });
    expect(offered(await client.check()).version).toBe('1.1.0');
  });
});
