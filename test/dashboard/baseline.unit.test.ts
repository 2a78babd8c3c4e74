import { describe, expect, it } from 'vitest';
import { differenceMax, differenceRows, offset } from '../../src/dashboard/baseline.ts';
import { newcombe } from '../../src/protocol/wilson.ts';

describe('the vs-baseline scale', () => {
  it('is symmetric around 0 and wide enough for every interval end', () => {
    // 6/200 against 10/2000: about +0.86 to +5.9 pp, so ±10 pp.
    const failure = newcombe({ successes: 6, trials: 200 }, { successes: 10, trials: 2000 });
    const rollback = newcombe({ successes: 1, trials: 194 }, { successes: 3, trials: 1990 });
    expect(differenceMax([failure, rollback])).toBe(0.1);
    expect(differenceMax([{ value: -0.01, low: -0.03, high: 0.005 }])).toBe(0.05);
    expect(differenceMax([{ value: 0, low: -1, high: 1 }])).toBe(1);
    expect(differenceMax([])).toBe(0.02);
  });

  it('puts 0 in the middle and clamps what is off the scale', () => {
    expect(offset(0, 0.05)).toBe(50);
    expect(offset(0.05, 0.05)).toBe(100);
    expect(offset(-0.025, 0.05)).toBe(25);
    expect(offset(0.2, 0.05)).toBe(100);
    expect(offset(-0.2, 0.05)).toBe(0);
  });
});

describe('the vs-baseline rows', () => {
  const failure = newcombe({ successes: 6, trials: 200 }, { successes: 10, trials: 2000 });
  const rollback = newcombe({ successes: 1, trials: 194 }, { successes: 3, trials: 1990 });

  it('draws the crash rates after the install rates, and the scale covers them', () => {
    // The seeded demo's shape: 4 % of sessions crashed on the canary, 0.8 % on the baseline.
    const crashedSessions = newcombe({ successes: 80, trials: 2000 }, { successes: 80, trials: 10_000 });
    const crashedUsers = newcombe({ successes: 30, trials: 400 }, { successes: 40, trials: 2000 });
    const rows = differenceRows({
      failure_rate: failure,
      rollback_rate: rollback,
      crashed_sessions: crashedSessions,
      crashed_users: crashedUsers,
    });
    expect(rows.map((r) => [r.key, r.label])).toEqual([
      ['failure_rate', 'Failure rate'],
      ['rollback_rate', 'Rollback rate'],
      ['crashed_sessions', 'Crashed sessions'],
      ['crashed_users', 'Crashed users'],
    ]);
    expect(rows[2]?.difference).toBe(crashedSessions);
    // Crashed users reach about +8.6 points: still ±10.
    expect(crashedUsers.high).toBeGreaterThan(0.08);
    expect(differenceMax(rows.map((r) => r.difference))).toBe(0.1);
  });

  it('leaves out the crash rows for a server that gives only the install rates', () => {
    const rows = differenceRows({ failure_rate: failure, rollback_rate: rollback });
    expect(rows.map((r) => r.key)).toEqual(['failure_rate', 'rollback_rate']);
  });
});
