/**
 * The real `updraft publish` against the real Worker under `wrangler dev`, with what other updaters
 * verify (docs/protocol.md §9): the SHA-512 declared at upload and signed, an electron-builder blockmap found
 * next to the artifact and served beside it, a Tauri `.sig` and a Sparkle signature made from the key
 * file; and a Worker that refuses a signed SHA-512 the stored bytes do not have.
 */
import { createHash, generateKeyPairSync, verify } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keysInit } from '../../scripts/commands/keys-init.ts';
import { ApiClient, ServerError } from '../../scripts/lib/api.ts';
import { readPrivateKey } from '../../scripts/lib/keys-folder.ts';
import type { ReleaseView } from '../../src/protocol/admin-api.ts';
import type { ReleasePayload } from '../../src/protocol/documents.ts';
import { decodeDocument, signDocument } from '../../src/protocol/jws.ts';
import { runBin } from '../scripts/helpers.ts';
import { type DevServer, startDevServer } from './dev-server.ts';

const APP = 'updaters';
let server: DevServer | undefined;
let admin: ApiClient;
let work = '';
let keysDir = '';
let env: NodeJS.ProcessEnv = {};

const sha512 = (data: string | Buffer) => createHash('sha512').update(data).digest('base64');

function dev(): DevServer {
  if (!server) throw new Error('the dev server did not start');
  return server;
}

async function cli(args: readonly string[]) {
  return runBin(args, env, work);
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'updraft-publish-updaters-e2e-'));
  keysDir = join(work, 'keys');
  await keysInit({ keysDir, offline: true });
  const onlineKey = JSON.stringify(JSON.parse(await readFile(join(keysDir, 'online.json'), 'utf8')));
  server = await startDevServer({ onlineKey });
  admin = new ApiClient({ server: server.url, token: server.adminToken });
  env = { UPDRAFT_SERVER: server.url, UPDRAFT_TOKEN: server.adminToken, UPDRAFT_KEYS: keysDir };
  for (const args of [
    ['keys', 'register'],
    ['app', 'create', APP],
  ]) {
    const result = await cli(args);
    if (result.code !== 0) throw new Error(`updraft ${args.join(' ')}: ${result.stderr}`);
  }
});

afterAll(async () => {
  await server?.stop();
});

describe('publish for other updaters, end to end', () => {
  it('registers sha512, a served blockmap, the Tauri .sig and a Sparkle signature the app can verify', async () => {
    const exe = join(work, 'App-Setup-1.0.0.exe');
    const zip = join(work, 'App-1.0.0-mac.zip');
    await writeFile(exe, 'windows installer '.repeat(1000));
    await writeFile(`${exe}.blockmap`, 'blockmap bytes');
    await writeFile(zip, 'mac zip '.repeat(1000));
    const tauriSig = Buffer.from('untrusted comment: signature from tauri secret key\nRUTx\n').toString(
      'base64',
    );
    await writeFile(`${zip}.sig`, tauriSig);
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const der = privateKey.export({ format: 'der', type: 'pkcs8' });
    await writeFile(join(work, 'sparkle_key'), der.subarray(der.length - 32).toString('base64'));

    const refused = await cli([
      'publish',
      APP,
      '1.0.0',
      '--artifact',
      `windows-x64=${exe}`,
      '--for',
      'tauri',
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^updraft: --for tauri: windows-x64 has no Tauri signature/);
    expect(await admin.find(`/v1/admin/apps/${APP}/releases/1.0.0`)).toBeUndefined();

    const published = await cli([
      'publish',
      APP,
      '1.0.0',
      '--artifact',
      `windows-x64=${exe}`,
      '--artifact',
      `darwin-universal=${zip}`,
      '--for',
      'electron',
      '--for',
      'sparkle',
      '--sparkle-key',
      join(work, 'sparkle_key'),
      '--os',
      'darwin-universal=>=11.0.0',
    ]);
    expect(published.code, published.stderr).toBe(0);

    const view = await admin.get<ReleaseView & { manifest: string }>(`/v1/admin/apps/${APP}/releases/1.0.0`);
    const payload = decodeDocument(view.manifest).payload as ReleasePayload;
    const [win, mac] = payload.artifacts;
    expect(win?.sha512).toBe(sha512(await readFile(exe)));
    expect(win?.sidecars).toEqual([
      {
        file: 'App-Setup-1.0.0.exe.blockmap',
        size: 14,
        sha256: createHash('sha256').update('blockmap bytes').digest('hex'),
        sha512: sha512('blockmap bytes'),
      },
    ]);
    expect(mac?.minisign).toBe(tauriSig);
    expect(mac?.os).toBe('>=11.0.0');
    expect(verify(null, await readFile(zip), publicKey, Buffer.from(mac?.ed_signature ?? '', 'base64'))).toBe(
      true,
    );

    const blockmap = await fetch(
      `${dev().url}/v1/apps/${APP}/artifacts/1.0.0/windows-x64/App-Setup-1.0.0.exe.blockmap`,
    );
    expect(blockmap.status).toBe(200);
    expect(await blockmap.text()).toBe('blockmap bytes');
  });

  it('refuses to register a signed sha512 the uploaded bytes do not have', async () => {
    const bytes = Buffer.from('linux build');
    await admin.request('PUT', `/v1/admin/apps/${APP}/uploads/2.0.0/linux-x64/app.tar.gz`, {
      body: new Uint8Array(bytes),
      headers: {
        'content-length': String(bytes.length),
        'x-updraft-sha256': createHash('sha256').update(bytes).digest('hex'),
      },
    });
    const manifest = await signDocument(
      'release',
      {
        app: APP,
        version: '2.0.0',
        published_at: '2026-11-20T12:00:00Z',
        notes: '',
        mandatory: false,
        critical: false,
        requires: '*',
        artifacts: [
          {
            platform: 'linux',
            arch: 'x64',
            file: 'app.tar.gz',
            size: bytes.length,
            sha256: createHash('sha256').update(bytes).digest('hex'),
            sha512: sha512('other bytes'),
          },
        ],
      },
      await readPrivateKey(keysDir, 'release'),
    );
    const error = await admin.post(`/v1/admin/apps/${APP}/releases`, { manifest }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServerError);
    expect(error).toMatchObject({ status: 400, code: 'sha512_mismatch' });
    expect(await admin.find(`/v1/admin/apps/${APP}/releases/2.0.0`)).toBeUndefined();
  });
});
