/**
 * Attacker capability: A POSITION IN THE NETWORK and NO KEY (a hostile proxy, CDN or Wi-Fi; TLS
 * terminated by someone else). They can replay, withhold, reorder and mix genuine signed documents
 * and rewrite every unsigned byte, such as the check answer's JSON and the artifact stream.
 */
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/protocol/encoding.ts';
import { signDocument } from '../../src/protocol/jws.ts';
import { clearStateCache } from '../../src/worker/storage/state-cache.ts';
import {
  admin,
  bootstrapKeys,
  publish,
  releasePayload,
  signYank,
  testArtifact,
  uploadArtifact,
} from '../worker/support/fixtures.ts';
import {
  endlessBody,
  expectRefusal,
  genuineApp,
  manifestOf,
  mitm,
  ORIGIN,
  offered,
  onArtifact,
  onCheck,
  payloadOf,
  recorder,
  replayCheck,
  type Transform,
  victim,
  workerFetch,
} from './attacker.ts';

const DAY_MS = 24 * 3600 * 1000;

/** A man in the middle whose behaviour the test switches as the attack unfolds. */
function switchable(): { fetch: typeof fetch; use: (transform: Transform) => void } {
  let current: Transform = () => undefined;
  return { fetch: mitm(workerFetch, (exchange) => current(exchange)), use: (t) => (current = t) };
}

describe('replay and freeze: an attacker serving old genuine snapshots', () => {
  it('hides a yank by replaying the snapshot from before it (lower revision than seen): snapshot_replayed', async () => {
    const { app } = await genuineApp(['1.0.0', '1.1.0']);
    const tap = recorder();
    const network = switchable();
    network.use(tap.transform);
    const client = await victim({ app, currentVersion: '1.0.0', fetch: network.fetch });
    expect(offered(await client.check()).version).toBe('1.1.0');
    const [beforeYank] = tap.checks;
    if (beforeYank === undefined) throw new Error('nothing recorded');

    const yanked = await admin(`/apps/${app}/yanks`, {
      method: 'POST',
      body: { yank: await signYank(app, '1.1.0', '1.0.0') },
    });
    expect(yanked.status).toBe(201);
    clearStateCache();
    expect(await client.check()).toMatchObject({ status: 'none' });

    network.use(replayCheck(beforeYank));
    await expectRefusal(client.check(), 'snapshot_replayed');
  });

  it('freezes the client on a recorded answer past its snapshot expiry (clock advanced 7 days + 1 minute): snapshot_expired', async () => {
    const { app } = await genuineApp(['1.0.0', '1.1.0']);
    let clock = Date.now();
    const tap = recorder();
    const network = switchable();
    network.use(tap.transform);
    const client = await victim({
      app,
      currentVersion: '1.0.0',
      fetch: network.fetch,
      now: () => new Date(clock),
    });
    offered(await client.check());
    const [recorded] = tap.checks;
    if (recorded === undefined) throw new Error('nothing recorded');

    clock += 7 * DAY_MS + 60_000;
    network.use(replayCheck(recorded));
    await expectRefusal(client.check(), 'snapshot_expired');
  });

  it('RESIDUAL RISK: the same freeze inside the snapshot lifetime (6 days later) is accepted', async () => {
    // Documented in docs/security.md: a network attacker can withhold news for up to 7 days.
    const { app } = await genuineApp(['1.0.0', '1.1.0']);
    let clock = Date.now();
    const tap = recorder();
    const network = switchable();
    network.use(tap.transform);
    const client = await victim({
      app,
      currentVersion: '1.0.0',
      fetch: network.fetch,
      now: () => new Date(clock),
    });
    offered(await client.check());
    const [recorded] = tap.checks;
    if (recorded === undefined) throw new Error('nothing recorded');

    clock += 6 * DAY_MS;
    network.use(replayCheck(recorded));
    expect(offered(await client.check()).version).toBe('1.1.0');
  });
});

describe('mix-and-match: genuine documents that do not belong together', () => {
  it('a registered but never promoted release (not in the snapshot): release_not_listed', async () => {
    const { app } = await genuineApp(['1.0.0', '1.1.0']);
    const unpromoted = await publish(app, '1.2.0');
    const [artifact] = payloadOf('release', unpromoted).artifacts;
    if (!artifact) throw new Error('no artifact');

    const fetch = mitm(
      workerFetch,
      onCheck((answer) => ({
        ...answer,
        status: 'update',
        version: '1.2.0',
        mandatory: false,
        artifact: {
          url: `${ORIGIN}/v1/apps/${app}/artifacts/1.2.0/linux-x64/${artifact.file}`,
          sha256: artifact.sha256,
          size: artifact.size,
        },
        signed: { snapshot: answer.signed.snapshot, release: unpromoted },
      })),
    );
    const client = await victim({ app, currentVersion: '1.1.0', fetch });
    await expectRefusal(client.check(), 'release_not_listed');
  });

  it('another validly signed manifest of the listed version (a superseded build, other hash): release_not_listed', async () => {
    // The release key once signed a different 1.1.0 (say a CI run that was re-done); the attacker kept it.
    const { app } = await genuineApp(['1.0.0', '1.1.0']);
    const keys = await bootstrapKeys();
    const superseded = testArtifact(app, '1.1.0');
    const other = await signDocument(
      'release',
      await releasePayload(app, '1.1.0', [superseded], { notes: 'superseded build' }),
      keys.release,
    );
    const [artifact] = payloadOf('release', other).artifacts;
    if (!artifact) throw new Error('no artifact');

    const fetch = mitm(
      workerFetch,
      onCheck((answer) => ({
        ...answer,
        artifact: { url: answer.artifact?.url ?? '', sha256: artifact.sha256, size: artifact.size },
        signed: { ...answer.signed, release: other },
      })),
    );
    const client = await victim({ app, currentVersion: '1.0.0', fetch });
    await expectRefusal(client.check(), 'release_not_listed');
  });

  it('the darwin-arm64 artifact of the genuine release offered to a linux-x64 client: release_mismatch', async () => {
    const { app } = await genuineApp(['1.0.0']);
    const keys = await bootstrapKeys();
    const artifacts = [
      testArtifact(app, '1.1.0', 'linux', 'x64'),
      testArtifact(app, '1.1.0', 'darwin', 'arm64'),
    ];
    for (const a of artifacts) expect((await uploadArtifact(app, '1.1.0', a)).status).toBe(201);
    const manifest = await signDocument(
      'release',
      await releasePayload(app, '1.1.0', artifacts),
      keys.release,
    );
    expect((await admin(`/apps/${app}/releases`, { method: 'POST', body: { manifest } })).status).toBe(201);
    expect(
      (await admin(`/apps/${app}/channels/stable/rollouts`, { method: 'POST', body: { version: '1.1.0' } }))
        .status,
    ).toBe(200);
    clearStateCache();
    const darwin = payloadOf('release', manifest).artifacts.find((a) => a.platform === 'darwin');
    if (!darwin) throw new Error('no darwin artifact');

    const fetch = mitm(
      workerFetch,
      onCheck((answer) => ({
        ...answer,
        artifact: {
          url: `${ORIGIN}/v1/apps/${app}/artifacts/1.1.0/darwin-arm64/${darwin.file}`,
          sha256: darwin.sha256,
          size: darwin.size,
        },
      })),
    );
    const client = await victim({ app, currentVersion: '1.0.0', fetch });
    await expectRefusal(client.check(), 'release_mismatch');
  });
});

describe('downgrade without any key', () => {
  it('a "rollback" answer to the genuine, listed 1.0.0 that carries no signed yank: yank_invalid', async () => {
    const { app, manifests } = await genuineApp(['1.0.0', '1.1.0']);
    const older = manifestOf(manifests, '1.0.0');
    const [artifact] = payloadOf('release', older).artifacts;
    if (!artifact) throw new Error('no artifact');

    const fetch = mitm(
      workerFetch,
      onCheck((answer) => ({
        status: 'rollback',
        channel: answer.channel,
        version: '1.0.0',
        mandatory: true,
        artifact: {
          url: `${ORIGIN}/v1/apps/${app}/artifacts/1.0.0/linux-x64/${artifact.file}`,
          sha256: artifact.sha256,
          size: artifact.size,
        },
        signed: { snapshot: answer.signed.snapshot, release: older },
      })),
    );
    const client = await victim({ app, currentVersion: '1.1.0', fetch });
    await expectRefusal(client.check(), 'yank_invalid');
  });
});

describe('endless data: an artifact stream that never ends', () => {
  it('a body that never ends (no Content-Length): artifact_too_large, and the SDK stops reading', async () => {
    const { app } = await genuineApp(['1.0.0', '1.1.0']);
    const endless = endlessBody();
    const network = switchable();
    const client = await victim({ app, currentVersion: '1.0.0', fetch: network.fetch });
    const result = offered(await client.check());

    network.use(onArtifact(() => new Response(endless.body, { status: 200 })));
    await expectRefusal(client.download(result), 'artifact_too_large');

    // It read at most the first chunk past the signed size, hung up, and nothing more is pulled.
    const read = endless.produced();
    expect(read).toBeGreaterThan(result.artifact.size);
    expect(read).toBeLessThanOrEqual(result.artifact.size + 2 * 16 * 1024);
    expect(endless.cancelled()).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(endless.produced()).toBe(read);
  });

  it('the genuine bytes plus one appended byte: artifact_too_large', async () => {
    const { app } = await genuineApp(['1.0.0', '1.1.0']);
    const network = switchable();
    const client = await victim({ app, currentVersion: '1.0.0', fetch: network.fetch });
    const result = offered(await client.check());
    const genuine = await client.download(result);
    expect(await sha256Hex(genuine)).toBe(result.artifact.sha256);

    const longer = new Uint8Array(genuine.length + 1);
    longer.set(genuine);
    network.use(onArtifact(() => new Response(longer, { status: 200 })));
    await expectRefusal(client.download(result), 'artifact_too_large');
  });
});
