/**
 * The keys document chain (docs/protocol.md §2): clients pin root keys; every keys document must chain to them,
 * version N+1 signed by a root key of version N.
 *
 * Attacker capability: a position in the network with a complete key set of their own (root,
 * release and online keys they generated), so that every document they serve is consistently
 * signed: only the chain to the pinned root stands in their way.
 *
 * This file rotates the (global) keys document, so its tests run in order: attacks on v1 first,
 * then the genuine rotations.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { CheckResponse } from '../../src/protocol/api.ts';
import type { ChannelPayload } from '../../src/protocol/documents.ts';
import { sha256Hex } from '../../src/protocol/encoding.ts';
import { type PrivateJwk, signDocument } from '../../src/protocol/jws.ts';
import { generateKeyPair, publicJwk } from '../../src/protocol/keys.ts';
import { clearStateCache } from '../../src/worker/storage/state-cache.ts';
import { admin, bootstrapKeys, keysDocument, type TestKeys } from '../worker/support/fixtures.ts';
import {
  chain,
  expectRefusal,
  genuineApp,
  MemoryStorage,
  mitm,
  ORIGIN,
  offered,
  onCheck,
  payloadOf,
  serveKeys,
  stolenOnlineKey,
  victim,
  workerFetch,
} from './attacker.ts';

interface KeySet {
  root: PrivateJwk;
  release: PrivateJwk;
  online: PrivateJwk;
}

async function attackerKeys(): Promise<KeySet> {
  const [root, release, online] = await Promise.all([
    generateKeyPair(),
    generateKeyPair(),
    generateKeyPair(),
  ]);
  return { root: root.privateJwk, release: release.privateJwk, online: online.privateJwk };
}

/**
 * The genuine check answer with its release re-signed by the attacker's release key and its
 * snapshot re-signed (listing that release) by the attacker's online key.
 */
async function resignedByAttacker(answer: CheckResponse, evil: KeySet): Promise<CheckResponse> {
  const { release } = answer.signed;
  if (release === undefined) throw new Error(`expected an update, got ${answer.status}`);
  const forged = await signDocument('release', payloadOf('release', release), evil.release);
  const hash = await sha256Hex(forged);
  const snapshot: ChannelPayload = payloadOf('channel', answer.signed.snapshot);
  const releases = snapshot.releases.map((r) =>
    r.version === answer.version ? { ...r, release_sha256: hash } : r,
  );
  return {
    ...answer,
    signed: {
      snapshot: await signDocument('channel', { ...snapshot, releases }, evil.online),
      release: forged,
    },
  };
}

describe('keys documents that do not chain to the pinned root', () => {
  let app = '';
  let keys: TestKeys;

  beforeAll(async () => {
    keys = await bootstrapKeys();
    ({ app } = await genuineApp(['1.0.0', '1.1.0']));
  });

  it('an attacker root signs its own keys document v1 (a fresh client): keys_untrusted', async () => {
    const evil = await attackerKeys();
    const forgedKeys = await keysDocument(1, { ...evil, online: [publicJwk(evil.online)] });
    const fetch = mitm(
      workerFetch,
      chain(
        serveKeys([forgedKeys]),
        onCheck((answer) => resignedByAttacker(answer, evil)),
      ),
    );
    const client = await victim({ app, currentVersion: '1.0.0', fetch });
    await expectRefusal(client.check(), 'keys_untrusted');
  });

  it('an attacker root signs a keys document v2 after the genuine v1 (a client that trusts v1): keys_untrusted', async () => {
    const evil = await attackerKeys();
    const storage = new MemoryStorage();
    const honest = await victim({ app, currentVersion: '1.0.0', storage });
    expect(offered(await honest.check()).version).toBe('1.1.0');

    const forgedKeys = await keysDocument(2, { ...evil, online: [publicJwk(evil.online)] });
    const fetch = mitm(
      workerFetch,
      chain(
        serveKeys([keys.jws, forgedKeys]),
        onCheck((answer) => resignedByAttacker(answer, evil)),
      ),
    );
    const client = await victim({ app, currentVersion: '1.0.0', storage, fetch });
    await expectRefusal(client.check(), 'keys_untrusted');
  });

  it('a root rotation (v2 lists a new root) signed only by the NEW root, not the old: keys_untrusted', async () => {
    // The attacker's "new root" vouches for itself: it must have been introduced by the old root.
    const evil = await attackerKeys();
    const rotation = await keysDocument(2, {
      root: evil.root,
      release: evil.release,
      online: [publicJwk(evil.online)],
      signer: evil.root,
    });
    const fetch = mitm(
      workerFetch,
      chain(
        serveKeys([keys.jws, rotation]),
        onCheck((answer) => resignedByAttacker(answer, evil)),
      ),
    );
    const client = await victim({ app, currentVersion: '1.0.0', fetch });
    await expectRefusal(client.check(), 'keys_untrusted');
  });
});

describe('genuine rotations are followed', () => {
  /** The root after the rotation test, which signs the next keys document. */
  let rotatedRoot: PrivateJwk | undefined;

  it('v2 signed by the old root lists a new root, v3 signed by the new root: accepted by old and new pins', async () => {
    const keys = await bootstrapKeys();
    const { app } = await genuineApp(['1.0.0', '1.1.0'], 'sec-rot');
    // A client that already trusts v1 before the rotation.
    const storage = new MemoryStorage();
    const before = await victim({ app, currentVersion: '1.0.0', storage });
    expect(offered(await before.check()).version).toBe('1.1.0');

    const newRoot = (await generateKeyPair()).privateJwk;
    const v2 = await keysDocument(2, { root: newRoot, release: keys.release, signer: keys.root });
    const v3 = await keysDocument(3, { root: newRoot, release: keys.release, signer: newRoot });
    for (const jws of [v2, v3]) {
      expect((await admin('/keys', { method: 'POST', body: { keys: jws } })).status).toBe(201);
    }
    clearStateCache();

    // Pinned to the old root, trusting v1: walks v2 and v3.
    const after = await victim({ app, currentVersion: '1.0.0', storage });
    expect(offered(await after.check()).version).toBe('1.1.0');
    // Pinned to the old root, fresh install: walks v1, v2, v3.
    const fresh = await victim({ app, currentVersion: '1.0.0' });
    const result = offered(await fresh.check());
    expect(result.version).toBe('1.1.0');
    expect((await fresh.download(result)).length).toBe(result.artifact.size);
    // A new app build pinned to the new root only.
    const repinned = await victim({ app, currentVersion: '1.0.0', rootKeys: [publicJwk(newRoot)] });
    expect(offered(await repinned.check()).version).toBe('1.1.0');
    rotatedRoot = newRoot;
  });

  it('after `keys rotate --role release --drop-old`, the old release key with the online key and a replayed older keys document: release_invalid', async () => {
    // Attacker capability: the leaked (now dropped) release key, the online key and the network.
    // The client has verified the newer keys document; serving the older one changes nothing.
    const keys = await bootstrapKeys();
    const { app } = await genuineApp(['1.0.0', '1.1.0'], 'sec-rot');
    const current = await workerFetch(`${ORIGIN}/v1/keys`).then((r) => r.json<{ keys: string }>());
    const before = payloadOf('keys', current.keys);
    const root = rotatedRoot;
    if (!root) throw new Error('the root rotation test did not run');
    const newRelease = (await generateKeyPair()).privateJwk;
    const dropped = await keysDocument(before.version + 1, { root, release: newRelease, signer: root });
    expect((await admin('/keys', { method: 'POST', body: { keys: dropped } })).status).toBe(201);
    clearStateCache();

    const storage = new MemoryStorage();
    const client = await victim({ app, currentVersion: '1.0.0', storage, rootKeys: [publicJwk(keys.root)] });
    // 1.1.0 was signed by the dropped key: no longer trusted, even though genuine.
    await expectRefusal(client.check(), 'release_invalid');

    const fetch = mitm(
      workerFetch,
      chain(
        serveKeys([current.keys]),
        onCheck(async (answer) => {
          const release = await signDocument(
            'release',
            { ...payloadOf('release', answer.signed.release ?? ''), notes: 'backdoored' },
            keys.release,
          );
          const snapshot = payloadOf('channel', answer.signed.snapshot);
          const hash = await sha256Hex(release);
          return {
            ...answer,
            signed: {
              snapshot: await signDocument(
                'channel',
                {
                  ...snapshot,
                  revision: snapshot.revision + 1,
                  releases: snapshot.releases.map((r) =>
                    r.version === '1.1.0' ? { ...r, release_sha256: hash } : r,
                  ),
                },
                stolenOnlineKey(),
              ),
              release,
            },
          };
        }),
      ),
    );
    const attacked = await victim({
      app,
      currentVersion: '1.0.0',
      storage,
      fetch,
      rootKeys: [publicJwk(keys.root)],
    });
    await expectRefusal(attacked.check(), 'release_invalid');
  });
});
