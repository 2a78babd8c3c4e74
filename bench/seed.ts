/**
 * Publishing through the admin API, as the CLI does: a keys document, apps, artifact uploads,
 * release manifests signed with the release key (src/protocol), and promotions. Releases are
 * uploaded and registered a few at a time; promotions run one after another because each one bumps
 * the channel revision and re-signs the channel's snapshot.
 */
import { createHash } from 'node:crypto';
import { ApiClient } from '../scripts/lib/api.ts';
import type { KeysPayload, ReleasePayload } from '../src/protocol/documents.ts';
import { type PrivateJwk, signDocument } from '../src/protocol/jws.ts';
import { generateKeyPair, parsePrivateJwk, publicJwk } from '../src/protocol/keys.ts';

const YEAR_MS = 365 * 24 * 3600 * 1000;
/** Uploads and registrations in flight at once while seeding many releases. */
const PUBLISH_CONCURRENCY = 4;

export interface Publisher {
  client: ApiClient;
  releaseKey: PrivateJwk;
}

/** Registers keys document 1 (fresh root and release keys, the Worker's online key) and returns the signer. */
export async function bootstrapKeys(
  origin: string,
  adminToken: string,
  onlineKey: string,
): Promise<Publisher> {
  const client = new ApiClient({ server: origin, token: adminToken });
  const root = (await generateKeyPair()).privateJwk;
  const releaseKey = (await generateKeyPair()).privateJwk;
  const payload: KeysPayload = {
    version: 1,
    expires: new Date(Date.now() + YEAR_MS).toISOString(),
    root: [publicJwk(root)],
    release: [publicJwk(releaseKey)],
    online: [publicJwk(parsePrivateJwk(onlineKey))],
  };
  await client.post('/v1/admin/keys', { keys: await signDocument('keys', payload, root) });
  return { client, releaseKey };
}

/** An app whose only channel is the public default channel `stable`. */
export async function createApp(publisher: Publisher, app: string): Promise<void> {
  await publisher.client.post('/v1/admin/apps', {
    name: app,
    default_channel: 'stable',
    channels: [{ name: 'stable', public: true }],
  });
}

export interface ArtifactBytes {
  file: string;
  bytes: Uint8Array<ArrayBuffer>;
}

/** Uploads the linux-x64 artifact of `version`, then signs and registers its manifest. */
export async function publishRelease(
  publisher: Publisher,
  app: string,
  version: string,
  artifact: ArtifactBytes,
): Promise<void> {
  const sha256 = createHash('sha256').update(artifact.bytes).digest('hex');
  await publisher.client.request(
    'PUT',
    `/v1/admin/apps/${app}/uploads/${version}/linux-x64/${artifact.file}`,
    {
      body: artifact.bytes,
      headers: { 'content-type': 'application/gzip', 'x-updraft-sha256': sha256 },
    },
  );
  const payload: ReleasePayload = {
    app,
    version,
    published_at: new Date().toISOString(),
    notes: `Release ${version}.`,
    mandatory: false,
    critical: false,
    requires: '*',
    artifacts: [{ platform: 'linux', arch: 'x64', file: artifact.file, sha256, size: artifact.bytes.length }],
  };
  const manifest = await signDocument('release', payload, publisher.releaseKey);
  await publisher.client.post(`/v1/admin/apps/${app}/releases`, { manifest });
}

/** Promotes `version` to `percentBp` basis points of the `stable` channel. */
export async function promote(
  publisher: Publisher,
  app: string,
  version: string,
  percentBp: number,
): Promise<void> {
  await publisher.client.post(`/v1/admin/apps/${app}/channels/stable/rollouts`, {
    version,
    percent_bp: percentBp,
  });
}

/** `1.<i / 100>.<i % 100>`: the i-th release, in ascending order. */
export const nthVersion = (i: number) => `1.${Math.floor(i / 100)}.${i % 100}`;

/** A tiny artifact unique to its release (each release's bytes live under its own R2 path). */
export const tinyArtifact = (app: string, version: string): ArtifactBytes => ({
  file: `${app}-${version}.tar.gz`,
  bytes: new TextEncoder().encode(`${app} ${version} linux-x64`),
});

/**
 * Publishes releases `from` … `to - 1` (nthVersion) with tiny artifacts and promotes each to 100 %
 * of `stable`, so the channel then lists `to` releases.
 */
export async function addReleases(
  publisher: Publisher,
  app: string,
  from: number,
  to: number,
): Promise<void> {
  const versions = Array.from({ length: to - from }, (_, k) => nthVersion(from + k));
  let next = 0;
  const worker = async () => {
    for (let k = next++; k < versions.length; k = next++) {
      const version = versions[k];
      if (version !== undefined) await publishRelease(publisher, app, version, tinyArtifact(app, version));
    }
  };
  await Promise.all(Array.from({ length: PUBLISH_CONCURRENCY }, worker));
  for (const version of versions) await promote(publisher, app, version, 10_000);
}
