/**
 * The real `updraft expo keys`, `publish --expo` and `yank` against the real Worker under `wrangler
 * dev` (DESIGN §10): the Worker registers the manifests the CLI built, serves them and their assets
 * byte for byte to an expo-updates request, each asset is uploaded once across releases, and what a
 * code-signing app verifies (manifest and rollBackToEmbedded directive) verifies with the certificate
 * `expo keys` made, checked with Expo's own libraries.
 */
import { createHash, verify, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  convertCertificatePEMToCertificate,
  convertKeyPairPEMToKeyPair,
  validateSelfSignedCertificate,
} from '@expo/code-signing-certificates';
import { parseMultipartMixedResponseAsync } from '@expo/multipart-body-parser';
import { parseDictionary } from 'structured-headers';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { keysInit } from '../../scripts/commands/keys-init.ts';
import { ApiClient } from '../../scripts/lib/api.ts';
import type { ReleaseView } from '../../src/protocol/admin-api.ts';
import { expoManifestSchema, expoUpdateId, rollBackToEmbeddedDirective } from '../../src/protocol/expo.ts';
import { runBin } from '../scripts/helpers.ts';
import { writeExpoExport } from '../support/expo-export.ts';
import { type DevServer, startDevServer } from './dev-server.ts';

const APP = 'expo-demo';
const EMBEDDED = '00000000-0000-4000-8000-000000000001';
let server: DevServer | undefined;
let admin: ApiClient;
let work = '';
let env: NodeJS.ProcessEnv = {};

function dev(): DevServer {
  if (!server) throw new Error('the dev server did not start');
  return server;
}

async function cli(args: readonly string[]) {
  const result = await runBin(args, env, work);
  if (result.code !== 0) throw new Error(`updraft ${args.join(' ')}: ${result.stderr}`);
  return result;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'updraft-publish-expo-e2e-'));
  const keysDir = join(work, 'keys');
  await keysInit({ keysDir, offline: true });
  const onlineKey = JSON.stringify(JSON.parse(await readFile(join(keysDir, 'online.json'), 'utf8')));
  server = await startDevServer({ onlineKey });
  admin = new ApiClient({ server: server.url, token: server.adminToken });
  env = { UPDRAFT_SERVER: server.url, UPDRAFT_TOKEN: server.adminToken, UPDRAFT_KEYS: keysDir };
  await cli(['keys', 'register']);
  await cli(['app', 'create', APP]);
});

afterAll(async () => {
  await server?.stop();
});

/** One expo-updates poll of an iOS client of runtime 1.0.0 that verifies signatures; its one part. */
async function poll(current: string) {
  const response = await fetch(`${dev().url}/v1/apps/${APP}/expo/manifest`, {
    headers: {
      'expo-protocol-version': '1',
      accept: 'multipart/mixed',
      'expo-platform': 'ios',
      'expo-runtime-version': '1.0.0',
      'expo-embedded-update-id': EMBEDDED,
      'expo-current-update-id': current,
      'expo-expect-signature': 'sig, keyid="main", alg="rsa-v1_5-sha256"',
      'eas-client-id': 'e2e-client',
    },
  });
  expect(response.status).toBe(200);
  const body = Buffer.from(await response.arrayBuffer());
  const parts = await parseMultipartMixedResponseAsync(response.headers.get('content-type') ?? '', body);
  expect(parts).toHaveLength(1);
  const [part] = parts;
  if (!part) throw new Error('no part');
  const signature = part.headers.get('expo-signature');
  return {
    name: part.name,
    body: part.body,
    signature: typeof signature === 'string' ? signature : undefined,
  };
}

/** Whether `signature` (an expo-signature value) verifies over `body` with the certificate's key. */
function verifiesWith(certificatePem: string, body: string, signature: string): boolean {
  const sig = parseDictionary(signature).get('sig')?.[0];
  if (typeof sig !== 'string') return false;
  const { publicKey } = new X509Certificate(certificatePem);
  return verify('sha256', Buffer.from(body, 'utf8'), publicKey, Buffer.from(sig, 'base64'));
}

describe('publish --expo, end to end', () => {
  it('registers signed manifests the Worker serves, uploads assets once, and signs the yank directive', async () => {
    await cli(['expo', 'keys', '--out', work, '--common-name', 'Updraft e2e']);
    const privateKey = join(work, 'keys', 'private-key.pem');
    const certificatePath = join(work, 'certs', 'certificate.pem');
    const certificatePem = await readFile(certificatePath, 'utf8');
    // The certificate is one expo-updates accepts for code signing, of this key pair.
    validateSelfSignedCertificate(
      convertCertificatePEMToCertificate(certificatePem),
      convertKeyPairPEMToKeyPair({
        privateKeyPEM: await readFile(privateKey, 'utf8'),
        publicKeyPEM: await readFile(join(work, 'keys', 'public-key.pem'), 'utf8'),
      }),
    );

    const expoConfig = { name: 'Demo', slug: 'demo', runtimeVersion: '1.0.0' };
    const first = await writeExpoExport(await mkdtemp(join(work, 'dist-')), { seed: 'one', expoConfig });
    const signing = ['--expo-private-key', privateKey, '--expo-certificate', certificatePath];
    const published = await cli(['publish', APP, '1.0.0', '--expo', first.dir, ...signing]);
    expect(published.stderr).toContain('expo assets: 4 uploaded, 0 already stored (skipped)');

    const release = await admin.get<ReleaseView>(`/v1/admin/apps/${APP}/releases/1.0.0`);
    expect(release.artifacts.map((a) => `${a.platform}-${a.arch}`)).toEqual(['ios-any', 'android-any']);
    for (const artifact of release.artifacts) {
      const text = artifact.expo?.manifest ?? '';
      const manifest = expoManifestSchema.parse(JSON.parse(text));
      const platform = artifact.platform === 'ios' ? 'ios' : 'android';
      expect(manifest.id).toBe(await expoUpdateId(APP, '1.0.0', platform, '1.0.0'));
      expect(manifest.extra).toEqual({ expoClient: expoConfig });
      expect(verifiesWith(certificatePem, text, artifact.expo?.signature ?? '')).toBe(true);
      // Every asset URL answers with the bytes its hash names.
      for (const asset of [manifest.launchAsset, ...manifest.assets]) {
        const bytes = Buffer.from(await (await fetch(asset.url)).arrayBuffer());
        expect(createHash('sha256').update(bytes).digest('base64url')).toBe(asset.hash);
      }
    }

    await cli(['promote', APP, '1.0.0', '--channel', 'stable', '--percent', '100']);
    const ios = release.artifacts.find((a) => a.platform === 'ios');
    const offered = await vi.waitFor(
      async () => {
        const part = await poll(EMBEDDED);
        expect(part.name).toBe('manifest');
        return part;
      },
      { timeout: 30_000, interval: 500 },
    );
    expect(offered.body).toBe(ios?.expo?.manifest);
    expect(offered.signature).toBe(ios?.expo?.signature);

    // A second release shares the assets: only its two bundles go up.
    const second = await writeExpoExport(await mkdtemp(join(work, 'dist-')), { seed: 'two', expoConfig });
    const again = await cli(['publish', APP, '1.1.0', '--expo', second.dir, ...signing]);
    expect(again.stderr).toContain('expo assets: 2 uploaded, 2 already stored (skipped)');

    await cli(['yank', APP, '1.0.0', '--reason', 'crashes on launch', '--rollback-to', 'none', ...signing]);
    const current = await expoUpdateId(APP, '1.0.0', 'ios', '1.0.0');
    const directive = await vi.waitFor(
      async () => {
        const part = await poll(current);
        expect(part.name).toBe('directive');
        return part;
      },
      { timeout: 30_000, interval: 500 },
    );
    // The Worker serves the bytes the CLI signed: the directive of the yank's yanked_at.
    const commitTime = (JSON.parse(directive.body) as { parameters: { commitTime: string } }).parameters
      .commitTime;
    expect(directive.body).toBe(rollBackToEmbeddedDirective(commitTime));
    expect(verifiesWith(certificatePem, directive.body, directive.signature ?? '')).toBe(true);
  });
});
