/** The promote API with plans (docs/rollouts.md § HTTP API). */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { admin, type ErrorBody, promote } from './support/fixtures.ts';
import { appWithRelease, plan, promotePlanned, rollout, VERSION } from './support/scheduler-fixtures.ts';

const promoteBody = (app: string, body: object) =>
  admin<ErrorBody>(`/apps/${app}/channels/stable/rollouts`, {
    method: 'POST',
    body: { version: VERSION, ...body },
  });

interface AuditPage {
  entries: { action: string; before: Record<string, unknown> | null; after: Record<string, unknown> }[];
}

describe('promote with a plan', () => {
  it('starts at the first step with the bake clock running, and shows the plan in ChannelView', async () => {
    const app = await appWithRelease();
    const planned = plan({ steps_bp: [50, 1000, 10_000], bake_seconds: 7200 });
    const start = await promotePlanned(app, planned);
    const view = await rollout(app);
    expect(view).toMatchObject({ percent_bp: 50, state: 'active', plan: planned, step: 0, judgement: null });
    expect(Date.parse(view.bake_ends_at ?? '')).toBe(start + 7200_000);
    const { body } = await admin<AuditPage>(`/audit?app=${app}&limit=1`);
    expect(body.entries[0]).toMatchObject({
      action: 'rollout.promote',
      before: null,
      after: { percent_bp: 50, state: 'active', plan: planned, step: 0 },
    });

    // The same promote again (a retry) changes nothing and keeps the bake clock.
    await promotePlanned(app, planned);
    expect(await rollout(app)).toEqual(view);
  });

  it('refuses a plan with percent_bp, a malformed plan, and "default" when the app has none', async () => {
    const app = await appWithRelease();
    const cases: [object, number, string, string?][] = [
      [
        { plan: plan(), percent_bp: 500 },
        400,
        'invalid_json',
        'percent_bp: a plan sets the percentage itself',
      ],
      [
        { plan: plan({ steps_bp: [100, 5000] }) },
        400,
        'invalid_json',
        'plan.steps_bp: must end at 100 % (everyone)',
      ],
      [{ plan: plan({ bake_seconds: 10 }) }, 400, 'invalid_json', 'plan.bake_seconds'],
      [{ plan: 'fastest' }, 400, 'invalid_json', 'plan: must be a plan object or "default"'],
      [{ plan: 'default' }, 400, 'no_default_plan'],
    ];
    for (const [body, status, code, message] of cases) {
      const res = await promoteBody(app, body);
      expect([res.status, res.body.error.code]).toEqual([status, code]);
      if (message) expect(res.body.error.message).toContain(message);
    }
  });

  it('uses the app default plan for "default"', async () => {
    const app = await appWithRelease();
    const planned = plan({ steps_bp: [1000, 10_000], gates: { min_installs: 500 } });
    await env.DB.prepare('UPDATE apps SET default_plan_json = ?2 WHERE name = ?1')
      .bind(app, JSON.stringify(planned))
      .run();
    await promotePlanned(app, 'default');
    expect(await rollout(app)).toMatchObject({ percent_bp: 1000, step: 0, plan: planned });
  });

  it('drops the plan when a manual percentage takes over, and says so in the audit row', async () => {
    const app = await appWithRelease();
    await promotePlanned(app, plan());
    const res = await promote(app, 'stable', VERSION, 2000);
    expect(res.status).toBe(200);
    expect(await rollout(app)).toMatchObject({
      percent_bp: 2000,
      state: 'active',
      plan: null,
      step: null,
      step_started_at: null,
      bake_ends_at: null,
      judgement: null,
    });
    const { body } = await admin<AuditPage>(`/audit?app=${app}&limit=1`);
    expect(body.entries[0]?.before).toMatchObject({ percent_bp: 100, plan: plan(), step: 0 });
    expect(body.entries[0]?.after).toMatchObject({ percent_bp: 2000, plan: null, plan_dropped: true });

    // A new plan restarts from its first step (a restart that lowers the percentage is the operator's call).
    await promotePlanned(app, plan({ steps_bp: [5000, 10_000] }));
    expect(await rollout(app)).toMatchObject({ percent_bp: 5000, step: 0 });
  });

  it('keeps a paused rollout paused when a plan is attached', async () => {
    const app = await appWithRelease();
    expect((await promote(app, 'stable', VERSION, 300)).status).toBe(200);
    await admin(`/apps/${app}/channels/stable/rollouts/${VERSION}/pause`, { method: 'POST', body: {} });
    await promotePlanned(app, plan());
    expect(await rollout(app)).toMatchObject({
      state: 'paused',
      percent_bp: 100,
      step: 0,
      bake_ends_at: null,
    });
  });
});
