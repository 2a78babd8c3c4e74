/** Planned rollouts, health and judgements as the admin API returns them, for rendering tests. */
import type { ChannelView, ReleaseHealth, RolloutView, StatusView } from '../../src/protocol/admin-api.ts';
import { wilson } from '../../src/protocol/wilson.ts';

export const PLAN = {
  steps_bp: [100, 500, 2500, 5000, 10_000],
  bake_seconds: 7200,
  gates: { max_failure_rate: 0.02, max_rollback_rate: 0.01, min_installs: 200 },
};

/** Step 2 (5 %) started at 19:00, baking until 21:00; judged at 19:48 with 57 installs. */
export function plannedRollout(over: Partial<RolloutView> = {}): RolloutView {
  return {
    version: '1.3.0',
    percent_bp: 500,
    state: 'active',
    salt: '00112233445566778899aabbccddeeff',
    created_at: '2026-11-21T17:00:00Z',
    updated_at: '2026-11-21T19:00:00Z',
    plan: PLAN,
    step: 1,
    step_started_at: '2026-11-21T19:00:00Z',
    bake_ends_at: '2026-11-21T21:00:00Z',
    judgement: {
      at: '2026-11-21T19:48:00Z',
      action: 'wait',
      reason: 'baking: 1h12m left',
      figures: {
        window: { from: '2026-11-21T19:00:00Z', to: '2026-11-21T19:48:00Z' },
        installs: 57,
        failures: 1,
        failure_rate: wilson(1, 58),
        rollbacks: 0,
        rollback_rate: wilson(0, 57),
      },
    },
    ...over,
  };
}

export function manualRollout(over: Partial<RolloutView> = {}): RolloutView {
  return {
    version: '1.1.0',
    percent_bp: 10_000,
    state: 'active',
    salt: 'ffeeddccbbaa99887766554433221100',
    created_at: '2026-11-20T10:00:00Z',
    updated_at: '2026-11-20T10:00:00Z',
    plan: null,
    step: null,
    step_started_at: null,
    bake_ends_at: null,
    judgement: null,
    ...over,
  };
}

export function channel(rollouts: RolloutView[], over: Partial<ChannelView> = {}): ChannelView {
  return {
    name: 'stable',
    public: true,
    revision: 9,
    issued_at: '2026-11-21T19:00:00Z',
    expires: '2026-11-28T19:00:00Z',
    rollouts,
    yanked: [],
    ...over,
  };
}

export function statusView(channels: ChannelView[]): StatusView {
  return { app: 'demo', default_channel: 'stable', channels };
}

export function releaseHealth(installs: number, failures: number, rollbacks: number): ReleaseHealth {
  return {
    app: 'demo',
    channel: 'stable',
    version: '1.3.0',
    window: { from: '2026-11-21T19:00:00Z', to: '2026-11-21T19:48:05Z' },
    installs,
    failures,
    failure_rate: wilson(failures, installs + failures),
    rollbacks,
    rollback_rate: wilson(rollbacks, installs),
    adoption: 0.04,
    duration_ms: { p50: 3000, p95: 8000 },
    top_errors: [],
  };
}
