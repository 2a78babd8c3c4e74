/**
 * electron-updater's own code (NsisUpdater, the generic provider, its HTTP client, sha512 check and
 * differential downloader) in plain Node against the real Worker under `wrangler dev`, as
 * electron-builder's tests run it (test/src/updater/: an app adapter object, a Node HttpExecutor,
 * `_testOnlyOptions.platform = win32`; no Electron binary). Installers and their `.blockmap` sidecars
 * are made with electron-builder's own blockmap builder (app-builder-lib) and published through the
 * admin API with their sha512. Every request goes through a loopback proxy that records it and, when
 * asked, alters the installer's bytes in transit, as a broken mirror or an attacker on the path would.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import {
  type ClientRequest,
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type RequestOptions,
  type Server,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBlockMap } from 'app-builder-lib/out/targets/blockmap/blockmap.js';
import {
  configureRequestOptions,
  configureRequestUrl,
  type DownloadOptions,
  HttpExecutor,
} from 'builder-util-runtime';
import { NoOpLogger, NsisUpdater } from 'electron-updater';
import type { AppAdapter } from 'electron-updater/out/AppAdapter.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appCreate } from '../../scripts/commands/app-create.ts';
import { keysInit } from '../../scripts/commands/keys-init.ts';
import { keysRegister } from '../../scripts/commands/keys-register.ts';
import { ApiClient } from '../../scripts/lib/api.ts';
import { readPrivateKey } from '../../scripts/lib/keys-folder.ts';
import { bucket } from '../../src/protocol/bucket.ts';
import type { Artifact, ReleasePayload } from '../../src/protocol/documents.ts';
import { signDocument } from '../../src/protocol/jws.ts';
import { type DevServer, startDevServer } from './dev-server.ts';

const APP = 'electron-e2e';
const CACHE_DIR_NAME = 'electron-e2e-updater';
const installerName = (version: string) => `ElectronE2E-Setup-${version}.exe`;

/** electron-builder's HttpExecutor for Node (builder-util's NodeHttpExecutor), plus Electron's `download`. */
class NodeHttpExecutor extends HttpExecutor<ClientRequest> {
  createRequest(options: RequestOptions, callback: (response: IncomingMessage) => void): ClientRequest {
    return httpRequest(options, callback);
  }

  /** As ElectronHttpExecutor.download: doDownload pipes through the sha512 (or sha2) DigestTransform. */
  download(url: URL, destination: string, options: DownloadOptions): Promise<string> {
    return options.cancellationToken.createPromise((resolve, reject, onCancel) => {
      const requestOptions: RequestOptions = { headers: options.headers ?? undefined };
      configureRequestUrl(url, requestOptions);
      configureRequestOptions(requestOptions);
      this.doDownload(
        requestOptions,
        {
          destination,
          options,
          onCancel,
          callback: (error) => (error == null ? resolve(destination) : reject(error)),
          responseHandler: null,
        },
        0,
      );
    });
  }
}

/** What electron-builder's tests set on an updater (tuneTestUpdater); internal, hence the cast. */
interface TestHooks {
  httpExecutor: HttpExecutor<ClientRequest>;
  _testOnlyOptions: { platform: NodeJS.Platform; isUseDifferentialDownload?: boolean };
}

let server: DevServer | undefined;
let work = '';
let keysDir = '';
let proxy: Server;
let proxyUrl = '';
let tamper = false;
const seen: { path: string; range: string | undefined; status: number; bytes: number }[] = [];
const installers = new Map<string, Buffer>();
let salt = '';

function dev(): DevServer {
  if (!server) throw new Error('the dev server did not start');
  return server;
}

/** Forwards to the Worker; records each request; flips a byte of installer bodies when `tamper`. */
function startProxy(upstream: URL): Promise<void> {
  proxy = createServer((req, res) => {
    const forwarded = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (up) => {
        const chunks: Buffer[] = [];
        up.on('data', (chunk: Buffer) => chunks.push(chunk));
        up.on('end', () => {
          const body = Buffer.concat(chunks);
          const path = new URL(req.url ?? '/', 'http://x').pathname;
          if (tamper && path.endsWith('.exe') && body.length > 0)
            body.writeUInt8((body.readUInt8(body.length >> 1) ^ 0xff) & 0xff, body.length >> 1);
          seen.push({ path, range: req.headers.range, status: up.statusCode ?? 0, bytes: body.length });
          res.writeHead(up.statusCode ?? 502, up.headers);
          res.end(body);
        });
      },
    );
    req.pipe(forwarded);
  });
  return new Promise((resolve) =>
    proxy.listen(0, '127.0.0.1', () => {
      proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      resolve();
    }),
  );
}

async function adminFetch(
  path: string,
  init: { method: string; body: BodyInit; headers?: Record<string, string> },
) {
  const response = await fetch(`${dev().url}/v1/admin${path}`, {
    ...init,
    headers: { Authorization: `Bearer ${dev().adminToken}`, ...init.headers },
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${init.method} ${path}: ${response.status} ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

const digest = (algorithm: 'sha256' | 'sha512', bytes: Buffer, encoding: 'hex' | 'base64') =>
  createHash(algorithm).update(bytes).digest(encoding);

/** Builds the installer's blockmap with electron-builder's code, uploads both, registers the release. */
async function publishInstaller(version: string, bytes: Buffer): Promise<void> {
  const file = installerName(version);
  const path = join(work, file);
  await writeFile(path, bytes);
  const built = await buildBlockMap(path, 'gzip', `${path}.blockmap`);
  const blockmap = await readFile(`${path}.blockmap`);
  expect(built.sha512).toBe(digest('sha512', bytes, 'base64'));
  for (const [name, content] of [
    [file, bytes],
    [`${file}.blockmap`, blockmap],
  ] as const) {
    await adminFetch(`/apps/${APP}/uploads/${version}/windows-x64/${name}`, {
      method: 'PUT',
      body: new Uint8Array(content),
      headers: {
        'Content-Type': 'application/octet-stream',
        'X-Updraft-Sha256': digest('sha256', content, 'hex'),
      },
    });
  }
  const artifact: Artifact = {
    platform: 'windows',
    arch: 'x64',
    file,
    sha256: digest('sha256', bytes, 'hex'),
    size: bytes.length,
    sha512: digest('sha512', bytes, 'base64'),
    sidecars: [
      {
        file: `${file}.blockmap`,
        sha256: digest('sha256', blockmap, 'hex'),
        size: blockmap.length,
        sha512: digest('sha512', blockmap, 'base64'),
      },
    ],
  };
  const payload: ReleasePayload = {
    app: APP,
    version,
    published_at: new Date().toISOString(),
    notes: `Electron ${version}`,
    mandatory: false,
    critical: false,
    requires: '*',
    artifacts: [artifact],
  };
  const manifest = await signDocument('release', payload, await readPrivateKey(keysDir, 'release'));
  await adminFetch(`/apps/${APP}/releases`, {
    method: 'POST',
    body: JSON.stringify({ manifest }),
    headers: { 'Content-Type': 'application/json' },
  });
  installers.set(version, bytes);
}

async function promote(version: string, percent_bp: number): Promise<string> {
  const view = await adminFetch(`/apps/${APP}/channels/stable/rollouts`, {
    method: 'POST',
    body: JSON.stringify({ version, percent_bp }),
    headers: { 'Content-Type': 'application/json' },
  });
  const rollouts = view.rollouts as { version: string; salt: string }[];
  return rollouts.find((r) => r.version === version)?.salt ?? '';
}

interface Client {
  id: string;
  dir: string;
  updater: NsisUpdater;
  errors: Error[];
}

/**
 * One installed app: its own folder holding `.updaterId` (electron-updater's staging id, sent as
 * x-user-staging-id), app-update.yml as electron-builder writes it with the documented `publish`
 * config, and, when `cachedInstaller` is given, the installer it was installed from, which
 * electron-updater keeps in its cache for the next differential download.
 */
async function client(
  version: string,
  options: {
    id?: string;
    sendVersion?: boolean;
    allowDowngrade?: boolean;
    cachedInstaller?: Buffer;
    /** electron-updater's default: several ranges per request, answered as multipart/byteranges. */
    multipleRanges?: boolean;
  } = {},
): Promise<Client> {
  const id = options.id ?? randomUUID();
  const dir = await mkdtemp(join(work, 'client-'));
  await writeFile(join(dir, '.updaterId'), id);
  await writeFile(
    join(dir, 'app-update.yml'),
    [
      'provider: generic',
      `url: ${proxyUrl}/v1/apps/${APP}/electron/stable/`,
      `useMultipleRangeRequest: ${options.multipleRanges === true}`,
      `updaterCacheDirName: ${CACHE_DIR_NAME}`,
      '',
    ].join('\n'),
  );
  if (options.cachedInstaller) {
    await mkdir(join(dir, 'cache', CACHE_DIR_NAME), { recursive: true });
    await writeFile(join(dir, 'cache', CACHE_DIR_NAME, 'installer.exe'), options.cachedInstaller);
  }
  const app: AppAdapter = {
    version,
    name: APP,
    isPackaged: true,
    appUpdateConfigPath: join(dir, 'app-update.yml'),
    userDataPath: dir,
    baseCachePath: join(dir, 'cache'),
    whenReady: () => Promise.resolve(),
    relaunch: () => {},
    quit: () => {},
    onQuit: () => {},
  };
  const updater = new NsisUpdater(null, app);
  const hooks = updater as unknown as TestHooks;
  hooks.httpExecutor = new NodeHttpExecutor();
  // Differential only from a cached installer; with _testOnlyOptions its failure throws instead of
  // falling back to a full download, so a passing differential test really was differential.
  hooks._testOnlyOptions = {
    platform: 'win32',
    isUseDifferentialDownload: options.cachedInstaller !== undefined,
  };
  updater.logger = new NoOpLogger();
  updater.autoDownload = false;
  updater.autoInstallOnAppQuit = false;
  updater.allowDowngrade = options.allowDowngrade ?? false;
  // The documented app change: send the running version.
  if (options.sendVersion !== false) updater.requestHeaders = { 'x-updraft-version': version };
  const errors: Error[] = [];
  updater.on('error', (error: Error) => errors.push(error));
  return { id, dir, updater, errors };
}

/** An id whose bucket is inside (or outside) the 10 % rollout. */
async function idThat(inside: boolean): Promise<string> {
  for (;;) {
    const id = randomUUID();
    if ((await bucket(salt, id)) < 1000 === inside) return id;
  }
}

async function offered(c: Client): Promise<string | undefined> {
  const result = await c.updater.checkForUpdates();
  return result?.isUpdateAvailable ? result.updateInfo.version : undefined;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'updraft-electron-'));
  keysDir = join(work, 'keys');
  await keysInit({ keysDir, offline: true });
  const onlineKey = JSON.stringify(JSON.parse(await readFile(join(keysDir, 'online.json'), 'utf8')));
  server = await startDevServer({ onlineKey });
  const admin = new ApiClient({ server: server.url, token: server.adminToken });
  await keysRegister({ client: admin, keysDir });
  await appCreate({ client: admin, app: APP, defaultChannel: 'stable' });
  await startProxy(new URL(server.url));

  // 1.1.0 is 1.0.0 with 16 KiB rewritten in the middle and 8 KiB appended: most blocks carry over.
  const old = randomBytes(512 * 1024);
  const changed = Buffer.concat([
    old.subarray(0, 200_000),
    randomBytes(16_384),
    old.subarray(216_384),
    randomBytes(8192),
  ]);
  await publishInstaller('1.0.0', old);
  await publishInstaller('1.1.0', changed);
  await promote('1.0.0', 10_000);
  salt = await promote('1.1.0', 1000);
}, 120_000);

afterAll(async () => {
  proxy?.close();
  await server?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('electron-updater against the real Worker', () => {
  it('offers 1.1.0 at 10 % to exactly the clients whose bucket is inside', async () => {
    const clients = await Promise.all(Array.from({ length: 300 }, () => client('1.0.0')));
    let inside = 0;
    for (let i = 0; i < clients.length; i += 50) {
      const batch = clients.slice(i, i + 50);
      const versions = await Promise.all(batch.map(offered));
      for (const [j, c] of batch.entries()) {
        const isInside = (await bucket(salt, c.id)) < 1000;
        if (isInside) inside += 1;
        expect(versions[j], c.id).toBe(isInside ? '1.1.0' : undefined);
        expect(c.errors).toEqual([]);
      }
    }
    expect(inside).toBeGreaterThan(10);
    expect(inside).toBeLessThan(60);
  });

  it.each([
    ['one range per request', false],
    ['several ranges per request (multipart/byteranges, its default)', true],
  ])(
    'downloads 1.1.0 differentially through both blockmaps with %s, and it passes the sha512 check',
    async (_, multipleRanges) => {
      const c = await client('1.0.0', {
        id: await idThat(true),
        cachedInstaller: installers.get('1.0.0'),
        multipleRanges,
      });
      const from = seen.length;
      const result = await c.updater.checkForUpdates();
      expect(result?.updateInfo.version).toBe('1.1.0');
      const [file] = (await c.updater.downloadUpdate()) ?? [];
      expect(await readFile(file ?? '')).toEqual(installers.get('1.1.0'));
      expect(c.errors).toEqual([]);

      const requests = seen.slice(from);
      const base = `/v1/apps/${APP}/artifacts`;
      // The new blockmap beside the new installer, the old one at the path with the old version in it.
      expect(requests.map((r) => [r.path, r.status])).toEqual(
        expect.arrayContaining([
          [`${base}/1.1.0/windows-x64/${installerName('1.1.0')}.blockmap`, 200],
          [`${base}/1.0.0/windows-x64/${installerName('1.0.0')}.blockmap`, 200],
        ]),
      );
      const ranged = requests.filter((r) => r.path.endsWith('.exe'));
      expect(ranged.length).toBeGreaterThan(0);
      for (const r of ranged) expect([r.range?.startsWith('bytes='), r.status]).toEqual([true, 206]);
      // With several ranges per request, at least one request named more than one.
      expect(ranged.some((r) => r.range?.includes(','))).toBe(multipleRanges);
      const fetched = ranged.reduce((sum, r) => sum + r.bytes, 0);
      expect(fetched).toBeLessThan((installers.get('1.1.0')?.length ?? 0) / 4);
    },
  );

  it('rejects an installer altered in transit with its own sha512 check', async () => {
    const c = await client('1.0.0', { id: await idThat(true) });
    await c.updater.checkForUpdates();
    tamper = true;
    try {
      await expect(c.updater.downloadUpdate()).rejects.toMatchObject({ code: 'ERR_CHECKSUM_MISMATCH' });
    } finally {
      tamper = false;
    }
    expect(c.errors.map((e) => (e as Error & { code?: string }).code)).toContain('ERR_CHECKSUM_MISMATCH');
    // Untouched, the same download passes.
    const [file] = (await c.updater.downloadUpdate()) ?? [];
    expect(await readFile(file ?? '')).toEqual(installers.get('1.1.0'));
  });

  it('a yank stops the offer; the rollback reaches only clients that allow a downgrade', async () => {
    const yank = await signDocument(
      'yank',
      {
        app: APP,
        version: '1.1.0',
        reason: 'crash on start',
        rollback_to: '1.0.0',
        yanked_at: new Date().toISOString(),
      },
      await readPrivateKey(keysDir, 'release'),
    );
    await adminFetch(`/apps/${APP}/yanks`, {
      method: 'POST',
      body: JSON.stringify({ yank }),
      headers: { 'Content-Type': 'application/json' },
    });
    const insider = await idThat(true);
    // The Worker caches channel state for a few seconds.
    const deadline = Date.now() + 30_000;
    while ((await offered(await client('1.0.0', { id: insider }))) !== undefined) {
      if (Date.now() > deadline) throw new Error('the yank never stopped the offer');
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(await offered(await client('1.1.0', { id: insider }))).toBeUndefined();
    const downgrading = await client('1.1.0', {
      id: insider,
      allowDowngrade: true,
      cachedInstaller: installers.get('1.1.0'),
    });
    expect(await offered(downgrading)).toBe('1.0.0');
    const [file] = (await downgrading.updater.downloadUpdate()) ?? [];
    expect(await readFile(file ?? '')).toEqual(installers.get('1.0.0'));
  });
});
