/**
 * The Tauri route end to end, with the real tools on both sides: an update bundle signed by the real
 * Tauri signer (`tauri signer generate` / `tauri signer sign` from @tauri-apps/cli), published through
 * the admin API of the real Worker under `wrangler dev` with the `.sig` content as the artifact's
 * `minisign` field, fetched through `tauri/{channel}/{target}/{arch}/{current_version}` as the plugin
 * would, downloaded from the URL it names, and verified with Debian's `minisign` binary against the
 * public key a Tauri app pins (the same check the plugin makes with minisign-verify). A tampered
 * download must fail that check. Needs /usr/bin/minisign (`apt-get install -y minisign`; .ci/run
 * installs it): without it the test fails, it never skips.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appCreate } from '../../scripts/commands/app-create.ts';
import { keysInit } from '../../scripts/commands/keys-init.ts';
import { keysRegister } from '../../scripts/commands/keys-register.ts';
import { ApiClient } from '../../scripts/lib/api.ts';
import { readPrivateKey } from '../../scripts/lib/keys-folder.ts';
import type { ReleasePayload } from '../../src/protocol/documents.ts';
import { signDocument } from '../../src/protocol/jws.ts';
import { type DevServer, startDevServer } from './dev-server.ts';

const run = promisify(execFile);

/** Tauri's dynamic-server answer (src/worker/adapters/tauri.ts; the Worker's types stay out of node code). */
interface TauriUpdate {
  version: string;
  notes: string;
  pub_date: string;
  url: string;
  signature: string;
}
const ROOT = join(import.meta.dirname, '..', '..');
const TAURI = join(ROOT, 'node_modules', '.bin', 'tauri');
const MINISIGN = '/usr/bin/minisign';
const APP = 'tauri-e2e';
const VERSION = '1.1.0';
const FILE = `TauriApp_${VERSION}_amd64.AppImage.tar.gz`;
const PASSWORD = 'correct horse battery staple';

let server: DevServer | undefined;
let work = '';
let bundle: Buffer;
let sig = '';
let pubkey = '';

/** The Tauri CLI with none of the caller's TAURI_SIGNING_* settings. */
function tauri(args: string[]) {
  const env: NodeJS.ProcessEnv = { ...process.env, CI: 'true' };
  for (const name of Object.keys(env)) if (name.startsWith('TAURI_')) delete env[name];
  return run(TAURI, args, { cwd: work, env });
}

/** `minisign -V` over `bytes` with the app's pinned key and the served signature (both base64, as Tauri has them). */
async function minisignVerify(bytes: Buffer, signature: string): Promise<{ ok: boolean; output: string }> {
  const dir = await mkdtemp(join(work, 'verify-'));
  await writeFile(join(dir, 'key.pub'), Buffer.from(pubkey, 'base64'));
  await writeFile(join(dir, 'bundle.sig'), Buffer.from(signature, 'base64'));
  await writeFile(join(dir, 'bundle'), bytes);
  const args = ['-V', '-p', join(dir, 'key.pub'), '-m', join(dir, 'bundle'), '-x', join(dir, 'bundle.sig')];
  try {
    const { stdout, stderr } = await run(MINISIGN, args);
    return { ok: true, output: stdout + stderr };
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; message: string };
    return { ok: false, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}${failed.message}` };
  }
}

async function adminFetch(path: string, init: RequestInit & { token: string }): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set('Authorization', `Bearer ${init.token}`);
  return fetch(`${dev().url}/v1/admin${path}`, { ...init, headers });
}

function dev(): DevServer {
  if (!server) throw new Error('the dev server did not start');
  return server;
}

beforeAll(async () => {
  // Loudly, before anything else: this test's point is the independent verifier.
  try {
    await run(MINISIGN, ['-v']);
  } catch (error) {
    throw new Error(
      `${MINISIGN} is required by this test (apt-get install -y minisign): ${(error as Error).message}`,
    );
  }
  work = await mkdtemp(join(tmpdir(), 'updraft-tauri-'));

  // The app's updater key pair and a signed bundle, exactly as a Tauri project makes them.
  await tauri(['signer', 'generate', '-w', join(work, 'updater.key'), '-p', PASSWORD, '--ci']);
  pubkey = (await readFile(join(work, 'updater.key.pub'), 'utf8')).trim();
  bundle = randomBytes(96 * 1024);
  await writeFile(join(work, FILE), bundle);
  await tauri([
    'signer',
    'sign',
    '-f',
    join(work, 'updater.key'),
    '-p',
    PASSWORD,
    '--app-version',
    VERSION,
    FILE,
  ]);
  sig = (await readFile(join(work, `${FILE}.sig`), 'utf8')).trim();

  const keysDir = join(work, 'keys');
  await keysInit({ keysDir, offline: true });
  const onlineKey = JSON.stringify(JSON.parse(await readFile(join(keysDir, 'online.json'), 'utf8')));
  server = await startDevServer({ onlineKey });
  const token = server.adminToken;
  const client = new ApiClient({ server: server.url, token });
  await keysRegister({ client, keysDir });
  await appCreate({ client, app: APP, defaultChannel: 'stable' });

  const sha256 = createHash('sha256').update(bundle).digest('hex');
  const upload = await adminFetch(`/apps/${APP}/uploads/${VERSION}/linux-x64/${FILE}`, {
    method: 'PUT',
    token,
    body: Uint8Array.from(bundle),
    headers: { 'Content-Type': 'application/gzip', 'X-Updraft-Sha256': sha256 },
  });
  expect(upload.status, await upload.clone().text()).toBe(201);
  const payload: ReleasePayload = {
    app: APP,
    version: VERSION,
    published_at: new Date().toISOString(),
    notes: 'Signed by the Tauri signer',
    mandatory: false,
    critical: false,
    requires: '*',
    artifacts: [{ platform: 'linux', arch: 'x64', file: FILE, sha256, size: bundle.length, minisign: sig }],
  };
  const manifest = await signDocument('release', payload, await readPrivateKey(keysDir, 'release'));
  const registered = await adminFetch(`/apps/${APP}/releases`, {
    method: 'POST',
    token,
    body: JSON.stringify({ manifest }),
    headers: { 'Content-Type': 'application/json' },
  });
  expect(registered.status, await registered.clone().text()).toBe(201);
  const promoted = await adminFetch(`/apps/${APP}/channels/stable/rollouts`, {
    method: 'POST',
    token,
    body: JSON.stringify({ version: VERSION, percent_bp: 10_000 }),
    headers: { 'Content-Type': 'application/json' },
  });
  expect(promoted.status, await promoted.clone().text()).toBeLessThan(300);
});

afterAll(async () => {
  await server?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('a Tauri bundle signed by the Tauri signer', () => {
  it('is served with its signature, and minisign verifies that signature over the downloaded bytes', async () => {
    const url = `${dev().url}/v1/apps/${APP}/tauri/stable/linux/x86_64/1.0.0`;
    const response = await fetch(url, {
      headers: { Accept: 'application/json', 'x-updraft-client-id': 'e2e-install-1' },
    });
    expect(response.status).toBe(200);
    const update: TauriUpdate = await response.json();
    expect(update.version).toBe(VERSION);
    expect(update.signature).toBe(sig);
    expect(update.url).toBe(
      `${dev().url}/v1/apps/${APP}/artifacts/${VERSION}/linux-x64/${FILE}?client_id=e2e-install-1&via=tauri`,
    );

    const download = Buffer.from(await (await fetch(update.url)).arrayBuffer());
    expect(download.equals(bundle)).toBe(true);
    const verified = await minisignVerify(download, update.signature);
    expect(verified.ok, verified.output).toBe(true);
    expect(verified.output).toContain('Signature and comment signature verified');
    // The signer bound the version into the trusted comment, which the signature covers.
    expect(verified.output).toContain(VERSION);

    const tampered = Buffer.from(download);
    tampered[tampered.length >> 1] = (tampered[tampered.length >> 1] ?? 0) ^ 0x01;
    expect((await minisignVerify(tampered, update.signature)).ok).toBe(false);
  });

  it('answers 204 to a client already on the signed version', async () => {
    const response = await fetch(`${dev().url}/v1/apps/${APP}/tauri/stable/linux/x86_64/${VERSION}`, {
      headers: { 'x-updraft-client-id': 'e2e-install-2' },
    });
    expect(response.status).toBe(204);
  });
});
