/**
 * expo-updates protocol v1 (docs/protocol.md §10, https://docs.expo.dev/technical-specs/expo-updates-1/): the
 * shapes Updraft writes at publish time and serves unchanged. Shared by the CLI (which builds and
 * signs manifests and directives), the Worker (which checks them at registration and serves their
 * stored bytes) and the tests; pure.
 */
import * as z from 'zod';
import { nameBasedUuid } from './encoding.ts';

/** The platforms expo-updates sends in `expo-platform`. */
export const EXPO_PLATFORMS = ['ios', 'android'] as const;
export type ExpoPlatform = (typeof EXPO_PLATFORMS)[number];

/** The code signing algorithm expo-updates implements (`codeSigningMetadata.alg`). */
export const EXPO_SIGNING_ALG = 'rsa-v1_5-sha256';
/** expo-updates' default `codeSigningMetadata.keyid`. */
export const DEFAULT_EXPO_KEYID = 'main';

/** The most assets one platform's update may list (a large app ships a few hundred). */
export const MAX_EXPO_ASSETS = 2_000;
/** The most hashes one `POST …/assets/missing` may ask about (each costs the Worker an R2 lookup). */
export const MAX_ASSET_QUERY = 500;
/** The most bytes one stored manifest may take: it travels inside the signed release manifest. */
export const MAX_EXPO_MANIFEST_BYTES = 512 * 1024;

/** SHA-256 in base64url without padding (43 characters), as manifests carry asset hashes. */
export const sha256Base64UrlSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{43}$/, 'must be a SHA-256 in base64url without padding (43 characters)');

export const expoAssetSchema = z.object({
  hash: sha256Base64UrlSchema,
  key: z.string().min(1).max(256),
  contentType: z.string().min(1).max(128),
  fileExtension: z
    .string()
    .regex(/^\.[A-Za-z0-9]{1,16}$/)
    .optional(),
  url: z.url({ protocol: /^https?$/ }).max(2048),
});
export type ExpoAsset = z.infer<typeof expoAssetSchema>;

/** A manifest body (protocol v1 "Manifest Body"); `hash` is required here: Updraft always sends it. */
export const expoManifestSchema = z.object({
  id: z.uuid(),
  createdAt: z.iso.datetime(),
  runtimeVersion: z.string().min(1).max(255),
  launchAsset: expoAssetSchema,
  assets: z.array(expoAssetSchema).max(MAX_EXPO_ASSETS),
  metadata: z.record(z.string(), z.string()),
  extra: z.record(z.string(), z.unknown()),
});
export type ExpoManifest = z.infer<typeof expoManifestSchema>;

/**
 * The `expo-signature` value of a manifest or directive: `sig="<base64>", keyid="<id>", alg="…"`
 * (an Expo SFV dictionary, RFC 8941 strings).
 */
export const expoSignatureSchema = z
  .string()
  .max(2048)
  .regex(
    /^sig="[A-Za-z0-9+/=]{16,1400}", keyid="[\x20-\x21\x23-\x5b\x5d-\x7e]{1,128}", alg="rsa-v1_5-sha256"$/,
    'must be an expo-signature value: sig="<base64>", keyid="<id>", alg="rsa-v1_5-sha256"',
  );

/** What a release manifest's artifact records for expo-updates (docs/protocol.md §10). */
export const expoArtifactSchema = z.object({
  /** The manifest body exactly as served (and signed), JSON. */
  manifest: z.string().min(2).max(MAX_EXPO_MANIFEST_BYTES),
  /** Its `expo-signature`, when the app uses code signing. */
  signature: expoSignatureSchema.optional(),
});
export type ExpoArtifact = z.infer<typeof expoArtifactSchema>;

/** The `expo-signature` value for a base64 RSA signature made with the key `keyid`. */
export function expoSignature(sigBase64: string, keyid: string = DEFAULT_EXPO_KEYID): string {
  return `sig="${sigBase64}", keyid="${keyid}", alg="${EXPO_SIGNING_ALG}"`;
}

/** The `noUpdateAvailable` directive body. */
export const NO_UPDATE_DIRECTIVE = JSON.stringify({ type: 'noUpdateAvailable' });

/**
 * The `rollBackToEmbedded` directive body of a yank: its `commitTime` is the yank's `yanked_at`, so
 * that expo-updates, which takes a directive only when it is newer than the update it runs, takes it.
 */
export function rollBackToEmbeddedDirective(yankedAt: string): string {
  return JSON.stringify({ type: 'rollBackToEmbedded', parameters: { commitTime: yankedAt } });
}

/**
 * The update id (a UUID) of a release's manifest for one platform and runtime: name-based (RFC 9562
 * version 8, from SHA-256), so the Worker can tell which release a client runs from the
 * `expo-current-update-id` it sends, even for a yanked release whose manifest it no longer holds.
 */
export async function expoUpdateId(
  app: string,
  version: string,
  platform: ExpoPlatform,
  runtime: string,
): Promise<string> {
  return nameBasedUuid(['updraft-expo-update', app, version, platform, runtime]);
}

/** The path of a content-addressed asset on the Worker (`sha256` in hex). */
export const expoAssetPath = (app: string, sha256: string) => `/v1/apps/${app}/assets/${sha256}`;

/** A SHA-256 in hex as the manifest's base64url `hash`. */
export function hexToBase64Url(hex: string): string {
  let binary = '';
  for (let i = 0; i < hex.length; i += 2)
    binary += String.fromCharCode(Number.parseInt(hex.slice(i, i + 2), 16));
  return btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

/** A manifest's base64url `hash` as hex, or undefined when it is not one. */
export function base64UrlToHex(hash: string): string | undefined {
  if (!sha256Base64UrlSchema.safeParse(hash).success) return undefined;
  const binary = atob(`${hash.replaceAll('-', '+').replaceAll('_', '/')}=`);
  let hex = '';
  for (let i = 0; i < binary.length; i++) hex += binary.charCodeAt(i).toString(16).padStart(2, '0');
  return hex;
}
