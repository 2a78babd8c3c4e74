/**
 * 2,000 virtual clients (the real SDK, scripts/lib/fleet.ts) against the real Worker under
 * `wrangler dev`: 1.1.0 promoted to 10 %, then 50 %, then yanked back to 1.0.0, one round each.
 * Who is offered what is checked against protocol bucket() for every client; who fails to install
 * and who rolls back on its own against the fleet's deterministic draws; and the telemetry the
 * fleet reported against the analytics API once the queue consumer has written it.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appCreate } from '../../scripts/commands/app-create.ts';
import { keysInit } from '../../scripts/commands/keys-init.ts';
import { keysRegister } from '../../scripts/commands/keys-register.ts';
import { promote } from '../../scripts/commands/promote.ts';
import { publish } from '../../scripts/commands/publish.ts';
import { status } from '../../scripts/commands/status.ts';
import { yank } from '../../scripts/commands/yank.ts';
import { ApiClient } from '../../scripts/lib/api.ts';
import { createFleet, type Fleet, type Outcome, type RoundReport } from '../../scripts/lib/fleet.ts';
import { draw } from '../../scripts/lib/fleet-model.ts';
import { readPinnedRootKeys } from '../../scripts/lib/keys-folder.ts';
import type { ReleaseHealth } from '../../src/protocol/admin-api.ts';
import type { CheckResponse } from '../../src/protocol/api.ts';
import { bucket } from '../../src/protocol/bucket.ts';
import { runBin } from '../scripts/helpers.ts';
import { type DevServer, startDevServer } from './dev-server.ts';

const APP = 'fleet';
const CLIENTS = 2000;
const SEED = 7;
const FAILURE_RATE = 0.1;
const ROLLBACK_RATE = 0.05;
/** wrangler dev answers a few hundred requests a second on 2 cores; more in flight only queues. */
const CONCURRENCY = 64;

let server: DevServer | undefined;
let admin: ApiClient;
let work = '';
let keysDir = '';
let fleet: Fleet;
let ids: string[] = [];

function dev(): DevServer {
  if (!server) throw new Error('the dev server did not start');
  return server;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'updraft-fleet-'));
  keysDir = join(work, 'keys');
  await keysInit({ keysDir, offline: true });
  const onlineKey = JSON.stringify(JSON.parse(await readFile(join(keysDir, 'online.json'), 'utf8')));
  server = await startDevServer({ onlineKey });
  admin = new ApiClient({ server: server.url, token: server.adminToken });
  await keysRegister({ client: admin, keysDir });
  await appCreate({ client: admin, app: APP, defaultChannel: 'stable' });
  for (const version of ['1.0.0', '1.1.0']) {
    const path = join(work, `fleet-${version}.tar.gz`);
    await writeFile(path, `fleet ${version}\n`.repeat(256));
    await publish({
      client: admin,
      keysDir,
      app: APP,
      version,
      artifacts: [{ platform: 'linux', arch: 'x64', path }],
    });
  }
  await promote({ client: admin, app: APP, version: '1.0.0', channel: 'stable' });
  fleet = createFleet({
    server: server.url,
    app: APP,
    channel: 'stable',
    clients: CLIENTS,
    seed: SEED,
    rootKeys: await readPinnedRootKeys(keysDir),
    concurrency: CONCURRENCY,
    failureRates: new Map([['1.1.0', FAILURE_RATE]]),
    rollbackRates: new Map([['1.1.0', ROLLBACK_RATE]]),
  });
  ids = fleet.clients.map((c) => c.id);
});

afterAll(async () => {
  await server?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

async function rolloutSalt(version: string): Promise<string> {
  const view = await status({ client: admin, app: APP });
  const rollout = view.channels.find((c) => c.name === 'stable')?.rollouts.find((r) => r.version === version);
  if (!rollout) throw new Error(`no rollout of ${version}`);
  return rollout.salt;
}

async function insideSet(salt: string, percentBp: number): Promise<Set<string>> {
  const buckets = await Promise.all(ids.map((id) => bucket(salt, id)));
  return new Set(ids.filter((_, i) => (buckets[i] ?? Number.NaN) < percentBp));
}

/** Raw check: the Worker caches channel state for a few seconds, so a change shows after a while. */
async function waitForAnswer(
  clientId: string,
  version: string,
  want: CheckResponse['status'],
): Promise<void> {
  const query = new URLSearchParams({
    client_id: clientId,
    version,
    platform: 'linux',
    arch: 'x64',
    channel: 'stable',
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    const answer = (await (
      await fetch(`${dev().url}/v1/apps/${APP}/check?${query}`)
    ).json()) as CheckResponse;
    if (answer.status === want) return;
    if (Date.now() > deadline)
      throw new Error(`check for ${clientId} on ${version} still answers ${answer.status}`);
    await new Promise((done) => setTimeout(done, 250));
  }
}

/** The clients of a round whose outcome is one of `outcomes`. */
function whose(report: RoundReport, ...outcomes: Outcome[]): Set<string> {
  return new Set(ids.filter((_, i) => outcomes.includes(report.clients[i]?.outcome ?? 'refused')));
}

function onVersion(version: string): Set<string> {
  return new Set(fleet.clients.filter((c) => c.version === version).map((c) => c.id));
}

const failsInstall = (id: string, round: number) => draw(SEED, id, round, 'install') < FAILURE_RATE;
const rollsBack = (id: string, installRound: number) =>
  draw(SEED, id, installRound, 'rollback') < ROLLBACK_RATE;
const sorted = (set: Iterable<string>) => [...set].sort();
const minus = (a: Iterable<string>, b: ReadonlySet<string>) => new Set([...a].filter((x) => !b.has(x)));

// What the rounds established, for the telemetry check at the end.
const installed: Set<string>[] = [];
const failed: Set<string>[] = [];
let expectedEvents = 0;

describe('a fleet of 2,000 SDK clients through promote, raise and yank', () => {
  let salt = '';
  let inside10 = new Set<string>();

  it('round 1 at 10 %: exactly the clients whose bucket is inside are offered 1.1.0', async () => {
    await promote({ client: admin, app: APP, version: '1.1.0', channel: 'stable', percentBp: 1000 });
    salt = await rolloutSalt('1.1.0');
    inside10 = await insideSet(salt, 1000);
    await waitForAnswer([...inside10][0] ?? '', '1.0.0', 'update');

    const report = await fleet.runRound();
    expect(report.counts.refused + report.counts.download_failed).toBe(0);
    expect(inside10.size / CLIENTS).toBeGreaterThan(0.08);
    expect(inside10.size / CLIENTS).toBeLessThan(0.12);
    expect(sorted(whose(report, 'installed', 'install_failed'))).toEqual(sorted(inside10));
    failed[1] = new Set([...inside10].filter((id) => failsInstall(id, 1)));
    installed[1] = minus(inside10, failed[1]);
    expect(sorted(whose(report, 'install_failed'))).toEqual(sorted(failed[1]));
    expect(sorted(onVersion('1.1.0'))).toEqual(sorted(installed[1]));
    expect(failed[1].size).toBeGreaterThan(0);
    expectedEvents += 3 * inside10.size; // download_started, download_succeeded, install_*
  });

  it('round 2 at 50 %: the inside set grows around the first group, with the same salt', async () => {
    await promote({ client: admin, app: APP, version: '1.1.0', channel: 'stable', percentBp: 5000 });
    expect(await rolloutSalt('1.1.0')).toBe(salt);
    const inside50 = await insideSet(salt, 5000);
    expect([...inside10].every((id) => inside50.has(id))).toBe(true);
    await waitForAnswer([...minus(inside50, inside10)][0] ?? '', '1.0.0', 'update');

    const report = await fleet.runRound();
    const first = installed[1] ?? new Set<string>();
    // Who installed 1.1.0 in round 1 and drew a rollback goes back on its own (and checks no more this round).
    const selfRollbacks = new Set([...first].filter((id) => rollsBack(id, 1)));
    const offered = minus(inside50, first);
    failed[2] = new Set([...offered].filter((id) => failsInstall(id, 2)));
    installed[2] = minus(offered, failed[2]);
    expect(report.counts.refused + report.counts.download_failed).toBe(0);
    expect(sorted(whose(report, 'self_rollback'))).toEqual(sorted(selfRollbacks));
    expect(sorted(whose(report, 'installed', 'install_failed'))).toEqual(sorted(offered));
    expect(sorted(whose(report, 'install_failed'))).toEqual(sorted(failed[2]));
    // Every client inside 50 % has now been offered 1.1.0, and nobody outside it ever was.
    expect(sorted(new Set([...inside10, ...offered]))).toEqual(sorted(inside50));
    const on = onVersion('1.1.0');
    expect(sorted(on)).toEqual(sorted([...minus(first, selfRollbacks), ...installed[2]]));
    expect([...on].every((id) => inside50.has(id))).toBe(true);
    expect([...minus(first, selfRollbacks)].every((id) => on.has(id))).toBe(true);
    expect(on.size / CLIENTS).toBeGreaterThan(0.38);
    expect(on.size / CLIENTS).toBeLessThan(0.5);
    expectedEvents += 3 * offered.size + selfRollbacks.size;
  });

  it('round 3 after the yank: every client is back on 1.0.0', async () => {
    const before = onVersion('1.1.0');
    const yanked = await yank({
      client: admin,
      keysDir,
      app: APP,
      version: '1.1.0',
      reason: 'crash on start',
    });
    expect(yanked.rollback_to).toBe('1.0.0');
    await waitForAnswer([...before][0] ?? '', '1.1.0', 'rollback');

    const report = await fleet.runRound();
    const selfRollbacks = new Set([...(installed[2] ?? [])].filter((id) => rollsBack(id, 2)));
    expect(report.counts.refused + report.counts.download_failed + report.counts.installed).toBe(0);
    expect(sorted(whose(report, 'self_rollback'))).toEqual(sorted(selfRollbacks));
    expect(sorted(whose(report, 'rolled_back'))).toEqual(sorted(minus(before, selfRollbacks)));
    expect(fleet.summary().versions).toEqual({ '1.0.0': CLIENTS });
    expectedEvents += 3 * (before.size - selfRollbacks.size) + selfRollbacks.size;
  });

  it('the analytics API counts what the fleet reported, once the queue has drained', async () => {
    const summary = fleet.summary();
    expect(summary.events).toMatchObject({ sent: expectedEvents, accepted: expectedEvents, rejected: 0 });
    expect(summary.refusals).toEqual({});
    const everInstalled = [...(installed[1] ?? []), ...(installed[2] ?? [])];
    const want = {
      installs: everInstalled.length,
      failures: (failed[1]?.size ?? 0) + (failed[2]?.size ?? 0),
      // Everyone who installed 1.1.0 left it: on its own, or by the yank.
      rollbacks: new Set(everInstalled).size,
    };
    expect(await drainedHealth('1.1.0')).toEqual(want);
  });

  it('`updraft simulate --json` runs a fleet through the binary', async () => {
    // 1.1.0 is yanked: a fleet starting on it rolls back to 1.0.0.
    const result = await runBin(
      [
        'simulate',
        APP,
        '--clients',
        '20',
        '--from-version',
        '1.1.0',
        '--seed',
        '99',
        '--channel',
        'stable',
        '--root-keys',
        join(keysDir, 'keys-1.jws'),
        '--json',
      ],
      { UPDRAFT_SERVER: dev().url },
      work,
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/^round 1\/1: 20 checks, 0 installed, 20 rolled back in /);
    expect(JSON.parse(result.stdout)).toMatchObject({
      app: APP,
      clients: 20,
      seed: 99,
      versions: { '1.0.0': 20 },
      events: { sent: 60, accepted: 60, rejected: 0 },
      refusals: {},
      checks: 20,
      round_reports: [{ round: 1, checks: 20, rolled_back: 20 }],
    });
  });
});

/**
 * The release's installs, failures and rollbacks once the queue consumer has written everything:
 * polls every second until the counts have not moved for 6 s (the consumer batches for up to 5 s).
 */
async function drainedHealth(
  version: string,
): Promise<Pick<ReleaseHealth, 'installs' | 'failures' | 'rollbacks'>> {
  const deadline = Date.now() + 90_000;
  let last = '';
  let since = Date.now();
  for (;;) {
    const health = await admin.get<ReleaseHealth>(`/v1/admin/apps/${APP}/health`, {
      query: { version, channel: 'stable' },
    });
    const counts = { installs: health.installs, failures: health.failures, rollbacks: health.rollbacks };
    const text = JSON.stringify(counts);
    if (text !== last) {
      last = text;
      since = Date.now();
    } else if (Date.now() - since >= 6000 && counts.installs > 0) {
      return counts;
    }
    if (Date.now() > deadline) throw new Error(`telemetry still moving after 90 s: ${text}`);
    await new Promise((done) => setTimeout(done, 1000));
  }
}
