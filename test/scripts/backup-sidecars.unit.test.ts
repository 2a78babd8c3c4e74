/**
 * `export --with-artifacts` and `import --with-artifacts` carry sidecars (electron-builder's blockmaps)
 * with their artifacts: a restored release whose blockmap is missing would break differential downloads.
 */
import { describe, expect, it } from 'vitest';
import { artifactsOf } from '../../scripts/lib/backup-artifacts.ts';
import type { AppExport } from '../../src/protocol/backup.ts';
import { signDocument } from '../../src/protocol/jws.ts';
import { generateKeyPair } from '../../src/protocol/keys.ts';

describe('artifactsOf', () => {
  it('lists each sidecar as a file of its artifact’s target, with its own size and SHA-256', async () => {
    const { privateJwk } = await generateKeyPair();
    const manifest = await signDocument(
      'release',
      {
        app: 'demo',
        version: '1.0.0',
        published_at: '2026-11-20T12:00:00Z',
        notes: '',
        mandatory: false,
        critical: false,
        requires: '*',
        artifacts: [
          {
            platform: 'windows',
            arch: 'x64',
            file: 'Demo-Setup.exe',
            sha256: 'a'.repeat(64),
            size: 3,
            sidecars: [{ file: 'Demo-Setup.exe.blockmap', sha256: 'b'.repeat(64), size: 2 }],
          },
        ],
      },
      privateJwk,
    );
    // artifactsOf reads only the app's name and its releases' manifests.
    const apps = [
      { app: { name: 'demo' }, releases: [{ version: '1.0.0', manifest }] },
    ] as unknown as AppExport[];
    expect(
      artifactsOf(apps).map((r) => [
        r.version,
        r.artifact.platform,
        r.artifact.arch,
        r.artifact.file,
        r.artifact.size,
      ]),
    ).toEqual([
      ['1.0.0', 'windows', 'x64', 'Demo-Setup.exe', 3],
      ['1.0.0', 'windows', 'x64', 'Demo-Setup.exe.blockmap', 2],
    ]);
    expect(artifactsOf(apps)[1]?.artifact.sha256).toBe('b'.repeat(64));
  });
});
