/** The crash-gate options of `promote` and `app settings` (issue 14), and how the plan line shows them. */
import { describe, expect, it } from 'vitest';
import type { Values } from '../../scripts/lib/command.ts';
import { UserError } from '../../scripts/lib/errors.ts';
import { describeGates, planFromFlags } from '../../scripts/lib/plan-flags.ts';
import { type Plan, planSchema } from '../../src/protocol/plan.ts';

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
