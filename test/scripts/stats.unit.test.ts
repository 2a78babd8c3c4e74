import { describe, expect, it } from 'vitest';
import { UserError } from '../../scripts/lib/errors.ts';
import { describeChannelHealth, describeReleaseHealth } from '../../scripts/lib/metrics.ts';
import { parseWhen } from '../../scripts/lib/parse.ts';
import type { ReleaseHealth, StatusView } from '../../src/protocol/admin-api.ts';
import { fakeServer, runBin } from './helpers.ts';

const WINDOW = { from: '2026-11-14T18:00:00Z', to: '2026-11-21T18:00:00Z' };

function health(version: string, over: Partial<ReleaseHealth> = {}): ReleaseHealth {
  return {
    app: 'demo',
    channel: 'stable',
    version,
    window: WINDOW,
    installs: 57,
    failures: 3,
    failure_rate: { value: 0.05, low: 0.0171, high: 0.1369 },
    rollbacks: 2,
    rollback_rate: { value: 0.0351, low: 0.0097, high: 0.1189 },
    adoption: 0.2214,
    duration_ms: { p50: 4210, p95: 11_800 },
    top_errors: [
      { code: 'disk_full', count: 2 },
      { code: 'timeout', count: 1 },
    ],
    sessions: { total: 400, crashed: 6, errored: 3, abnormal: 1, clients: 80, crashed_clients: 4 },
    crash_free_sessions: { value: 0.985, low: 0.9676, high: 0.9931 },
    crash_free_users: { value: 0.95, low: 0.8783, high: 0.9804 },
    ...over,
  };
}

describe('parseWhen', () => {
  const now = new Date('2026-11-21T18:00:00Z');

  it.each([
    ['now', '2026-11-21T18:00:00Z'],
    ['24h', '2026-11-20T18:00:00Z'],
    ['7d', '2026-11-14T18:00:00Z'],
    ['2w', '2026-11-07T18:00:00Z'],
    ['90m', '2026-11-21T16:30:00Z'],
    ['2026-11-01', '2026-11-01T00:00:00Z'],
    ['2026-11-20T06:30:00Z', '2026-11-20T06:30:00Z'],
    ['2026-11-20T06:30:00+01:00', '2026-11-20T05:30:00Z'],
  ])('%s → %s', (text, at) => {
    expect(parseWhen(text, '--since', now)).toBe(at);
  });

  it.each(['', 'yesterday', '7 d', '0d', '-7d', '2026-13-45'])('refuses %j', (text) => {
    expect(() => parseWhen(text, '--since', now)).toThrow(UserError);
  });
});

describe('describing health', () => {
  it('lists every metric of one release, then its top errors', () => {
    const text = describeReleaseHealth(health('1.1.0'));
    expect(text).toContain('demo 1.1.0 on stable, 2026-11-14 18:00:00Z → 2026-11-21 18:00:00Z');
    expect(text).toMatch(/installs\s+57/);
    expect(text).toMatch(/failure rate\s+5% {2}\(95 % interval 1\.7–14%\)/);
    expect(text).toMatch(/rollback rate\s+3\.5% {2}\(95 % interval 0\.97–12%\)/);
    expect(text).toMatch(/adoption\s+22% of clients active in the last 24 h/);
    expect(text).toMatch(/install time\s+p50 4\.2 s, p95 12 s/);
    expect(text).toMatch(/CODE\s+COUNT\n\s*disk_full\s+2\n\s*timeout\s+1/);
  });

  it('says when a release has no installs yet', () => {
    const none = health('1.2.0', {
      installs: 0,
      failures: 0,
      failure_rate: { value: 0, low: 0, high: 1 },
      rollbacks: 0,
      rollback_rate: { value: 0, low: 0, high: 1 },
      adoption: 0,
      duration_ms: { p50: null, p95: null },
      top_errors: [],
    });
    const text = describeReleaseHealth(none);
    expect(text).toMatch(/failure rate\s+– \(no installs yet\)/);
    expect(text).toMatch(/install time\s+p50 –, p95 –/);
    expect(text).toContain('No install or download errors reported.');
  });

  it('prints one row per release of a channel', () => {
    const text = describeChannelHealth({
      app: 'demo',
      channel: 'stable',
      window: WINDOW,
      releases: [health('1.1.0'), health('1.0.0', { top_errors: [] })],
    });
    const lines = text.split('\n');
    expect(lines[2]).toMatch(
      /^VERSION\s+INSTALLS\s+FAILURES\s+FAILURE RATE \(95% CI\)\s+ROLLBACKS\s+ROLLBACK RATE \(95% CI\)\s+CRASH-FREE USERS \(95% CI\)\s+ADOPTION/,
    );
    expect(lines[3]).toMatch(
      /^1\.1\.0\s+57\s+3\s+5% \(1\.7–14%\)\s+2\s+3\.5% \(0\.97–12%\)\s+95\.00% \(87\.83–98\.04%\)\s+22%\s+4\.2 s\s+12 s\s+disk_full ×2$/,
    );
    expect(lines[4]).toMatch(/^1\.0\.0\s.*\s–$/);
  });
});

describe('updraft stats and status through the binary', () => {
  it('asks /health with the version, channel and window, and prints the JSON unchanged', async () => {
    const body = health('1.1.0');
    const server = await fakeServer(() => ({ status: 200, body }));
    try {
      const result = await runBin([
        'stats',
        'demo',
        '1.1.0',
        '--channel',
        'stable',
        '--since',
        '2026-11-14T18:00:00Z',
        '--until',
        '2026-11-21',
        '--json',
        '--server',
        server.url,
        '--token',
        't',
      ]);
      expect(result.stderr).toBe('');
      expect(JSON.parse(result.stdout)).toEqual(body);
      const url = new URL(server.requests[0]?.url ?? '', server.url);
      expect(url.pathname).toBe('/v1/admin/apps/demo/health');
      expect(Object.fromEntries(url.searchParams)).toEqual({
        version: '1.1.0',
        channel: 'stable',
        from: '2026-11-14T18:00:00Z',
        to: '2026-11-21T00:00:00Z',
      });
    } finally {
      await server.close();
    }
  });

  it('refuses a window that ends before it starts, in one line', async () => {
    const result = await runBin(['stats', 'demo', '--since', '2026-11-21', '--until', '2026-11-01'], {
      UPDRAFT_SERVER: 'http://127.0.0.1:9',
      UPDRAFT_TOKEN: 't',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^updraft: --since must be before --until/);
  });

  const statusView: StatusView = {
    app: 'demo',
    default_channel: 'stable',
    channels: [
      {
        name: 'stable',
        public: true,
        revision: 3,
        issued_at: '2026-11-21T18:00:00Z',
        expires: '2026-11-28T18:00:00Z',
        rollouts: [
          {
            version: '1.1.0',
            percent_bp: 2500,
            state: 'active',
            salt: '00112233445566778899aabbccddeeff',
            created_at: '2026-11-21T18:00:00Z',
            updated_at: '2026-11-21T18:00:00Z',
          },
        ],
        yanked: [],
      },
    ],
  };

  it('status shows each rollout with its health', async () => {
    const server = await fakeServer((req) =>
      req.url.startsWith('/v1/admin/apps/demo/status')
        ? { status: 200, body: statusView }
        : {
            status: 200,
            body: { app: 'demo', channel: 'stable', window: WINDOW, releases: [health('1.1.0')] },
          },
    );
    try {
      const result = await runBin(['status', 'demo', '--server', server.url, '--token', 't']);
      expect(result.stderr).toBe('');
      expect(result.stdout).toMatch(
        /VERSION\s+PERCENT\s+STATE\s+INSTALLS\s+FAILURE RATE \(95% CI\)\s+ROLLBACK RATE \(95% CI\)\s+CRASH-FREE USERS \(95% CI\)\s+ADOPTION\s+UPDATED/,
      );
      expect(result.stdout).toMatch(
        /1\.1\.0\s+25%\s+active\s+57\s+5% \(1\.7–14%\)\s+3\.5% \(0\.97–12%\)\s+95\.00% \(87\.83–98\.04%\)\s+22%/,
      );
      expect(server.requests[1]?.url).toBe('/v1/admin/apps/demo/health?channel=stable');
    } finally {
      await server.close();
    }
  });

  it('status shows – for health when the server has no analytics routes (404)', async () => {
    const server = await fakeServer((req) =>
      req.url.startsWith('/v1/admin/apps/demo/status')
        ? { status: 200, body: statusView }
        : { status: 404, body: { error: { code: 'not_found', message: 'no such route' } } },
    );
    try {
      const result = await runBin(['status', 'demo', '--server', server.url, '--token', 't']);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/1\.1\.0\s+25%\s+active\s+–\s+–\s+–\s+–\s+–\s+2026-11-21/);
      expect(result.stdout).toContain('no analytics routes');
    } finally {
      await server.close();
    }
  });
});
