/**
 * Crash gates over simulated fleets (issue 14) against the real Worker under `wrangler dev`: the
 * clients are real SDK updaters (scripts/lib/fleet.ts) that run sessions each round, crashing as
 * `--crash-rate` says, and report them through the SDK's sessions API. The rollouts are promoted by
 * the real `updraft` binary and judged by the cron, run at the fleet's clock through wrangler's
 * scheduled route.
 *
 * - 1.1.0 crashing at 6 % against 1.0.0's 1 %, with `--max-crash-delta 0.5% --on-breach rollback`:
 *   the scheduler halts the rollout and publishes the standby yank the CLI signed at promote time,
 *   and the clients on 1.1.0 go back to 1.0.0 by themselves in the next round (the SDK verifies the
 *   yank against the pinned keys).
 * - the same crash rate on both (`updraft simulate --crash-rate` through the binary): the step advances.
 * - 1.1.0 clearly worse again, but the plan asks for more sessions than the fleet ran: the rollout
 *   waits, its standby yank still armed.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keysInit } from '../../scripts/commands/keys-init.ts';
import { ApiClient } from '../../scripts/lib/api.ts';
import { createFleet, type FleetSummary } from '../../scripts/lib/fleet.ts';
import { readPinnedRootKeys } from '../../scripts/lib/keys-folder.ts';
import type { ReleaseHealth, RolloutView, StatusView } from '../../src/protocol/admin-api.ts';
import type { CheckResponse } from '../../src/protocol/api.ts';
import { type DevServer, startDevServer, triggerScheduled } from '../e2e/dev-server.ts';
import { runBin } from '../scripts/helpers.ts';

const MINUTE = 60_000;
const CLIENTS = 200;
/** Each group needs this many sessions: 100 clients × 3 sessions × 4 rounds is well above it. */
const MIN_SESSIONS = 300;
const ROUNDS = 4;

let server: DevServer | undefined;
let admin: ApiClient;
let work = '';
let keysDir = '';
let env: NodeJS.ProcessEnv = {};

function dev(): DevServer {
  if (!server) throw new Error('the dev server did not start');
  return server;
}

async function cli(args: readonly string[]): Promise<string> {
  const result = await runBin(args, env, work);
  if (result.code !== 0) throw new Error(`updraft ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return result.stdout;
}

/** 1.0.0 complete on stable, then 1.1.0 promoted to half of it with a crash-gated plan. */
async function setUpApp(app: string, minSessions = MIN_SESSIONS): Promise<void> {
  await cli(['app', 'create', app, '--channel', 'stable']);
  for (const version of ['1.0.0', '1.1.0']) {
    const file = join(work, `${app}-${version}.tar.gz`);
    await writeFile(file, `${app} ${version}\n`.repeat(200));
    await cli(['publish', app, version, '--artifact', `linux-x64=${file}`]);
  }
  await cli(['promote', app, '1.0.0', '--channel', 'stable']);
  await cli(['complete', app, '1.0.0', '--channel', 'stable']);
  await cli([
    'promote',
    app,
    '1.1.0',
    '--channel',
    'stable',
    '--plan',
    '50,100',
    '--bake',
    '1m',
    '--min-installs',
    '20',
    '--max-crash-delta',
    '0.5%',
    '--min-sessions',
    String(minSessions),
    '--on-breach',
    'rollback',
  ]);
}

async function rollout(app: string): Promise<{ rollout: RolloutView; status: StatusView }> {
  const status = JSON.parse(await cli(['status', app, '--json'])) as StatusView;
  const found = status.channels.find((c) => c.name === 'stable')?.rollouts.find((r) => r.version === '1.1.0');
  if (!found) throw new Error(`no rollout of 1.1.0 in ${app}`);
  return { rollout: found, status };
}

/** Waits until the queue consumer has written every session the fleet ran, per version. */
async function waitForSessions(app: string, summary: FleetSummary, from: string, to: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (const [version, want] of Object.entries(summary.sessions ?? {})) {
    for (;;) {
      const health = await admin.get<ReleaseHealth>(`/v1/admin/apps/${app}/health`, {
        query: { version, channel: 'stable', from, to },
      });
      if (health.sessions?.total === want.sessions && health.sessions.crashed === want.crashed) break;
      if (Date.now() > deadline) {
        throw new Error(
          `sessions of ${version} not written: ${JSON.stringify(health.sessions)} vs ${JSON.stringify(want)}`,
        );
      }
      await new Promise((done) => setTimeout(done, 500));
    }
  }
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'updraft-crash-gates-'));
  keysDir = join(work, 'keys');
  await keysInit({ keysDir, offline: true });
  const onlineKey = JSON.stringify(JSON.parse(await readFile(join(keysDir, 'online.json'), 'utf8')));
  server = await startDevServer({ onlineKey });
  admin = new ApiClient({ server: server.url, token: server.adminToken });
  env = { UPDRAFT_SERVER: server.url, UPDRAFT_TOKEN: server.adminToken, UPDRAFT_KEYS: keysDir };
  await cli(['keys', 'register']);
});

afterAll(async () => {
  await server?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('crash gates over a simulated fleet', () => {
  it('halts a release crashing more than its baseline and rolls its clients back to it', async () => {
    const app = 'crashy';
    await setUpApp(app);
    const stepStartedAt = (await rollout(app)).rollout.step_started_at ?? '';
    const fleet = createFleet({
      server: dev().url,
      app,
      channel: 'stable',
      clients: CLIENTS,
      seed: 14,
      rootKeys: await readPinnedRootKeys(keysDir),
      concurrency: 64,
      crashRates: new Map([
        ['1.1.0', 0.06],
        ['1.0.0', 0.01],
      ]),
    });
    for (let round = 1; round <= ROUNDS; round++) await fleet.runRound();
    const summary = fleet.summary();
    expect(summary.events.rejected).toBe(0);
    const canary = fleet.clients.filter((c) => c.version === '1.1.0').map((c) => c.id);
    expect(canary.length).toBeGreaterThan(CLIENTS / 4);
    expect(summary.sessions?.['1.1.0']?.sessions).toBe(canary.length * 3 * ROUNDS);
    await waitForSessions(app, summary, stepStartedAt, fleet.now().toISOString());

    await triggerScheduled(dev(), new Date(fleet.now().getTime() + MINUTE));
    const { rollout: halted, status } = await rollout(app);
    expect(halted.state, JSON.stringify(halted.judgement)).toBe('halted');
    expect(halted.judgement).toMatchObject({ action: 'halt' });
    expect(JSON.stringify(halted.judgement)).toContain('crashed-users rate');
    const stable = status.channels.find((c) => c.name === 'stable');
    expect(stable?.yanked).toEqual([expect.objectContaining({ version: '1.1.0', rollback_to: '1.0.0' })]);

    // The Worker caches channel state for a few seconds: wait until a canary client is told to go back.
    const query = new URLSearchParams({
      client_id: canary[0] ?? '',
      version: '1.1.0',
      platform: 'linux',
      arch: 'x64',
      channel: 'stable',
    });
    const deadline = Date.now() + 30_000;
    for (;;) {
      const answer = (await (
        await fetch(`${dev().url}/v1/apps/${app}/check?${query}`)
      ).json()) as CheckResponse;
      if (answer.status === 'rollback') break;
      if (Date.now() > deadline) throw new Error(`check still answers ${answer.status}`);
      await new Promise((done) => setTimeout(done, 250));
    }
    const report = await fleet.runRound();
    const rolledBack = fleet.clients.filter((_, i) => report.clients[i]?.outcome === 'rolled_back');
    expect(rolledBack.map((c) => c.id).sort()).toEqual([...canary].sort());
    expect(fleet.summary().versions).toEqual({ '1.0.0': CLIENTS });
  });

  it('advances a release that crashes as often as its baseline (`updraft simulate --crash-rate`)', async () => {
    const app = 'steady';
    await setUpApp(app);
    const stepStartedAt = (await rollout(app)).rollout.step_started_at ?? '';
    const out = await cli([
      'simulate',
      app,
      '--clients',
      String(CLIENTS),
      '--channel',
      'stable',
      '--rounds',
      String(ROUNDS),
      '--concurrency',
      '64',
      '--crash-rate',
      '1.1.0=3%,1.0.0=3%',
      '--seed',
      '15',
      '--json',
    ]);
    const summary = JSON.parse(out) as FleetSummary;
    expect(summary.events.rejected).toBe(0);
    const hours = summary.session_hours;
    if (!hours) throw new Error('simulate --crash-rate printed no session hours');
    await waitForSessions(app, summary, stepStartedAt, hours.to);

    await triggerScheduled(dev(), new Date(Date.parse(hours.to) + MINUTE));
    const { rollout: advanced, status } = await rollout(app);
    expect(advanced, JSON.stringify(advanced.judgement)).toMatchObject({ step: 1, percent_bp: 10_000 });
    expect(advanced.state).not.toBe('halted');
    expect(advanced.judgement?.action).toMatch(/^(advance|complete)$/);
    expect(status.channels.find((c) => c.name === 'stable')?.yanked).toEqual([]);
  });

  it('waits, still armed, when a clearly worse release has fewer sessions than the plan needs', async () => {
    const app = 'sparse';
    // Two rounds of ~100 clients × 3 sessions per group: about 600 sessions each, short of 2,000.
    const needed = 2_000;
    await setUpApp(app, needed);
    const stepStartedAt = (await rollout(app)).rollout.step_started_at ?? '';
    const fleet = createFleet({
      server: dev().url,
      app,
      channel: 'stable',
      clients: CLIENTS,
      seed: 16,
      rootKeys: await readPinnedRootKeys(keysDir),
      concurrency: 64,
      crashRates: new Map([
        ['1.1.0', 0.06],
        ['1.0.0', 0.01],
      ]),
    });
    for (let round = 1; round <= 2; round++) await fleet.runRound();
    const summary = fleet.summary();
    const ran = summary.sessions?.['1.1.0']?.sessions ?? 0;
    expect(ran).toBeGreaterThan(0);
    expect(ran).toBeLessThan(needed);
    await waitForSessions(app, summary, stepStartedAt, fleet.now().toISOString());

    await triggerScheduled(dev(), new Date(fleet.now().getTime() + MINUTE));
    const { rollout: waiting, status } = await rollout(app);
    expect(waiting, JSON.stringify(waiting.judgement)).toMatchObject({
      state: 'active',
      step: 0,
      percent_bp: 5_000,
    });
    expect(waiting.judgement?.action).toBe('wait');
    expect(waiting.judgement?.reason).toContain(`needs ${needed} sessions, has ${ran}`);
    expect(waiting.standby_yank).toMatchObject({ rollback_to: '1.0.0' });
    expect(status.channels.find((c) => c.name === 'stable')?.yanked).toEqual([]);
    // `updraft status` says what the next judgement needs and what a breach would publish.
    const text = await cli(['status', app]);
    expect(text).toContain(`${needed} sessions`);
    expect(text).toContain('on breach: rolls its clients back to 1.0.0');
  });
});
