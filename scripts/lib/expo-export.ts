/**
 * Reads the folder `npx expo export` writes (docs/protocol.md §10): `metadata.json` names, per platform, the
 * launch asset (the JS or Hermes bundle) and the assets, by paths inside the folder; the optional
 * `expoConfig.json` is the app config the manifest carries in `extra.expoClient`. Everything is read,
 * checked and hashed here, before anything is uploaded, so a bad folder is one line and no upload.
 */
import { createHash } from 'node:crypto';
import { readFile, realpath, stat } from 'node:fs/promises';
import { basename, isAbsolute, join, relative, sep } from 'node:path';
import { fileNameSchema } from '../../src/protocol/documents.ts';
import { EXPO_PLATFORMS, type ExpoPlatform, MAX_EXPO_ASSETS } from '../../src/protocol/expo.ts';
import { messageOf, UserError } from './errors.ts';
import { isCode } from './keys-folder.ts';
import { formatBytes } from './table.ts';
import { SINGLE_UPLOAD_LIMIT } from './upload.ts';

/** One file of the export, hashed. */
export interface ExpoFile {
  /** Its path inside the export folder, as metadata.json names it. */
  name: string;
  /** Absolute path on disk. */
  path: string;
  size: number;
  /** SHA-256 in hex: the content address it is stored under. */
  sha256: string;
  /** MD5 in hex: the manifest's asset `key`, as Expo's reference server makes it. */
  md5: string;
  /** Extension without its dot (`png`); for the launch asset, that of the bundle file. */
  ext: string;
  contentType: string;
}

export interface ExpoPlatformExport {
  platform: ExpoPlatform;
  bundle: ExpoFile;
  assets: ExpoFile[];
}

export interface ExpoExport {
  platforms: ExpoPlatformExport[];
  /** expoConfig.json, when the export has one. */
  expoConfig?: Record<string, unknown>;
}

/** The launch asset's type, whatever the bundle's extension (`.js`, or `.hbc` for Hermes bytecode). */
export const LAUNCH_ASSET_CONTENT_TYPE = 'application/javascript';

// The asset types an Expo app bundles (Metro's default assetExts); others are served as bytes.
const ASSET_TYPES: Record<string, string> = {
  bmp: 'image/bmp',
  gif: 'image/gif',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  avif: 'image/avif',
  heic: 'image/heic',
  svg: 'image/svg+xml',
  ico: 'image/x-icon',
  ttf: 'font/ttf',
  otf: 'font/otf',
  woff: 'font/woff',
  woff2: 'font/woff2',
  mp3: 'audio/mpeg',
  wav: 'audio/wav',
  aac: 'audio/aac',
  m4a: 'audio/mp4',
  ogg: 'audio/ogg',
  mp4: 'video/mp4',
  mov: 'video/quicktime',
  webm: 'video/webm',
  json: 'application/json',
  html: 'text/html',
  txt: 'text/plain',
  pdf: 'application/pdf',
  zip: 'application/zip',
};

/** The MIME type of an asset of extension `ext` (without its dot). */
export function assetContentType(ext: string): string {
  return ASSET_TYPES[ext.toLowerCase()] ?? 'application/octet-stream';
}

/** Reads and hashes the export in `dir`: every platform metadata.json lists. */
export async function readExpoExport(dir: string): Promise<ExpoExport> {
  const root = await folder(dir);
  const metadata = await readJsonObject(join(root, 'metadata.json'), dir);
  if (metadata === undefined)
    throw new UserError(`--expo ${dir}: no metadata.json (is it an \`npx expo export\` folder?)`);
  const fileMetadata = metadata.fileMetadata;
  if (!isObject(fileMetadata)) throw new UserError(`--expo ${dir}: metadata.json has no fileMetadata object`);
  for (const key of Object.keys(fileMetadata)) {
    if (!EXPO_PLATFORMS.some((p) => p === key))
      throw new UserError(
        `--expo ${dir}: metadata.json lists platform "${key}"; expo-updates serves ${EXPO_PLATFORMS.join(' and ')}`,
      );
  }
  const listed = EXPO_PLATFORMS.filter((p) => p in fileMetadata);
  if (listed.length === 0) throw new UserError(`--expo ${dir}: metadata.json lists no platform`);
  const platforms: ExpoPlatformExport[] = [];
  for (const platform of listed) {
    const entry = fileMetadata[platform];
    const where = `--expo ${dir}: metadata.json ${platform}`;
    if (!isObject(entry) || typeof entry.bundle !== 'string' || !Array.isArray(entry.assets))
      throw new UserError(`${where} must have a "bundle" path and an "assets" list`);
    if (entry.assets.length > MAX_EXPO_ASSETS)
      throw new UserError(`${where} lists ${entry.assets.length} assets; at most ${MAX_EXPO_ASSETS}`);
    const bundleName = basename(entry.bundle);
    if (!fileNameSchema.safeParse(bundleName).success)
      throw new UserError(`${where} bundle file name "${bundleName}" must be 1-128 of A-Z a-z 0-9 . _ + -`);
    const bundle = await exportFile(
      root,
      dir,
      entry.bundle,
      extensionOf(bundleName),
      LAUNCH_ASSET_CONTENT_TYPE,
    );
    const assets: ExpoFile[] = [];
    for (const asset of entry.assets) {
      if (!isObject(asset) || typeof asset.path !== 'string' || typeof asset.ext !== 'string')
        throw new UserError(`${where} assets must each have a "path" and an "ext"`);
      if (!/^[A-Za-z0-9]{1,16}$/.test(asset.ext))
        throw new UserError(
          `${where} asset ${asset.path} has the extension "${asset.ext}"; 1-16 of A-Z a-z 0-9`,
        );
      assets.push(await exportFile(root, dir, asset.path, asset.ext, assetContentType(asset.ext)));
    }
    platforms.push({ platform, bundle, assets });
  }
  const expoConfig = await readJsonObject(join(root, 'expoConfig.json'), dir);
  return { platforms, ...(expoConfig ? { expoConfig } : {}) };
}

/** The export folder's real path, or a UserError when it is not a folder. */
async function folder(dir: string): Promise<string> {
  try {
    const root = await realpath(dir);
    if (!(await stat(root)).isDirectory()) throw new UserError(`--expo ${dir} is not a folder`);
    return root;
  } catch (error) {
    if (isCode(error, 'ENOENT')) throw new UserError(`--expo ${dir}: no such folder`);
    throw error;
  }
}

/**
 * Reads and hashes the file `name` of the export. Its real path must stay inside the folder: a
 * metadata.json naming `../secret` or a symlink out of the export would otherwise publish any file.
 */
async function exportFile(
  root: string,
  dir: string,
  name: string,
  ext: string,
  contentType: string,
): Promise<ExpoFile> {
  const escapes = (path: string) => {
    const rel = relative(root, path);
    return rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel);
  };
  if (isAbsolute(name) || escapes(join(root, name)))
    throw new UserError(`--expo ${dir}: metadata.json names ${name}, which is outside the export folder`);
  let path: string;
  let bytes: Buffer;
  try {
    path = await realpath(join(root, name));
    if (escapes(path))
      throw new UserError(`--expo ${dir}: ${name} links to a file outside the export folder`);
    const info = await stat(path);
    if (!info.isFile()) throw new UserError(`--expo ${dir}: ${name} is not a file`);
    // An asset goes up in one PUT: larger ones have no place in an over-the-air update anyway.
    if (info.size > SINGLE_UPLOAD_LIMIT)
      throw new UserError(
        `--expo ${dir}: ${name} is ${formatBytes(info.size)}; an asset may be at most ${formatBytes(SINGLE_UPLOAD_LIMIT)}`,
      );
    bytes = await readFile(path);
  } catch (error) {
    if (error instanceof UserError) throw error;
    if (isCode(error, 'ENOENT'))
      throw new UserError(`--expo ${dir}: metadata.json names ${name}, which is missing`);
    throw new UserError(`--expo ${dir}: cannot read ${name}: ${messageOf(error)}`);
  }
  return {
    name,
    path,
    size: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    md5: createHash('md5').update(bytes).digest('hex'),
    ext,
    contentType,
  };
}

/** A JSON object file of the export; undefined when it is absent. */
async function readJsonObject(path: string, dir: string): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (isCode(error, 'ENOENT')) return undefined;
    throw new UserError(`--expo ${dir}: cannot read ${basename(path)}: ${messageOf(error)}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UserError(`--expo ${dir}: ${basename(path)} is not JSON`);
  }
  if (!isObject(value)) throw new UserError(`--expo ${dir}: ${basename(path)} is not a JSON object`);
  return value;
}

function extensionOf(file: string): string {
  const dot = file.lastIndexOf('.');
  return dot > 0 ? file.slice(dot + 1) : '';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
