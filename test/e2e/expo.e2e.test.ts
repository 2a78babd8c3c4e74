/**
 * An Expo app's whole life over HTTP against the real Worker under `wrangler dev` (docs/protocol.md §6, §10),
 * with the real `updraft` binary and Expo's own libraries on the client side: `updraft expo keys`
 * makes the code signing key and certificate, two `npx expo export`-shaped folders are published
 * with `publish --expo` (the second uploads only what the first did not), 1.1.0 is staged at 20 %
 * behind a failure-rate gate, and 200 clients poll the manifest route as expo-updates does. Every
 * answer is read with `@expo/multipart-body-parser`, every signature checked against the certificate
 * (`@expo/code-signing-certificates`, `structured-headers`), every asset downloaded and hashed. The
 * failed update ids clients send halt the rollout through the scheduler, and a yank signed with the
 * Expo key sends clients on 1.1.0 back to their embedded update.
 *
 * The native expo-updates client (Swift/Kotlin inside an app binary) cannot run here; the requests
 * are the ones it sends (protocol v1 headers, `expo-expect-signature`, failed update ids), and the
 * checks are the ones it makes (RSA-SHA256 over the part body with the certificate's key, asset
 * hashes).
 */
import { createHash, createVerify, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  convertCertificatePEMToCertificate,
  convertKeyPairPEMToKeyPair,
  validateSelfSignedCertificate,
} from '@expo/code-signing-certificates';
import { type MultipartPart, parseMultipartMixedResponseAsync } from '@expo/multipart-body-parser';
import { parseDictionary } from 'structured-headers';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { keysInit } from '../../scripts/commands/keys-init.ts';
import type { PublishResult } from '../../scripts/commands/publish.ts';
import { ApiClient } from '../../scripts/lib/api.ts';
import type { ReleaseHealth, RolloutView, StatusView } from '../../src/protocol/admin-api.ts';
import { bucket, inRollout } from '../../src/protocol/bucket.ts';
import {
  type ExpoManifest,
  type ExpoPlatform,
  expoManifestSchema,
  expoUpdateId,
  hexToBase64Url,
  rollBackToEmbeddedDirective,
} from '../../src/protocol/expo.ts';
import { runBin } from '../scripts/helpers.ts';
import { type WrittenExport, writeExpoExport } from '../support/expo-export.ts';
import { type DevServer, startDevServer, triggerScheduled } from './dev-server.ts';

const APP = 'expo-e2e';
const CHANNEL = 'stable';
const RUNTIME = '1.0.0';
const EMBEDDED = '5b0a3c1e-7f2d-4e61-9a8b-0c1d2e3f4a5b';
const EXPECT_SIGNATURE = 'sig, keyid="main", alg="rsa-v1_5-sha256"';
const PLATFORMS: readonly ExpoPlatform[] = ['ios', 'android'];
const CLIENTS = Array.from({ length: 200 }, (_, i) => ({
  id: `expo-install-${String(i).padStart(3, '0')}`,
  platform: PLATFORMS[i % 2] ?? 'ios',
}));
const PROPAGATION = { timeout: 30_000, interval: 500 };
const MINUTE = 60_000;
const expoConfig = { name: 'Updraft E2E', slug: 'updraft-e2e', version: '1.0.0' };

let server: DevServer | undefined;
let admin: ApiClient;
let work = '';
let env: NodeJS.ProcessEnv = {};
let certificatePem = '';
let signing: string[] = [];
const exports = new Map<string, WrittenExport>();
/** The manifest body served per version and platform, as the client received it. */
const served = new Map<string, string>();
const key = (version: string, platform: ExpoPlatform) => `${version}/${platform}`;

function dev(): DevServer {
  if (!server) throw new Error('the dev server did not start');
  return server;
}

async function cli(args: readonly string[]) {
  const result = await runBin(args, env, work);
  if (result.code !== 0) throw new Error(`updraft ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return result;
}

interface Client {
  id: string;
  platform: ExpoPlatform;
  current?: string;
  failed?: readonly string[];
  /** Send `expo-expect-signature` (default true), as an app with codeSigningCertificate does. */
  verifies?: boolean;
}

interface Answer {
  status: number;
  headers: Headers;
  parts: MultipartPart[];
}

/** One expo-updates manifest request, its answer parsed as the client library parses it. */
async function poll(client: Client): Promise<Answer> {
  const headers: Record<string, string> = {
    'expo-protocol-version': '1',
    accept: 'multipart/mixed',
    'expo-platform': client.platform,
    'expo-runtime-version': RUNTIME,
    'expo-embedded-update-id': EMBEDDED,
    'expo-current-update-id': client.current ?? EMBEDDED,
    'eas-client-id': client.id,
  };
  if (client.verifies !== false) headers['expo-expect-signature'] = EXPECT_SIGNATURE;
  if (client.failed)
    headers['expo-recent-failed-update-ids'] = client.failed.map((id) => `"${id}"`).join(', ');
  const response = await fetch(`${dev().url}/v1/apps/${APP}/expo/manifest`, { headers });
  const body = Buffer.from(await response.arrayBuffer());
  expect(response.status, body.toString()).toBeOneOf([200, 204]);
  expect(response.headers.get('expo-protocol-version')).toBe('1');
  expect(response.headers.get('expo-sfv-version')).toBe('0');
  if (response.status === 204) return { status: 204, headers: response.headers, parts: [] };
  const parts = await parseMultipartMixedResponseAsync(response.headers.get('content-type') ?? '', body);
  expect(parts).toHaveLength(1);
  return { status: response.status, headers: response.headers, parts };
}

function onlyPart(answer: Answer, name: 'manifest' | 'directive'): MultipartPart {
  const [part] = answer.parts;
  if (!part) throw new Error(`expected a ${name} part, got ${answer.status} with no parts`);
  expect(part.name).toBe(name);
  return part;
}

/**
 * What expo-updates does with a signed part: read `expo-signature` as a structured-field dictionary,
 * check keyid and alg against codeSigningMetadata, and verify RSA-SHA256 over the exact body bytes
 * with the public key of the embedded certificate.
 */
function verifyPart(part: MultipartPart): void {
  const header = part.headers.get('expo-signature');
  if (typeof header !== 'string') throw new Error(`the ${part.name} part carries no expo-signature`);
  const fields = parseDictionary(header);
  expect(fields.get('keyid')?.[0]).toBe('main');
  expect(fields.get('alg')?.[0]).toBe('rsa-v1_5-sha256');
  const sig = fields.get('sig')?.[0];
  if (typeof sig !== 'string') throw new Error(`expo-signature has no sig string: ${header}`);
  const verifier = createVerify('RSA-SHA256');
  verifier.update(Buffer.from(part.body, 'utf8'));
  expect(verifier.verify(new X509Certificate(certificatePem).publicKey, sig, 'base64')).toBe(true);
  // A body changed by one character no longer verifies.
  const tampered = createVerify('RSA-SHA256');
  tampered.update(Buffer.from(`${part.body} `, 'utf8'));
  expect(tampered.verify(new X509Certificate(certificatePem).publicKey, sig, 'base64')).toBe(false);
}

const sha256Base64Url = (bytes: Buffer) => createHash('sha256').update(bytes).digest('base64url');

/**
 * A served manifest's fields, checked against the export it was published from; every asset URL is
 * downloaded and must hash to the manifest's `hash`, as expo-updates checks before launching.
 */
async function checkManifest(body: string, version: string, platform: ExpoPlatform): Promise<ExpoManifest> {
  const manifest = expoManifestSchema.parse(JSON.parse(body));
  expect(manifest.id).toBe(await expoUpdateId(APP, version, platform, RUNTIME));
  expect(manifest.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  expect(manifest.runtimeVersion).toBe(RUNTIME);
  expect(Math.abs(Date.parse(manifest.createdAt) - Date.now())).toBeLessThan(10 * MINUTE);
  expect(manifest.metadata).toEqual({});
  expect(manifest.extra).toEqual({ expoClient: expoConfig });
  const written = exports.get(version)?.platforms[platform];
  if (!written) throw new Error(`no export of ${version} for ${platform}`);
  expect(manifest.launchAsset.hash).toBe(hexToBase64Url(written.bundle.sha256));
  expect(manifest.assets.map((a) => a.hash).sort()).toEqual(
    written.assets.map((a) => hexToBase64Url(a.sha256)).sort(),
  );
  for (const asset of [manifest.launchAsset, ...manifest.assets]) {
    expect(asset.url.startsWith(`${dev().url}/v1/apps/${APP}/assets/`)).toBe(true);
    const response = await fetch(asset.url);
    expect(response.status).toBe(200);
    expect(sha256Base64Url(Buffer.from(await response.arrayBuffer()))).toBe(asset.hash);
  }
  return manifest;
}

async function publishExport(version: string, seed: string) {
  const written = await writeExpoExport(await mkdtemp(join(work, `dist-${version}-`)), { seed, expoConfig });
  exports.set(version, written);
  const args = ['publish', APP, version, '--expo', written.dir, '--runtime', RUNTIME, ...signing, '--json'];
  const { stdout, stderr } = await cli(args);
  // Each upload prints one "uploaded <path in the export> (<size>)" line on stderr.
  const uploaded = [...stderr.matchAll(/^uploaded (\S+) \(/gm)].flatMap((m) => m[1] ?? []).sort();
  return { result: JSON.parse(stdout) as PublishResult, stderr, uploaded, written };
}

async function rollout(version: string): Promise<RolloutView> {
  const status = JSON.parse((await cli(['status', APP, '--json'])).stdout) as StatusView;
  const found = status.channels.find((c) => c.name === CHANNEL)?.rollouts.find((r) => r.version === version);
  if (!found) throw new Error(`no rollout of ${version} on ${CHANNEL}`);
  return found;
}

/** Runs `poll` for every client, 25 at a time (wrangler dev is one local workerd). */
async function pollAll(clients: readonly Client[]): Promise<Answer[]> {
  const answers: Answer[] = [];
  for (let i = 0; i < clients.length; i += 25)
    answers.push(...(await Promise.all(clients.slice(i, i + 25).map(poll))));
  return answers;
}

const updateId = (version: string, platform: ExpoPlatform) => expoUpdateId(APP, version, platform, RUNTIME);

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'updraft-expo-e2e-'));
  const keysDir = join(work, 'updraft-keys');
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
  if (work) await rm(work, { recursive: true, force: true });
});

describe('an Expo app on Updraft, end to end', () => {
  let salt = '';
  let offered: Client[] = [];

  it('publishes 1.0.0 signed with the key `expo keys` made and serves it to everyone', async () => {
    await cli(['expo', 'keys', '--out', work]);
    const privateKey = join(work, 'keys', 'private-key.pem');
    const certificatePath = join(work, 'certs', 'certificate.pem');
    certificatePem = await readFile(certificatePath, 'utf8');
    // The certificate is one expo-updates accepts (code signing usage, valid now) for this key pair.
    validateSelfSignedCertificate(
      convertCertificatePEMToCertificate(certificatePem),
      convertKeyPairPEMToKeyPair({
        privateKeyPEM: await readFile(privateKey, 'utf8'),
        publicKeyPEM: await readFile(join(work, 'keys', 'public-key.pem'), 'utf8'),
      }),
    );
    signing = [
      '--expo-private-key',
      privateKey,
      '--expo-keyid',
      'main',
      '--expo-certificate',
      certificatePath,
    ];

    const first = await publishExport('1.0.0', 'one');
    expect(first.stderr).toContain('expo assets: 4 uploaded, 0 already stored (skipped)');
    expect(first.uploaded).toEqual([...first.written.files.values()].map((f) => f.name).sort());
    expect(first.result.artifacts.map((a) => `${a.platform}-${a.arch}`)).toEqual(['ios-any', 'android-any']);
    await cli(['promote', APP, '1.0.0', '--channel', CHANNEL, '--percent', '100']);

    for (const platform of PLATFORMS) {
      // A fresh install, on the update embedded in its build.
      const answer = await vi.waitFor(async () => {
        const a = await poll({ id: `fresh-${platform}`, platform });
        onlyPart(a, 'manifest');
        return a;
      }, PROPAGATION);
      expect(answer.headers.get('cache-control')).toBe('private, max-age=0');
      const part = onlyPart(answer, 'manifest');
      verifyPart(part);
      await checkManifest(part.body, '1.0.0', platform);
      // Served byte for byte as the CLI built and signed it.
      const artifact = first.result.artifacts.find((a) => a.platform === platform);
      expect(part.body).toBe(artifact?.expo?.manifest);
      expect(part.headers.get('expo-signature')).toBe(artifact?.expo?.signature);
      served.set(key('1.0.0', platform), part.body);
    }
  });

  it('publishes 1.1.0 uploading only its new bundles, and stages it at 20 % behind a failure-rate gate', async () => {
    const second = await publishExport('1.1.0', 'two');
    const firstNames = new Set([...(exports.get('1.0.0')?.files.values() ?? [])].map((f) => f.name));
    const bundles = PLATFORMS.map((p) => second.written.platforms[p]?.bundle.name ?? '').sort();
    expect(second.uploaded).toEqual(bundles);
    expect(second.uploaded.some((name) => firstNames.has(name))).toBe(false);
    expect(second.stderr).toContain('expo assets: 2 uploaded, 2 already stored (skipped)');

    const promoted = await cli([
      'promote',
      APP,
      '1.1.0',
      '--channel',
      CHANNEL,
      '--plan',
      '20,100',
      '--bake',
      '1h',
      '--max-failure-rate',
      '10%',
      '--min-installs',
      '5',
    ]);
    expect(promoted.stdout).toMatch(/^Promoted expo-e2e 1\.1\.0 to 20% of stable, staged: 20% → 100%/);
    const r = await rollout('1.1.0');
    expect(r).toMatchObject({
      percent_bp: 2000,
      state: 'active',
      step: 0,
      plan: { steps_bp: [2000, 10_000], gates: { max_failure_rate: 0.1, min_installs: 5 } },
    });
    salt = r.salt;
    expect(salt).toMatch(/^[0-9a-f]{32}$/);
  });

  it('offers 1.1.0 to exactly the clients whose bucket is under 20 %, signed, with assets that hash right', async () => {
    const on100 = await Promise.all(
      CLIENTS.map(async (c) => ({ ...c, current: await updateId('1.0.0', c.platform) })),
    );
    const inside = new Set<string>();
    for (const c of CLIENTS) if (inRollout(2000, await bucket(salt, c.id))) inside.add(c.id);
    const probe = on100.find((c) => inside.has(c.id));
    if (!probe) throw new Error('no client of 200 is inside a 20 % rollout');
    // The promote reaches the edge's cached state within its TTL.
    await vi.waitFor(async () => onlyPart(await poll(probe), 'manifest'), PROPAGATION);

    const answers = await pollAll(on100);
    const got = new Set<string>();
    for (const [i, answer] of answers.entries()) {
      const client = on100[i];
      if (!client) throw new Error('answer without client');
      if (answer.status === 204) {
        // Nothing newer for it: a client that expects signatures gets "no parts", which needs none.
        expect(answer.headers.get('updraft-withheld')).toBeNull();
        continue;
      }
      got.add(client.id);
      const part = onlyPart(answer, 'manifest');
      verifyPart(part);
      const id = (JSON.parse(part.body) as { id: string }).id;
      expect(id).toBe(await updateId('1.1.0', client.platform));
      const seen = served.get(key('1.1.0', client.platform));
      if (seen === undefined) {
        const manifest = await checkManifest(part.body, '1.1.0', client.platform);
        const before = expoManifestSchema.parse(JSON.parse(served.get(key('1.0.0', client.platform)) ?? ''));
        // expo-updates only launches an update newer than the one it runs.
        expect(Date.parse(manifest.createdAt)).toBeGreaterThan(Date.parse(before.createdAt));
        // The shared assets are the same stored objects.
        expect(manifest.assets.map((a) => a.url).sort()).toEqual(before.assets.map((a) => a.url).sort());
        served.set(key('1.1.0', client.platform), part.body);
      } else {
        expect(part.body).toBe(seen);
      }
    }
    expect([...got].sort()).toEqual([...inside].sort());
    expect(got.size).toBeGreaterThanOrEqual(12);
    for (const platform of PLATFORMS) expect(served.has(key('1.1.0', platform))).toBe(true);
    offered = on100.filter((c) => got.has(c.id));
  });

  it('counts failed update ids as install failures, and the gate halts 1.1.0 for everyone new', async () => {
    const started = (await rollout('1.1.0')).step_started_at;
    if (!started) throw new Error('the staged rollout has no step_started_at');
    // Half the offered clients crashed on 1.1.0 and came back up on 1.0.0; the others run it.
    const half = Math.floor(offered.length / 2);
    const failing = await Promise.all(
      offered.slice(0, half).map(async (c) => ({ ...c, failed: [await updateId('1.1.0', c.platform)] })),
    );
    const running = await Promise.all(
      offered.slice(half).map(async (c) => ({ ...c, current: await updateId('1.1.0', c.platform) })),
    );
    for (const answer of await pollAll(failing)) {
      // Its failed update is never offered to it again.
      expect(answer.status).toBe(204);
      expect(answer.headers.get('updraft-withheld')).toMatch(/failed to launch/);
    }
    // On the newest update: nothing to do.
    for (const answer of await pollAll(running)) expect(answer.status).toBe(204);

    const health = await vi.waitFor(
      async () => {
        const h = await admin.get<ReleaseHealth>(`/v1/admin/apps/${APP}/health`, {
          query: {
            version: '1.1.0',
            channel: CHANNEL,
            from: started,
            to: new Date(Date.now() + 10 * MINUTE).toISOString(),
          },
        });
        expect({ installs: h.installs, failures: h.failures }).toEqual({
          installs: running.length,
          failures: failing.length,
        });
        return h;
      },
      { timeout: 30_000, interval: 500 },
    );
    expect(health.top_errors).toEqual([{ code: 'expo_launch_failed', count: failing.length }]);

    // The cron, a minute from now: a breach needs no bake time.
    await triggerScheduled(dev(), new Date(Date.now() + MINUTE));
    const halted = await rollout('1.1.0');
    expect(halted).toMatchObject({ state: 'halted', percent_bp: 2000, step: 0 });
    expect(halted.judgement).toMatchObject({
      action: 'halt',
      figures: { installs: running.length, failures: failing.length },
    });
    expect(halted.judgement?.figures.failure_rate.low).toBeGreaterThan(0.1);
    expect((await cli(['status', APP])).stdout).toMatch(/halted, offered to nobody new/);

    // A new install inside the 20 % is not offered the halted release.
    let late = '';
    for (let i = 0; late === ''; i++)
      if (inRollout(2000, await bucket(salt, `late-${i}`))) late = `late-${i}`;
    const current = await updateId('1.0.0', 'ios');
    await vi.waitFor(async () => {
      const signed = await poll({ id: late, platform: 'ios', current });
      expect(signed.status).toBe(204);
    }, PROPAGATION);
    // One that does not verify signatures gets the (unsigned) noUpdateAvailable directive.
    const plain = onlyPart(await poll({ id: late, platform: 'ios', current, verifies: false }), 'directive');
    expect(JSON.parse(plain.body)).toEqual({ type: 'noUpdateAvailable' });
    expect(plain.headers.has('expo-signature')).toBe(false);
  });

  it('yanks 1.1.0: clients on it get a signed rollBackToEmbedded directive, clients on 1.0.0 nothing', async () => {
    const before = Math.floor(Date.now() / 1000) * 1000;
    await cli(['yank', APP, '1.1.0', '--reason', 'crashes on launch', ...signing]);
    const after = Date.now();
    for (const platform of PLATFORMS) {
      const current = await updateId('1.1.0', platform);
      const part = await vi.waitFor(
        async () => onlyPart(await poll({ id: `${platform}-on-1.1.0`, platform, current }), 'directive'),
        PROPAGATION,
      );
      verifyPart(part);
      const directive = JSON.parse(part.body) as { type: string; parameters: { commitTime: string } };
      expect(directive.type).toBe('rollBackToEmbedded');
      const commitTime = Date.parse(directive.parameters.commitTime);
      expect(commitTime).toBeGreaterThanOrEqual(before);
      expect(commitTime).toBeLessThanOrEqual(after);
      // Exactly the bytes `yank` signed, fixed by the yank's yanked_at.
      expect(part.body).toBe(rollBackToEmbeddedDirective(directive.parameters.commitTime));
      // The client on 1.0.0, the release 1.1.0 rolls back to, is where it should be.
      const stays = await poll({
        id: `${platform}-on-1.0.0`,
        platform,
        current: await updateId('1.0.0', platform),
      });
      expect(stays.status).toBe(204);
    }
  });
});
