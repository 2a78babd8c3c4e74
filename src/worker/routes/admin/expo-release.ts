/**
 * What release registration checks of an artifact made for expo-updates (docs/protocol.md §10): its stored
 * manifest is a protocol v1 manifest of exactly this release, and every asset it lists is stored.
 * The manifest is served byte for byte later, so a mistake caught here is one no client ever meets.
 */
import type { Artifact } from '../../../protocol/documents.ts';
import {
  base64UrlToHex,
  EXPO_PLATFORMS,
  type ExpoAsset,
  type ExpoManifest,
  expoAssetPath,
  expoManifestSchema,
  expoUpdateId,
  hexToBase64Url,
} from '../../../protocol/expo.ts';
import { badRequest } from '../../http/errors.ts';
import { storedSha256 } from '../../storage/objects.ts';
import { assetKey } from '../../storage/projection.ts';

const invalid = (artifact: Artifact, message: string) =>
  badRequest('invalid_expo_manifest', `the Expo manifest of ${artifact.platform}: ${message}`);

/** Throws 400 `invalid_expo_manifest` or `asset_missing` unless `artifact.expo` is servable as is. */
export async function checkExpoArtifact(
  bucket: R2Bucket,
  app: string,
  version: string,
  artifact: Artifact,
): Promise<void> {
  const { expo, platform, runtime } = artifact;
  if (!expo) return;
  const expoPlatform = EXPO_PLATFORMS.find((p) => p === platform);
  if (!expoPlatform || artifact.arch !== 'any')
    throw invalid(
      artifact,
      `an Expo artifact must be ios-any or android-any, not ${platform}-${artifact.arch}`,
    );
  if (runtime === undefined)
    throw invalid(artifact, 'an Expo artifact must name its runtime (runtimeVersion)');
  if (artifact.sidecars !== undefined) throw invalid(artifact, 'an Expo artifact has no sidecar files');
  const manifest = parseManifest(artifact, expo.manifest);
  const id = await expoUpdateId(app, version, expoPlatform, runtime);
  if (manifest.id !== id)
    throw invalid(artifact, `id is ${manifest.id}; the update id of ${app} ${version} is ${id}`);
  if (manifest.runtimeVersion !== runtime)
    throw invalid(
      artifact,
      `runtimeVersion ${manifest.runtimeVersion} is not the artifact's runtime ${runtime}`,
    );
  if (manifest.launchAsset.hash !== hexToBase64Url(artifact.sha256))
    throw invalid(artifact, 'launchAsset is not the artifact (its hash differs from the signed sha256)');

  const stored = new Map<string, ExpoAsset>();
  for (const asset of [manifest.launchAsset, ...manifest.assets]) {
    const sha256 = base64UrlToHex(asset.hash);
    if (sha256 === undefined) throw invalid(artifact, `asset ${asset.key} has no valid hash`);
    const url = new URL(asset.url);
    if (url.pathname !== expoAssetPath(app, sha256) || url.search !== '' || url.hash !== '') {
      throw invalid(
        artifact,
        `asset ${asset.key} must be fetched from ${expoAssetPath(app, sha256)} on this server, not ${asset.url}`,
      );
    }
    stored.set(sha256, asset);
  }
  for (const [sha256, asset] of stored) {
    const object = await bucket.head(assetKey(app, sha256));
    if (!object)
      throw badRequest('asset_missing', `asset ${asset.key} (SHA-256 ${sha256}) has not been uploaded`);
    if (sha256 === artifact.sha256 && (object.size !== artifact.size || storedSha256(object) !== sha256)) {
      throw badRequest(
        'artifact_mismatch',
        `the launch asset holds ${object.size} bytes; the manifest signs ${artifact.size} bytes`,
      );
    }
  }
}

function parseManifest(artifact: Artifact, text: string): ExpoManifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw invalid(artifact, 'it is not JSON');
  }
  const parsed = expoManifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw invalid(artifact, `${issue?.path.join('.') || 'the manifest'}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}
