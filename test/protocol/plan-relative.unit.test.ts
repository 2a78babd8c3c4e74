import { describe, expect, it } from 'vitest';
import {
  type BaselineComparison,
  type GroupCounts,
  gateDifferences,
  judge,
  type Plan,
  planSchema,
} from '../../src/protocol/plan.ts';
import { newcombe, wilson } from '../../src/protocol/wilson.ts';

/** Absolute limits loose enough that only the relative gates can halt in these cases. */
const PLAN: Plan = {
  steps_bp: [100, 500, 2500, 5000, 10_000],
  bake_seconds: 7200,
  gates: {
    max_failure_rate: 0.05,
    max_rollback_rate: 0.05,
    min_installs: 200,
    max_failure_delta: 0.005,
    max_rollback_delta: 0.01,
  },
};
const START = new Date('2026-11-21T12:00:00Z');
const BAKED = new Date(START.getTime() + 7200 * 1000);

/** `installs` successes and `failures` failures; `rollbacks` of `installs` exposed clients. */
function counts(installs: number, failures = 0, rollbacks = 0): GroupCounts {
  return {
    installs,
    failures,
    failure_rate: wilson(failures, installs + failures),
    rollbacks,
    rollback_rate: wilson(rollbacks, installs),
    exposed: installs,
  };
}

function comparison(canary: GroupCounts, baseline: GroupCounts): BaselineComparison {
  const { exposed: _, ...figures } = baseline;
  return { baseline: { version: '1.0.0', ...figures }, differences: gateDifferences(canary, baseline) };
}

function judged(
  canary: GroupCounts,
  against: BaselineComparison | null | undefined,
  plan = PLAN,
  now = BAKED,
) {
  const { exposed: _, ...figures } = canary;
  return judge({ plan, step: 1, stepStartedAt: START, now, figures, comparison: against });
}

describe('judge with relative gates', () => {
  it('halts a canary clearly worse than its baseline by more than allowed, naming both rates', () => {
    // 3.1 % vs 0.87 %: the difference is 2.3 points, at least 0.69 (95 %), over the allowed 0.5.
    const canary = counts(400, 13);
    expect(judged(canary, comparison(canary, counts(800, 7)))).toEqual({
      action: 'halt',
      reason:
        'failure rate 3.1% vs baseline 1.0.0 0.87%: difference ≥ 0.69 points (95 %), over the allowed 0.5 (400 installs vs 800)',
    });
  });

  it('halts as soon as the breach is clear, even while the step still bakes', () => {
    const canary = counts(400, 13);
    const early = new Date(START.getTime() + 600_000);
    expect(judged(canary, comparison(canary, counts(800, 7)), PLAN, early).action).toBe('halt');
  });

  it('judges the rollback rate against its own allowance', () => {
    // 6 % vs 1 % of clients rolled back: 5 points, at least 2.6, over the allowed 1.
    const canary = counts(400, 0, 24);
    const decision = judged(canary, comparison(canary, counts(800, 0, 8)));
    expect(decision.action).toBe('halt');
    expect(decision.reason).toMatch(
      /^rollback rate 6% vs baseline 1\.0\.0 1%: difference ≥ 2\.\d+ points \(95 %\), over the allowed 1 /,
    );
  });

  it('advances a canary within the allowed difference, saying when the estimate is over it but not clearly', () => {
    // 0.99 % vs 0.37 %: 0.62 points, but the interval reaches down to −0.32.
    const canary = counts(400, 4);
    expect(judged(canary, comparison(canary, counts(800, 3)))).toEqual({
      action: 'advance',
      reason:
        'baked 2h with 400 installs (baseline 1.0.0: 800 installs) and no gate clearly breached; failure rate +0.62 points (−0.32 to 2.2) from the baseline is over the allowed 0.5 but not clearly',
      next_step: 2,
      to_bp: 2500,
    });
  });

  it('waits when the baseline has too few installs in the window (min_baseline_installs, default min_installs)', () => {
    // Clearly worse, but 150 baseline installs are too few to judge against.
    const canary = counts(400, 13);
    expect(judged(canary, comparison(canary, counts(150, 0)))).toEqual({
      action: 'wait',
      reason: 'baseline 1.0.0 needs 200 installs in this step for the relative gates, has 150',
    });
    const fewer = { ...PLAN, gates: { ...PLAN.gates, min_baseline_installs: 100 } };
    // Judged now; 0 of 150 leaves the baseline's rate too uncertain for a clear breach.
    expect(judged(canary, comparison(canary, counts(150, 0)), fewer)).toMatchObject({
      action: 'advance',
      reason:
        /^baked 2h with 400 installs \(baseline 1\.0\.0: 150 installs\) and no gate clearly breached; failure rate \+3\.1 points/,
    });
  });

  it('waits when the channel has no baseline, and absolute gates do not carry it on alone', () => {
    const canary = counts(400, 1);
    for (const none of [null, undefined]) {
      expect(judged(canary, none)).toEqual({
        action: 'wait',
        reason: 'no baseline (no complete release below it in the channel): relative gates cannot judge',
      });
    }
    const baking = new Date(START.getTime() + 3600 * 1000);
    expect(judged(counts(57), null, PLAN, baking).reason).toBe(
      'baking: 1h left; needs 200 installs, has 57; no baseline (no complete release below it in the channel): relative gates cannot judge',
    );
  });

  it('still halts on an absolute gate without a baseline', () => {
    const canary = counts(400, 60);
    expect(judged(canary, null)).toMatchObject({
      action: 'halt',
      reason: /^failure rate 13% .* is clearly over the 5% limit/,
    });
  });

  it('does not halt on a relative breach before the canary has min_installs', () => {
    const canary = counts(150, 10);
    expect(judged(canary, comparison(canary, counts(800, 0)))).toEqual({
      action: 'wait',
      reason: 'needs 200 installs, has 150',
    });
  });

  it('ignores a comparison when the plan has no relative gates', () => {
    const absolute: Plan = {
      ...PLAN,
      gates: { max_failure_rate: 0.05, max_rollback_rate: 0.05, min_installs: 200 },
    };
    const canary = counts(400, 13);
    expect(judged(canary, comparison(canary, counts(800, 7)), absolute)).toMatchObject({
      action: 'advance',
      reason: 'baked 2h with 400 installs and no gate clearly breached',
    });
    expect(judged(canary, null, absolute).action).toBe('advance');
  });
});

describe('gateDifferences', () => {
  it('is Newcombe over the counts the rates come from: failures of attempts, rollbacks of exposed clients', () => {
    const canary = { ...counts(400, 13, 5), exposed: 380 };
    const baseline = { ...counts(800, 7, 2), exposed: 1200 };
    expect(gateDifferences(canary, baseline)).toEqual({
      failure: newcombe({ successes: 13, trials: 413 }, { successes: 7, trials: 807 }),
      rollback: newcombe({ successes: 5, trials: 380 }, { successes: 2, trials: 1200 }),
    });
  });
});

describe('planSchema with relative gates', () => {
  it('accepts plans with and without them', () => {
    expect(planSchema.parse(PLAN)).toEqual(PLAN);
    const { max_failure_delta: _, max_rollback_delta: __, ...absolute } = PLAN.gates;
    expect(planSchema.parse({ ...PLAN, gates: absolute })).toEqual({ ...PLAN, gates: absolute });
    const one = { ...PLAN, gates: { ...absolute, max_rollback_delta: 0.01, min_baseline_installs: 50 } };
    expect(planSchema.parse(one)).toEqual(one);
  });

  it.each([
    ['a delta of 0', { max_failure_delta: 0 }],
    ['a delta of 1', { max_rollback_delta: 1 }],
    ['min_baseline_installs 0', { min_baseline_installs: 0 }],
    [
      'min_baseline_installs without a relative gate',
      { max_failure_delta: undefined, max_rollback_delta: undefined, min_baseline_installs: 50 },
    ],
  ])('refuses %s', (_, change) => {
    expect(planSchema.safeParse({ ...PLAN, gates: { ...PLAN.gates, ...change } }).success).toBe(false);
  });
});
