/**
 * `updraft stats` and the health columns of `updraft status` through the real binary against the
 * real Worker under `wrangler dev`, seeded with the demo app and its telemetry (scripts/seed.ts),
 * which goes through the public intake and the queue consumer like any client's.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keysInit } from '../../scripts/commands/keys-init.ts';
import { ApiClient } from '../../scripts/lib/api.ts';
import { DEMO_APP, seed } from '../../scripts/seed.ts';
import type { ChannelHealth, ReleaseComparison, ReleaseHealth } from '../../src/protocol/admin-api.ts';
import {
  formatCrashFreeRate,
  formatFraction,
  formatInterval,
  formatRate,
} from '../../src/protocol/format.ts';
import { runBin } from '../scripts/helpers.ts';
import { type DevServer, startDevServer } from './dev-server.ts';
import { expectedInstalls, waitForSeededTelemetry } from './seeded-telemetry.ts';

let server: DevServer | undefined;
let admin: ApiClient;
let work = '';
let seededAt = new Date();

function dev(): DevServer {
  if (!server) throw new Error('the dev server did not start');
  return server;
}

async function cli(args: readonly string[]): Promise<string> {
  const result = await runBin(args, { UPDRAFT_SERVER: dev().url, UPDRAFT_TOKEN: dev().adminToken }, work);
  if (result.code !== 0) throw new Error(`updraft ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return result.stdout;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'updraft-stats-'));
  const keysDir = join(work, 'keys');
  await keysInit({ keysDir, offline: true });
  const onlineKey = JSON.stringify(JSON.parse(await readFile(join(keysDir, 'online.json'), 'utf8')));
  server = await startDevServer({ onlineKey });
  admin = new ApiClient({ server: server.url, token: server.adminToken });
  seededAt = new Date();
  await seed({ client: admin, keysDir, now: seededAt });
  await waitForSeededTelemetry(admin, seededAt);
});

afterAll(async () => {
  await server?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('updraft stats', () => {
  it('--json prints the API health of one release unchanged', async () => {
    const json = JSON.parse(
      await cli(['stats', DEMO_APP, '1.1.0', '--channel', 'stable', '--json']),
    ) as ReleaseHealth;
    const want = (await expectedInstalls(seededAt)).get('stable 1.1.0');
    expect(json).toMatchObject({ app: DEMO_APP, channel: 'stable', version: '1.1.0', ...want });
    expect(Object.keys(json).sort()).toEqual(
      [
        'app',
        'channel',
        'version',
        'window',
        'installs',
        'failures',
        'failure_rate',
        'rollbacks',
        'exposed',
        'rollback_rate',
        'adoption',
        'duration_ms',
        'top_errors',
        'sessions',
        'crash_free_sessions',
        'crash_free_users',
      ].sort(),
    );
    expect(json.rollbacks).toBe(3);
  });

  it('prints every metric of one release', async () => {
    const api = await admin.get<ReleaseHealth>(`/v1/admin/apps/${DEMO_APP}/health`, {
      query: { version: '1.2.0-beta.1', channel: 'beta' },
    });
    const text = await cli(['stats', DEMO_APP, '1.2.0-beta.1', '--channel', 'beta', '--since', '30d']);
    expect(text).toMatch(new RegExp(`installs\\s+${api.installs}\\n`));
    expect(text).toMatch(new RegExp(`failures\\s+${api.failures}\\n`));
    // The value column starts after the longest metric name ("crash-free sessions").
    expect(text).toMatch(
      new RegExp(
        `failure rate +${literal(`${formatFraction(api.failure_rate.value)}  (95 % interval ${formatInterval(api.failure_rate)})`)}\n`,
      ),
    );
    expect(text).toMatch(new RegExp(`sessions +${api.sessions?.total ?? 0}: `));
    expect(text).toMatch(/Top errors\nCODE\s+COUNT\nmigration_failed\s+\d+/);
  });

  it('lists every release of the default channel without a version', async () => {
    const api = await admin.get<ChannelHealth>(`/v1/admin/apps/${DEMO_APP}/health`);
    const text = await cli(['stats', DEMO_APP]);
    expect(text.split('\n')[0]).toMatch(/^demo on stable, /);
    for (const release of api.releases) {
      expect(text).toMatch(
        new RegExp(`\\n${literal(release.version)}\\s+${release.installs}\\s+${release.failures}\\s+`),
      );
      expect(text).toContain(formatRate(release.failure_rate));
    }
  });

  it('refuses a bad window in one line', async () => {
    const result = await runBin(['stats', DEMO_APP, '--since', 'last week'], {
      UPDRAFT_SERVER: dev().url,
      UPDRAFT_TOKEN: dev().adminToken,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^updraft: --since must be like 24h, 7d/);
  });
});

describe('updraft stats --compare on the seeded demo', () => {
  it('shows the 1.1.0 canary clearly crashing more than its baseline 1.0.0', async () => {
    const json = JSON.parse(
      await cli(['stats', DEMO_APP, '1.1.0', '--channel', 'stable', '--compare', '--json']),
    ) as ReleaseComparison;
    // The seed completes 1.0.0, so it is 1.1.0's baseline; 4 % of 1.1.0's sessions crash, 0.8 % of 1.0.0's.
    expect(json.baseline_version).toBe('1.0.0');
    const crashed = json.differences?.crashed_sessions;
    expect(crashed?.low).toBeGreaterThan(0);
    expect(json.differences?.crashed_users?.value).toBeGreaterThan(0);
    const [canary, baseline] = [json.canary.sessions, json.baseline?.sessions];
    expect(canary && canary.crashed / canary.total).toBeGreaterThan(0.03);
    expect(baseline && baseline.crashed / baseline.total).toBeLessThan(0.015);

    const text = await cli(['stats', DEMO_APP, '1.1.0', '--channel', 'stable', '--compare']);
    expect(text.split('\n')[0]).toMatch(/^demo 1\.1\.0 on stable against its baseline 1\.0\.0, /);
    expect(text).toMatch(/^crash-free sessions \(95% CI\)\s+9\d\.\d\d% \(/m);
    expect(text).toMatch(/^crashed sessions\s+\+\d+(\.\d+)? points\s+.*clearly higher$/m);
  });
});

describe('updraft status', () => {
  it('shows each rollout with its installs, rates and adoption', async () => {
    const api = await admin.get<ChannelHealth>(`/v1/admin/apps/${DEMO_APP}/health`, {
      query: { channel: 'stable' },
    });
    const canary = api.releases.find((r) => r.version === '1.1.0');
    if (!canary) throw new Error('no health for 1.1.0');
    const text = await cli(['status', DEMO_APP]);
    expect(text).toMatch(
      /VERSION\s+PERCENT\s+STATE\s+INSTALLS\s+FAILURE RATE \(95% CI\)\s+ROLLBACK RATE \(95% CI\)\s+CRASH-FREE USERS \(95% CI\)\s+ADOPTION/,
    );
    // The seeded canary has sessions: the crash-free column shows a figure, not a dash.
    expect(canary.sessions?.clients).toBeGreaterThan(0);
    const cells = [
      '1.1.0',
      '25%',
      'active',
      String(canary.installs),
      formatRate(canary.failure_rate),
      formatRate(canary.rollback_rate),
      formatCrashFreeRate(canary.crash_free_users, canary.sessions?.clients),
      formatFraction(canary.adoption),
    ];
    expect(text).toMatch(new RegExp(cells.map(literal).join('\\s+')));
    expect(text).toContain('Health: the last 7 days');
  });
});

function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
