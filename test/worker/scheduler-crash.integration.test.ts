/**
 * Crash gates (issue 14's "Done when"): a staged rollout whose crash-free users fall clearly below
 * its baseline's halts by itself, and with `on_breach: rollback` publishes its standby yank. Session
 * reports are stored by the consumer's write path (storeEvents) as in telemetry-sessions.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { Plan } from '../../src/protocol/plan.ts';
import { sessionEventId } from '../../src/protocol/telemetry.ts';
import { storeEvents } from '../../src/worker/storage/telemetry.ts';
import type { StoredEvent } from '../../src/worker/storage/telemetry-sql.ts';
import { admin, promote, publish, signYank } from './support/fixtures.ts';
import { HOUR, plan, rollout, runAt, schedulerAudit, seed, VERSION } from './support/scheduler-fixtures.ts';
import { appWithWebhook, deliveries } from './support/webhook-fixtures.ts';

const BASELINE = '1.0.0';

/** Install gates loose enough that only the crash delta (0.5 points of crashed users) can halt. */
const CRASH: Plan = plan({
  steps_bp: [500, 2500, 10_000],
  gates: { max_failure_rate: 0.2, max_rollback_rate: 0.2, min_installs: 200, max_crash_delta: 0.005 },
});

/** 1.0.0 rolled out to everyone in `stable` and marked complete: the baseline of VERSION. */
async function completeBaseline(app: string): Promise<void> {
  expect((await promote(app, 'stable', BASELINE)).status).toBe(200);
  const done = await admin(`/apps/${app}/channels/stable/rollouts/${BASELINE}/complete`, {
    method: 'POST',
    body: {},
  });
  expect(done.status).toBe(200);
}

/** VERSION promoted with `planned` (and a standby yank to the baseline when it rolls back); its step start (ms). */
async function promoteCanary(app: string, planned: Plan): Promise<number> {
  const standby =
    planned.on_breach === 'rollback'
      ? { standby_yank: await signYank(app, VERSION, BASELINE, 'crashes') }
      : {};
  const res = await promote(app, 'stable', VERSION, undefined, {
    percent_bp: undefined,
    plan: planned,
    ...standby,
  });
  expect(res.status).toBe(200);
  return Date.parse((await rollout(app)).step_started_at ?? '');
}

/**
 * Hourly session reports of `version` in the hour starting at `hour` (ms): `clients` clients with 3
 * sessions each, of whom the first `crashed` had one crash.
 */
async function seedSessions(app: string, version: string, hour: number, clients: number, crashed: number) {
  const at = new Date(hour).toISOString();
  const events: StoredEvent[] = await Promise.all(
    Array.from({ length: clients }, async (_, i) => {
      const client = `${version}-s${i}`;
      return {
        id: await sessionEventId(app, client, version, at),
        type: 'session' as const,
        app,
        client_id: client,
        channel: 'stable',
        from_version: version,
        platform: 'linux',
        arch: 'x64',
        sessions: { ok: i < crashed ? 2 : 3, errored: 0, crashed: i < crashed ? 1 : 0, abnormal: 0 },
        occurred_at: at,
        received_at: at,
      };
    }),
  );
  await storeEvents(env.DB, events);
}

/** A canary whose users crash 8 % of the time against its baseline's 1 %, seeded in the first full hour of its step. */
async function crashingCanary(app: string, start: number): Promise<number> {
  const hour = Math.ceil(start / HOUR) * HOUR;
  await seed(app, { installs: 400 }, start, hour);
  await seedSessions(app, VERSION, hour, 500, 40);
  await seedSessions(app, BASELINE, hour, 500, 5);
  return hour + HOUR;
}

describe('crash gates', () => {
  it('halts a canary whose crash-free users are clearly below its baseline’s, with both groups’ sessions in the audit row and webhook', async () => {
    const { app } = await appWithWebhook();
    await publish(app, BASELINE);
    await publish(app, VERSION);
    await completeBaseline(app);
    const start = await promoteCanary(app, CRASH);
    await runAt(await crashingCanary(app, start));

    const halted = await rollout(app);
    expect(halted).toMatchObject({ state: 'halted', percent_bp: 500, judgement: { action: 'halt' } });
    const reason = halted.judgement?.reason ?? '';
    expect(reason).toMatch(
      /^crashed-users rate 8% vs baseline 1\.0\.0 1%: difference ≥ \d\.\d+ points \(95 %\), over the allowed 0\.5 \(40 of 500 users in 1500 sessions vs 5 of 500 in 1500\)$/,
    );

    const [audit] = await schedulerAudit(app);
    const sessions = (crashed: number) => ({ total: 1500, crashed, clients: 500, crashed_clients: crashed });
    expect(audit).toMatchObject({
      action: 'rollout.halt',
      after: {
        reason,
        figures: {
          installs: 400,
          sessions: sessions(40),
          crashed_users_rate: { value: 0.08 },
          baseline: { version: BASELINE, sessions: sessions(5), crashed_users_rate: { value: 0.01 } },
          differences: { crashed_users: { value: expect.closeTo(0.07, 10) } },
        },
      },
    });
    expect(audit?.after.figures.differences?.crashed_users?.low).toBeGreaterThan(0.005);
    expect(audit?.after.figures.differences?.crashed_sessions?.value).toBeCloseTo(35 / 1500, 10);

    const [delivery] = await deliveries(app);
    const body = JSON.parse(delivery?.body ?? '{}');
    expect(body).toMatchObject({ event: 'rollout.halt', reason, figures: audit?.after.figures });
    expect(body.text).toContain(`; baseline ${BASELINE}: 0 installs, failure rate –, difference `);
    expect(body.text).toMatch(/, 1500 sessions, crash rate 2\.7% .*, crashed users 8% .*; baseline/);
    expect(body.text).toMatch(
      /, 1500 sessions, crash rate 0\.33% .*, crashed users 1% \([^)]*\), difference \+7 points/,
    );
  });

  it('with on_breach rollback, halts and publishes the standby yank back to the baseline', async () => {
    const { app } = await appWithWebhook();
    await publish(app, BASELINE);
    await publish(app, VERSION);
    await completeBaseline(app);
    const start = await promoteCanary(app, { ...CRASH, on_breach: 'rollback' });
    await runAt(await crashingCanary(app, start));

    const halted = await rollout(app);
    expect(halted.state).toBe('halted');
    expect(halted.judgement?.reason).toMatch(
      /^crashed-users rate 8% vs baseline .*; rolled back: clients on 1\.1\.0 go back to 1\.0\.0 \(standby yank published\)$/,
    );
    const yanks = await env.DB.prepare('SELECT version, rollback_to FROM yanks WHERE app = ?1')
      .bind(app)
      .all();
    expect(yanks.results).toEqual([{ version: VERSION, rollback_to: BASELINE }]);
    const [audit] = await schedulerAudit(app);
    expect(audit).toMatchObject({
      action: 'rollout.rollback',
      after: { figures: { baseline: { version: BASELINE } }, yank: { rollback_to: BASELINE } },
    });
  });

  it('waits while the baseline has too few sessions in the step', async () => {
    const { app } = await appWithWebhook();
    await publish(app, BASELINE);
    await publish(app, VERSION);
    await completeBaseline(app);
    const start = await promoteCanary(app, CRASH);
    const hour = Math.ceil(start / HOUR) * HOUR;
    await seed(app, { installs: 400 }, start, hour);
    await seedSessions(app, VERSION, hour, 500, 40);
    await seedSessions(app, BASELINE, hour, 20, 0);
    await runAt(hour + HOUR);
    expect(await rollout(app)).toMatchObject({
      state: 'active',
      judgement: {
        action: 'wait',
        reason: `baseline ${BASELINE} needs 100 sessions in this step for the crash gate, has 60`,
      },
    });
    expect(await schedulerAudit(app)).toEqual([]);
  });
});
