import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { verifyDocument } from '../../src/protocol/jws.ts';
import { onlinePublic, projected } from './support/fixtures.ts';
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
} from './support/scheduler-fixtures.ts';

const iso = (ms: number) => new Date(ms).toISOString();
const isoSeconds = (ms: number) => iso(ms).replace('.000Z', 'Z');
const DAY = 24 * HOUR;

describe('staged rollout scheduler', () => {
  it('walks a healthy release through every step to complete, waiting out each bake', async () => {
    const app = await appWithRelease();
    const steps = [100, 500, 2500, 5000, 10_000];
    let start = await promotePlanned(app, plan({ steps_bp: steps }));
    const first = await rollout(app);
    expect(first).toMatchObject({
      percent_bp: 100,
      state: 'active',
      plan: plan({ steps_bp: steps }),
      step: 0,
      bake_ends_at: isoSeconds(start + HOUR),
      judgement: null,
    });
    let revision = first.revision;

    for (let step = 0; step < 4; step++) {
      await seed(app, { installs: 60 }, start, start + 30 * MINUTE);

      // Half-way through the bake: enough installs, but it waits, and only the judgement changes.
      await runAt(start + 30 * MINUTE);
      const waiting = await rollout(app);
      expect(waiting).toMatchObject({ percent_bp: steps[step], step, revision });
      expect(waiting.judgement).toMatchObject({
        at: isoSeconds(start + 30 * MINUTE),
        action: 'wait',
        reason: 'baking: 30m left',
        figures: { installs: 60, failures: 0, window: { from: iso(start), to: iso(start + 30 * MINUTE) } },
      });
      expect(await schedulerAudit(app)).toHaveLength(step);

      // Bake over: the next step, at the next revision, re-signed and projected.
      const end = start + HOUR;
      await runAt(end);
      const last = step === 3;
      const moved = await rollout(app);
      expect(moved).toMatchObject({
        percent_bp: steps[step + 1],
        state: last ? 'complete' : 'active',
        step: step + 1,
        step_started_at: isoSeconds(end),
        bake_ends_at: last ? null : isoSeconds(end + HOUR),
        revision: revision + 1,
        judgement: { action: last ? 'complete' : 'advance', figures: { installs: 60 } },
      });
      const audit = await schedulerAudit(app);
      expect(audit).toHaveLength(step + 1);
      expect(audit.at(-1)).toMatchObject({
        action: last ? 'rollout.complete' : 'rollout.advance',
        at: isoSeconds(end),
        before: { percent_bp: steps[step], state: 'active', step },
        after: {
          percent_bp: steps[step + 1],
          step: step + 1,
          reason: 'baked 1h with 60 installs and no gate clearly breached',
          figures: {
            installs: 60,
            failures: 0,
            failure_rate: { value: 0, low: 0 },
            rollbacks: 0,
            window: { from: iso(start), to: iso(end) },
          },
        },
      });
      const kv = await projected(app, 'stable');
      expect(kv?.payload.revision).toBe(revision + 1);
      expect(kv?.payload.releases[0]?.rollout).toMatchObject({
        percent_bp: steps[step + 1],
        state: last ? 'complete' : 'active',
      });
      revision += 1;
      start = end;
    }

    // Complete: nothing is judged any more.
    await runAt(start + 3 * HOUR);
    expect(await schedulerAudit(app)).toHaveLength(4);
    expect((await rollout(app)).revision).toBe(revision);
  });

  it('halts a clearly failing release at the first judgement with enough installs, not before', async () => {
    const app = await appWithRelease();
    const start = await promotePlanned(app, plan({ gates: { min_installs: 200 } }));

    // 38 failures in 188 attempts (20 %), but only 150 installs: not judged yet.
    await seed(app, { installs: 150, failures: 38 }, start, start + 10 * MINUTE);
    await runAt(start + 10 * MINUTE);
    expect(await rollout(app)).toMatchObject({
      state: 'active',
      percent_bp: 100,
      judgement: { action: 'wait', reason: 'baking: 50m left; needs 200 installs, has 150' },
    });

    // 200 installs, 50 failures: [15.5–25.4 %] is clearly over 2 %, even with the bake unfinished.
    await seed(app, { installs: 50, failures: 12 }, start + 10 * MINUTE, start + 20 * MINUTE);
    await runAt(start + 20 * MINUTE);
    const halted = await rollout(app);
    expect(halted).toMatchObject({ state: 'halted', percent_bp: 100, step: 0, bake_ends_at: null });
    const reason = 'failure rate 20% (16–25%) is clearly over the 2% limit (200 installs)';
    expect(halted.judgement).toMatchObject({ action: 'halt', reason });
    const audit = await schedulerAudit(app);
    expect(audit).toEqual([
      expect.objectContaining({
        action: 'rollout.halt',
        before: { percent_bp: 100, state: 'active', step: 0 },
        after: expect.objectContaining({
          percent_bp: 100,
          state: 'halted',
          reason,
          figures: expect.objectContaining({ installs: 200, failures: 50 }),
        }),
      }),
    ]);
    // The halt reached the signed snapshot: a halted release no yank falls back to offers nothing,
    // so the pruned snapshot (docs/protocol.md §2) no longer lists it.
    expect((await projected(app, 'stable'))?.payload.releases).toEqual([]);

    // Halted stays halted.
    await runAt(start + 3 * HOUR);
    expect((await rollout(app)).state).toBe('halted');
    expect(await schedulerAudit(app)).toHaveLength(1);
  });

  it('halts on a clear rollback-rate breach', async () => {
    const app = await appWithRelease();
    const start = await promotePlanned(app, plan({ gates: { min_installs: 100 } }));
    // 12 of 120 clients rolled back: 10 % [5.8–16.7 %] over the 1 % limit.
    await seed(app, { installs: 120, rollbacks: 12 }, start, start + 20 * MINUTE);
    await runAt(start + 20 * MINUTE);
    expect(await rollout(app)).toMatchObject({
      state: 'halted',
      judgement: { action: 'halt', reason: expect.stringMatching(/^rollback rate 10% \(/) },
    });
  });

  it('waits on a borderline rate rather than halting, and advances at bake end (no clear breach)', async () => {
    const app = await appWithRelease();
    const start = await promotePlanned(app, plan({ gates: { min_installs: 40 } }));
    // 2 failures in 42 attempts: 4.8 % is over the 2 % limit, but its interval [1.3–15.8 %] reaches under it.
    await seed(app, { installs: 40, failures: 2 }, start, start + 20 * MINUTE);

    await runAt(start + 30 * MINUTE);
    const waiting = await rollout(app);
    expect(waiting).toMatchObject({ state: 'active', percent_bp: 100, judgement: { action: 'wait' } });
    const rate = waiting.judgement?.figures.failure_rate;
    expect(rate?.value).toBeGreaterThan(0.02);
    expect(rate?.low).toBeLessThan(0.02);

    await runAt(start + HOUR);
    expect(await rollout(app)).toMatchObject({ state: 'active', percent_bp: 500, step: 1 });
    const [advance] = await schedulerAudit(app);
    expect(advance?.action).toBe('rollout.advance');
    expect(advance?.after.reason).toBe(
      'baked 1h with 40 installs and no gate clearly breached; failure rate 4.8% (1.3–16%) is over the 2% limit but not clearly',
    );
    expect(advance?.after.figures.failure_rate.value).toBeGreaterThan(0.02);
  });

  it('still re-signs a snapshot close to expiry, with a higher revision, while a plan waits', async () => {
    const app = await appWithRelease();
    const start = await promotePlanned(app, plan());
    const { revision } = await rollout(app);

    const later = start + 6.5 * DAY;
    await runAt(later);
    const after = await rollout(app);
    // The wait changes only the judgement; the re-signing moves the revision by one.
    expect(after.revision).toBe(revision + 1);
    expect(after.judgement).toMatchObject({ action: 'wait', reason: 'needs 50 installs, has 0' });
    const kv = await projected(app, 'stable');
    const payload = await verifyDocument('channel', kv?.snapshot ?? '', [onlinePublic()], {
      now: new Date(later),
    });
    expect(payload.revision).toBe(revision + 1);
    expect(Date.parse(payload.expires)).toBe(Math.floor(later / 1000) * 1000 + 7 * DAY);
    const resign = await env.DB.prepare(
      "SELECT count(*) AS n FROM audit WHERE app = ?1 AND action = 'channel.resign'",
    )
      .bind(app)
      .first<{ n: number }>();
    expect(resign?.n).toBe(1);
  });
});
