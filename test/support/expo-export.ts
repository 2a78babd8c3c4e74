/**
 * Writes a folder shaped exactly like `npx expo export` output (SDK 50+): per platform a plain JS
 * bundle under _expo/static/js/<platform>/, assets under assets/<md5 of the content>, metadata.json
 * listing them, and optionally expoConfig.json. The bundle depends on `seed`; the assets do not, so two
 * exports with different seeds are two updates that share their assets (as two releases of an app do).
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import type { ExpoPlatform } from '../../src/protocol/expo.ts';

export interface TestAsset {
  ext: string;
  bytes: Uint8Array;
}

export interface WrittenFile {
  /** Path inside the export folder, as metadata.json names it. */
  name: string;
  path: string;
  size: number;
  sha256: string;
  md5: string;
}

export interface WrittenExport {
  dir: string;
  platforms: Partial<
    Record<ExpoPlatform, { bundle: WrittenFile; assets: (WrittenFile & { ext: string })[] }>
  >;
  /** Every distinct file (bundles and assets), by SHA-256. */
  files: Map<string, WrittenFile>;
  expoConfig?: Record<string, unknown>;
}

export interface ExpoExportOptions {
  platforms?: readonly ExpoPlatform[];
  /** Default: a 1×1 PNG and a TrueType-like blob. */
  assets?: readonly TestAsset[];
  /** Changes the bundles' code (default 'a'). */
  seed?: string;
  /** Written as expoConfig.json when given. */
  expoConfig?: Record<string, unknown>;
}

/** A valid 1×1 transparent PNG, chunk CRCs and all. */
export const TINY_PNG = png1x1();

function png1x1(): Uint8Array {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  // 1×1, 8-bit RGBA; one scanline: filter byte 0 and a transparent pixel.
  const header = Buffer.from([0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0]);
  return Uint8Array.from(
    Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', header),
      chunk('IDAT', deflateSync(Buffer.from([0, 0, 0, 0, 0]))),
      chunk('IEND', Buffer.alloc(0)),
    ]),
  );
}

/** Starts like a TrueType font (sfnt version 1.0), then bytes that are not text. */
export const FONT_LIKE = Uint8Array.from([
  0,
  1,
  0,
  0,
  0,
  4,
  0x80,
  0,
  3,
  0,
  0x70,
  ...Array.from({ length: 245 }, (_, i) => (i * 37) % 256),
]);

export const DEFAULT_ASSETS: readonly TestAsset[] = [
  { ext: 'png', bytes: TINY_PNG },
  { ext: 'ttf', bytes: FONT_LIKE },
];

const hex = (algorithm: string, bytes: Uint8Array | string) =>
  createHash(algorithm).update(bytes).digest('hex');

export async function writeExpoExport(dir: string, opts: ExpoExportOptions = {}): Promise<WrittenExport> {
  const seed = opts.seed ?? 'a';
  const files = new Map<string, WrittenFile>();
  const write = async (name: string, bytes: Uint8Array | string): Promise<WrittenFile> => {
    const path = join(dir, name);
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, bytes);
    const file = {
      name,
      path,
      size: Buffer.byteLength(bytes),
      sha256: hex('sha256', bytes),
      md5: hex('md5', bytes),
    };
    files.set(file.sha256, file);
    return file;
  };

  const assets: (WrittenFile & { ext: string })[] = [];
  for (const asset of opts.assets ?? DEFAULT_ASSETS) {
    // Expo names each asset by the MD5 of its content, without extension.
    assets.push({ ...(await write(`assets/${hex('md5', asset.bytes)}`, asset.bytes)), ext: asset.ext });
  }
  const platforms: WrittenExport['platforms'] = {};
  const fileMetadata: Record<string, { bundle: string; assets: { path: string; ext: string }[] }> = {};
  for (const platform of opts.platforms ?? ['ios', 'android']) {
    const code = [
      `var __BUNDLE_START_TIME__=this.nativePerformanceNow?nativePerformanceNow():Date.now();`,
      `var __DEV__=false,process=this.process||{};process.env=process.env||{};`,
      `__d(function(g,r,i,a,m,e,d){"use strict";m.exports={platform:${JSON.stringify(platform)},seed:${JSON.stringify(seed)}}},0,[],"App.js");`,
      `__r(0);`,
      '',
    ].join('\n');
    const bundle = await write(`_expo/static/js/${platform}/index-${hex('md5', code)}.js`, code);
    platforms[platform] = { bundle, assets };
    fileMetadata[platform] = {
      bundle: bundle.name,
      assets: assets.map((a) => ({ path: a.name, ext: a.ext })),
    };
  }
  await writeFile(join(dir, 'metadata.json'), JSON.stringify({ version: 0, bundler: 'metro', fileMetadata }));
  if (opts.expoConfig) await writeFile(join(dir, 'expoConfig.json'), JSON.stringify(opts.expoConfig));
  return { dir, platforms, files, ...(opts.expoConfig ? { expoConfig: opts.expoConfig } : {}) };
}
