import { generateKeyPairSync, verify } from 'node:crypto';
import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDictionary } from 'structured-headers';
import { describe, expect, it } from 'vitest';
import { readExpoExport } from '../../scripts/lib/expo-export.ts';
import { distinctFiles, expoArtifacts, expoRuntimes } from '../../scripts/lib/expo-release.ts';
import { expoAssetPath, expoManifestSchema, expoUpdateId, hexToBase64Url } from '../../src/protocol/expo.ts';
import { writeExpoExport } from '../support/expo-export.ts';

const fresh = () => mkdtemp(join(tmpdir(), 'updraft-expo-export-'));
const NOW = new Date('2026-12-01T10:00:00.000Z');

describe('reading an expo export folder', () => {
  it('hashes every file metadata.json names and keeps expoConfig.json', async () => {
    const dir = await fresh();
    const written = await writeExpoExport(dir, { expoConfig: { name: 'Demo', runtimeVersion: '1.0.0' } });
    const exported = await readExpoExport(dir);
    expect(exported.platforms.map((p) => p.platform)).toEqual(['ios', 'android']);
    const ios = exported.platforms[0];
    const wrote = written.platforms.ios;
    expect(ios?.bundle).toMatchObject({
      name: wrote?.bundle.name,
      sha256: wrote?.bundle.sha256,
      md5: wrote?.bundle.md5,
      size: wrote?.bundle.size,
      ext: 'js',
      contentType: 'application/javascript',
    });
    expect(ios?.assets.map((a) => [a.sha256, a.md5, a.ext, a.contentType])).toEqual(
      wrote?.assets.map((a) => [a.sha256, a.md5, a.ext, a.ext === 'png' ? 'image/png' : 'font/ttf']),
    );
    expect(exported.expoConfig).toEqual({ name: 'Demo', runtimeVersion: '1.0.0' });
    // Both platforms share the assets: four distinct files, not six.
    expect(
      distinctFiles(exported)
        .map((f) => f.sha256)
        .sort(),
    ).toEqual([...written.files.keys()].sort());
  });

  it('refuses a folder that is not an export, an unknown platform and paths leaving the folder', async () => {
    const empty = await fresh();
    await expect(readExpoExport(empty)).rejects.toThrow(/no metadata\.json/);

    const web = await fresh();
    await writeExpoExport(web);
    const metadata = { version: 0, bundler: 'metro', fileMetadata: { web: { bundle: 'x.js', assets: [] } } };
    await writeFile(join(web, 'metadata.json'), JSON.stringify(metadata));
    await expect(readExpoExport(web)).rejects.toThrow(/platform "web"; expo-updates serves ios and android/);

    const escaping = await fresh();
    const written = await writeExpoExport(escaping, { platforms: ['ios'] });
    const bundle = written.platforms.ios?.bundle.name ?? '';
    const leave = (path: string) => ({
      version: 0,
      bundler: 'metro',
      fileMetadata: { ios: { bundle, assets: [{ path, ext: 'png' }] } },
    });
    await writeFile(join(escaping, 'metadata.json'), JSON.stringify(leave('../../etc/passwd')));
    await expect(readExpoExport(escaping)).rejects.toThrow(/outside the export folder/);
    await writeFile(join(escaping, 'metadata.json'), JSON.stringify(leave('/etc/passwd')));
    await expect(readExpoExport(escaping)).rejects.toThrow(/outside the export folder/);
    await mkdir(join(escaping, 'links'));
    const outside = join(await fresh(), 'secret');
    await writeFile(outside, 'not for publishing');
    await symlink(outside, join(escaping, 'links', 'out'));
    await writeFile(join(escaping, 'metadata.json'), JSON.stringify(leave('links/out')));
    await expect(readExpoExport(escaping)).rejects.toThrow(/links to a file outside/);
    await writeFile(join(escaping, 'metadata.json'), JSON.stringify(leave('assets/nothing')));
    await expect(readExpoExport(escaping)).rejects.toThrow(/assets\/nothing, which is missing/);
  });
});

describe('runtime versions', () => {
  it('takes a per-target flag, then the flag for all, then expoConfig.json, and errs without any', async () => {
    const dir = await fresh();
    await writeExpoExport(dir, {
      expoConfig: { runtimeVersion: '1.0.0', android: { runtimeVersion: '1.0.0-android' } },
    });
    const exported = await readExpoExport(dir);
    const none = new Map<string, string>();
    expect([...expoRuntimes(exported, { byTarget: none })]).toEqual([
      ['ios', '1.0.0'],
      ['android', '1.0.0-android'],
    ]);
    expect([...expoRuntimes(exported, { byTarget: none, all: '2.0.0' })]).toEqual([
      ['ios', '2.0.0'],
      ['android', '2.0.0'],
    ]);
    const ios = new Map([['ios-any', '3.0.0']]);
    expect([...expoRuntimes(exported, { byTarget: ios, all: '2.0.0' })]).toEqual([
      ['ios', '3.0.0'],
      ['android', '2.0.0'],
    ]);

    const policy = await fresh();
    await writeExpoExport(policy, { expoConfig: { runtimeVersion: { policy: 'appVersion' } } });
    expect(() => expoRuntimes(exported, { byTarget: none, all: 'has space' })).toThrow(/printable ASCII/);
    const policyExport = await readExpoExport(policy);
    expect(() => expoRuntimes(policyExport, { byTarget: none })).toThrow(
      /no runtime version for the ios export: give --runtime/,
    );
  });
});

describe('manifests', () => {
  it('builds a protocol v1 manifest per platform with the update id, asset URLs and signature', async () => {
    const dir = await fresh();
    const written = await writeExpoExport(dir, { expoConfig: { name: 'Demo', slug: 'demo' } });
    const exported = await readExpoExport(dir);
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const artifacts = await expoArtifacts({
      app: 'demo',
      version: '1.2.0',
      exported,
      runtimes: new Map([
        ['ios', '1.0.0'],
        ['android', '1.0.0'],
      ]),
      assetOrigin: 'https://updates.example.com',
      now: NOW,
      signer: { key: privateKey, keyid: 'main' },
    });
    expect(artifacts).toHaveLength(2);
    for (const artifact of artifacts) {
      const platform = artifact.platform === 'ios' ? 'ios' : 'android';
      const wrote = written.platforms[platform];
      expect(artifact).toMatchObject({
        arch: 'any',
        file: wrote?.bundle.name.split('/').at(-1),
        sha256: wrote?.bundle.sha256,
        size: wrote?.bundle.size,
        content_type: 'application/javascript',
        runtime: '1.0.0',
      });
      const manifestText = artifact.expo?.manifest ?? '';
      const manifest = expoManifestSchema.parse(JSON.parse(manifestText));
      expect(manifest.id).toBe(await expoUpdateId('demo', '1.2.0', platform, '1.0.0'));
      expect(manifest.createdAt).toBe(NOW.toISOString());
      expect(manifest.launchAsset).toEqual({
        hash: hexToBase64Url(artifact.sha256),
        key: wrote?.bundle.md5,
        contentType: 'application/javascript',
        fileExtension: '.bundle',
        url: `https://updates.example.com${expoAssetPath('demo', artifact.sha256)}`,
      });
      expect(manifest.assets.map((a) => [a.key, a.fileExtension, a.contentType])).toEqual(
        wrote?.assets.map((a) => [a.md5, `.${a.ext}`, a.ext === 'png' ? 'image/png' : 'font/ttf']),
      );
      expect(manifest.extra).toEqual({ expoClient: { name: 'Demo', slug: 'demo' } });

      const signature = parseDictionary(artifact.expo?.signature ?? '');
      const sig = signature.get('sig')?.[0];
      expect(signature.get('keyid')?.[0]).toBe('main');
      expect(signature.get('alg')?.[0]).toBe('rsa-v1_5-sha256');
      expect(typeof sig).toBe('string');
      expect(
        verify('sha256', Buffer.from(manifestText, 'utf8'), publicKey, Buffer.from(String(sig), 'base64')),
      ).toBe(true);
    }
  });
});
