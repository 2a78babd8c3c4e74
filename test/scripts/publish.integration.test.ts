import { createHash } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { keysInit } from '../../scripts/commands/keys-init.ts';
import { publish } from '../../scripts/commands/publish.ts';
import { yank } from '../../scripts/commands/yank.ts';
import { ApiClient } from '../../scripts/lib/api.ts';
import { readPrivateKey } from '../../scripts/lib/keys-folder.ts';
import { verifyDocument } from '../../src/protocol/jws.ts';
import { publicJwk } from '../../src/protocol/keys.ts';
import { fakeServer, type Handler } from './helpers.ts';

let keysDir: string;
let work: string;
let server: Awaited<ReturnType<typeof fakeServer>> | undefined;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'updraft-publish-'));
  keysDir = join(work, 'keys');
  await keysInit({ keysDir, offline: true });
});

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(handler: Handler): Promise<ApiClient> {
  server = await fakeServer(handler);
  return new ApiClient({ server: server.url, token: 'tok' });
}

describe('publish', () => {
  it('uploads each file with its length and hash, then registers a manifest signed by the release key', async () => {
    const linux = join(work, 'demo-1.0.0.tar.gz');
    const mac = join(work, 'demo-1.0.0.dmg');
    await writeFile(linux, 'linux bytes'.repeat(100));
    await writeFile(mac, 'mac bytes');
    const client = await start((req) => {
      if (req.method === 'GET')
        return { status: 404, body: { error: { code: 'unknown_release', message: 'no' } } };
      if (req.method === 'PUT')
        return { status: 201, body: { key: req.url, size: req.body.length, sha256: '' } };
      return { status: 201, body: { app: 'demo', version: '1.0.0', release_sha256: 'f'.repeat(64) } };
    });
    const result = await publish({
      client,
      keysDir,
      app: 'demo',
      version: '1.0.0',
      artifacts: [
        { platform: 'linux', arch: 'x64', path: linux },
        { platform: 'darwin', arch: 'universal', path: mac },
      ],
      notes: 'hello',
      mandatory: true,
    });
    expect(result.release_sha256).toBe('f'.repeat(64));

    const requests = server?.requests ?? [];
    expect(requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      'GET /v1/admin/apps/demo/releases/1.0.0',
      'PUT /v1/admin/apps/demo/uploads/1.0.0/linux-x64/demo-1.0.0.tar.gz',
      'PUT /v1/admin/apps/demo/uploads/1.0.0/darwin-universal/demo-1.0.0.dmg',
      'POST /v1/admin/apps/demo/releases',
    ]);
    for (const upload of requests.filter((r) => r.method === 'PUT')) {
      expect(upload.headers['content-length']).toBe(String(upload.body.length));
      expect(upload.headers['x-updraft-sha256']).toBe(createHash('sha256').update(upload.body).digest('hex'));
      expect(upload.headers.authorization).toBe('Bearer tok');
    }
    const { manifest } = JSON.parse(requests[3]?.body.toString() ?? '') as { manifest: string };
    const releaseKey = publicJwk(await readPrivateKey(keysDir, 'release'));
    const payload = await verifyDocument('release', manifest, [releaseKey]);
    expect(payload).toMatchObject({
      app: 'demo',
      version: '1.0.0',
      notes: 'hello',
      mandatory: true,
      critical: false,
      requires: '*',
    });
    expect(payload.artifacts).toEqual([
      {
        platform: 'linux',
        arch: 'x64',
        file: 'demo-1.0.0.tar.gz',
        size: 1100,
        sha256: createHash('sha256').update('linux bytes'.repeat(100)).digest('hex'),
        sha512: createHash('sha512').update('linux bytes'.repeat(100)).digest('base64'),
        content_type: 'application/gzip',
      },
      {
        platform: 'darwin',
        arch: 'universal',
        file: 'demo-1.0.0.dmg',
        size: 9,
        sha256: createHash('sha256').update('mac bytes').digest('hex'),
        sha512: createHash('sha512').update('mac bytes').digest('base64'),
        content_type: 'application/x-apple-diskimage',
      },
    ]);
  });

  it('stops before uploading when the version exists', async () => {
    const file = join(work, 'a.zip');
    await writeFile(file, 'a');
    const client = await start(() => ({ status: 200, body: { version: '1.0.0' } }));
    await expect(
      publish({
        client,
        keysDir,
        app: 'demo',
        version: '1.0.0',
        artifacts: [{ platform: 'linux', arch: 'x64', path: file }],
      }),
    ).rejects.toThrow(/already published/);
    expect(server?.requests).toHaveLength(1);
  });
});

describe('yank', () => {
  it('signs a yank naming the default rollback target', async () => {
    const client = await start((req) => {
      if (req.method === 'GET') {
        return {
          status: 200,
          body: {
            releases: [
              { version: '1.2.0', yanked: false },
              { version: '1.1.0', yanked: true },
              { version: '1.0.0', yanked: false },
            ],
          },
        };
      }
      return { status: 201, body: { version: '1.2.0', rollback_to: '1.0.0', yank_sha256: 'a'.repeat(64) } };
    });
    await yank({ client, keysDir, app: 'demo', version: '1.2.0', reason: 'crash on start' });
    const { yank: statement } = JSON.parse(server?.requests[1]?.body.toString() ?? '') as { yank: string };
    const payload = await verifyDocument('yank', statement, [
      publicJwk(await readPrivateKey(keysDir, 'release')),
    ]);
    expect(payload).toMatchObject({
      app: 'demo',
      version: '1.2.0',
      reason: 'crash on start',
      rollback_to: '1.0.0',
    });
  });

  it('sends null for --rollback-to none without asking the server', async () => {
    const client = await start(() => ({
      status: 201,
      body: { version: '1.2.0', rollback_to: null, yank_sha256: 'a'.repeat(64) },
    }));
    await yank({ client, keysDir, app: 'demo', version: '1.2.0', reason: 'bad', rollbackTo: null });
    expect(server?.requests.map((r) => r.method)).toEqual(['POST']);
  });
});
