/**
 * The dashboard in a real browser against the real Worker: `wrangler dev` (which builds the
 * dashboard first, wrangler.toml [build]) seeded with the demo app and its telemetry, read through
 * Chromium with an analyst token. Run with `npm run test:browser` (needs /usr/bin/chromium, or
 * CHROMIUM_PATH). Screenshots land in test/browser/screenshots/ (gitignored).
 */
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keysInit } from '../../scripts/commands/keys-init.ts';
import { tokenCreate } from '../../scripts/commands/token-create.ts';
import { tokenRevoke } from '../../scripts/commands/token-revoke.ts';
import { ApiClient } from '../../scripts/lib/api.ts';
import { DEMO_APP, seed } from '../../scripts/seed.ts';
import { count } from '../../src/dashboard/format.ts';
import type { ChannelHealth, ReleaseHealth } from '../../src/protocol/admin-api.ts';
import {
  formatCrashFree,
  formatCrashFreeInterval,
  formatFraction,
  formatInterval,
} from '../../src/protocol/format.ts';
import { type DevServer, startDevServer } from '../e2e/dev-server.ts';
import { waitForSeededTelemetry } from '../e2e/seeded-telemetry.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOTS = join(import.meta.dirname, 'screenshots');
const BUNDLE = join(import.meta.dirname, '..', '..', 'public', 'dashboard', 'assets', 'app.js');

let server: DevServer | undefined;
let admin: ApiClient;
let browser: BrowserContext | undefined;
let page: Page;
let work = '';
let analystToken = '';
let analystId = '';
let builtAt = 0;
/** Console errors and uncaught exceptions of the page: a CSP violation shows up here. */
const pageErrors: string[] = [];

function dev(): DevServer {
  if (!server) throw new Error('the dev server did not start');
  return server;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'updraft-browser-'));
  const keysDir = join(work, 'keys');
  await keysInit({ keysDir, offline: true });
  const onlineKey = JSON.stringify(JSON.parse(await readFile(join(keysDir, 'online.json'), 'utf8')));
  const started = Date.now();
  server = await startDevServer({ onlineKey });
  // wrangler ran the [build] command (scripts/build-dashboard.ts) before serving: the bundle is this run's.
  builtAt = (await stat(BUNDLE)).mtimeMs;
  expect(builtAt).toBeGreaterThanOrEqual(started - 1000);
  admin = new ApiClient({ server: server.url, token: server.adminToken });

  const now = new Date();
  await seed({ client: admin, keysDir, now });
  const created = await tokenCreate({
    client: admin,
    name: 'browser test',
    role: 'analyst',
    expiresAt: null,
  });
  analystToken = created.token;
  analystId = created.id;
  await waitForSeededTelemetry(admin, now);

  await mkdir(SCREENSHOTS, { recursive: true });
  browser = await chromium.launchPersistentContext(join(work, 'chromium-profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 900 },
  });
  page = browser.pages()[0] ?? (await browser.newPage());
  page.on('console', (message) => {
    if (message.type() === 'error' && !/status of 401/.test(message.text())) pageErrors.push(message.text());
  });
  page.on('pageerror', (error) => pageErrors.push(error.message));
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('the dashboard', () => {
  it('is served as static assets with its own content security policy', async () => {
    const response = await fetch(`${dev().url}/dashboard/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/text\/html/);
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain('sandbox');
    expect(builtAt).toBeGreaterThan(0);
    const script = await fetch(`${dev().url}/dashboard/assets/app.js`);
    expect(script.status).toBe(200);
    expect(await script.text()).toContain('uplot');
  });

  it('asks for a token first', async () => {
    await page.goto(`${dev().url}/dashboard/`);
    const input = page.getByLabel('API token');
    await input.waitFor();
    expect(await input.getAttribute('type')).toBe('password');
    expect(await page.title()).toBe('Sign in · Updraft');
  });

  it('says so when the token is wrong, and keeps nothing', async () => {
    await page.getByLabel('API token').fill('updr_not_a_real_token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.locator('.notice-error').textContent()).toMatch(/not accepted/);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
  });

  it('shows the app overview with the API numbers for the analyst token', async () => {
    await page.getByLabel('API token').fill(analystToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    // One app: the overview opens directly.
    await page.locator('table.rollouts').first().waitFor();
    expect(page.url()).toMatch(/#\/apps\/demo$/);
    await expect.poll(() => page.locator('.who-role').textContent()).toBe('analyst');

    for (const channel of ['stable', 'beta']) {
      const health = await admin.get<ChannelHealth>(`/v1/admin/apps/${DEMO_APP}/health`, {
        query: { channel },
      });
      const card = page.locator(`#channel-${channel}`);
      for (const release of health.releases.filter((r) => r.installs > 0)) {
        const row = card.locator(`tr[data-version="${release.version}"]`);
        expect(await row.locator('[data-metric="installs"]').textContent()).toBe(count(release.installs));
        const failure = await row.locator('[data-metric="failure-rate"]').textContent();
        expect(failure).toBe(
          `${formatFraction(release.failure_rate.value)}${formatInterval(release.failure_rate)}`,
        );
        const rollback = await row.locator('[data-metric="rollback-rate"]').textContent();
        expect(rollback).toBe(
          `${formatFraction(release.rollback_rate.value)}${formatInterval(release.rollback_rate)}`,
        );
        expect(await row.locator('[data-metric="adoption"]').textContent()).toBe(
          formatFraction(release.adoption),
        );
        const crashFree = await row.locator('[data-metric="crash-free-users"]').textContent();
        const users = release.crash_free_users;
        expect(crashFree).toBe(
          users && release.sessions?.clients
            ? `${formatCrashFree(users.value)}${formatCrashFreeInterval(users)}`
            : '–',
        );
      }
    }
    // The seed's story is visible: 1.1.0 staged at 25 %, with a few failed installs.
    const canary = page.locator('#channel-stable tr[data-version="1.1.0"]');
    expect(await canary.locator('.bar-label').first().textContent()).toBe('25%');
    expect(await canary.locator('.badge').textContent()).toBe('active');
    await page.screenshot({ path: join(SCREENSHOTS, 'overview.png'), fullPage: true });
  });

  it('draws the release page: tiles, adoption and client charts, intervals, errors', async () => {
    await page.getByRole('link', { name: '1.1.0' }).click();
    await page.locator('.chart-plot canvas').first().waitFor();
    expect(page.url()).toMatch(/#\/apps\/demo\/releases\/1\.1\.0\?channel=stable$/);

    const health = await admin.get<ReleaseHealth>(`/v1/admin/apps/${DEMO_APP}/health`, {
      query: { version: '1.1.0', channel: 'stable' },
    });
    const tiles = page.locator('dl.tiles-release');
    expect(await tiles.locator('[data-metric="installs"]').textContent()).toBe(count(health.installs));
    expect(await tiles.locator('[data-metric="failures"]').textContent()).toBe(count(health.failures));
    expect(await tiles.locator('[data-metric="failure-rate"]').textContent()).toBe(
      formatFraction(health.failure_rate.value),
    );
    expect(await tiles.locator('[data-metric="rollbacks"]').textContent()).toBe(count(health.rollbacks));
    expect(await tiles.locator('[data-metric="adoption"]').textContent()).toBe(
      formatFraction(health.adoption),
    );
    expect(health.installs).toBeGreaterThan(0);
    expect(await tiles.locator('[data-metric="crash-free-sessions"]').textContent()).toBe(
      formatCrashFree(health.crash_free_sessions?.value ?? Number.NaN),
    );
    expect(await tiles.locator('[data-metric="crash-free-users"]').textContent()).toBe(
      formatCrashFree(health.crash_free_users?.value ?? Number.NaN),
    );

    // vs baseline: 1.0.0 (complete in the seed); the seeded 1.1.0 crashes clearly more often.
    const versus = page.locator('#baseline');
    expect(await versus.locator('thead th').allTextContents()).toContain('1.0.0 (baseline)');
    expect(
      await versus
        .locator('.iv-row[data-rate]')
        .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-rate'))),
    ).toEqual(['failure_rate', 'rollback_rate', 'crashed_sessions', 'crashed_users']);
    expect(await versus.locator('.iv-row[data-rate="crashed_sessions"]').getAttribute('data-verdict')).toBe(
      'worse',
    );
    expect(await versus.locator('.iv-row[data-rate="crashed_sessions"] .iv-whisker').count()).toBe(1);

    await expectChartsDrawn(page);
    const adoptionLegend = page.locator('[data-chart="adoption"] .legend-item');
    expect(await adoptionLegend.allTextContents()).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^1\.1\.0\d+(\.\d+)?%$/),
        expect.stringMatching(/^1\.0\.0\d+(\.\d+)?%$/),
      ]),
    );
    expect(await page.locator('[data-chart="clients"] .legend-value').textContent()).toMatch(/^\d+$/);

    // Failure and rollback rates: this release and the channel's other one, each with its interval.
    expect(await page.locator('#failure-rate .iv-row[role="row"]').count()).toBe(2);
    expect(await page.locator('#failure-rate .iv-current .iv-whisker').count()).toBe(1);
    const errors = await page.locator('#errors tbody th').allTextContents();
    expect(errors).toEqual(health.top_errors.map((e) => e.code));
    await page.screenshot({ path: join(SCREENSHOTS, 'release.png'), fullPage: true });

    await page.getByRole('link', { name: 'Daily' }).click();
    await expect.poll(() => page.url()).toMatch(/interval=day/);
    await page.locator('[data-chart="adoption"] canvas').first().waitFor();
    await expectChartsDrawn(page);
    expect(await page.locator('[data-chart="clients"] .legend-label').textContent()).toBe(
      'active clients per day',
    );
  });

  it('has no script errors and no content security policy violations', () => {
    expect(pageErrors).toEqual([]);
  });

  it('signs out, and sends a revoked token back to the form with a message', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API token').waitFor();
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    expect(await page.locator('.notice-info').textContent()).toMatch(/Signed out/);

    await page.getByLabel('API token').fill(analystToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    // Signing in again returns to the page the user was on.
    await page.locator('dl.tiles-release').waitFor();
    expect(page.url()).toMatch(/#\/apps\/demo\/releases\/1\.1\.0\?/);
    await tokenRevoke({ client: admin, id: analystId });
    await page.evaluate(() => {
      window.location.hash = '#/apps/demo/releases/1.0.0?channel=stable';
    });
    await page.getByLabel('API token').waitFor();
    expect(await page.locator('.notice-error').textContent()).toMatch(/not accepted/);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
  });
});

/** Every uPlot canvas has a size and has drawn something (not one transparent pixel throughout). */
async function expectChartsDrawn(page: Page): Promise<void> {
  const canvases = page.locator('.chart-plot canvas');
  expect(await canvases.count()).toBe(2);
  for (const canvas of await canvases.all()) {
    const box = await canvas.boundingBox();
    expect(box?.width ?? 0).toBeGreaterThan(200);
    expect(box?.height ?? 0).toBeGreaterThan(50);
  }
  const painted = await page.evaluate(() =>
    [...document.querySelectorAll<HTMLCanvasElement>('.chart-plot canvas')].map((canvas) => {
      const context = canvas.getContext('2d');
      if (!context) return 0;
      const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
      let opaque = 0;
      for (let i = 3; i < data.length; i += 4) if ((data[i] ?? 0) > 0) opaque++;
      return opaque;
    }),
  );
  for (const pixels of painted) expect(pixels).toBeGreaterThan(500);
}
