/**
 * A staged plan judges an electron-updater fleet as it judges SDK clients (issue 12): the Worker
 * observes the fleet's checks, a client that comes back on the offered version counts as an install
 * of it, release health (what `updraft stats` and the dashboard show) counts those installs, and the
 * scheduler advances the step on them. Through the real routes, queue, D1 and cron handler.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it, vi } from 'vitest';
import { isInside } from '../../src/protocol/bucket.ts';
import { clearStateCache } from '../../src/worker/storage/state-cache.ts';
import { admin, call } from './support/fixtures.ts';
import {
  appWithRelease,
  HOUR,
  MINUTE,
  plan,
  promotePlanned,
  rollout,
  runAt,
  schedulerAudit,
  VERSION,
} from './support/scheduler-fixtures.ts';

const QUEUE_WAIT = { timeout: 20_000, interval: 250 };
const FLEET = 300;

/** One electron-updater poll of `latest-linux.yml`, as the app sends it; the YAML's version. */
async function poll(app: string, client: string, installed: string): Promise<string> {
  const response = await call(`/v1/apps/${app}/electron/stable/latest-linux.yml`, {
    token: null,
    headers: { 'x-user-staging-id': client, 'x-updraft-version': installed },
  });
  expect(response.status).toBe(200);
  return /^version: "?([^"\n]+)"?$/m.exec(await response.text())?.[1] ?? '';
}

async function observedInstalls(app: string): Promise<number> {
  const row = await env.DB.prepare(
    `SELECT count(*) AS n FROM events
     WHERE app = ?1 AND type = 'install_succeeded' AND to_version = ?2 AND kind = 'electron'`,
  )
    .bind(app, VERSION)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

describe('a staged plan over an electron-updater fleet', () => {
  it('offers the first step to its bucket, counts their installs from their polls, and advances on them', async () => {
    const app = await appWithRelease();
    const started = await promotePlanned(
      app,
      plan({ steps_bp: [1000, 10_000], bake_seconds: 60, gates: { min_installs: 10 } }),
    );
    const { salt } = await env.DB.prepare(
      'SELECT salt FROM rollouts WHERE app = ?1 AND channel = ?2 AND version = ?3',
    )
      .bind(app, 'stable', VERSION)
      .first<{ salt: string }>()
      .then((row) => ({ salt: row?.salt ?? '' }));

    clearStateCache();
    const updated: string[] = [];
    for (let i = 0; i < FLEET; i++) {
      const client = `desk-${i}`;
      const offered = await poll(app, client, '1.0.0');
      expect(offered === VERSION, client).toBe(await isInside(1000, salt, client));
      if (offered === VERSION) updated.push(client);
    }
    expect(updated.length).toBeGreaterThanOrEqual(10);

    // The updated clients poll again from the new version, twice: one install each, however often.
    for (const client of [...updated, ...updated]) expect(await poll(app, client, VERSION)).toBe(VERSION);
    await vi.waitFor(async () => expect(await observedInstalls(app)).toBe(updated.length), QUEUE_WAIT);

    // Release health, as `updraft stats` and the dashboard read it.
    const health = await admin<{ installs: number; failures: number }>(
      `/apps/${app}/health?version=${VERSION}&from=${new Date(started - HOUR).toISOString()}&to=${new Date(Date.now() + MINUTE).toISOString()}`,
    );
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ installs: updated.length, failures: 0 });

    // Past the bake, with enough installs and no breach, the scheduler moves to the next step.
    await runAt(Date.now() + 2 * MINUTE);
    expect(await rollout(app)).toMatchObject({ percent_bp: 10_000 });
    const [advance] = await schedulerAudit(app);
    expect(advance?.after.figures).toMatchObject({ installs: updated.length });
  });
});
