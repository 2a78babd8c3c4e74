import { describe, expect, it } from 'vitest';
import { describeComparison } from '../../scripts/lib/comparison.ts';
import type { ReleaseComparison, ReleaseHealth } from '../../src/protocol/admin-api.ts';
import {
  differenceVerdict,
  formatDifference,
  formatDifferenceInterval,
  formatPoints,
} from '../../src/protocol/format-difference.ts';
import { newcombe, wilson } from '../../src/protocol/wilson.ts';
import { fakeServer, runBin } from './helpers.ts';

const WINDOW = { from: '2026-11-14T18:00:00Z', to: '2026-11-21T18:00:00Z' };

/** No session reports: the health's session fields, spread in so that this test reads only the install metrics. */
const NO_SESSIONS = {
  sessions: { total: 0, crashed: 0, errored: 0, abnormal: 0, clients: 0, crashed_clients: 0 },
  crash_free_sessions: { value: 1, low: 0, high: 1 },
  crash_free_users: { value: 1, low: 0, high: 1 },
};

function health(
  version: string,
  installs: number,
  failures: number,
  rollbacks: number,
  exposed: number,
): ReleaseHealth {
  return {
    app: 'demo',
    channel: 'stable',
    version,
    window: WINDOW,
    installs,
    failures,
    failure_rate: wilson(failures, installs + failures),
    rollbacks,
    rollback_rate: wilson(rollbacks, exposed),
    adoption: 0.25,
    duration_ms: { p50: 4210, p95: 11_800 },
    top_errors: [],
    ...NO_SESSIONS,
  };
}

/** Sessions of a release: `crashed` of `total`, `crashedClients` of `clients` had a crash. */
function withSessions(
  h: ReleaseHealth,
  total: number,
  crashed: number,
  clients: number,
  crashedClients: number,
): ReleaseHealth {
  const free = (s: number, n: number) => {
    const crash = wilson(s, n);
    return { value: 1 - crash.value, low: 1 - crash.high, high: 1 - crash.low };
  };
  return {
    ...h,
    sessions: { total, crashed, errored: 0, abnormal: 0, clients, crashed_clients: crashedClients },
    crash_free_sessions: free(crashed, total),
    crash_free_users: free(crashedClients, clients),
  };
}

// Canary 1.3.0: 6 of 200 installs failed, 1 of 194 rolled back, 80 of 2000 sessions crashed (30 of 400
// users); baseline 1.2.0: 10 of 2000, 3 of 1990, 80 of 10000 sessions (40 of 2000 users).
const COMPARISON: ReleaseComparison = {
  app: 'demo',
  channel: 'stable',
  window: WINDOW,
  canary: withSessions(health('1.3.0', 194, 6, 1, 194), 2000, 80, 400, 30),
  baseline: withSessions(health('1.2.0', 1990, 10, 3, 1990), 10_000, 80, 2000, 40),
  baseline_version: '1.2.0',
  differences: {
    failure_rate: newcombe({ successes: 6, trials: 200 }, { successes: 10, trials: 2000 }),
    rollback_rate: newcombe({ successes: 1, trials: 194 }, { successes: 3, trials: 1990 }),
    crashed_sessions: newcombe({ successes: 80, trials: 2000 }, { successes: 80, trials: 10_000 }),
    crashed_users: newcombe({ successes: 30, trials: 400 }, { successes: 40, trials: 2000 }),
  },
};

describe('formatting a difference of rates', () => {
  it.each([
    [0.016, '+1.6 points'],
    [-0.004, '−0.4 points'],
    [0, '0 points'],
    [0.25, '+25 points'],
    [Number.NaN, '–'],
  ])('%f → %s', (d, text) => {
    expect(formatPoints(d)).toBe(text);
  });

  it('gives the interval and what it says', () => {
    // The form of the scheduler's judgement reasons (plan.ts).
    expect(formatDifference({ value: 0.016, low: -0.004, high: 0.039 })).toBe('+1.6 points (−0.4 to 3.9)');
    expect(formatDifferenceInterval({ value: 0.016, low: -0.004, high: 0.039 })).toBe('−0.4 to 3.9 points');
    expect(differenceVerdict({ value: 0.02, low: 0.001, high: 0.05 })).toBe('worse');
    expect(differenceVerdict({ value: -0.02, low: -0.05, high: -0.001 })).toBe('better');
    expect(differenceVerdict({ value: 0.02, low: -0.001, high: 0.05 })).toBe('unclear');
  });
});

describe('describing a comparison', () => {
  it('puts canary and baseline side by side, then the differences with their interval', () => {
    const lines = describeComparison(COMPARISON).split('\n');
    expect(lines[0]).toBe(
      'demo 1.3.0 on stable against its baseline 1.2.0, 2026-11-14 18:00:00Z → 2026-11-21 18:00:00Z',
    );
    expect(lines[2]).toMatch(/^METRIC\s+CANARY 1\.3\.0\s+BASELINE 1\.2\.0$/);
    expect(lines[3]).toMatch(/^installs\s+194\s+1990$/);
    expect(lines[5]).toMatch(/^failure rate \(95% CI\)\s+3% \(1\.4–6\.4%\)\s+0\.5% \(0\.27–0\.92%\)$/);
    expect(lines[8]).toMatch(/^adoption\s+25%\s+25%$/);
    expect(lines[9]).toMatch(/^sessions\s+2000\s+10000$/);
    // 1 − the Wilson interval of 80/2000 = 0.04 (0.0323–0.0495) and of 80/10000.
    expect(lines[10]).toMatch(
      /^crash-free sessions \(95% CI\)\s+96\.00% \(95\.05–96\.77%\)\s+99\.20% \(99\.01–99\.36%\)$/,
    );
    expect(lines[11]).toMatch(
      /^crash-free users \(95% CI\)\s+92\.50% \(89\.50–94\.70%\)\s+98\.00% \(97\.29–98\.53%\)$/,
    );
    expect(lines[13]).toMatch(/^CANARY − BASELINE\s+DIFFERENCE\s+95% INTERVAL\s+READING$/);
    // newcombe: 0.03 − 0.005 = +2.5 points, interval about 0.83 to 5.9: clearly higher.
    const failure = COMPARISON.differences?.failure_rate;
    expect(failure?.low).toBeGreaterThan(0);
    expect(lines[14]).toMatch(/^failure rate\s+\+2\.5 points\s+0\.83 to 5\.9 points\s+clearly higher$/);
    expect(lines[15]).toMatch(
      /^rollback rate\s+\+0\.36 points\s+−0\.15 to 2\.7 points\s+no clear difference$/,
    );
    // Of the crash rates, so that higher is worse here too: 4 % − 0.8 % = +3.2 points, and 7.5 % − 2 %.
    expect(lines[16]).toMatch(/^crashed sessions\s+\+3\.2 points\s+2\.4 to 4\.2 points\s+clearly higher$/);
    expect(lines[17]).toMatch(/^crashed users\s+\+5\.5 points\s+3\.2 to 8\.6 points\s+clearly higher$/);
    expect(lines).toHaveLength(18);
  });

  it('reads an older server without sessions or crash differences: dashes and the install rates only', () => {
    const strip = ({ sessions, crash_free_sessions, crash_free_users, ...h }: ReleaseHealth): ReleaseHealth =>
      h;
    const { crashed_sessions, crashed_users, ...installRates } = COMPARISON.differences ?? {};
    const text = describeComparison({
      ...COMPARISON,
      canary: strip(COMPARISON.canary),
      baseline: COMPARISON.baseline && strip(COMPARISON.baseline),
      differences: installRates as NonNullable<ReleaseComparison['differences']>,
    });
    expect(text).toMatch(/^crash-free sessions \(95% CI\)\s+–\s+–$/m);
    expect(text).toMatch(/^rollback rate\s+\+0\.36 points/m);
    expect(text).not.toMatch(/^crashed/m);
  });

  it('says when there is no baseline', () => {
    const text = describeComparison({
      ...COMPARISON,
      baseline: null,
      baseline_version: null,
      differences: null,
    });
    expect(text).toContain('against its baseline (none)');
    expect(text).toMatch(/^installs\s+194\s+–$/m);
    expect(text).toContain('No baseline: no complete, not yanked release of stable is below 1.3.0');
  });
});

describe('updraft stats --compare through the binary', () => {
  it('asks /compare with the version, channel and window, and prints the JSON unchanged', async () => {
    const server = await fakeServer(() => ({ status: 200, body: COMPARISON }));
    try {
      const common = [
        '--channel',
        'stable',
        '--since',
        '2026-11-14T18:00:00Z',
        '--server',
        server.url,
        '--token',
        't',
      ];
      const json = await runBin(['stats', 'demo', '1.3.0', '--compare', '--json', ...common]);
      expect(json.stderr).toBe('');
      expect(JSON.parse(json.stdout)).toEqual(COMPARISON);
      const url = new URL(server.requests[0]?.url ?? '', server.url);
      expect(url.pathname).toBe('/v1/admin/apps/demo/compare');
      expect(Object.fromEntries(url.searchParams)).toEqual({
        version: '1.3.0',
        channel: 'stable',
        from: '2026-11-14T18:00:00Z',
      });
      const text = await runBin(['stats', 'demo', '1.3.0', '--compare', ...common]);
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(/failure rate\s+\+2\.5 points\s+.*clearly higher/);
    } finally {
      await server.close();
    }
  });

  it('refuses --compare without a version, in one line', async () => {
    const result = await runBin(['stats', 'demo', '--compare'], {
      UPDRAFT_SERVER: 'http://127.0.0.1:9',
      UPDRAFT_TOKEN: 't',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^updraft: --compare needs a version/);
  });
});
