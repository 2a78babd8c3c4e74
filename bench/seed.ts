/**
 * Publishing through the admin API, as the CLI does: a keys document, apps, artifact uploads,
 * release manifests signed with the release key (src/protocol), and promotions. Releases are
 * uploaded and registered a few at a time; promotions run one after another because each one bumps
 * the channel revision and re-signs the channel's snapshot.
 */
import { createHash, sign as cryptoSign, generateKeyPairSync } from 'node:crypto';
import { ApiClient } from '../scripts/lib/api.ts';
import type { KeysPayload, ReleasePayload } from '../src/protocol/documents.ts';
import { type ExpoManifest, expoAssetPath, expoUpdateId, hexToBase64Url } from '../src/protocol/expo.ts';
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

/**
 * Uploads `version`'s artifacts, a linux-x64 one and a darwin-universal zip of the same bytes, then
 * signs and registers its manifest. Each artifact carries what the updaters of docs/protocol.md §9 check (a
 * real `sha512` and Sparkle signature, a well-formed Tauri one), so every adapter can offer it.
 */
export async function publishRelease(
  publisher: Publisher,
  app: string,
  version: string,
  artifact: ArtifactBytes,
): Promise<void> {
  const sha256 = createHash('sha256').update(artifact.bytes).digest('hex');
  const sha512 = createHash('sha512').update(artifact.bytes).digest('base64');
  const targets = [
    { platform: 'linux', arch: 'x64', file: artifact.file },
    { platform: 'darwin', arch: 'universal', file: `${artifact.file}.zip` },
  ] as const;
  for (const target of targets) {
    await publisher.client.request(
      'PUT',
      `/v1/admin/apps/${app}/uploads/${version}/${target.platform}-${target.arch}/${target.file}`,
      {
        body: artifact.bytes,
        headers: { 'content-type': 'application/octet-stream', 'x-updraft-sha256': sha256 },
      },
    );
  }
  const fields = {
    sha256,
    size: artifact.bytes.length,
    sha512,
    minisign: MINISIGN_PLACEHOLDER,
    ed_signature: cryptoSign(null, artifact.bytes, SPARKLE_KEY).toString('base64'),
  };
  const payload: ReleasePayload = {
    app,
    version,
    published_at: new Date().toISOString(),
    notes: `Release ${version}.`,
    mandatory: false,
    critical: false,
    requires: '*',
    artifacts: targets.map((target) => ({ ...target, ...fields })),
  };
  const manifest = await signDocument('release', payload, publisher.releaseKey);
  await publisher.client.post(`/v1/admin/apps/${app}/releases`, { manifest });
}

/** A Sparkle EdDSA key for the run: the signatures are real, though no Sparkle client checks them here. */
const SPARKLE_KEY = generateKeyPairSync('ed25519').privateKey;
/**
 * A well-formed Tauri `.sig` (base64 of a minisign signature file). The Worker serves it as it is and
 * never verifies it (the app does), so its content does not change what the benchmark measures.
 */
const MINISIGN_PLACEHOLDER = Buffer.from(
  'untrusted comment: signature from tauri secret key\nRUQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n',
).toString('base64');

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

/** Completes the rollout of `version` on `stable` (what makes a release a baseline, docs/protocol.md §6). */
export async function complete(publisher: Publisher, app: string, version: string): Promise<void> {
  await publisher.client.post(`/v1/admin/apps/${app}/channels/stable/rollouts/${version}/complete`, {});
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

/**
 * Publishes `version` of `app` as an Expo release for iOS, as test/worker/support/expo-fixtures.ts
 * `publishExpo` does (and `updraft publish --expo`): the launch bundle and a shared image uploaded
 * content-addressed, a manifest whose id is `expoUpdateId` and whose asset URLs point at `origin`,
 * registered on an `ios-any` artifact of runtime `runtime`. The manifest is not code-signed (the
 * Worker serves a signature as stored and never computes one, so signing would not change the
 * work it does per request). Returns the manifest's update id.
 */
export async function publishExpoRelease(
  publisher: Publisher,
  origin: string,
  app: string,
  version: string,
  runtime: string,
): Promise<string> {
  const put = async (bytes: Uint8Array<ArrayBuffer>, contentType: string) => {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    await publisher.client.request('PUT', `/v1/admin/apps/${app}/assets/${sha256}`, {
      body: bytes,
      headers: { 'content-type': contentType },
    });
    return {
      sha256,
      size: bytes.length,
      entry: {
        hash: hexToBase64Url(sha256),
        key: sha256.slice(0, 32),
        contentType,
        url: `${origin}${expoAssetPath(app, sha256)}`,
      },
    };
  };
  const encode = (text: string) => new Uint8Array(new TextEncoder().encode(text));
  const bundle = await put(
    encode(`/* ${app} ${version} ios */ console.log("hello");`),
    'application/javascript',
  );
  const shared = await put(encode(`${app} shared icon`), 'image/png');
  const id = await expoUpdateId(app, version, 'ios', runtime);
  const manifest: ExpoManifest = {
    id,
    createdAt: new Date().toISOString(),
    runtimeVersion: runtime,
    launchAsset: bundle.entry,
    assets: [{ ...shared.entry, fileExtension: '.png' }],
    metadata: {},
    extra: {},
  };
  const payload: ReleasePayload = {
    app,
    version,
    published_at: new Date().toISOString(),
    notes: '',
    mandatory: false,
    critical: false,
    requires: '*',
    artifacts: [
      {
        platform: 'ios',
        arch: 'any',
        file: 'index-ios.js',
        sha256: bundle.sha256,
        size: bundle.size,
        content_type: 'application/javascript',
        runtime,
        expo: { manifest: JSON.stringify(manifest) },
      },
    ],
  };
  const signed = await signDocument('release', payload, publisher.releaseKey);
  await publisher.client.post(`/v1/admin/apps/${app}/releases`, { manifest: signed });
  return id;
}

/**
 * Checks once as a new client would and returns the SHA-256 (hex) of the snapshot it was sent: the
 * benchmark's checks send it (`snapshot=`, docs/protocol.md §4), as the SDK does once it holds a snapshot, and
 * are answered without it. Throws unless such a check is indeed answered without the snapshot.
 */
export async function heldSnapshotSha256(origin: URL, app: string): Promise<string> {
  const url = new URL(
    `/v1/apps/${app}/check?client_id=bench-holder&version=0.0.1&platform=linux&arch=x64`,
    origin,
  );
  const response = await fetch(url);
  const answer = (await response.json()) as { signed?: { snapshot?: string } };
  const snapshot = answer.signed?.snapshot;
  if (!response.ok || snapshot === undefined) throw new Error(`no snapshot for ${app}: ${response.status}`);
  const sha256 = createHash('sha256').update(snapshot).digest('hex');
  // What the load will get: the answer without the snapshot, naming the one held.
  const elided = await fetch(`${url}&snapshot=${sha256}`);
  const body = (await elided.json()) as { signed?: Record<string, unknown> };
  if (body.signed?.snapshot !== undefined || body.signed?.snapshot_sha256 !== sha256) {
    throw new Error(`${app}: the check did not leave out the snapshot the client holds`);
  }
  return sha256;
}
