import { describe, expect, it } from 'vitest';
import {
  type GateFigures,
  type Judgement,
  judge,
  type Plan,
  PlanInputError,
  parseDuration,
  parsePlanSteps,
  parseRate,
  planSchema,
} from '../../src/protocol/plan.ts';
import { wilson } from '../../src/protocol/wilson.ts';

const PLAN: Plan = {
  steps_bp: [100, 500, 2500, 5000, 10_000],
  bake_seconds: 7200,
  gates: { max_failure_rate: 0.02, max_rollback_rate: 0.01, min_installs: 200 },
};
const START = new Date('2026-11-21T12:00:00Z');
const at = (seconds: number) => new Date(START.getTime() + seconds * 1000);

/** `installs` successes and `failures` failures; `rollbacks` of `exposed` clients (default installs). */
function figures(installs: number, failures = 0, rollbacks = 0, exposed = installs): GateFigures {
  return {
    installs,
    failures,
    failure_rate: wilson(failures, installs + failures),
    rollbacks,
    rollback_rate: wilson(rollbacks, exposed),
  };
}

describe('judge', () => {
  const cases: [string, { step?: number; at: number; figures: GateFigures }, Judgement][] = [
    [
      'healthy but still baking',
      { at: 48 * 60, figures: figures(412, 3) },
      { action: 'wait', reason: 'baking: 1h12m left' },
    ],
    [
      'baked but too few installs',
      { at: 7200, figures: figures(57) },
      { action: 'wait', reason: 'needs 200 installs, has 57' },
    ],
    [
      'baking and too few installs',
      { at: 48 * 60, figures: figures(57) },
      { action: 'wait', reason: 'baking: 1h12m left; needs 200 installs, has 57' },
    ],
    [
      'baked (exactly at bake end), enough installs, healthy: advances',
      { at: 7200, figures: figures(412, 3) },
      {
        action: 'advance',
        reason: 'baked 2h with 412 installs and no gate clearly breached',
        next_step: 1,
        to_bp: 500,
      },
    ],
    [
      'advancing into the last step completes',
      { step: 3, at: 9000, figures: figures(300) },
      expect.objectContaining({ action: 'complete', next_step: 4, to_bp: 10_000 }),
    ],
    [
      'the last step itself, baked, completes',
      { step: 4, at: 7200, figures: figures(300) },
      expect.objectContaining({ action: 'complete', next_step: 4, to_bp: 10_000 }),
    ],
    [
      'a clear failure breach halts, even while baking',
      // 50 / 250 = 20 %: [15.5–25.4 %] (shown as 16–25 %), far over 2 %
      { at: 600, figures: figures(200, 50) },
      { action: 'halt', reason: 'failure rate 20% (16–25%) is clearly over the 2% limit (200 installs)' },
    ],
    [
      'the same rate on fewer installs than min_installs waits',
      { at: 600, figures: figures(150, 38) },
      { action: 'wait', reason: 'baking: 1h50m left; needs 200 installs, has 150' },
    ],
    [
      'a clear rollback breach halts',
      // 15 / 300 = 5 %: [3.1–8.1 %], over 1 %
      { at: 7200, figures: figures(300, 0, 15) },
      expect.objectContaining({ action: 'halt', reason: expect.stringMatching(/^rollback rate 5% \(3/) }),
    ],
    [
      'a borderline rate (estimate over, lower bound under the limit) is no breach: advances, saying so',
      // 6 / 206 = 2.9 %: [1.3–6.2 %]
      { at: 7200, figures: figures(200, 6) },
      {
        action: 'advance',
        reason:
          'baked 2h with 200 installs and no gate clearly breached; failure rate 2.9% (1.3–6.2%) is over the 2% limit but not clearly',
        next_step: 1,
        to_bp: 500,
      },
    ],
    [
      'a high rate on fewer installs than min_installs is not judged: it waits (3 in 40 is 7.5 %)',
      { at: 7200, figures: figures(37, 3) },
      { action: 'wait', reason: 'needs 200 installs, has 37' },
    ],
  ];

  it.each(cases)('%s', (_, input, expected) => {
    const step = input.step ?? 0;
    expect(
      judge({ plan: PLAN, step, stepStartedAt: START, now: at(input.at), figures: input.figures }),
    ).toEqual(expected);
  });

  it('halts on the Wilson lower bound, not on the estimate', () => {
    const rate = figures(200, 6).failure_rate;
    expect(rate.value).toBeGreaterThan(0.02);
    expect(rate.low).toBeLessThan(0.02);
    const clear = figures(1000, 40).failure_rate; // 40 / 1040 = 3.8 %: [2.8–5.2 %]
    expect(clear.low).toBeGreaterThan(0.02);
    const judged = judge({
      plan: PLAN,
      step: 0,
      stepStartedAt: START,
      now: at(60),
      figures: figures(1000, 40),
    });
    expect(judged.action).toBe('halt');
  });

  it('refuses a step outside the plan', () => {
    for (const step of [-1, 5, 1.5]) {
      expect(() =>
        judge({ plan: PLAN, step, stepStartedAt: START, now: START, figures: figures(0) }),
      ).toThrow(RangeError);
    }
  });
});

describe('planSchema', () => {
  it('accepts the documented plan and a single full step', () => {
    expect(planSchema.parse(PLAN)).toEqual(PLAN);
    expect(planSchema.safeParse({ ...PLAN, steps_bp: [10_000] }).success).toBe(true);
  });

  it.each([
    ['steps not increasing', { steps_bp: [100, 100, 10_000] }],
    ['steps not ending at 10000', { steps_bp: [100, 5000] }],
    ['a step of 0', { steps_bp: [0, 10_000] }],
    ['no steps', { steps_bp: [] }],
    ['21 steps', { steps_bp: [...Array.from({ length: 20 }, (_, i) => i + 1), 10_000] }],
    ['bake under a minute', { bake_seconds: 59 }],
    ['bake over 30 days', { bake_seconds: 30 * 86_400 + 1 }],
    ['a rate of 1', { gates: { ...PLAN.gates, max_failure_rate: 1 } }],
    ['a rate of 0', { gates: { ...PLAN.gates, max_rollback_rate: 0 } }],
    ['min_installs 0', { gates: { ...PLAN.gates, min_installs: 0 } }],
    ['no gates', { gates: undefined }],
  ])('refuses %s', (_, change) => {
    expect(planSchema.safeParse({ ...PLAN, ...change }).success).toBe(false);
  });
});

describe('CLI forms', () => {
  it('parses plan steps as percentages', () => {
    expect(parsePlanSteps('1,5,25,50,100')).toEqual([100, 500, 2500, 5000, 10_000]);
    expect(parsePlanSteps('0.5%, 5%, 100%')).toEqual([50, 500, 10_000]);
    expect(parsePlanSteps('100')).toEqual([10_000]);
    for (const bad of ['5,1,100', '1,5', '1,,100', 'abc', '', '1,5,101', '0,100', '0.001,100']) {
      expect(() => parsePlanSteps(bad)).toThrow(PlanInputError);
    }
    expect(() => parsePlanSteps('5,1,100')).toThrow('plan steps must be strictly increasing');
    // People typed percentages: the message speaks in percentages, not basis points.
    expect(() => parsePlanSteps('1,5,25')).toThrow(
      'plan steps must end at 100 % (everyone) (1-20 percentages, 0.01-100), got "1,5,25"',
    );
  });

  it('parses durations into seconds', () => {
    expect(parseDuration('2h')).toBe(7200);
    expect(parseDuration('1h30m')).toBe(5400);
    expect(parseDuration('90s')).toBe(90);
    expect(parseDuration('2d')).toBe(172_800);
    expect(parseDuration('1w')).toBe(604_800);
    for (const bad of ['2', 'h', '2x', '-1h', '1h 30m', '', 'h2']) {
      expect(() => parseDuration(bad)).toThrow(PlanInputError);
    }
  });

  it('parses rates as percentages or fractions', () => {
    expect(parseRate('2%')).toBe(0.02);
    expect(parseRate('0.7%')).toBe(0.007);
    expect(parseRate('0.02')).toBe(0.02);
    expect(parseRate('.5')).toBe(0.5);
    for (const bad of ['0', '0%', '100%', '2', '1', 'abc', '-1%', '']) {
      expect(() => parseRate(bad)).toThrow(PlanInputError);
    }
  });
});
