/**
 * Relative gates (docs/protocol.md §6): the scheduler judges a canary against its baseline, the highest
 * complete release of the channel below it, over the same window, on the interval of the difference.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { randomHex } from '../../src/protocol/encoding.ts';
import { storeEvents } from '../../src/worker/storage/telemetry.ts';
import { admin, promote, publish, signYank } from './support/fixtures.ts';
import {
  appWithRelease,
  HOUR,
  MINUTE,
  plan,
  promotePlanned,
  rollout,
  runAt,
  schedulerAudit,
  seed,
  VERSION,
} from './support/scheduler-fixtures.ts';
import { storedEvent } from './support/telemetry-fixtures.ts';
import { appWithWebhook, deliveries } from './support/webhook-fixtures.ts';

const BASELINE = '1.0.0';

/** Absolute limits loose enough that only the relative gate (0.5 points) can halt. */
const RELATIVE = plan({
  steps_bp: [500, 2500, 10_000],
  gates: { max_failure_rate: 0.2, max_rollback_rate: 0.2, min_installs: 200, max_failure_delta: 0.005 },
});

/** 1.0.0 rolled out to everyone in `stable` and marked complete: the baseline of VERSION. */
async function completeBaseline(app: string): Promise<void> {
  const promoted = await promote(app, 'stable', BASELINE);
  if (promoted.status !== 200) throw new Error(`promote failed: ${promoted.status}`);
  const done = await admin(`/apps/${app}/channels/stable/rollouts/${BASELINE}/complete`, {
    method: 'POST',
    body: {},
  });
  if (done.status !== 200) throw new Error(`complete failed: ${done.status} ${JSON.stringify(done.body)}`);
}

/** Installs of the baseline (from 0.9.0) spread over [from, to), each from a fresh client. */
async function seedBaseline(app: string, installs: number, failures: number, from: number, to: number) {
  const total = installs + failures;
  const at = (i: number) => new Date(from + ((i + 0.5) * (to - from)) / total).toISOString();
  const events = Array.from({ length: total }, (_, i) =>
    storedEvent(app, {
      type: i < failures ? 'install_failed' : 'install_succeeded',
      client_id: `b-${randomHex(8)}`,
      from_version: '0.9.0',
      to_version: BASELINE,
      occurred_at: at(i),
      ...(i < failures && { error_code: 'E_DISK' }),
    }),
  );
  await storeEvents(env.DB, events);
}

describe('relative gates', () => {
  it('halts a canary 2 points worse than its baseline, with both groups in the audit row and the webhook', async () => {
    const { app } = await appWithWebhook();
    await publish(app, BASELINE);
    await publish(app, VERSION);
    await completeBaseline(app);
    const start = await promotePlanned(app, RELATIVE);

    // 2.9 % vs 0.99 %: the difference is 1.9 points, at least 0.73 (95 %), over the allowed 0.5.
    await seed(app, { installs: 1000, failures: 30 }, start, start + 20 * MINUTE);
    await seedBaseline(app, 1000, 10, start, start + 20 * MINUTE);
    await runAt(start + 20 * MINUTE);

    const reason = `failure rate 2.9% vs baseline ${BASELINE} 0.99%: difference ≥ 0.73 points (95 %), over the allowed 0.5 (1000 installs vs 1000)`;
    const halted = await rollout(app);
    expect(halted).toMatchObject({ state: 'halted', percent_bp: 500, judgement: { action: 'halt', reason } });
    const [audit] = await schedulerAudit(app);
    expect(audit).toMatchObject({
      action: 'rollout.halt',
      after: {
        state: 'halted',
        reason,
        figures: {
          installs: 1000,
          failures: 30,
          baseline: { version: BASELINE, installs: 1000, failures: 10, rollbacks: 0 },
          differences: { failure: { value: expect.closeTo(0.0192, 4) }, rollback: { value: 0 } },
        },
      },
    });
    expect(audit?.after.figures.differences?.failure.low).toBeCloseTo(0.00729, 4);
    expect(audit?.after.figures.baseline?.failure_rate.value).toBeCloseTo(10 / 1010, 10);

    const [delivery] = await deliveries(app);
    const body = JSON.parse(delivery?.body ?? '{}');
    expect(body).toMatchObject({ event: 'rollout.halt', reason, figures: audit?.after.figures });
    expect(body.text).toBe(
      `${app} ${VERSION} on stable: halted at 5%: ${reason} (1000 installs, failure rate 2.9% (2–4.1%); baseline ${BASELINE}: 1000 installs, failure rate 0.99% (0.54–1.8%), difference +1.9 points (0.73 to 3.2))`,
    );
  });

  it('advances a canary within the allowed difference', async () => {
    const app = await appWithRelease();
    await completeBaseline(app);
    const start = await promotePlanned(app, RELATIVE);

    // 1.5 % vs 1 %: 0.49 points, within the allowed 0.5.
    await seed(app, { installs: 600, failures: 9 }, start, start + 30 * MINUTE);
    await seedBaseline(app, 600, 6, start, start + 30 * MINUTE);
    await runAt(start + HOUR);

    const moved = await rollout(app);
    expect(moved).toMatchObject({
      state: 'active',
      percent_bp: 2500,
      step: 1,
      judgement: {
        action: 'advance',
        reason: `baked 1h with 600 installs (baseline ${BASELINE}: 600 installs) and no gate clearly breached`,
        figures: { installs: 600, baseline: { version: BASELINE, installs: 600, failures: 6 } },
      },
    });
  });

  it('waits while the baseline has too few installs in the step, then judges once it has them', async () => {
    const app = await appWithRelease();
    await completeBaseline(app);
    const start = await promotePlanned(app, RELATIVE);

    await seed(app, { installs: 1000, failures: 30 }, start, start + 20 * MINUTE);
    await seedBaseline(app, 50, 0, start, start + 20 * MINUTE);
    await runAt(start + 2 * HOUR);
    expect(await rollout(app)).toMatchObject({
      state: 'active',
      percent_bp: 500,
      judgement: {
        action: 'wait',
        reason: `baseline ${BASELINE} needs 200 installs in this step for the relative gates, has 50`,
        figures: { baseline: { installs: 50 } },
      },
    });
    expect(await schedulerAudit(app)).toEqual([]);

    await seedBaseline(app, 950, 10, start + 20 * MINUTE, start + 2 * HOUR);
    await runAt(start + 2 * HOUR + MINUTE);
    expect(await rollout(app)).toMatchObject({ state: 'halted', judgement: { action: 'halt' } });
  });

  it('waits without a baseline (no complete release below the canary), and still halts on an absolute gate', async () => {
    const app = await appWithRelease(); // 1.0.0 is published but never rolled out: no baseline
    const start = await promotePlanned(app, RELATIVE);
    await seed(app, { installs: 300 }, start, start + 20 * MINUTE);
    await runAt(start + 2 * HOUR);
    const waiting = await rollout(app);
    expect(waiting).toMatchObject({
      state: 'active',
      percent_bp: 500,
      judgement: {
        action: 'wait',
        reason: 'no baseline (no complete release below it in the channel): relative gates cannot judge',
      },
    });
    expect(waiting.judgement?.figures.baseline).toBeUndefined();

    await seed(app, { installs: 100, failures: 300 }, start + 2 * HOUR, start + 3 * HOUR);
    await runAt(start + 3 * HOUR);
    expect(await rollout(app)).toMatchObject({
      state: 'halted',
      judgement: { action: 'halt', reason: expect.stringMatching(/clearly over the 20% limit/) },
    });
  });

  it('does not take a yanked release as the baseline', async () => {
    const app = await appWithRelease();
    await publish(app, '1.0.5');
    await completeBaseline(app);
    const promoted = await promote(app, 'stable', '1.0.5');
    expect(promoted.status).toBe(200);
    await admin(`/apps/${app}/channels/stable/rollouts/1.0.5/complete`, { method: 'POST', body: {} });
    const start = await promotePlanned(app, RELATIVE);
    await seed(app, { installs: 300 }, start, start + 20 * MINUTE);
    await runAt(start + 20 * MINUTE);
    expect((await rollout(app)).judgement?.figures.baseline?.version).toBe('1.0.5');

    const yanked = await admin(`/apps/${app}/yanks`, {
      method: 'POST',
      body: { yank: await signYank(app, '1.0.5', BASELINE) },
    });
    expect(yanked.status).toBe(201);
    await runAt(start + 21 * MINUTE);
    expect((await rollout(app)).judgement?.figures.baseline?.version).toBe(BASELINE);
  });
});
