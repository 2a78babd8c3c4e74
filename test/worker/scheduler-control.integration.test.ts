/** Manual control stays first (docs/rollouts.md): halts, pauses, races and critical releases. */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { judgeRollout } from '../../src/worker/scheduler/rollouts.ts';
import { listPlannedRollouts } from '../../src/worker/storage/rollout-plans.ts';
import { admin, auditCount } from './support/fixtures.ts';
import {
  act,
  appWithRelease,
  HOUR,
  MINUTE,
  plan,
  promotePlanned,
  rollout,
  runAt,
  schedulerAudit,
  seed,
} from './support/scheduler-fixtures.ts';

const isoSeconds = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

describe('manual control over planned rollouts', () => {
  it('never undoes a manual halt: a run that read the rollout before the halt loses its race', async () => {
    const app = await appWithRelease();
    const start = await promotePlanned(app, plan({ gates: { min_installs: 10 } }));
    await seed(app, { installs: 20 }, start, start + 30 * MINUTE);
    const stale = (await listPlannedRollouts(env.DB, 1000)).find((r) => r.app === app);
    if (!stale) throw new Error('the planned rollout is not listed');

    expect((await act(app, 'halt', { reason: 'crash reports' })).status).toBe(200);
    // The run judged "advance" on what it read, but the halt moved the revision: nothing is written.
    expect(await judgeRollout(env, stale, new Date(start + 2 * HOUR))).toBe('conflict');
    await runAt(start + 2 * HOUR);
    await runAt(start + 4 * HOUR);
    expect(await rollout(app)).toMatchObject({ state: 'halted', percent_bp: 100, step: 0, judgement: null });
    expect(await schedulerAudit(app)).toEqual([]);

    // Resuming after a halt restarts the step's bake clock.
    const resumed = await act(app, 'resume');
    expect(resumed.status).toBe(200);
    const view = await rollout(app);
    expect(view).toMatchObject({ state: 'active', step: 0 });
    expect(Date.parse(view.step_started_at ?? '')).toBeGreaterThanOrEqual(start);
  });

  it('advances once when two runs race on the same minute', async () => {
    const app = await appWithRelease();
    const start = await promotePlanned(app, plan({ gates: { min_installs: 10 } }));
    await seed(app, { installs: 20 }, start, start + 30 * MINUTE);
    const { revision } = await rollout(app);

    await Promise.all([runAt(start + HOUR), runAt(start + HOUR)]);
    expect(await rollout(app)).toMatchObject({ percent_bp: 500, step: 1, revision: revision + 1 });
    expect((await schedulerAudit(app)).map((a) => a.action)).toEqual(['rollout.advance']);
  });

  it('freezes a paused plan; resume restarts the bake of the current step', async () => {
    const app = await appWithRelease();
    const start = await promotePlanned(app, plan({ gates: { min_installs: 10 } }));
    // The step began two hours ago and has baked with enough installs: unpaused, it would advance.
    await env.DB.prepare('UPDATE rollouts SET step_started_at = ?2 WHERE app = ?1')
      .bind(app, isoSeconds(start - 2 * HOUR))
      .run();
    await seed(app, { installs: 20 }, start - 2 * HOUR, start - HOUR);
    expect((await act(app, 'pause')).status).toBe(200);
    expect((await rollout(app)).bake_ends_at).toBeNull();

    await runAt(start + MINUTE);
    expect(await rollout(app)).toMatchObject({ state: 'paused', percent_bp: 100, judgement: null });
    expect(await schedulerAudit(app)).toEqual([]);

    expect((await act(app, 'resume')).status).toBe(200);
    const resumed = await rollout(app);
    const clock = Date.parse(resumed.step_started_at ?? '');
    expect(clock).toBeGreaterThanOrEqual(start);
    expect(resumed).toMatchObject({ state: 'active', step: 0, bake_ends_at: isoSeconds(clock + HOUR) });

    // Time paused is not time baked: the step waits its full bake again, then advances.
    await runAt(clock + MINUTE);
    expect((await rollout(app)).judgement).toMatchObject({
      action: 'wait',
      reason: 'baking: 59m left; needs 10 installs, has 0',
    });
    await seed(app, { installs: 20 }, clock + MINUTE, clock + 30 * MINUTE);
    await runAt(clock + HOUR);
    expect(await rollout(app)).toMatchObject({ state: 'active', percent_bp: 500, step: 1 });
  });

  it('complete jumps to the last step at 10000 bp and ends the plan', async () => {
    const app = await appWithRelease();
    const start = await promotePlanned(app, plan({ gates: { min_installs: 10 } }));
    expect((await act(app, 'complete')).status).toBe(200);
    expect(await rollout(app)).toMatchObject({
      state: 'complete',
      percent_bp: 10_000,
      step: 4,
      bake_ends_at: null,
    });
    await seed(app, { installs: 20, failures: 20 }, start, start + 30 * MINUTE);
    await runAt(start + HOUR);
    expect(await schedulerAudit(app)).toEqual([]);
  });
});

describe('critical releases', () => {
  it('skip the plan and go to everyone at once; an ordinary release cannot (409 not_critical)', async () => {
    const app = await appWithRelease(undefined, { critical: true });
    await promotePlanned(app, plan());
    const path = `/apps/${app}/channels/stable/rollouts`;
    const res = await admin(path, { method: 'POST', body: { version: '1.1.0', critical: true } });
    expect(res.status).toBe(200);
    expect(await rollout(app)).toMatchObject({
      state: 'complete',
      percent_bp: 10_000,
      plan: null,
      step: null,
      judgement: null,
    });
    const { body } = await admin<{ entries: { action: string; after: Record<string, unknown> }[] }>(
      `/audit?app=${app}&limit=1`,
    );
    expect(body.entries[0]?.after).toMatchObject({ critical: true, plan_dropped: true, percent_bp: 10_000 });

    const ordinary = await appWithRelease();
    const audits = await auditCount(ordinary);
    const refused = await admin<{ error: { code: string } }>(`/apps/${ordinary}/channels/stable/rollouts`, {
      method: 'POST',
      body: { version: '1.1.0', critical: true },
    });
    expect([refused.status, refused.body.error.code]).toEqual([409, 'not_critical']);
    expect(await auditCount(ordinary)).toBe(audits);

    for (const bad of [
      { version: '1.1.0', critical: true, plan: plan() },
      { version: '1.1.0', critical: true, percent_bp: 500 },
    ]) {
      const r = await admin<{ error: { code: string } }>(path, { method: 'POST', body: bad });
      expect([r.status, r.body.error.code]).toEqual([400, 'invalid_json']);
    }
  });
});
