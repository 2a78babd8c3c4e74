/**
 * The SDK in a browser as a web app ships it: the packed @updraft/client installed with npm into a
 * fresh project, bundled by esbuild for the browser as the app's bundler would, served from its own
 * loopback origin and run in Chromium against the real Worker under `wrangler dev` on another one.
 * The check, the keys and the artifact are cross-origin requests, so the Worker's CORS headers are
 * part of what is tested, and the page's content security policy allows nothing but the update
 * server. Run with `npm run test:browser` (needs /usr/bin/chromium, or CHROMIUM_PATH).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keysInit } from '../../scripts/commands/keys-init.ts';
import type { PublicJwk } from '../../src/protocol/documents.ts';
import { type DevServer, startDevServer } from '../e2e/dev-server.ts';
import { type ConsumerProject, installPackages } from '../support/packages.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** What the page's `updraftCheck` resolves to. */
type PageAnswer =
  | { status: 'none' }
  | { status: 'update' | 'rollback'; version: string; size: number; sha256: string }
  | { error: string; code?: string };

// The app's own code: esbuild resolves '@updraft/client' from the project's node_modules.
const PAGE_SCRIPT = `import { createUpdater, MemoryStorage, UpdraftError } from '@updraft/client';

window.updraftCheck = async ({ server, rootKey }) => {
  try {
    const updater = createUpdater({
      server, app: 'web', channel: 'stable', rootKeys: [rootKey], storage: new MemoryStorage(),
      platform: 'web', arch: 'any', currentVersion: '1.0.0', verifyBucket: true,
    });
    const result = await updater.check();
    if (result.status === 'none') return { status: 'none' };
    const bytes = await updater.download(result);
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
    const sha256 = Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
    return { status: result.status, version: result.version, size: bytes.length, sha256 };
  } catch (error) {
    return { error: String(error), code: error instanceof UpdraftError ? error.code : undefined };
  }
};
`;

let project: ConsumerProject | undefined;
let server: DevServer | undefined;
let site: Server | undefined;
let siteUrl = '';
let browser: Browser | undefined;
let page: Page;
let work = '';
let rootKey: PublicJwk;
let otherRootKey: PublicJwk;
let artifact: Buffer;
const pageErrors: string[] = [];
const requested: string[] = [];

function dev(): DevServer {
  if (!server) throw new Error('the dev server did not start');
  return server;
}

function consumer(): ConsumerProject {
  if (!project) throw new Error('the packages were not installed');
  return project;
}

async function updraft(args: readonly string[]): Promise<string> {
  const env = {
    UPDRAFT_SERVER: dev().url,
    UPDRAFT_TOKEN: dev().adminToken,
    UPDRAFT_KEYS: join(work, 'keys'),
  };
  const result = await consumer().updraft(args, env);
  if (result.code !== 0) throw new Error(`updraft ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return result.stdout;
}

/** Serves the page and its bundle from a loopback origin of its own, with a strict CSP. */
async function serveSite(code: Uint8Array, connectTo: string): Promise<void> {
  const csp = `default-src 'none'; script-src 'self'; connect-src ${connectTo}`;
  site = createServer((req, res) => {
    if (req.url === '/app.js') {
      res.writeHead(200, { 'content-type': 'text/javascript', 'content-security-policy': csp });
      res.end(code);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': csp });
    res.end('<!doctype html><title>web app</title><script type="module" src="/app.js"></script>');
  });
  await new Promise<void>((done) => site?.listen(0, '127.0.0.1', done));
  siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
}

async function runInPage(key: PublicJwk): Promise<PageAnswer> {
  await page.goto(`${siteUrl}/`);
  await page.waitForFunction(() => 'updraftCheck' in window);
  return page.evaluate(
    (args) => (window as unknown as { updraftCheck(a: typeof args): Promise<PageAnswer> }).updraftCheck(args),
    { server: dev().url, rootKey: key },
  );
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'updraft-sdk-browser-'));
  artifact = randomBytes(150_000);
  await writeFile(join(work, 'web-1.1.0.js'), artifact);
  const installing = installPackages();
  const starting = (async () => {
    const keys = await keysInit({ keysDir: join(work, 'keys'), offline: true });
    rootKey = keys.keys.root;
    otherRootKey = (await keysInit({ keysDir: join(work, 'other-keys'), offline: true })).keys.root;
    const onlineKey = JSON.stringify(JSON.parse(await readFile(join(work, 'keys', 'online.json'), 'utf8')));
    return startDevServer({ onlineKey });
  })();
  const [installed, started] = await Promise.allSettled([installing, starting]);
  if (installed.status === 'fulfilled') project = installed.value;
  if (started.status === 'fulfilled') server = started.value;
  if (installed.status === 'rejected') throw installed.reason;
  if (started.status === 'rejected') throw started.reason;

  await updraft(['keys', 'register']);
  await updraft(['app', 'create', 'web']);
  await updraft(['publish', 'web', '1.1.0', '--artifact', `web-any=${join(work, 'web-1.1.0.js')}`]);
  await updraft(['promote', 'web', '1.1.0', '--channel', 'stable']);

  await writeFile(join(consumer().dir, 'page.js'), PAGE_SCRIPT);
  const built = await build({
    absWorkingDir: consumer().dir,
    entryPoints: ['page.js'],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    minify: true,
    write: false,
    logLevel: 'silent',
  });
  await serveSite(built.outputFiles[0]?.contents ?? new Uint8Array(), dev().url);

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run'],
  });
  page = await browser.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text());
  });
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('request', (request) => requested.push(request.url()));
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((done) => (site ? site.close(() => done()) : done()));
  await server?.stop();
  await project?.remove();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('the packed SDK bundled for the browser', () => {
  it('is the SDK and its three dependencies, small enough to ship', async () => {
    const entry = await build({
      absWorkingDir: consumer().dir,
      stdin: { contents: "export * from '@updraft/client';", resolveDir: consumer().dir },
      bundle: true,
      platform: 'browser',
      format: 'esm',
      minify: true,
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const code = entry.outputFiles[0]?.contents ?? new Uint8Array();
    const packages = new Set(
      Object.keys(entry.metafile.inputs)
        .filter((path) => path.startsWith('node_modules/'))
        .map((path) =>
          path
            .split('/')
            .slice(1, path.startsWith('node_modules/@') ? 3 : 2)
            .join('/'),
        ),
    );
    expect([...packages].sort()).toEqual(['@updraft/client', 'jose', 'semver', 'zod']);
    const gzipKiB = gzipSync(code).length / 1024;
    // BENCHMARKS.md ("Client SDK size") quotes these figures.
    console.info(
      `@updraft/client bundled: ${(code.length / 1024).toFixed(1)} KiB minified, ${gzipKiB.toFixed(1)} KiB gzip`,
    );
    expect(gzipKiB).toBeLessThan(60);
  });

  it('checks, verifies and downloads a release from the Worker on another origin', async () => {
    let answer: PageAnswer = { status: 'none' };
    // The Worker's isolate may hold the app's state from before the promote for a few seconds.
    for (const deadline = Date.now() + 20_000; ; ) {
      answer = await runInPage(rootKey);
      if (!('status' in answer && answer.status === 'none') || Date.now() > deadline) break;
      await new Promise((done) => setTimeout(done, 500));
    }
    expect(answer).toEqual({
      status: 'update',
      version: '1.1.0',
      size: artifact.length,
      sha256: createHash('sha256').update(artifact).digest('hex'),
    });
    const worker = requested.filter((url) => url.startsWith(dev().url)).map((url) => new URL(url).pathname);
    expect(worker).toContain('/v1/apps/web/check');
    expect(worker.some((path) => path.startsWith('/v1/keys'))).toBe(true);
    expect(worker).toContain('/v1/apps/web/artifacts/1.1.0/web-any/web-1.1.0.js');
    expect(pageErrors).toEqual([]);
  });

  it('refuses the same answers under a root key it was not given', async () => {
    const answer = await runInPage(otherRootKey);
    expect(answer).toMatchObject({ code: 'keys_untrusted' });
    expect(pageErrors).toEqual([]);
  });
});
