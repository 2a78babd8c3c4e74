/**
 * Expo releases through the real admin API (docs/protocol.md §10): assets uploaded content-addressed,
 * per-platform manifests built as `updraft publish --expo` builds them, optionally code-signed with
 * an RSA key (WebCrypto, RSASSA-PKCS1-v1_5 SHA-256: what expo-updates verifies), registered in a
 * signed release manifest.
 */
import { randomHex, sha256Hex } from '../../../src/protocol/encoding.ts';
import {
  type ExpoManifest,
  type ExpoPlatform,
  expoAssetPath,
  expoSignature,
  expoUpdateId,
  hexToBase64Url,
} from '../../../src/protocol/expo.ts';
import { signDocument } from '../../../src/protocol/jws.ts';
import { admin, bootstrapKeys, ORIGIN } from './fixtures.ts';

export const RSA = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;

/** An RSA code signing key pair, as `npx expo-updates codesigning:generate` makes (2048 bits). */
export function rsaKeys(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(
    { ...RSA, modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) },
    false,
    ['sign', 'verify'],
  ) as Promise<CryptoKeyPair>;
}

/** The `expo-signature` value of `body` signed with `key`. */
export async function signExpo(body: string, key: CryptoKey, keyid = 'main'): Promise<string> {
  const sig = new Uint8Array(await crypto.subtle.sign(RSA, key, new TextEncoder().encode(body)));
  let binary = '';
  for (const byte of sig) binary += String.fromCharCode(byte);
  return expoSignature(btoa(binary), keyid);
}

/** Whether the `sig` of an `expo-signature` value verifies over `body` with `key`. */
export async function verifiesExpo(body: string, header: string, key: CryptoKey): Promise<boolean> {
  const sig = /sig="([^"]+)"/.exec(header)?.[1];
  if (!sig) return false;
  const bytes = Uint8Array.from(atob(sig), (ch) => ch.charCodeAt(0));
  return crypto.subtle.verify(RSA, key, bytes, new TextEncoder().encode(body));
}

export interface StoredAsset {
  sha256: string;
  bytes: Uint8Array;
  contentType: string;
  ext: string;
}

/** Uploads an asset through the admin API; returns its status (201 new, 200 already stored). */
export async function putAsset(app: string, asset: StoredAsset): Promise<number> {
  const { status } = await admin(`/apps/${app}/assets/${asset.sha256}`, {
    method: 'PUT',
    body: asset.bytes,
    headers: { 'Content-Type': asset.contentType },
  });
  return status;
}

export async function asset(text: string, ext = 'png', contentType = 'image/png'): Promise<StoredAsset> {
  const bytes = new TextEncoder().encode(text);
  return { sha256: await sha256Hex(bytes), bytes, contentType, ext };
}

const entry = (app: string, a: StoredAsset) => ({
  hash: hexToBase64Url(a.sha256),
  key: a.sha256.slice(0, 32),
  contentType: a.contentType,
  url: `${ORIGIN}${expoAssetPath(app, a.sha256)}`,
});

export interface ExpoPublish {
  platforms?: ExpoPlatform[];
  runtime?: string;
  /** Code-signs every manifest with this key. */
  signWith?: CryptoKey;
  /** Shared image asset (the same bytes in every release). */
  shared?: StoredAsset;
  /** Changes the manifest before it is signed (to test refusals). */
  tamper?: (manifest: ExpoManifest) => void;
  /** Skip uploading these. */
  skipUpload?: boolean;
}

/** Publishes `version` as an Expo release; returns the register response and the manifests. */
export async function publishExpo(app: string, version: string, options: ExpoPublish = {}) {
  const keys = await bootstrapKeys();
  const runtime = options.runtime ?? '1.0.0';
  const shared = options.shared ?? (await asset('shared icon'));
  const artifacts = [];
  const manifests: Record<string, ExpoManifest> = {};
  for (const platform of options.platforms ?? ['ios', 'android']) {
    const bundle = await asset(
      `/* ${app} ${version} ${platform} ${randomHex(4)} */ console.log("hello");`,
      'js',
      'application/javascript',
    );
    if (!options.skipUpload) for (const a of [bundle, shared]) await putAsset(app, a);
    const manifest: ExpoManifest = {
      id: await expoUpdateId(app, version, platform, runtime),
      createdAt: new Date().toISOString(),
      runtimeVersion: runtime,
      launchAsset: entry(app, bundle),
      assets: [{ ...entry(app, shared), fileExtension: `.${shared.ext}` }],
      metadata: {},
      extra: {},
    };
    options.tamper?.(manifest);
    manifests[platform] = manifest;
    const text = JSON.stringify(manifest);
    const signature = options.signWith ? await signExpo(text, options.signWith) : undefined;
    artifacts.push({
      platform,
      arch: 'any' as const,
      file: `index-${platform}.js`,
      sha256: bundle.sha256,
      size: bundle.bytes.length,
      content_type: 'application/javascript',
      runtime,
      expo: signature ? { manifest: text, signature } : { manifest: text },
    });
  }
  const jws = await signDocument(
    'release',
    {
      app,
      version,
      published_at: new Date().toISOString(),
      notes: '',
      mandatory: false,
      critical: false,
      requires: '*',
      artifacts,
    },
    keys.release,
  );
  const registered = await admin(`/apps/${app}/releases`, { method: 'POST', body: { manifest: jws } });
  return { registered, manifests };
}
