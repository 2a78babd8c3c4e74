/**
 * The CLI side of unregistered uploads (docs/cli.md): `publish` that meets other bytes at an
 * artifact's path says how to clear them, `--replace-unregistered` clears them, and `upload rm`
 * removes one upload. Against a fake admin API that answers as the Worker does.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { keysInit } from '../../scripts/commands/keys-init.ts';
import { publish } from '../../scripts/commands/publish.ts';
import { uploadRm } from '../../scripts/commands/upload-rm.ts';
import { ApiClient } from '../../scripts/lib/api.ts';
import type { Reporter } from '../../scripts/lib/progress.ts';
import { fakeServer, type Handler, runBin } from './helpers.ts';

let keysDir: string;
let work: string;
let server: Awaited<ReturnType<typeof fakeServer>> | undefined;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'updraft-unregistered-'));
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

const UPLOAD = '/v1/admin/apps/demo/uploads/2.0.0/linux-x64/demo-2.0.0.tar.gz';
const EXISTS = {
  status: 409,
  body: { error: { code: 'artifact_exists', message: 'already holds different bytes' } },
};
const REMOVED = {
  key: 'artifacts/demo/2.0.0/linux-x64/demo-2.0.0.tar.gz',
  size: 11,
  sha256: 'a'.repeat(64),
  uploaded: '2026-11-20T12:00:00.000Z',
  removed_at: '2026-11-21T12:00:00.000Z',
};

/** The Worker with an unregistered upload of other bytes squatting UPLOAD, until it is removed. */
function squattedServer(): Handler {
  let squatted = true;
  return (req) => {
    if (req.method === 'GET')
      return { status: 404, body: { error: { code: 'unknown_release', message: 'no' } } };
    if (req.method === 'PUT') return squatted ? EXISTS : { status: 201, body: { key: REMOVED.key } };
    if (req.method === 'DELETE') {
      squatted = false;
      return { status: 200, body: REMOVED };
    }
    return { status: 201, body: { app: 'demo', version: '2.0.0', release_sha256: 'f'.repeat(64) } };
  };
}

async function artifact(): Promise<string> {
  const path = join(work, 'demo-2.0.0.tar.gz');
  await writeFile(path, 'real bytes!');
  return path;
}

describe('publish over an unregistered upload', () => {
  it('stops at the conflict with one line that says how to clear it, and removes nothing', async () => {
    const client = await start(squattedServer());
    const attempt = publish({
      client,
      keysDir,
      app: 'demo',
      version: '2.0.0',
      artifacts: [{ platform: 'linux', arch: 'x64', path: await artifact() }],
    });
    await expect(attempt).rejects.toThrow(
      /linux-x64\/demo-2\.0\.0\.tar\.gz of demo 2\.0\.0 is already uploaded with other bytes.*--replace-unregistered.*`updraft upload rm demo 2\.0\.0 linux-x64\/demo-2\.0\.0\.tar\.gz`/,
    );
    expect(server?.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      'GET /v1/admin/apps/demo/releases/2.0.0',
      `PUT ${UPLOAD}`,
    ]);
  });

  it('with --replace-unregistered, removes the upload, uploads its own bytes and registers', async () => {
    const client = await start(squattedServer());
    const lines: string[] = [];
    const reporter: Reporter = {
      info: (line) => lines.push(line),
      progress: () => ({ advance() {}, done() {} }),
    };
    const result = await publish({
      client,
      keysDir,
      app: 'demo',
      version: '2.0.0',
      artifacts: [{ platform: 'linux', arch: 'x64', path: await artifact() }],
      replaceUnregistered: true,
      reporter,
    });
    expect(result.release_sha256).toBe('f'.repeat(64));
    expect(server?.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      'GET /v1/admin/apps/demo/releases/2.0.0',
      `PUT ${UPLOAD}`,
      `DELETE ${UPLOAD}`,
      `PUT ${UPLOAD}`,
      'POST /v1/admin/apps/demo/releases',
    ]);
    expect(server?.requests[3]?.body.toString()).toBe('real bytes!');
    expect(lines).toEqual([
      `removed the unregistered upload at linux-x64/demo-2.0.0.tar.gz: 11 B, sha256 ${'a'.repeat(64)}, uploaded ${REMOVED.uploaded}`,
    ]);
  });
});

describe('upload rm', () => {
  it('sends DELETE for the upload and returns what the server removed', async () => {
    const client = await start(() => ({ status: 200, body: REMOVED }));
    expect(
      await uploadRm({ client, app: 'demo', version: '2.0.0', upload: 'linux-x64/demo-2.0.0.tar.gz' }),
    ).toEqual(REMOVED);
    expect(server?.requests.map((r) => `${r.method} ${r.url}`)).toEqual([`DELETE ${UPLOAD}`]);
  });

  it('passes the refusal of a registered artifact on as one line', async () => {
    const client = await start(() => ({
      status: 409,
      body: { error: { code: 'artifact_registered', message: 'belongs to registered release demo 2.0.0' } },
    }));
    await expect(
      uploadRm({ client, app: 'demo', version: '2.0.0', upload: 'linux-x64/demo-2.0.0.tar.gz' }),
    ).rejects.toThrow('belongs to registered release demo 2.0.0 (409 artifact_registered)');
  });

  it.each([
    [['demo', '2.0.0', 'linux-x64'], /must look like <platform>-<arch>\/<file>/],
    [['demo', '2.0.0', 'linux/app.tgz'], /must look like <platform>-<arch>\/<file>/],
    [['demo', '2.0.0', 'plan9-x64/app.tgz'], /unknown platform "plan9" in the upload/],
    [['demo', '2.0.0', 'linux-z80/app.tgz'], /unknown arch "z80" in the upload/],
    [['demo', '2.0.0', 'linux-x64/.hidden'], /file name ".hidden" must be/],
    [['demo', 'latest', 'linux-x64/app.tgz'], /version must be a semantic version/],
    [['Demo', '2.0.0', 'linux-x64/app.tgz'], /app name must be/],
  ])('refuses %j before any request, with one line and exit 1', async (args, pattern) => {
    server = await fakeServer(() => ({ status: 500 }));
    const result = await runBin(['upload', 'rm', ...args, '--server', server.url, '--token', 'tok']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(pattern);
    expect(server.requests).toEqual([]);
  });

  it('is listed in the help, and `upload` alone names its subcommand', async () => {
    expect((await runBin(['--help'])).stdout).toContain('upload rm');
    const bare = await runBin(['upload']);
    expect(bare.code).toBe(1);
    expect(bare.stderr).toMatch(/"upload" needs a subcommand: rm/);
  });
});
