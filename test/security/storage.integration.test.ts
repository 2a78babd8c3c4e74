/**
 * Attacker capability: WRITE ACCESS TO STORAGE (R2 and KV), e.g. a leaked Cloudflare API token,
 * but no signing key. The Worker verifies a channel projection before serving it (its snapshot
 * against keys:current, every document against the snapshot's hashes) and answers `none` with nothing
 * signed when that fails; what passes (an archived genuine snapshot, R2 bytes) it serves. Either way
 * the client must refuse, because every byte it acts on is covered by a signature it checks: each
 * KV case is also served to the client as if the Worker had not checked (a man in the middle).
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { UpdraftErrorCode } from '../../src/client/index.ts';
import type { CheckResponse } from '../../src/protocol/api.ts';
import { sha256Hex } from '../../src/protocol/encoding.ts';
import { signDocument } from '../../src/protocol/jws.ts';
import { artifactKey, type ChannelProjection, snapshotDocKey } from '../../src/worker/storage/projection.ts';
import { clearStateCache } from '../../src/worker/storage/state-cache.ts';
import { admin, bootstrapKeys, releasePayload, signYank, testArtifact } from '../worker/support/fixtures.ts';
import {
  expectRefusal,
  flipPayloadByte,
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
  victim,
  workerFetch,
  writeProjection,
} from './attacker.ts';

const releasesOf = (projection: ChannelProjection) => new Map(Object.entries(projection.releases));

/**
 * With `release` written into the KV projection in place of 1.1.0's manifest: the Worker refuses to
 * serve the channel (`none`, nothing signed, which the SDK refuses as server_error), and a client
 * served that manifest anyway (with `artifact` from it, as a Worker that did not check would offer)
 * refuses it with `code`.
 */
async function expectTamperedReleaseRefused(
  app: string,
  release: string,
  code: UpdraftErrorCode,
  artifact?: CheckResponse['artifact'],
) {
  const servedAnyway = mitm(
    workerFetch,
    onCheck((answer) => ({
      ...answer,
      artifact: artifact ?? answer.artifact,
      signed: { ...answer.signed, release },
    })),
  );
  await expectRefusal((await victim({ app, currentVersion: '1.0.0', fetch: servedAnyway })).check(), code);

  const projection = await readProjection(app);
  projection.releases['1.1.0'] = release;
  await writeProjection(app, 'stable', projection);
  const answer = await workerFetch(
    `${ORIGIN}/v1/apps/${app}/check?client_id=c-1&version=1.0.0&platform=linux&arch=x64`,
  );
  expect(await answer.json()).toEqual({ status: 'none', channel: 'stable', yanked: false, signed: {} });
  await expectRefusal((await victim({ app, currentVersion: '1.0.0' })).check(), 'unverifiable');
}

/** The R2 key of the artifact a check result points at. */
function keyOf(app: string, result: ReturnType<typeof offered>): string {
  const { version, artifact } = result;
  return artifactKey(app, version, artifact.platform, artifact.arch, artifact.file);
}

describe('attacker with write access to R2: altered artifact bytes', () => {
  it('same size, other bytes (R2 object overwritten): refused as artifact_hash', async () => {
    const { app } = await genuineApp(['1.0.0', '1.1.0']);
    const client = await victim({ app, currentVersion: '1.0.0' });
    const result = offered(await client.check());
    expect(result.version).toBe('1.1.0');

    const evil = new Uint8Array(result.artifact.size).fill(0x66);
    await overwriteObject(keyOf(app, result), evil);

    await expectRefusal(client.download(result), 'artifact_hash');
  });

  it('one byte longer (R2 object overwritten): refused as artifact_too_large', async () => {
    const { app } = await genuineApp(['1.0.0', '1.1.0']);
    const client = await victim({ app, currentVersion: '1.0.0' });
    const result = offered(await client.check());
    await overwriteObject(keyOf(app, result), new Uint8Array(result.artifact.size + 1).fill(0x66));

    await expectRefusal(client.download(result), 'artifact_too_large');
  });

  it('one byte shorter (R2 object truncated): refused as artifact_size', async () => {
    const { app } = await genuineApp(['1.0.0', '1.1.0']);
    const client = await victim({ app, currentVersion: '1.0.0' });
    const result = offered(await client.check());
    await overwriteObject(keyOf(app, result), new Uint8Array(result.artifact.size - 1).fill(0x66));

    await expectRefusal(client.download(result), 'artifact_size');
  });
});

describe('attacker with write access to KV: tampered manifests', () => {
  it('a flipped byte in the release manifest of the projection (snapshot untouched): not served; release_invalid', async () => {
    // The release key's signature is checked first; the snapshot's hash would not match either.
    const { app } = await genuineApp(['1.0.0', '1.1.0']);
    const projection = await readProjection(app);
    const tampered = flipPayloadByte(manifestOf(releasesOf(projection), '1.1.0'));
    await expectTamperedReleaseRefused(app, tampered, 'release_invalid');
  });

  it('the manifest swapped for another validly signed 1.1.0 (a leaked superseded build): not served; release_not_listed', async () => {
    // The signature holds, so only the snapshot's release_sha256 tells the documents apart.
    const { app } = await genuineApp(['1.0.0', '1.1.0']);
    const keys = await bootstrapKeys();
    const superseded = testArtifact(app, '1.1.0');
    await overwriteObject(
      artifactKey(app, '1.1.0', superseded.platform, superseded.arch, superseded.file),
      superseded.bytes,
    );
    const other = await signDocument(
      'release',
      await releasePayload(app, '1.1.0', [superseded], { notes: 'superseded build' }),
      keys.release,
    );
    await expectTamperedReleaseRefused(app, other, 'release_not_listed', {
      url: `${ORIGIN}/v1/apps/${app}/artifacts/1.1.0/linux-x64/${superseded.file}`,
      sha256: await sha256Hex(superseded.bytes),
      size: superseded.bytes.length,
    });
  });

  it('a flipped byte in the manifest AND a snapshot re-signed with the stolen online key to list it: release_invalid', async () => {
    // Attacker capability: KV write access plus the online key. The snapshot now agrees with the
    // tampered manifest, so only the release key's signature stands in the way.
    const { app } = await genuineApp(['1.0.0', '1.1.0']);
    const projection = await readProjection(app);
    const tampered = flipPayloadByte(manifestOf(releasesOf(projection), '1.1.0'));
    projection.releases['1.1.0'] = tampered;
    const entry = await listing('1.1.0', tampered);
    projection.snapshot = await resignSnapshot(projection.snapshot, (payload) => ({
      ...payload,
      releases: payload.releases.map((r) =>
        r.version === '1.1.0' ? { ...r, release_sha256: entry.release_sha256 } : r,
      ),
    }));
    await writeProjection(app, 'stable', projection);

    const client = await victim({ app, currentVersion: '1.0.0' });
    await expectRefusal(client.check(), 'release_invalid');
  });

  it("another app's genuine 1.1.0 manifest projected into this app (same release key): not served; release_mismatch", async () => {
    const a = await genuineApp(['1.0.0', '1.1.0'], 'sec-a');
    const b = await genuineApp(['1.0.0', '1.1.0'], 'sec-b');
    await expectTamperedReleaseRefused(b.app, manifestOf(a.manifests, '1.1.0'), 'release_mismatch');
  });
});

describe('attacker with write access to KV and R2: rolling the projection back', () => {
  it('hides a yank by putting back an archived older snapshot (R2 manifests/…/channels/<rev>.jws): snapshot_replayed', async () => {
    const { app } = await genuineApp(['1.0.0', '1.1.0']);
    const before = await readProjection(app);
    const { revision } = payloadOf('channel', before.snapshot);
    const client = await victim({ app, currentVersion: '1.0.0' });
    expect(offered(await client.check()).version).toBe('1.1.0');

    const yanked = await admin(`/apps/${app}/yanks`, {
      method: 'POST',
      body: { yank: await signYank(app, '1.1.0', '1.0.0') },
    });
    expect(yanked.status).toBe(201);
    clearStateCache();
    expect(await client.check()).toMatchObject({ status: 'none' });

    const archived = await env.BUCKET.get(snapshotDocKey(app, 'stable', revision));
    if (!archived) throw new Error(`revision ${revision} is not archived`);
    await writeProjection(app, 'stable', { ...before, snapshot: await archived.text(), yanks: {} });
    await expectRefusal(client.check(), 'snapshot_replayed');
  });
});
