/** The relative-gate options of `promote` and `app settings` (docs/protocol.md §6), and how `status` shows them. */
import { describe, expect, it } from 'vitest';
import { describeStatus } from '../../scripts/commands/status.ts';
import type { Values } from '../../scripts/lib/command.ts';
import { UserError } from '../../scripts/lib/errors.ts';
import { describeGates, planFromFlags } from '../../scripts/lib/plan-flags.ts';
import { type Plan, planSchema } from '../../src/protocol/plan.ts';
import { fakeServer, runBin } from './helpers.ts';
import { channel, PLAN, plannedRollout, statusView } from './rollout-fixtures.ts';

const NOW = new Date('2026-11-21T19:48:05Z');

function planOf(values: Values): Plan {
  const plan = planFromFlags(values, 'plan', true);
  if (plan === undefined || plan === 'default') throw new Error('no plan');
  return plan;
}

describe('relative gate options', () => {
  it('parses them like the absolute limits, into a plan the Worker accepts', () => {
    const plan = planOf({
      plan: '1,5,25,50,100',
      'max-failure-delta': '0.5%',
      'max-rollback-delta': '1%',
      'min-baseline-installs': '500',
    });
    expect(plan.gates).toEqual({
      max_failure_rate: 0.05,
      max_rollback_rate: 0.02,
      min_installs: 100,
      max_failure_delta: 0.005,
      max_rollback_delta: 0.01,
      min_baseline_installs: 500,
    });
    expect(planSchema.safeParse(plan).success).toBe(true);
    expect(planOf({ plan: '100', 'max-rollback-delta': '0.01' }).gates).toEqual({
      max_failure_rate: 0.05,
      max_rollback_rate: 0.02,
      min_installs: 100,
      max_rollback_delta: 0.01,
    });
  });

  it('leaves plans without them exactly as before (no relative fields at all)', () => {
    expect(Object.keys(planOf({ plan: '1,100' }).gates)).toEqual([
      'max_failure_rate',
      'max_rollback_rate',
      'min_installs',
    ]);
  });

  it.each<[Values, RegExp]>([
    [{ 'max-failure-delta': '1%' }, /^--max-failure-delta needs --plan <steps>$/],
    [
      { plan: 'default', 'max-rollback-delta': '1%' },
      /--max-rollback-delta cannot be combined with --plan default/,
    ],
    [{ plan: '1,100', 'max-failure-delta': '0%' }, /^--max-failure-delta: "0%" is not a rate/],
    [{ plan: '1,100', 'max-rollback-delta': 'half' }, /^--max-rollback-delta: "half" is not a rate/],
    [
      { plan: '1,100', 'max-failure-delta': '1%', 'min-baseline-installs': '0' },
      /^--min-baseline-installs must be a whole number from 1/,
    ],
    [
      { plan: '1,100', 'min-baseline-installs': '50' },
      /^--min-baseline-installs needs --max-failure-delta or --max-rollback-delta$/,
    ],
  ])('refuses %j', (values, pattern) => {
    expect(() => planFromFlags(values, 'plan', true)).toThrow(UserError);
    expect(() => planFromFlags(values, 'plan', true)).toThrow(pattern);
  });

  it('reads them back after the absolute gates', () => {
    const plan = planOf({
      plan: '1,100',
      bake: '2h',
      'max-failure-delta': '0.5%',
      'max-rollback-delta': '1%',
    });
    expect(describeGates(plan)).toBe(
      '2h per step; halts on failure rate > 5% or rollback rate > 2%, judged from 100 installs; or failure rate > baseline + 0.5 points or rollback rate > baseline + 1 point, judged with 100 baseline installs',
    );
  });

  it('shows them in `updraft status` where the plan is shown', () => {
    const plan = { ...PLAN, gates: { ...PLAN.gates, max_failure_delta: 0.005, min_baseline_installs: 300 } };
    const text = describeStatus(statusView([channel([plannedRollout({ plan })])]), undefined, NOW);
    expect(text).toContain(
      '1.3.0: step 2/5 (5%) of 1% → 5% → 25% → 50% → 100%; 2h per step; halts on failure rate > 2% or rollback rate > 1%, judged from 200 installs; or failure rate > baseline + 0.5 points, judged with 300 baseline installs',
    );
  });

  it('sends them with promote, through the binary', async () => {
    const view = {
      name: 'stable',
      public: true,
      revision: 4,
      issued_at: '2026-11-21T19:00:00Z',
      expires: '2026-11-28T19:00:00Z',
      rollouts: [],
      yanked: [],
    };
    const server = await fakeServer(() => ({ status: 200, body: view }));
    try {
      const args = ['promote', 'demo', '1.3.0', '--channel', 'stable', '--plan', '1,5,100'];
      const result = await runBin([...args, '--max-failure-delta', '0.5%', '--min-baseline-installs', '40'], {
        UPDRAFT_SERVER: server.url,
        UPDRAFT_TOKEN: 't',
      });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      const body = JSON.parse(server.requests[0]?.body.toString() ?? '{}');
      expect(body.plan.gates).toEqual({
        max_failure_rate: 0.05,
        max_rollback_rate: 0.02,
        min_installs: 100,
        max_failure_delta: 0.005,
        min_baseline_installs: 40,
      });
    } finally {
      await server.close();
    }
  });
});
