import { describe, expect, it } from 'vitest';
import type { Values } from '../../scripts/lib/command.ts';
import { UserError } from '../../scripts/lib/errors.ts';
import { describePlan, PLAN_DEFAULTS, planFromFlags } from '../../scripts/lib/plan-flags.ts';
import { planSchema } from '../../src/protocol/plan.ts';
import { fakeServer, type RunResult, runBin } from './helpers.ts';

function expectOneLine(result: RunResult, pattern: RegExp): void {
  expect(result.code).toBe(1);
  expect(result.stdout).toBe('');
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^updraft: /);
  expect(lines[0]).toMatch(pattern);
}

describe('planFromFlags', () => {
  it('turns --plan and every gate option into the plan object of docs/rollouts.md', () => {
    const values: Values = {
      plan: '1,5,25,50,100',
      bake: '2h',
      'max-failure-rate': '2%',
      'max-rollback-rate': '0.01',
      'min-installs': '200',
    };
    const plan = planFromFlags(values, 'plan', true);
    expect(plan).toEqual({
      steps_bp: [100, 500, 2500, 5000, 10_000],
      bake_seconds: 7200,
      gates: { max_failure_rate: 0.02, max_rollback_rate: 0.01, min_installs: 200 },
    });
    expect(planSchema.safeParse(plan).success).toBe(true);
  });

  it('fills the gates left out with the documented defaults', () => {
    expect(planFromFlags({ plan: '0.5%,10,100', bake: '1h30m' }, 'plan', true)).toEqual({
      steps_bp: [50, 1000, 10_000],
      bake_seconds: 5400,
      gates: {
        max_failure_rate: PLAN_DEFAULTS.max_failure_rate,
        max_rollback_rate: PLAN_DEFAULTS.max_rollback_rate,
        min_installs: PLAN_DEFAULTS.min_installs,
      },
    });
    expect(PLAN_DEFAULTS).toEqual({
      bake_seconds: 3600,
      max_failure_rate: 0.05,
      max_rollback_rate: 0.02,
      min_installs: 100,
    });
  });

  it('passes "default" through, and nothing without --plan', () => {
    expect(planFromFlags({ plan: 'default' }, 'plan', true)).toBe('default');
    expect(planFromFlags({}, 'plan', true)).toBeUndefined();
  });

  it.each<[Values, RegExp]>([
    [{ bake: '2h' }, /^--bake needs --plan <steps>$/],
    [{ 'min-installs': '5', 'max-failure-rate': '1%' }, /^--max-failure-rate, --min-installs needs --plan/],
    [{ plan: 'default', bake: '2h' }, /--bake cannot be combined with --plan default/],
    [{ plan: '1,5,25' }, /^--plan: plan steps must end at 100 % \(everyone\)/],
    [{ plan: '5,1,100' }, /^--plan: plan steps must be strictly increasing/],
    [{ plan: 'half,100' }, /^--plan: plan step "half" is not a percentage/],
    [{ plan: '1,100', bake: '30s' }, /^--bake must be from 1m to 30d, got "30s"$/],
    [{ plan: '1,100', bake: 'soon' }, /^--bake: "soon" is not a duration/],
    [{ plan: '1,100', 'max-failure-rate': '0%' }, /^--max-failure-rate: "0%" is not a rate/],
    [{ plan: '1,100', 'max-rollback-rate': '100%' }, /^--max-rollback-rate: "100%" is not a rate/],
    [{ plan: '1,100', 'min-installs': '0' }, /^--min-installs must be a whole number from 1/],
    [{ plan: '1,100', 'min-installs': '2.5' }, /^--min-installs must be a whole number/],
  ])('refuses %j', (values, pattern) => {
    expect(() => planFromFlags(values, 'plan', true)).toThrow(UserError);
    expect(() => planFromFlags(values, 'plan', true)).toThrow(pattern);
  });

  it('reads a plan back on one line', () => {
    const plan = planFromFlags({ plan: '1,5,25,50,100', bake: '2h', 'max-failure-rate': '2%' }, 'plan', true);
    if (plan === undefined || plan === 'default') throw new Error('no plan');
    expect(describePlan(plan)).toBe(
      '1% → 5% → 25% → 50% → 100%, 2h per step; halts on failure rate > 2% or rollback rate > 2%, judged from 100 installs',
    );
  });
});

describe('promote with a plan, through the binary', () => {
  it.each([
    [['--plan', '1,5,25'], /--plan: plan steps must end at 100 % \(everyone\)/],
    [['--plan', '1,100', '--percent', '5'], /--percent and --plan cannot be combined/],
    [['--plan', '1,100', '--critical'], /--plan and --critical cannot be combined/],
    [['--critical', '--bake', '1h'], /--bake needs --plan <steps>/],
    [['--plan', '1,100', '--bake', '90'], /--bake: "90" is not a duration/],
    [['--plan', '1,100', '--max-failure-rate', 'two'], /--max-failure-rate: "two" is not a rate/],
    [['--plan', 'default', '--min-installs', '5'], /--min-installs cannot be combined with --plan default/],
  ])('refuses %j in one line, before calling the server', async (extra, pattern) => {
    const server = await fakeServer(() => ({ status: 500 }));
    try {
      const result = await runBin(['promote', 'demo', '1.3.0', '--channel', 'stable', ...extra], {
        UPDRAFT_SERVER: server.url,
        UPDRAFT_TOKEN: 't',
      });
      expectOneLine(result, pattern);
      expect(server.requests).toHaveLength(0);
    } finally {
      await server.close();
    }
  });

  it('sends the plan object, the string "default", or critical', async () => {
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
    const env = { UPDRAFT_SERVER: server.url, UPDRAFT_TOKEN: 't' };
    const base = ['promote', 'demo', '1.3.0', '--channel', 'stable'];
    try {
      const planned = await runBin(
        [...base, '--plan', '1,5,25,50,100', '--bake', '2h', '--max-failure-rate', '2%'],
        env,
      );
      expect(planned.stderr).toBe('');
      expect(planned.code).toBe(0);
      await runBin([...base, '--plan', 'default'], env);
      await runBin([...base, '--critical'], env);
      const bodies = server.requests.map((r) => JSON.parse(r.body.toString()) as unknown);
      expect(server.requests.map((r) => `${r.method} ${r.url}`)).toEqual(
        Array(3).fill('POST /v1/admin/apps/demo/channels/stable/rollouts'),
      );
      expect(bodies).toEqual([
        {
          version: '1.3.0',
          plan: {
            steps_bp: [100, 500, 2500, 5000, 10_000],
            bake_seconds: 7200,
            gates: { max_failure_rate: 0.02, max_rollback_rate: 0.02, min_installs: 100 },
          },
        },
        { version: '1.3.0', plan: 'default' },
        { version: '1.3.0', critical: true },
      ]);
    } finally {
      await server.close();
    }
  });
});
