import { mkdtemp, readdir, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keysInit } from '../../scripts/commands/keys-init.ts';
import { keysRotate } from '../../scripts/commands/keys-rotate.ts';
import { UserError } from '../../scripts/lib/errors.ts';
import { readKeysDocument, readPrivateKey } from '../../scripts/lib/keys-folder.ts';
import { decodeDocument } from '../../src/protocol/jws.ts';
import { publicJwk, verifyKeysChain } from '../../src/protocol/keys.ts';

async function freshDir(): Promise<string> {
  return join(await mkdtemp(join(tmpdir(), 'updraft-keys-')), 'keys');
}

describe('keys init', () => {
  it('writes three private keys (0600) and a keys document signed by the root', async () => {
    const dir = await freshDir();
    const result = await keysInit({ keysDir: dir, offline: true });
    expect((await readdir(dir)).sort()).toEqual(['keys-1.jws', 'online.json', 'release.json', 'root.json']);
    for (const file of ['root.json', 'release.json', 'online.json', 'keys-1.jws']) {
      expect((await stat(join(dir, file))).mode & 0o777).toBe(0o600);
    }
    const root = await readPrivateKey(dir, 'root');
    const payload = await verifyKeysChain([publicJwk(root)], [await readKeysDocument(dir, 1)]);
    expect(payload.version).toBe(1);
    expect(payload.release).toEqual([result.keys.release]);
    expect(payload.online).toEqual([publicJwk(await readPrivateKey(dir, 'online'))]);
    const days = (Date.parse(payload.expires) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(364);
    expect(days).toBeLessThan(366);
  });

  it('refuses to overwrite existing keys', async () => {
    const dir = await freshDir();
    await keysInit({ keysDir: dir, offline: true });
    const before = await readFile(join(dir, 'root.json'), 'utf8');
    await expect(keysInit({ keysDir: dir, offline: true })).rejects.toThrow(UserError);
    expect(await readFile(join(dir, 'root.json'), 'utf8')).toBe(before);
  });
});

describe('keys rotate', () => {
  it('produces a chain that verifies from the first root, through a root rotation', async () => {
    const dir = await freshDir();
    await keysInit({ keysDir: dir, offline: true });
    const firstRoot = publicJwk(await readPrivateKey(dir, 'root'));
    const oldRelease = await readPrivateKey(dir, 'release');

    const release = await keysRotate({ keysDir: dir, role: 'release', offline: true });
    const online = await keysRotate({ keysDir: dir, role: 'online', offline: true });
    const root = await keysRotate({ keysDir: dir, role: 'root', offline: true });
    const after = await keysRotate({ keysDir: dir, role: 'release', offline: true, dropOld: true });
    expect([release.version, online.version, root.version, after.version]).toEqual([2, 3, 4, 5]);

    const chain = await Promise.all([1, 2, 3, 4, 5].map((v) => readKeysDocument(dir, v)));
    const last = await verifyKeysChain([firstRoot], chain);
    expect(last.version).toBe(5);
    expect(last.root).toEqual([publicJwk(await readPrivateKey(dir, 'root'))]);
    expect(last.release).toEqual([publicJwk(await readPrivateKey(dir, 'release'))]);

    // Release rotation kept the old release key listed; the root rotation was signed by the old root.
    const doc2 = decodeDocument(chain[1] ?? '');
    expect((doc2.payload as { release: { kid: string }[] }).release.map((k) => k.kid)).toEqual([
      release.kid,
      oldRelease.kid,
    ]);
    expect(decodeDocument(chain[3] ?? '').header.kid).toBe(firstRoot.kid);
    expect(decodeDocument(chain[4] ?? '').header.kid).toBe(root.kid);

    // The replaced private keys are kept under their kid.
    const files = await readdir(dir);
    expect(files).toContain(`release-${oldRelease.kid}.json`);
    expect(files).toContain(`root-${firstRoot.kid}.json`);
    expect(files.filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('a chain missing a link does not verify', async () => {
    const dir = await freshDir();
    await keysInit({ keysDir: dir, offline: true });
    const firstRoot = publicJwk(await readPrivateKey(dir, 'root'));
    await keysRotate({ keysDir: dir, role: 'root', offline: true });
    await keysRotate({ keysDir: dir, role: 'root', offline: true });
    await expect(
      verifyKeysChain([firstRoot], [await readKeysDocument(dir, 1), await readKeysDocument(dir, 3)]),
    ).rejects.toThrow();
  });

  it('needs a keys folder', async () => {
    await expect(keysRotate({ keysDir: await freshDir(), role: 'release', offline: true })).rejects.toThrow(
      /keys init/,
    );
  });
});
