import { mkdtemp, readdir, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { keysInit } from '../../scripts/commands/keys-init.ts';
import { keysRegister } from '../../scripts/commands/keys-register.ts';
import { keysRotate } from '../../scripts/commands/keys-rotate.ts';
import { ApiClient } from '../../scripts/lib/api.ts';
import { UserError } from '../../scripts/lib/errors.ts';
import { readKeysDocument, readPrivateKey } from '../../scripts/lib/keys-folder.ts';
import type { KeysPayload } from '../../src/protocol/documents.ts';
import { decodeDocument, verifyDocument } from '../../src/protocol/jws.ts';
import { publicJwk, verifyKeysChain } from '../../src/protocol/keys.ts';
import { fakeServer } from './helpers.ts';

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
    expect([release.versions, online.versions, root.versions, after.versions]).toEqual([
      [2],
      [3],
      [4, 5],
      [6],
    ]);
    expect(root.version).toBe(5);

    const chain = await Promise.all([1, 2, 3, 4, 5, 6].map((v) => readKeysDocument(dir, v)));
    const last = await verifyKeysChain([firstRoot], chain);
    expect(last.version).toBe(6);
    expect(last.root).toEqual([publicJwk(await readPrivateKey(dir, 'root'))]);
    expect(last.release).toEqual([publicJwk(await readPrivateKey(dir, 'release'))]);

    // Release rotation kept the old release key listed.
    const doc2 = decodeDocument(chain[1] ?? '');
    expect((doc2.payload as { release: { kid: string }[] }).release.map((k) => k.kid)).toEqual([
      release.kid,
      oldRelease.kid,
    ]);
    // The root rotation: 4 signed by the old root, 5 (the same keys) by the new one, which a new
    // build pins alone; the next document is signed by the new root.
    expect([3, 4, 5].map((i) => decodeDocument(chain[i] ?? '').header.kid)).toEqual([
      firstRoot.kid,
      root.kid,
      root.kid,
    ]);
    expect(root.key).toEqual(publicJwk(await readPrivateKey(dir, 'root')));
    expect((await verifyDocument('keys', chain[4] ?? '', [root.key])).version).toBe(5);

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

let server: Awaited<ReturnType<typeof fakeServer>> | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const payloadOf = (jws: string) => decodeDocument(jws).payload as KeysPayload;

/**
 * A fake server that keeps the keys documents registered with it, oldest first, and answers as the
 * Worker does: 201 for the next one, 200 for one it already holds. `fault(n)` may replace the answer
 * to the n-th registration (1-based); `commits(n)` says whether that one is stored anyway.
 */
async function keysServer(
  first: string,
  fault: (n: number) => { status: number; body: unknown } | undefined = () => undefined,
  commits: (n: number) => boolean = () => false,
) {
  const registered = [first];
  let posts = 0;
  server = await fakeServer((req) => {
    if (req.method === 'GET' && req.url === '/v1/keys')
      return { status: 200, body: { keys: registered.at(-1) } };
    if (req.method !== 'POST' || req.url !== '/v1/admin/keys') return { status: 404, body: {} };
    posts += 1;
    const { keys } = JSON.parse(req.body.toString()) as { keys: string };
    const answer = fault(posts);
    if (answer && !commits(posts)) return answer;
    const known = registered.includes(keys);
    if (!known) registered.push(keys);
    return answer ?? { status: known ? 200 : 201, body: { version: registered.indexOf(keys) + 1 } };
  });
  return { registered, client: new ApiClient({ server: server.url, token: 'tok' }) };
}

const internalError = { status: 500, body: { error: { code: 'internal', message: 'internal error' } } };

/** Every file of the folder with its content. */
async function folder(dir: string): Promise<Record<string, string>> {
  const names = (await readdir(dir)).sort();
  return Object.fromEntries(
    await Promise.all(names.map(async (n) => [n, await readFile(join(dir, n), 'utf8')])),
  );
}

describe('keys rotate against a server', () => {
  it('a root rotation registers N+1 then N+2; when N+2 fails, the folder keeps the rotation and `keys register` finishes it', async () => {
    const dir = await freshDir();
    const init = await keysInit({ keysDir: dir, offline: true });
    const { registered, client } = await keysServer(init.jws, (n) => (n === 2 ? internalError : undefined));

    await expect(keysRotate({ keysDir: dir, role: 'root', client })).rejects.toThrow(
      /^keys document 2 is registered, 3 is not \(internal error \(500 internal\)\); clients pinned to the old root already follow the chain to 2, but a build pinning only the new root accepts nothing until 3 is registered; the folder holds the whole rotation: run `updraft keys register`/,
    );
    expect(registered).toEqual([init.jws, await readKeysDocument(dir, 2)]);
    // The folder is the rotation, complete: the new root in root.json, the old one retired, both documents.
    const newRoot = publicJwk(await readPrivateKey(dir, 'root'));
    expect(payloadOf(await readKeysDocument(dir, 2)).root).toEqual([newRoot]);
    expect(Object.keys(await folder(dir))).toEqual(
      [
        `root-${init.keys.root.kid}.json`,
        'keys-1.jws',
        'keys-2.jws',
        'keys-3.jws',
        'online.json',
        'release.json',
        'root.json',
      ].sort(),
    );
    // Rotating again first asks for the registration to be finished.
    await expect(keysRotate({ keysDir: dir, role: 'release', client })).rejects.toThrow(
      'the server has keys document 2, this folder 3: run `updraft keys register` first',
    );

    expect(await keysRegister({ client, keysDir: dir })).toEqual({ serverVersion: 2, registered: [3] });
    const newest = registered.at(-1) ?? '';
    expect((await verifyDocument('keys', newest, [newRoot])).version).toBe(3);
    expect((await verifyKeysChain([init.keys.root], registered)).version).toBe(3);
  });

  it('the server refuses N+1 (4xx): nothing changed there, and the folder is left exactly as it was', async () => {
    const dir = await freshDir();
    const init = await keysInit({ keysDir: dir, offline: true });
    const refusal = {
      status: 400,
      body: {
        error: { code: 'online_key_not_listed', message: "the Worker's online key k is not in online[]" },
      },
    };
    const { registered, client } = await keysServer(init.jws, () => refusal);
    const before = await folder(dir);
    for (const role of ['root', 'online'] as const) {
      await expect(keysRotate({ keysDir: dir, role, client, dropOld: true })).rejects.toThrow(
        /not in online\[\] \(400 online_key_not_listed\); to stop listing the online key the Worker uses, rotate with --offline/,
      );
      expect(await folder(dir)).toEqual(before);
    }
    expect(registered).toEqual([init.jws]);
  });

  it('N+1 answered 500 after it was stored: the folder keeps the rotation and `keys register` sends what the server lacks', async () => {
    const dir = await freshDir();
    const init = await keysInit({ keysDir: dir, offline: true });
    const { registered, client } = await keysServer(
      init.jws,
      (n) => (n === 1 ? internalError : undefined),
      (n) => n === 1,
    );
    await expect(keysRotate({ keysDir: dir, role: 'root', client })).rejects.toThrow(
      /^keys document 2 may or may not have reached the server \(internal error \(500 internal\)\); the folder holds the whole rotation: run `updraft keys register`/,
    );
    expect(registered).toHaveLength(2);
    expect(await keysRegister({ client, keysDir: dir })).toEqual({ serverVersion: 2, registered: [3] });
    expect(
      (await verifyDocument('keys', registered.at(-1) ?? '', [publicJwk(await readPrivateKey(dir, 'root'))]))
        .version,
    ).toBe(3);
  });

  it('a release rotation registers one document', async () => {
    const dir = await freshDir();
    const init = await keysInit({ keysDir: dir, offline: true });
    const { registered, client } = await keysServer(init.jws);
    const result = await keysRotate({ keysDir: dir, role: 'release', client });
    expect(result).toMatchObject({ versions: [2], version: 2, registered: true });
    expect(registered).toEqual([init.jws, result.jws]);
  });
});
