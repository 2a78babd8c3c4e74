/**
 * Crash gates (issue 14, docs/protocol.md §5 and §6): `max_crash_rate` on the crashed-sessions rate, and
 * `max_crash_delta` on the crashed-users rate against the baseline, each judged from `min_sessions`.
 */
import { describe, expect, it } from 'vitest';
import {
  type BaselineComparison,
  DEFAULT_MIN_SESSIONS,
  type GroupCounts,
  gateDifferences,
  judge,
  type Plan,
  planSchema,
  type SessionCounts,
  sessionFigures,
} from '../../src/protocol/plan.ts';
import { newcombe, wilson } from '../../src/protocol/wilson.ts';

/** Install gates loose enough that only the crash gates can halt in these cases. */
const PLAN: Plan = {
  steps_bp: [100, 500, 2500, 5000, 10_000],
  bake_seconds: 7200,
  gates: {
    max_failure_rate: 0.2,
    max_rollback_rate: 0.2,
    min_installs: 200,
    max_crash_rate: 0.05,
    max_crash_delta: 0.005,
  },
};
const START = new Date('2026-11-21T12:00:00Z');
const BAKED = new Date(START.getTime() + 7200 * 1000);

/** `installs` clean installs; `users` clients of which `crashedUsers` crashed, in `total` sessions (`crashed` crashed). */
function group(installs: number, sessions: SessionCounts): GroupCounts {
  return {
    installs,
    failures: 0,
    failure_rate: wilson(0, installs),
    rollbacks: 0,
    rollback_rate: wilson(0, installs),
    exposed: installs,
    ...sessionFigures(sessions),
  };
}

const sessions = (total: number, crashed: number, clients: number, crashed_clients: number) => ({
  total,
  crashed,
  clients,
  crashed_clients,
});

function comparison(canary: GroupCounts, baseline: GroupCounts): BaselineComparison {
  const { exposed: _, ...figures } = baseline;
  return { baseline: { version: '1.0.0', ...figures }, differences: gateDifferences(canary, baseline) };
}

function judged(canary: GroupCounts, against: BaselineComparison | null, plan = PLAN, now = BAKED) {
  const { exposed: _, ...figures } = canary;
  return judge({ plan, step: 1, stepStartedAt: START, now, figures, comparison: against });
}

describe('judge with crash gates', () => {
  it('halts on a crashed-sessions rate clearly over max_crash_rate, without a baseline', () => {
    const absolute: Plan = { ...PLAN, gates: { ...PLAN.gates, max_crash_delta: undefined } };
    const canary = group(400, sessions(2000, 200, 600, 150));
    expect(judged(canary, null, absolute)).toEqual({
      action: 'halt',
      reason: 'crash rate 10% (8.8–11%) is clearly over the 5% limit (2000 sessions)',
    });
  });

  it('halts when crash-free users are clearly below the baseline’s, naming both groups', () => {
    // 4 % of users crashed vs 1 %: 3 points, at least 1.7 (95 %), over the allowed 0.5.
    const canary = group(400, sessions(3000, 40, 1000, 40));
    const decision = judged(canary, comparison(canary, group(800, sessions(3000, 10, 1000, 10))));
    expect(decision.action).toBe('halt');
    expect(decision.reason).toMatch(
      /^crashed-users rate 4% vs baseline 1\.0\.0 1%: difference ≥ 1\.\d+ points \(95 %\), over the allowed 0\.5 \(40 of 1000 users in 3000 sessions vs 10 of 1000 in 3000\)$/,
    );
  });

  it('advances within the allowed difference, saying the sessions it judged', () => {
    // 1.2 % vs 1 %: 0.2 points, within the allowed 0.5.
    const canary = group(400, sessions(3000, 12, 1000, 12));
    expect(judged(canary, comparison(canary, group(800, sessions(3000, 10, 1000, 10))))).toEqual({
      action: 'advance',
      reason:
        'baked 2h with 400 installs, 3000 sessions (baseline 1.0.0: 800 installs, 3000 sessions) and no gate clearly breached',
      next_step: 2,
      to_bp: 2500,
    });
  });

  it(`waits while either group has fewer than min_sessions (default ${DEFAULT_MIN_SESSIONS}) sessions`, () => {
    // Clearly worse by its estimate, but 60 sessions are too few to judge.
    const few = group(400, sessions(60, 30, 40, 20));
    expect(judged(few, comparison(few, group(800, sessions(3000, 10, 1000, 10))))).toEqual({
      action: 'wait',
      reason: 'needs 100 sessions, has 60',
    });
    const canary = group(400, sessions(3000, 40, 1000, 40));
    expect(judged(canary, comparison(canary, group(800, sessions(40, 0, 30, 0))))).toEqual({
      action: 'wait',
      reason: 'baseline 1.0.0 needs 100 sessions in this step for the crash gate, has 40',
    });
    const more = { ...PLAN, gates: { ...PLAN.gates, min_sessions: 5000 } };
    expect(judged(canary, comparison(canary, group(800, sessions(3000, 10, 1000, 10))), more)).toEqual({
      action: 'wait',
      // The canary's own shortfall first, as for installs: the baseline's is said once the canary has them.
      reason: 'needs 5000 sessions, has 3000',
    });
  });

  it('judges the crash delta on sessions alone: a baseline nobody installs any more still compares', () => {
    const crashOnly: Plan = {
      ...PLAN,
      gates: { max_failure_rate: 0.2, max_rollback_rate: 0.2, min_installs: 200, max_crash_delta: 0.005 },
    };
    const canary = group(400, sessions(3000, 40, 1000, 40));
    expect(judged(canary, comparison(canary, group(0, sessions(3000, 10, 1000, 10))), crashOnly).action).toBe(
      'halt',
    );
    expect(judged(canary, null, crashOnly)).toEqual({
      action: 'wait',
      reason: 'no baseline (no complete release below it in the channel): relative gates cannot judge',
    });
  });

  it('leaves plans without crash gates as they were', () => {
    const plain: Plan = {
      ...PLAN,
      gates: { max_failure_rate: 0.2, max_rollback_rate: 0.2, min_installs: 200 },
    };
    const canary = group(400, sessions(2000, 200, 600, 150));
    expect(judged(canary, null, plain)).toEqual({
      action: 'advance',
      reason: 'baked 2h with 400 installs and no gate clearly breached',
      next_step: 2,
      to_bp: 2500,
    });
  });
});

describe('gateDifferences with sessions', () => {
  it('adds Newcombe over crashed sessions and crashed users when both groups carry sessions', () => {
    const canary = group(400, sessions(3000, 45, 1000, 40));
    const baseline = group(800, sessions(2500, 12, 900, 10));
    expect(gateDifferences(canary, baseline)).toMatchObject({
      crashed_sessions: newcombe({ successes: 45, trials: 3000 }, { successes: 12, trials: 2500 }),
      crashed_users: newcombe({ successes: 40, trials: 1000 }, { successes: 10, trials: 900 }),
    });
    const { sessions: _, ...without } = baseline;
    expect(gateDifferences(canary, without)).not.toHaveProperty('crashed_users');
  });
});

describe('planSchema with crash gates', () => {
  it('accepts them, all optional', () => {
    const withSessions = { ...PLAN, gates: { ...PLAN.gates, min_sessions: 500 } };
    expect(planSchema.parse(withSessions)).toEqual(withSessions);
  });

  it.each([
    ['a crash rate of 0', { max_crash_rate: 0 }],
    ['a crash delta of 1', { max_crash_delta: 1 }],
    ['min_sessions of 0', { min_sessions: 0 }],
    [
      'min_sessions without a crash gate',
      { max_crash_rate: undefined, max_crash_delta: undefined, min_sessions: 100 },
    ],
  ])('refuses %s', (_, gates) => {
    expect(planSchema.safeParse({ ...PLAN, gates: { ...PLAN.gates, ...gates } }).success).toBe(false);
  });
});
