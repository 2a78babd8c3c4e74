/** The crash-gate options of `promote` and `app settings` (issue 14), and how `status` shows them. */
import { describe, expect, it } from 'vitest';
import type { Values } from '../../scripts/lib/command.ts';
import { UserError } from '../../scripts/lib/errors.ts';
import { describeGates, planFromFlags } from '../../scripts/lib/plan-flags.ts';
import { figuresText, nextAction } from '../../scripts/lib/rollout-plan.ts';
import { formatRate } from '../../src/protocol/format.ts';
import { type Plan, planSchema, type RolloutJudgement, sessionFigures } from '../../src/protocol/plan.ts';
import { wilson } from '../../src/protocol/wilson.ts';
import { plannedRollout } from './rollout-fixtures.ts';

function planOf(values: Values): Plan {
  const plan = planFromFlags(values, 'plan', true);
  if (plan === undefined || plan === 'default') throw new Error('no plan');
  return plan;
}

describe('crash gate options', () => {
  it('parses them like the other limits, into a plan the Worker accepts', () => {
    const plan = planOf({
      plan: '1,5,25,100',
      'max-crash-rate': '2%',
      'max-crash-delta': '0.5%',
      'min-sessions': '500',
    });
    expect(plan.gates).toEqual({
      max_failure_rate: 0.05,
      max_rollback_rate: 0.02,
      min_installs: 100,
      max_crash_rate: 0.02,
      max_crash_delta: 0.005,
      min_sessions: 500,
    });
    expect(planSchema.safeParse(plan).success).toBe(true);
    expect(planOf({ plan: '100', 'max-crash-delta': '0.01' }).gates).toEqual({
      max_failure_rate: 0.05,
      max_rollback_rate: 0.02,
      min_installs: 100,
      max_crash_delta: 0.01,
    });
  });

  it.each<[Values, RegExp]>([
    [{ 'max-crash-rate': '2%' }, /^--max-crash-rate needs --plan <steps>$/],
    [{ plan: 'default', 'min-sessions': '10' }, /--min-sessions cannot be combined with --plan default/],
    [{ plan: '1,100', 'max-crash-rate': '0%' }, /^--max-crash-rate: "0%" is not a rate/],
    [{ plan: '1,100', 'max-crash-delta': 'lots' }, /^--max-crash-delta: "lots" is not a rate/],
    [
      { plan: '1,100', 'max-crash-rate': '2%', 'min-sessions': '0' },
      /^--min-sessions must be a whole number/,
    ],
    [
      { plan: '1,100', 'min-sessions': '100' },
      /^--min-sessions needs --max-crash-rate or --max-crash-delta$/,
    ],
  ])('refuses %o in one line', (values, message) => {
    expect(() => planFromFlags(values, 'plan', true)).toThrow(UserError);
    expect(() => planFromFlags(values, 'plan', true)).toThrow(message);
  });

  it('shows them on the plan line, with the default min_sessions when not given', () => {
    expect(describeGates(planOf({ plan: '1,100', 'max-crash-rate': '2%', 'max-crash-delta': '0.5%' }))).toBe(
      '1h per step; halts on failure rate > 5% or rollback rate > 2%, judged from 100 installs; or crash rate > 2% or crashed users > baseline + 0.5 points, judged from 100 sessions',
    );
    expect(
      describeGates(
        planOf({ plan: '1,100', 'max-failure-delta': '1%', 'max-crash-delta': '1%', 'min-sessions': '300' }),
      ),
    ).toBe(
      '1h per step; halts on failure rate > 5% or rollback rate > 2%, judged from 100 installs; or failure rate > baseline + 1 point, judged with 100 baseline installs; or crashed users > baseline + 1 point, judged from 300 sessions',
    );
  });
});

describe('a crash-gated rollout in status', () => {
  it('says the sessions the step needs, and the session figures the judgement saw', () => {
    const plan = planOf({ plan: '5,100', 'max-crash-rate': '2%', 'min-sessions': '300' });
    const rollout = { ...plannedRollout({ step: 0, bake_ends_at: '2026-11-21T20:00:00Z' }), plan };
    expect(nextAction(rollout, new Date('2026-11-21T19:30:00Z'))).toBe(
      'bakes 30m more, then completes the rollout (100%) if it has 100 installs, 300 sessions and no gate is clearly breached',
    );
    const judgement: RolloutJudgement = {
      at: '2026-11-21T19:30:00Z',
      action: 'wait',
      reason: 'baking: 30m left',
      figures: {
        installs: 120,
        failures: 0,
        failure_rate: wilson(0, 120),
        rollbacks: 0,
        rollback_rate: wilson(0, 120),
        ...sessionFigures({ total: 400, crashed: 4, clients: 150, crashed_clients: 3 }),
        window: { from: '2026-11-21T19:00:00Z', to: '2026-11-21T19:30:00Z' },
      },
    };
    expect(figuresText(judgement, plan)).toBe(
      `120 installs · failure rate ${formatRate(wilson(0, 120))}, limit 5% · rollback rate ${formatRate(wilson(0, 120))}, limit 2% · 400 sessions · crash rate ${formatRate(wilson(4, 400))}, limit 2% · crashed users ${formatRate(wilson(3, 150))}`,
    );
  });
});
