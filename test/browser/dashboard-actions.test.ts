/**
 * The dashboard acting on rollouts, in Chromium against `wrangler dev` with the seeded demo
 * (stable: 1.0.0 complete, 1.1.0 active at 25 %): a publisher halts through the confirmation and
 * sees the state and the audit row; a page made stale by a change through the API gets the 409
 * explained and overwrites nothing; promote and plan go through the same confirmation; a yank is
 * handed to the CLI; an analyst is offered no action. Run with
 * `npx vitest run --project browser test/browser/dashboard-actions.test.ts`.
 */
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keysInit } from '../../scripts/commands/keys-init.ts';
import { promote } from '../../scripts/commands/promote.ts';
import { resume } from '../../scripts/commands/resume.ts';
import { tokenCreate } from '../../scripts/commands/token-create.ts';
import { command as yankCommand } from '../../scripts/commands/yank.ts';
import { ApiClient } from '../../scripts/lib/api.ts';
import { DEMO_APP, seed } from '../../scripts/seed.ts';
import { STALE_TEXT } from '../../src/dashboard/actions.ts';
import type { AuditEntry, ChannelView, StatusView } from '../../src/protocol/admin-api.ts';
import { type DevServer, startDevServer } from '../e2e/dev-server.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Server round trips (each re-signs the channel's snapshot) on a busy machine: more than poll's default second. */
const WAIT = { timeout: 15_000 };
const SCREENSHOTS = join(import.meta.dirname, 'screenshots');
const BUNDLE = join(import.meta.dirname, '..', '..', 'public', 'dashboard', 'assets', 'app.js');

let server: DevServer | undefined;
let admin: ApiClient;
let browser: BrowserContext | undefined;
let page: Page;
let work = '';
let publisherToken = '';
let publisherId = '';
let analystToken = '';
/** Console errors and uncaught exceptions of the page: a CSP violation shows up here. */
const pageErrors: string[] = [];

function dev(): DevServer {
  if (!server) throw new Error('the dev server did not start');
  return server;
}

async function stable(): Promise<ChannelView> {
  const status = await admin.get<StatusView>(`/v1/admin/apps/${DEMO_APP}/status`);
  const channel = status.channels.find((c) => c.name === 'stable');
  if (!channel) throw new Error('no stable channel');
  return channel;
}

async function rollout(version: string) {
  return (await stable()).rollouts.find((r) => r.version === version);
}

function row(version: string) {
  return page.locator(`#channel-stable tr[data-version="${version}"]`);
}

/** Opens the actions menu of a stable rollout and picks `item` ("Halt…"). */
async function choose(version: string, item: string): Promise<void> {
  await row(version).locator('summary').click();
  await row(version).getByRole('button', { name: item, exact: true }).click();
  await page.getByRole('dialog').waitFor();
}

async function signIn(token: string): Promise<void> {
  await page.goto(`${dev().url}/dashboard/#/apps/${DEMO_APP}`);
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#channel-stable table.rollouts').waitFor();
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'updraft-browser-actions-'));
  const keysDir = join(work, 'keys');
  await keysInit({ keysDir, offline: true });
  const onlineKey = JSON.stringify(JSON.parse(await readFile(join(keysDir, 'online.json'), 'utf8')));
  server = await startDevServer({ onlineKey });
  admin = new ApiClient({ server: server.url, token: server.adminToken });
  await seed({ client: admin, keysDir, now: new Date() });
  const publisher = await tokenCreate({
    client: admin,
    name: 'release engineer',
    role: 'publisher',
    apps: [DEMO_APP],
    expiresAt: null,
  });
  publisherToken = publisher.token;
  publisherId = publisher.id;
  analystToken = (await tokenCreate({ client: admin, name: 'analyst', role: 'analyst', expiresAt: null }))
    .token;

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
    // The 409 of the stale test is expected; Chromium logs every failed request.
    if (message.type() === 'error' && !/status of (401|409|400)/.test(message.text())) {
      pageErrors.push(message.text());
    }
  });
  page.on('pageerror', (error) => pageErrors.push(error.message));
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('dashboard actions', () => {
  it('lets a publisher halt a rollout through a confirmation, then shows the new state and the audit row', async () => {
    await signIn(publisherToken);
    await expect.poll(() => page.locator('.who-role').textContent(), WAIT).toBe('publisher');
    // The token's scope next to its role.
    expect(await page.locator('.who-scope').textContent()).toBe(DEMO_APP);
    const before = await stable();
    expect(before.rollouts.find((r) => r.version === '1.1.0')?.state).toBe('active');

    // Escape cancels: nothing is sent.
    await choose('1.1.0', 'Halt…');
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByRole('dialog').count(), WAIT).toBe(0);
    expect((await stable()).revision).toBe(before.revision);

    await choose('1.1.0', 'Halt…');
    const dialog = page.getByRole('dialog');
    expect(await dialog.locator('.dialog-effect').textContent()).toBe(
      'Halt 1.1.0 on stable of demo: nobody new gets it; clients already on it keep it.',
    );
    // Focus moved into the dialog, to its first field.
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('action-reason');
    await page.keyboard.type('failed installs on start');
    await page.screenshot({ path: join(SCREENSHOTS, 'action-halt.png') });
    await dialog.getByRole('button', { name: 'Halt 1.1.0' }).click();
    await expect.poll(() => page.getByRole('dialog').count(), WAIT).toBe(0);

    // The row re-rendered from the server's answer.
    await expect.poll(() => row('1.1.0').locator('.badge').textContent(), WAIT).toBe('halted');
    expect(await page.locator('.action-status').textContent()).toBe('Halted 1.1.0 on stable of demo.');
    expect(await page.locator('#channel-stable .card-header').textContent()).toContain(
      `revision ${before.revision + 1}`,
    );
    // Focus is back on the row's menu, not lost at the top of the page.
    expect(
      await page.evaluate(() => document.activeElement?.closest('tr')?.getAttribute('data-version')),
    ).toBe('1.1.0');
    const after = await rollout('1.1.0');
    expect(after?.state).toBe('halted');
    expect(after?.percent_bp).toBe(2500);

    // The audit row, as the API has it, in the history panel.
    const { entries } = await admin.get<{ entries: AuditEntry[] }>('/v1/admin/audit', {
      query: { app: DEMO_APP, limit: 1 },
    });
    expect(entries[0]?.action).toBe('rollout.halt');
    expect(entries[0]?.actor).toBe(`token:${publisherId}:release engineer`);
    const audit = page.locator('#history tbody tr').first();
    await expect.poll(() => audit.getAttribute('data-action'), WAIT).toBe('rollout.halt');
    expect(await audit.getAttribute('data-target')).toBe('stable/1.1.0');
    expect(await audit.locator('td[data-label="Who"]').textContent()).toBe(
      `release engineer (token ${publisherId})`,
    );
    expect(await audit.locator('td[data-label="Change"]').textContent()).toBe(
      'active 25% → halted 25% · “failed installs on start”',
    );
  });

  it('explains a stale page (409) and overwrites nothing', async () => {
    // The page shows 1.1.0 halted at 25 %; meanwhile someone resumes it and raises it to 50 %.
    await resume({ client: admin, app: DEMO_APP, version: '1.1.0', channel: 'stable' });
    await promote({ client: admin, app: DEMO_APP, version: '1.1.0', channel: 'stable', percentBp: 5000 });
    const changed = await stable();

    await choose('1.1.0', 'Resume…');
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('button', { name: 'Resume 1.1.0' }).click();
    await expect.poll(() => dialog.getByRole('alert').textContent(), WAIT).toBe(STALE_TEXT);
    expect(STALE_TEXT).toMatch(/^The channel changed since this page loaded: reload to see it\./);
    // Confirming again would fail the same way: the dialog offers the reload instead, focused.
    expect(await dialog.getByRole('button', { name: 'Resume 1.1.0' }).count()).toBe(0);
    const reload = dialog.getByRole('button', { name: 'Reload' });
    expect(await reload.evaluate((b) => b === document.activeElement)).toBe(true);

    // Nothing was overwritten: the API still has the other person's change, revision unchanged.
    const now = await stable();
    expect(now.revision).toBe(changed.revision);
    expect(now.rollouts.find((r) => r.version === '1.1.0')).toMatchObject({
      state: 'active',
      percent_bp: 5000,
    });

    await reload.click();
    await expect.poll(() => row('1.1.0').locator('.badge').textContent(), WAIT).toBe('active');
    expect(await row('1.1.0').locator('.bar-label').first().textContent()).toBe('50%');
    expect(await page.locator('#channel-stable .card-header').textContent()).toContain(
      `revision ${changed.revision}`,
    );
  });

  it('promotes to a percentage and attaches a staged plan, each with its effect spelled out', async () => {
    await choose('1.1.0', 'Promote…');
    const dialog = page.getByRole('dialog');
    await page.getByLabel('Percentage of the channel (0–100)').fill('75');
    expect(await dialog.locator('.dialog-effect').textContent()).toBe(
      'Promote 1.1.0 on stable of demo to 75% (from 50%): more clients get it (75% of the channel).',
    );
    await dialog.getByRole('button', { name: 'Promote' }).click();
    await expect.poll(() => page.getByRole('dialog').count(), WAIT).toBe(0);
    await expect.poll(() => row('1.1.0').locator('.bar-label').first().textContent(), WAIT).toBe('75%');
    expect((await rollout('1.1.0'))?.percent_bp).toBe(7500);

    // A plan the server refuses: its message is shown, the dialog stays, nothing changes.
    const revision = (await stable()).revision;
    await choose('1.1.0', 'Attach plan…');
    await page.getByLabel('Steps (percentages)').fill('5, 1, 100');
    await dialog.getByRole('button', { name: 'Promote' }).click();
    await expect
      .poll(() => dialog.getByRole('alert').textContent(), WAIT)
      .toMatch(/steps_bp: must be strictly increasing/);
    expect((await stable()).revision).toBe(revision);

    await page.getByLabel('Steps (percentages)').fill('1, 5, 25, 50, 100');
    await page.getByLabel('Bake time per step').fill('2');
    await page.getByLabel('Bake time unit').selectOption({ label: 'hours' });
    await page.screenshot({ path: join(SCREENSHOTS, 'action-plan.png') });
    expect(await dialog.locator('.dialog-effect').textContent()).toBe(
      'Attach a staged plan to 1.1.0 on stable of demo: it restarts at 1% and follows 1% → 5% → 25% → 50% → 100%, 2h per step; halts on failure rate > 5% or rollback rate > 2%, judged from 100 installs.',
    );
    await dialog.getByRole('button', { name: 'Promote' }).click();
    await expect.poll(() => page.getByRole('dialog').count(), WAIT).toBe(0);
    await expect.poll(() => row('1.1.0').locator('.bar-label').first().textContent(), WAIT).toBe('1%');
    const planned = await rollout('1.1.0');
    expect(planned?.plan).toMatchObject({ steps_bp: [100, 500, 2500, 5000, 10_000], bake_seconds: 7200 });
    expect(planned?.step).toBe(0);
    // The menu now offers to change the plan.
    await row('1.1.0').locator('summary').click();
    expect(await row('1.1.0').getByRole('button', { name: 'Change plan…' }).count()).toBe(1);
    await page.keyboard.press('Escape');

    // A release not yet on a channel: the channel's own button, the release chosen in the dialog.
    await page.locator('#channel-beta').getByRole('button', { name: 'Promote a release…' }).click();
    await page.getByRole('dialog').waitFor();
    expect(await page.getByLabel('Release', { exact: true }).locator('option').allTextContents()).toEqual([
      '1.1.0',
      '1.0.0',
    ]);
    await page.getByLabel('Percentage of the channel (0–100)').fill('10');
    expect(await dialog.locator('.dialog-effect').textContent()).toBe(
      "Promote 1.1.0 on beta of demo to 10%: 10% of the channel's clients get it; it becomes an active rollout.",
    );
    await dialog.getByRole('button', { name: 'Promote' }).click();
    const beta = page.locator('#channel-beta tr[data-version="1.1.0"]');
    await expect.poll(() => beta.locator('.bar-label').first().textContent(), WAIT).toBe('10%');
    expect(await beta.locator('.badge').textContent()).toBe('active');
  });

  it('hands a yank to the CLI: the exact command, nothing sent', async () => {
    await choose('1.1.0', 'Yank…');
    const dialog = page.getByRole('dialog');
    const command = dialog.locator('#yank-command');
    expect(await command.textContent()).toBe('npx updraft yank demo 1.1.0 --rollback-to 1.0.0 --reason "…"');
    await page.getByLabel('Reason (clients and the audit log see it)').fill('crash "on" start, $HOME');
    expect(await command.textContent()).toBe(
      'npx updraft yank demo 1.1.0 --rollback-to 1.0.0 --reason "crash \\"on\\" start, \\$HOME"',
    );
    await page.getByLabel('Roll back to').selectOption({ label: 'none (clients on it stay)' });
    expect(await command.textContent()).toMatch(/--rollback-to none --reason/);
    await page.screenshot({ path: join(SCREENSHOTS, 'action-yank.png') });
    // The flags are the CLI's own.
    expect(Object.keys(yankCommand.options ?? {})).toEqual(expect.arrayContaining(['rollback-to', 'reason']));
    await page.keyboard.press('Escape');
    const releases = await admin.get<{ releases: { version: string; yanked: boolean }[] }>(
      `/v1/admin/apps/${DEMO_APP}/releases`,
    );
    expect(releases.releases.find((r) => r.version === '1.1.0')?.yanked).toBe(false);
  });

  it('offers an analyst no action, but shows the history', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn(analystToken);
    await expect.poll(() => page.locator('.who-role').textContent(), WAIT).toBe('analyst');
    expect(await page.locator('.who-scope').textContent()).toBe('all apps');
    expect(await page.locator('details.menu').count()).toBe(0);
    expect(await page.locator('.col-actions').count()).toBe(0);
    expect(await page.getByRole('button', { name: /Promote|Halt|Pause|Resume|Complete|Yank/ }).count()).toBe(
      0,
    );
    await expect
      .poll(() => page.locator('#history tbody tr').first().getAttribute('data-action'), WAIT)
      .toBe('rollout.promote');
    await page.screenshot({ path: join(SCREENSHOTS, 'history.png'), fullPage: true });
  });

  it('keeps the dashboard bundle small: no zod, under 60 KiB gzip', async () => {
    // The plan's texts come from src/protocol/plan-text.ts; plan.ts would bring zod (+23 KiB gzip).
    const bundle = await readFile(BUNDLE);
    const gzipKiB = gzipSync(bundle).length / 1024;
    console.log(
      `dashboard app.js: ${(bundle.length / 1024).toFixed(1)} KiB minified, ${gzipKiB.toFixed(1)} KiB gzip`,
    );
    expect(bundle.toString()).not.toContain('ZodError');
    expect(gzipKiB).toBeLessThan(60);
  });

  it('has no script errors and no content security policy violations', () => {
    expect(pageErrors).toEqual([]);
  });
});
