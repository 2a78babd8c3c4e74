/**
 * What `updraft publish --expo <dist>` adds to a release (docs/protocol.md §10): per platform of the export,
 * an artifact whose file is the launch asset and whose `expo.manifest` is the expo-updates manifest,
 * serialized once here and never again (the Worker serves, and the app verifies, those exact bytes);
 * and the upload of every asset not stored yet, content-addressed and shared across releases.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Artifact } from '../../src/protocol/documents.ts';
import { runtimeSchema } from '../../src/protocol/documents.ts';
import {
  type ExpoAsset,
  type ExpoManifest,
  type ExpoPlatform,
  expoAssetPath,
  expoManifestSchema,
  expoUpdateId,
  hexToBase64Url,
  MAX_ASSET_QUERY,
  MAX_EXPO_MANIFEST_BYTES,
} from '../../src/protocol/expo.ts';
import { type ApiClient, seg } from './api.ts';
import { UserError } from './errors.ts';
import { type ExpoExport, type ExpoFile, readExpoExport } from './expo-export.ts';
import { type ExpoSigner, type ExpoSignerOptions, readExpoSigner, signExpo } from './expo-signing.ts';
import type { TargetValue } from './parse.ts';
import type { Reporter } from './progress.ts';
import { formatBytes } from './table.ts';

/** Where each platform's runtime version comes from, strongest first. */
export interface ExpoRuntimeFlags {
  /** `--runtime ios-any=<rv>`. */
  byTarget: ReadonlyMap<string, string>;
  /** `--runtime <rv>`: every platform. */
  all?: string;
}

/**
 * The runtime version of each platform: a flag, else expoConfig.json's `<platform>.runtimeVersion`
 * or `runtimeVersion` when it is a string. A policy (`{"policy": "appVersion"}`) is resolved by
 * Expo's own tools at build time; the CLI does not guess what they made of it.
 */
export function expoRuntimes(exported: ExpoExport, flags: ExpoRuntimeFlags): Map<ExpoPlatform, string> {
  const runtimes = new Map<ExpoPlatform, string>();
  const config = exported.expoConfig ?? {};
  for (const { platform } of exported.platforms) {
    // A platform's own runtimeVersion replaces the top-level one, even when it is a policy.
    const own = config[platform];
    const configured =
      typeof own === 'object' && own !== null && 'runtimeVersion' in own
        ? own.runtimeVersion
        : config.runtimeVersion;
    const fromConfig = typeof configured === 'string' ? configured : undefined;
    const runtime = flags.byTarget.get(`${platform}-any`) ?? flags.all ?? fromConfig;
    if (runtime === undefined)
      throw new UserError(
        `no runtime version for the ${platform} export: give --runtime <runtimeVersion> (expoConfig.json has none, or a policy only Expo's tools resolve)`,
      );
    if (!runtimeSchema.safeParse(runtime).success)
      throw new UserError(
        `the ${platform} runtime version "${runtime}" must be 1-255 printable ASCII characters without spaces`,
      );
    runtimes.set(platform, runtime);
  }
  return runtimes;
}

/** `--asset-origin` (or the server): the scheme, host and port asset URLs start with. */
export function parseAssetOrigin(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UserError(`--asset-origin is not a URL: ${text}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UserError(`--asset-origin must be an http or https URL: ${text}`);
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '')
    throw new UserError(
      `--asset-origin must be an origin without a path (https://updates.example.com), got ${text}`,
    );
  return url.origin;
}

export interface ExpoArtifactsInput {
  app: string;
  version: string;
  exported: ExpoExport;
  runtimes: ReadonlyMap<ExpoPlatform, string>;
  assetOrigin: string;
  now: Date;
  signer?: ExpoSigner;
}

/** One artifact per platform of the export, its manifest built, checked and signed. */
export async function expoArtifacts(input: ExpoArtifactsInput): Promise<Artifact[]> {
  const { app, version, exported, assetOrigin } = input;
  const asset = (file: ExpoFile, fileExtension: string): ExpoAsset => ({
    hash: hexToBase64Url(file.sha256),
    key: file.md5,
    contentType: file.contentType,
    fileExtension,
    url: `${assetOrigin}${expoAssetPath(app, file.sha256)}`,
  });
  const artifacts: Artifact[] = [];
  for (const { platform, bundle, assets } of exported.platforms) {
    const runtime = input.runtimes.get(platform);
    if (runtime === undefined) throw new Error(`no runtime resolved for ${platform}`);
    const body: ExpoManifest = {
      id: await expoUpdateId(app, version, platform, runtime),
      createdAt: input.now.toISOString(),
      runtimeVersion: runtime,
      // `.bundle`, as Expo's reference server and EAS Update name the launch asset.
      launchAsset: asset(bundle, '.bundle'),
      assets: assets.map((a) => asset(a, `.${a.ext}`)),
      metadata: {},
      extra: exported.expoConfig ? { expoClient: exported.expoConfig } : {},
    };
    const checked = expoManifestSchema.safeParse(body);
    if (!checked.success)
      throw new UserError(
        `the ${platform} manifest is not valid: ${checked.error.issues[0]?.message ?? 'unknown'}`,
      );
    const manifest = JSON.stringify(body);
    const bytes = Buffer.byteLength(manifest);
    if (bytes > MAX_EXPO_MANIFEST_BYTES)
      throw new UserError(
        `the ${platform} manifest takes ${formatBytes(bytes)}; at most ${formatBytes(MAX_EXPO_MANIFEST_BYTES)} (expoConfig.json is part of it)`,
      );
    artifacts.push({
      platform,
      arch: 'any',
      file: basename(bundle.name),
      sha256: bundle.sha256,
      size: bundle.size,
      content_type: bundle.contentType,
      runtime,
      expo: input.signer ? { manifest, signature: signExpo(manifest, input.signer) } : { manifest },
    });
  }
  return artifacts;
}

/** Every file the export's manifests point to (launch assets included), each content once. */
export function distinctFiles(exported: ExpoExport): ExpoFile[] {
  const bySha = new Map<string, ExpoFile>();
  for (const { bundle, assets } of exported.platforms) {
    for (const file of [bundle, ...assets]) if (!bySha.has(file.sha256)) bySha.set(file.sha256, file);
  }
  return [...bySha.values()];
}

/** Uploads the files the server does not store yet; counts those it already had. */
export async function uploadExpoAssets(
  client: ApiClient,
  app: string,
  files: readonly ExpoFile[],
  reporter: Reporter,
): Promise<{ uploaded: number; skipped: number }> {
  const base = `/v1/admin/apps/${seg(app)}/assets`;
  const missing = new Set<string>();
  for (let i = 0; i < files.length; i += MAX_ASSET_QUERY) {
    const sha256 = files.slice(i, i + MAX_ASSET_QUERY).map((f) => f.sha256);
    const answer = await client.post<{ missing: string[] }>(`${base}/missing`, { sha256 });
    for (const hash of answer.missing) missing.add(hash);
  }
  const uploads = files.filter((f) => missing.has(f.sha256));
  for (const file of uploads) {
    const progress = reporter.progress(`uploading ${file.name}`, file.size);
    await client.request('PUT', `${base}/${file.sha256}`, {
      body: new Uint8Array(await readFile(file.path)),
      headers: { 'content-length': String(file.size), 'content-type': file.contentType },
    });
    progress.advance(file.size);
    progress.done(`uploaded ${file.name} (${formatBytes(file.size)})`);
  }
  const result = { uploaded: uploads.length, skipped: files.length - uploads.length };
  reporter.info(`expo assets: ${result.uploaded} uploaded, ${result.skipped} already stored (skipped)`);
  return result;
}

export interface ExpoPublishOptions {
  /** The `npx expo export` folder. */
  dir: string;
  /** `--runtime <rv>` without a target: the runtime version of every platform of the export. */
  runtime?: string;
  /** `--asset-origin`; default the server's origin. */
  assetOrigin?: string;
  /** When the app uses code signing: its key, keyid and certificate. */
  signing?: ExpoSignerOptions;
}

export interface PreparedExpoRelease {
  artifacts: Artifact[];
  /** What to upload (or find stored): each file of the manifests once. */
  files: ExpoFile[];
  /** The `--runtime <target>=` flags that were not for the export, left to the other artifacts. */
  otherRuntimes: TargetValue[];
}

/** Reads, checks, builds and signs everything of `--expo` before the first upload. */
export async function prepareExpoRelease(
  app: string,
  version: string,
  opts: ExpoPublishOptions,
  targetRuntimes: readonly TargetValue[],
  server: string,
  now: Date,
): Promise<PreparedExpoRelease> {
  const exported = await readExpoExport(opts.dir);
  const isExpoTarget = (t: TargetValue) =>
    t.arch === 'any' && exported.platforms.some((p) => p.platform === t.platform);
  const byTarget = new Map<string, string>();
  for (const t of targetRuntimes.filter(isExpoTarget)) {
    if (byTarget.has(`${t.platform}-any`))
      throw new UserError(`--runtime is given twice for ${t.platform}-any`);
    byTarget.set(`${t.platform}-any`, t.value);
  }
  const runtimes = expoRuntimes(exported, { byTarget, ...(opts.runtime ? { all: opts.runtime } : {}) });
  const assetOrigin = parseAssetOrigin(opts.assetOrigin ?? new URL(server).origin);
  const signer = opts.signing ? await readExpoSigner({ ...opts.signing, now }) : undefined;
  const artifacts = await expoArtifacts({
    app,
    version,
    exported,
    runtimes,
    assetOrigin,
    now,
    ...(signer ? { signer } : {}),
  });
  return {
    artifacts,
    files: distinctFiles(exported),
    otherRuntimes: targetRuntimes.filter((t) => !isExpoTarget(t)),
  };
}
