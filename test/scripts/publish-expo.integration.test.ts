/**
 * `updraft publish --expo` as a user runs it (the real binary) against a loopback admin API that
 * stores assets by hash like the Worker: each asset goes up once across releases, and every bad
 * input is one line, exit 1, before the first request.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { keysInit } from '../../scripts/commands/keys-init.ts';
import { writeExpoExport } from '../support/expo-export.ts';
import { fakeServer, type Recorded, runBin } from './helpers.ts';

let work = '';
let keysDir = '';
let server: Awaited<ReturnType<typeof fakeServer>> | undefined;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'updraft-publish-expo-'));
  keysDir = join(work, 'keys');
  await keysInit({ keysDir, offline: true });
});

afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** The admin API routes publish uses, with assets kept by SHA-256 as the Worker keeps them. */
async function assetStore() {
  const stored = new Set<string>();
  server = await fakeServer((req: Recorded) => {
    const path = req.url.split('?')[0] ?? '';
    if (req.method === 'GET')
      return { status: 404, body: { error: { code: 'unknown_release', message: 'no' } } };
    if (req.method === 'POST' && path.endsWith('/assets/missing')) {
      const { sha256 } = JSON.parse(req.body.toString()) as { sha256: string[] };
      return { status: 200, body: { missing: sha256.filter((h) => !stored.has(h)) } };
    }
    if (req.method === 'PUT' && path.includes('/assets/')) {
      const sha256 = path.split('/').at(-1) ?? '';
      if (createHash('sha256').update(req.body).digest('hex') !== sha256)
        return { status: 400, body: { error: { code: 'sha256_mismatch', message: 'no' } } };
      const fresh = !stored.has(sha256);
      stored.add(sha256);
      return { status: fresh ? 201 : 200, body: { sha256, size: req.body.length } };
    }
    if (req.method === 'POST' && path.endsWith('/releases'))
      return { status: 201, body: { app: 'demo', version: 'x', release_sha256: 'f'.repeat(64) } };
    return { status: 404, body: { error: { code: 'not_found', message: `${req.method} ${path}` } } };
  });
  const env = { UPDRAFT_SERVER: server.url, UPDRAFT_TOKEN: 'tok', UPDRAFT_KEYS: keysDir };
  return { server, env };
}

const assetPuts = (requests: readonly Recorded[]) =>
  requests.filter((r) => r.method === 'PUT' && r.url.includes('/assets/'));

describe('publish --expo against a content-addressed store', () => {
  it('uploads each distinct file once, and a second release only its new bundles', async () => {
    const { server, env } = await assetStore();
    const first = await writeExpoExport(await mkdtemp(join(work, 'dist-')), { seed: 'one' });
    const published = await runBin(
      ['publish', 'demo', '1.0.0', '--expo', first.dir, '--runtime', '1.0.0'],
      env,
    );
    expect(published.stderr).toContain('expo assets: 4 uploaded, 0 already stored (skipped)');
    expect(published.code).toBe(0);
    const puts = assetPuts(server.requests);
    // Two bundles and the two assets both platforms share.
    expect(puts.map((r) => r.url.split('/').at(-1)).sort()).toEqual([...first.files.keys()].sort());
    for (const put of puts) expect(put.headers['content-length']).toBe(String(put.body.length));
    expect(puts.map((r) => r.headers['content-type']).sort()).toEqual([
      'application/javascript',
      'application/javascript',
      'font/ttf',
      'image/png',
    ]);

    const before = server.requests.length;
    const second = await writeExpoExport(await mkdtemp(join(work, 'dist-')), { seed: 'two' });
    const again = await runBin(
      ['publish', 'demo', '1.1.0', '--expo', second.dir, '--runtime', '1.0.0', '--json'],
      env,
    );
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('expo assets: 2 uploaded, 2 already stored (skipped)');
    expect(JSON.parse(again.stdout)).toMatchObject({ expo_assets: { uploaded: 2, skipped: 2 } });
    const newPuts = assetPuts(server.requests.slice(before));
    expect(newPuts.map((r) => r.url.split('/').at(-1)).sort()).toEqual(
      [second.platforms.ios?.bundle.sha256, second.platforms.android?.bundle.sha256].sort(),
    );
  });

  it('refuses bad input with one line and exit 1 before any request', async () => {
    const { server, env } = await assetStore();
    const fresh = () => mkdtemp(join(work, 'bad-'));
    const good = await writeExpoExport(await fresh(), { platforms: ['ios'] });
    const bundle = good.platforms.ios?.bundle.name ?? '';

    const empty = await fresh();
    const web = await fresh();
    await writeFile(
      join(web, 'metadata.json'),
      JSON.stringify({ version: 0, bundler: 'metro', fileMetadata: { web: { bundle: 'a.js', assets: [] } } }),
    );
    const escaping = await writeExpoExport(await fresh(), { platforms: ['ios'] });
    await writeFile(
      join(escaping.dir, 'metadata.json'),
      JSON.stringify({
        version: 0,
        bundler: 'metro',
        fileMetadata: { ios: { bundle, assets: [{ path: '../../../etc/passwd', ext: 'png' }] } },
      }),
    );
    const certDir = await fresh();
    await mkdir(join(certDir, 'keys'));
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await writeFile(join(certDir, 'keys', 'other.pem'), privateKey.export({ format: 'pem', type: 'pkcs8' }));
    const keys = await runBin(['expo', 'keys', '--out', certDir]);
    expect(keys.code).toBe(0);

    const cases: [string[], RegExp][] = [
      [['--expo', empty, '--runtime', '1'], /no metadata\.json/],
      [['--expo', web, '--runtime', '1'], /platform "web"/],
      [['--expo', escaping.dir, '--runtime', '1'], /outside the export folder/],
      [['--expo', good.dir], /no runtime version for the ios export/],
      [
        ['--runtime', '1.0.0', '--artifact', `linux-x64=${join(good.dir, bundle)}`],
        /bare runtime with --expo/,
      ],
      [
        ['--expo', good.dir, '--runtime', '1', '--asset-origin', 'https://cdn.example.com/x'],
        /without a path/,
      ],
      [
        [
          '--expo',
          good.dir,
          '--runtime',
          '1',
          '--expo-private-key',
          join(certDir, 'keys', 'other.pem'),
          '--expo-certificate',
          join(certDir, 'certs', 'certificate.pem'),
        ],
        /is not the key of the certificate/,
      ],
      [
        [
          '--expo',
          good.dir,
          '--runtime',
          '1',
          '--expo-private-key',
          join(certDir, 'certs', 'certificate.pem'),
        ],
        /not a PEM private key/,
      ],
    ];
    for (const [args, message] of cases) {
      const result = await runBin(['publish', 'demo', '1.0.0', ...args], env);
      expect(result.stderr).toMatch(message);
      expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(result.code).toBe(1);
    }
    expect(server.requests).toEqual([]);
  });
});
