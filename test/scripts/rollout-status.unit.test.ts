import { describe, expect, it } from 'vitest';
import { describeDeliveries } from '../../scripts/commands/app-webhooks.ts';
import { describeStatus } from '../../scripts/commands/status.ts';
import type { WebhookDelivery } from '../../src/protocol/admin-api.ts';
import { fakeServer, runBin } from './helpers.ts';
import { channel, manualRollout, PLAN, plannedRollout, statusView } from './rollout-fixtures.ts';

const NOW = new Date('2026-11-21T19:48:05Z');

describe('status of staged rollouts', () => {
  it('shows the step, the bake time left, what comes next and the last judgement with its figures', () => {
    const text = describeStatus(statusView([channel([plannedRollout(), manualRollout()])]), undefined, NOW);
    expect(text.split('\n').slice(2)).toEqual([
      'Channel stable (default, public, revision 9; snapshot signed 2026-11-21 19:00:00Z, expires 2026-11-28 19:00:00Z)',
      '  VERSION  PERCENT  STATE   UPDATED',
      '  1.3.0    5%       active  2026-11-21 19:00:00Z',
      '  1.1.0    100%     active  2026-11-20 10:00:00Z',
      '  Staged plans:',
      '    1.3.0: step 2/5 (5%) of 1% → 5% → 25% → 50% → 100%; 2h per step; halts on failure rate > 2% or rollback rate > 1%, judged from 200 installs',
      '      next: bakes 1h12m more, then advances to 25% if it has 200 installs and no gate is clearly breached',
      '      last judgement: wait at 2026-11-21 19:48:00Z: baking: 1h12m left',
      '        57 installs · failure rate 1.7% (0.3–9.1%), limit 2% · rollback rate 0% (0–6.3%), limit 1%',
    ]);
  });

  it.each([
    [
      'paused',
      /next: nothing while paused \(`updraft resume` continues this step with its bake clock restarted\)/,
    ],
    ['halted', /next: nothing: halted, offered to nobody new \(`updraft resume` restarts step 2\)/],
    ['complete', /next: nothing: the rollout is complete/],
  ] as const)('says what happens next to a %s rollout', (state, pattern) => {
    const text = describeStatus(statusView([channel([plannedRollout({ state })])]), undefined, NOW);
    expect(text).toMatch(pattern);
  });

  it('says what a clear breach will publish while a rollback plan is armed, and when it has nothing to publish', () => {
    const rollbackPlan = { ...PLAN, on_breach: 'rollback' as const };
    const standby = { yank_sha256: 'ab'.repeat(32), rollback_to: '1.1.0', signed_at: '2026-11-21T17:00:00Z' };
    const armed = describeStatus(
      statusView([channel([plannedRollout({ plan: rollbackPlan, standby_yank: standby })])]),
      undefined,
      NOW,
    );
    expect(armed).toContain(
      '      on breach: rolls its clients back to 1.1.0 (standby yank abababababab…, signed 2026-11-21 17:00:00Z)',
    );
    const baseless = describeStatus(
      statusView([
        channel([plannedRollout({ plan: rollbackPlan, standby_yank: { ...standby, rollback_to: null } })]),
      ]),
      undefined,
      NOW,
    );
    expect(baseless).toContain('on breach: yanks 1.3.0 (no baseline to go back to)');
    const missing = describeStatus(
      statusView([channel([plannedRollout({ plan: rollbackPlan, standby_yank: null })])]),
      undefined,
      NOW,
    );
    expect(missing).toContain('on breach: halts only (no standby yank is stored: promote again with one)');
    // Once it halted (published) or completed (discarded) there is nothing armed to speak of.
    for (const state of ['halted', 'complete'] as const) {
      const done = describeStatus(
        statusView([channel([plannedRollout({ plan: rollbackPlan, state, standby_yank: null })])]),
        undefined,
        NOW,
      );
      expect(done).not.toContain('on breach:');
    }
    // A plan that only halts says nothing more.
    expect(describeStatus(statusView([channel([plannedRollout()])]), undefined, NOW)).not.toContain(
      'on breach:',
    );
  });

  it('says when the scheduler has not judged a new step yet', () => {
    const text = describeStatus(
      statusView([channel([plannedRollout({ step: 0, percent_bp: 100, judgement: null })])]),
      undefined,
      NOW,
    );
    expect(text).toContain('1.3.0: step 1/5 (1%) of');
    expect(text).toContain('last judgement: none yet (the scheduler judges every minute)');
  });

  it('leaves manual rollouts and older servers (no plan fields) as they were', () => {
    const {
      plan: _p,
      step: _s,
      step_started_at: _a,
      bake_ends_at: _b,
      judgement: _j,
      ...old
    } = manualRollout();
    const text = describeStatus(statusView([channel([old])]), undefined, NOW);
    expect(text).not.toContain('Staged plans');
  });
});

describe('updraft app settings and app webhooks', () => {
  it('shows the settings without options, and PUTs only what the options change', async () => {
    const settings = { webhook_url: 'https://hooks.example.com/updraft', default_plan: PLAN };
    const server = await fakeServer((req) => ({
      status: 200,
      body: req.method === 'PUT' ? { ...settings, webhook_secret: 'whsec_0123456789abcdef' } : settings,
    }));
    const env = { UPDRAFT_SERVER: server.url, UPDRAFT_TOKEN: 't' };
    try {
      const shown = await runBin(['app', 'settings', 'demo'], env);
      expect(shown.code).toBe(0);
      expect(shown.stdout).toBe(
        [
          'Settings of demo',
          '  webhook       https://hooks.example.com/updraft',
          '  default plan  1% → 5% → 25% → 50% → 100%, 2h per step; halts on failure rate > 2% or rollback rate > 1%, judged from 200 installs',
          '',
        ].join('\n'),
      );
      const changed = await runBin(
        [
          'app',
          'settings',
          'demo',
          '--webhook-url',
          'https://hooks.example.com/updraft',
          '--default-plan',
          '1,10,100',
          '--bake',
          '30m',
          '--rotate-webhook-secret',
        ],
        env,
      );
      expect(changed.code).toBe(0);
      expect(changed.stdout).toContain('New webhook secret, shown once');
      expect(changed.stdout).toContain('\n  whsec_0123456789abcdef\n');
      await runBin(['app', 'settings', 'demo', '--webhook-url', 'none', '--default-plan', 'none'], env);
      expect(server.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
        'GET /v1/admin/apps/demo/settings',
        'PUT /v1/admin/apps/demo/settings',
        'PUT /v1/admin/apps/demo/settings',
      ]);
      expect(server.requests.slice(1).map((r) => JSON.parse(r.body.toString()) as unknown)).toEqual([
        {
          webhook_url: 'https://hooks.example.com/updraft',
          default_plan: {
            steps_bp: [100, 1000, 10_000],
            bake_seconds: 1800,
            gates: { max_failure_rate: 0.05, max_rollback_rate: 0.02, min_installs: 100 },
          },
          rotate_webhook_secret: true,
        },
        { webhook_url: null, default_plan: null },
      ]);
    } finally {
      await server.close();
    }
  });

  it('refuses a bad option in one line', async () => {
    for (const [args, pattern] of [
      [['--webhook-url', 'hooks.example.com'], /--webhook-url must be an https URL or none/],
      [['--bake', '1h'], /--bake needs --default-plan <steps>/],
      [['--default-plan', 'default'], /--default-plan: plan step "default" is not a percentage/],
      [
        ['--default-plan', 'none', '--min-installs', '9'],
        /--min-installs cannot be combined with --default-plan none/,
      ],
    ] as const) {
      const result = await runBin(['app', 'settings', 'demo', ...args]);
      expect(result.code).toBe(1);
      expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(pattern);
    }
  });

  it('lists recent deliveries with their state', async () => {
    const deliveries: WebhookDelivery[] = [
      {
        id: 3,
        event: 'rollout.halt',
        url: 'https://hooks.example.com/updraft',
        attempts: 2,
        next_attempt_at: '2026-11-21T19:52:00Z',
        last_status: 502,
        last_error: null,
        delivered_at: null,
        created_at: '2026-11-21T19:49:00Z',
      },
      {
        id: 2,
        event: 'rollout.advance',
        url: 'https://hooks.example.com/updraft',
        attempts: 1,
        next_attempt_at: '2026-11-21T19:01:00Z',
        last_status: 200,
        last_error: null,
        delivered_at: '2026-11-21T19:00:01Z',
        created_at: '2026-11-21T19:00:00Z',
      },
    ];
    const server = await fakeServer(() => ({ status: 200, body: { deliveries } }));
    try {
      const result = await runBin(['app', 'webhooks', 'demo', '--limit', '5'], {
        UPDRAFT_SERVER: server.url,
        UPDRAFT_TOKEN: 't',
      });
      expect(result.code).toBe(0);
      expect(server.requests[0]?.url).toBe('/v1/admin/apps/demo/webhooks?limit=5');
      expect(result.stdout.split('\n').slice(0, 3)).toEqual([
        'ID  CREATED               EVENT            ATTEMPTS  STATE                                      URL',
        '3   2026-11-21 19:49:00Z  rollout.halt     2         retry at 2026-11-21 19:52:00Z (last: 502)  https://hooks.example.com/updraft',
        '2   2026-11-21 19:00:00Z  rollout.advance  1         delivered 2026-11-21 19:00:01Z             https://hooks.example.com/updraft',
      ]);
      expect(describeDeliveries('demo', [])).toBe('No webhook deliveries for demo yet.');
    } finally {
      await server.close();
    }
  });
});

describe('status of a yanked release', () => {
  it('shows the rollout of a yanked version as yanked, not as rolling out, and describes no next step', () => {
    const yank = { version: '1.3.0', rollback_to: '1.1.0', reason: 'crash on start' };
    const text = describeStatus(
      statusView([channel([plannedRollout(), manualRollout({ state: 'complete' })], { yanked: [yank] })]),
      undefined,
      NOW,
    );
    expect(text.split('\n').slice(2)).toEqual([
      'Channel stable (default, public, revision 9; snapshot signed 2026-11-21 19:00:00Z, expires 2026-11-28 19:00:00Z)',
      '  VERSION  PERCENT  STATE     UPDATED',
      '  1.3.0    5%       yanked    2026-11-21 19:00:00Z',
      '  1.1.0    100%     complete  2026-11-20 10:00:00Z',
      '  yanked 1.3.0 → 1.1.0: crash on start',
    ]);
  });
});
