/**
 * Automatic rollback (docs/protocol.md §6, docs/rollouts.md § Automatic rollback): a plan with
 * `on_breach: rollback` carries a standby yank signed with the release key at promote time. It is
 * sealed until a gate breach is clear; then the scheduler halts the rollout and publishes it, and a
 * client on the bad release, run by the real SDK, verifies the yank and goes back to the baseline.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/protocol/encoding.ts';
import { signDocument, verifyDocument } from '../../src/protocol/jws.ts';
import { generateKeyPair } from '../../src/protocol/keys.ts';
import type { Plan } from '../../src/protocol/plan.ts';
import { clearStateCache } from '../../src/worker/storage/state-cache.ts';
import {
  admin,
  bootstrapKeys,
  call,
  type ErrorBody,
  onlinePublic,
  projected,
  promote,
  publish,
  signYank,
} from './support/fixtures.ts';
import {
  appWithRelease,
  HOUR,
  MINUTE,
  plan,
  rollout,
  runAt,
  schedulerAudit,
  seed,
  VERSION,
} from './support/scheduler-fixtures.ts';
import { workerUpdater } from './support/updater.ts';
import { inbox } from './support/webhook-fixtures.ts';

const rollbackPlan = (overrides: Partial<Plan> = {}): Plan => ({
  ...plan({ steps_bp: [500, 10_000] }),
  on_breach: 'rollback',
  ...overrides,
});

const yankRows = async (app: string) =>
  (
    await env.DB.prepare('SELECT version, rollback_to, yank_jws FROM yanks WHERE app = ?1')
      .bind(app)
      .all<{ version: string; rollback_to: string | null; yank_jws: string }>()
  ).results;

const standbyRows = async (app: string) =>
  (
    await env.DB.prepare('SELECT channel, version, rollback_to FROM standby_yanks WHERE app = ?1')
      .bind(app)
      .all<{ channel: string; version: string; rollback_to: string | null }>()
  ).results;

const auditActions = async (app: string) =>
  (
    await env.DB.prepare('SELECT actor, action, target, after_json FROM audit WHERE app = ?1 ORDER BY id')
      .bind(app)
      .all<{ actor: string; action: string; target: string; after_json: string }>()
  ).results;

/** 1.0.0 complete on stable (the baseline), then VERSION promoted with a rollback plan and its standby yank. */
async function promoteWithStandby(): Promise<string> {
  const app = await appWithRelease();
  expect((await promote(app, 'stable', '1.0.0')).status).toBe(200);
  const res = await promote(app, 'stable', VERSION, undefined, {
    percent_bp: undefined,
    plan: rollbackPlan(),
    standby_yank: await signYank(app, VERSION, '1.0.0', 'standby'),
  });
  expect(res.status).toBe(200);
  return app;
}

async function check(app: string, version: string) {
  clearStateCache();
  const res = await call(
    `/v1/apps/${app}/check?client_id=client-1&version=${version}&platform=linux&arch=x64`,
    { token: null },
  );
  expect(res.status).toBe(200);
  return { text: await res.clone().text(), body: (await res.json()) as Record<string, unknown> };
}

describe('automatic rollback with a standby yank', () => {
  it('keeps the standby yank sealed, then on a clear breach halts and publishes it: the SDK rolls back', async () => {
    const app = await appWithRelease();
    expect((await promote(app, 'stable', '1.0.0')).status).toBe(200);
    const standby = await signYank(app, VERSION, '1.0.0', 'automatic rollback');
    const res = await promote(app, 'stable', VERSION, undefined, {
      percent_bp: undefined,
      plan: rollbackPlan(),
      standby_yank: standby,
    });
    expect(res.status).toBe(200);
    const armed = await rollout(app);
    const started = Date.parse(armed.step_started_at ?? '');
    expect(await standbyRows(app)).toEqual([{ channel: 'stable', version: VERSION, rollback_to: '1.0.0' }]);

    // Sealed: in no table clients read, no snapshot, no R2 object, no check answer.
    const digest = await sha256Hex(standby);
    // The rollout's view says it is armed (hash and target only, never the document).
    expect(armed.standby_yank).toEqual({
      yank_sha256: digest,
      rollback_to: '1.0.0',
      signed_at: expect.any(String),
    });
    const sealed = await projected(app, 'stable');
    expect(JSON.stringify(sealed)).not.toContain(digest);
    expect(JSON.stringify(sealed)).not.toContain(standby);
    expect(sealed?.payload.yanked).toEqual([]);
    expect(await yankRows(app)).toEqual([]);
    expect(await env.BUCKET.get(`manifests/${app}/yanks/${VERSION}.jws`)).toBeNull();
    const before = await check(app, VERSION);
    expect(before.body).toMatchObject({ status: 'none', yanked: false });
    expect(before.text).not.toContain(digest);

    // A clear breach: 10 failures in 60 attempts against a 2 % limit.
    await seed(app, { installs: 50, failures: 10 }, started, started + 10 * MINUTE);
    await runAt(started + 10 * MINUTE);

    const halted = await rollout(app);
    expect(halted).toMatchObject({ state: 'halted', percent_bp: 500, standby_yank: null });
    expect(halted.judgement?.action).toBe('halt');
    expect(halted.judgement?.reason).toMatch(
      /^failure rate .* is clearly over the 2% limit \(50 installs\); rolled back: clients on 1\.1\.0 go back to 1\.0\.0 \(standby yank published\)$/,
    );
    // The D1 yank row is the standby, byte for byte; the standby row is gone.
    expect(await yankRows(app)).toEqual([{ version: VERSION, rollback_to: '1.0.0', yank_jws: standby }]);
    expect(await standbyRows(app)).toEqual([]);
    expect(await env.BUCKET.get(`manifests/${app}/yanks/${VERSION}.jws`).then((o) => o?.text())).toBe(
      standby,
    );
    const kv = await projected(app, 'stable');
    const snapshot = await verifyDocument('channel', kv?.snapshot ?? '', [onlinePublic()]);
    expect(snapshot.yanked).toEqual([{ version: VERSION, yank_sha256: digest, rollback_to: '1.0.0' }]);
    expect(snapshot.revision).toBe(halted.revision);
    expect(kv?.yanks).toEqual({ [VERSION]: standby });

    const [row] = (await schedulerAudit(app)).slice(-1);
    expect(row).toMatchObject({
      action: 'rollout.rollback',
      after: {
        state: 'halted',
        reason: halted.judgement?.reason,
        figures: { installs: 50, failures: 10 },
        yank: { version: VERSION, rollback_to: '1.0.0', yank_sha256: digest },
      },
    });
    const status = await admin<{ channels: { name: string; yanked: unknown[] }[] }>(`/apps/${app}/status`);
    expect(status.body.channels[0]?.yanked).toEqual([
      { version: VERSION, rollback_to: '1.0.0', reason: 'automatic rollback' },
    ]);

    // A client on the bad release, run by the SDK: it verifies the snapshot and the yank itself.
    const keys = await bootstrapKeys();
    const client = workerUpdater(keys, app, VERSION, {
      // The scheduler ran (and signed the snapshot) at the breach's time, ten minutes ahead.
      now: () => new Date(started + 11 * MINUTE),
    });
    clearStateCache();
    const result = await client.check();
    expect(result).toMatchObject({ status: 'rollback', version: '1.0.0', mandatory: true });
    expect((await check(app, VERSION)).body).toMatchObject({ status: 'rollback', version: '1.0.0' });
  });

  it('says so in the webhook text and its rollback field', async () => {
    const app = await promoteWithStandby();
    const box = inbox();
    await admin(`/apps/${app}/settings`, { method: 'PUT', body: { webhook_url: box.url } });
    const armed = await rollout(app);
    const started = Date.parse(armed.step_started_at ?? '');
    await seed(app, { installs: 50, failures: 10 }, started, started + 10 * MINUTE);
    await runAt(started + 10 * MINUTE);
    const [posted] = await box.received();
    const body = JSON.parse(posted?.body ?? '{}');
    expect(body).toMatchObject({ event: 'rollout.halt', app, version: VERSION, to_bp: 500 });
    expect(body.rollback).toEqual({ rollback_to: '1.0.0', yank_sha256: armed.standby_yank?.yank_sha256 });
    expect(body.text).toMatch(
      new RegExp(
        `^${app} 1\\.1\\.0 on stable: halted and rolled back to 1\\.0\\.0 at 5%: failure rate .*; rolled back: clients on 1\\.1\\.0 go back to 1\\.0\\.0`,
      ),
    );
  });

  it('discards the standby yank when the rollout completes', async () => {
    const app = await promoteWithStandby();
    const armed = await rollout(app);
    expect(armed.standby_yank?.rollback_to).toBe('1.0.0');
    const started = Date.parse(armed.step_started_at ?? '');
    await seed(app, { installs: 60 }, started, started + 30 * MINUTE);
    await runAt(started + HOUR);
    expect(await rollout(app)).toMatchObject({ state: 'complete', percent_bp: 10_000, standby_yank: null });
    expect(await standbyRows(app)).toEqual([]);
    expect(await yankRows(app)).toEqual([]);
    const discard = (await auditActions(app)).filter((r) => r.action === 'rollout.standby_discard');
    expect(discard).toMatchObject([{ actor: 'scheduler', target: `stable/${VERSION}` }]);
    expect(JSON.parse(discard[0]?.after_json ?? '{}')).toEqual({ reason: 'the rollout completed' });
  });

  it('discards the standby yank on a manual yank of the version', async () => {
    const app = await promoteWithStandby();
    const manual = await signYank(app, VERSION, '1.0.0', 'by hand');
    expect((await admin(`/apps/${app}/yanks`, { method: 'POST', body: { yank: manual } })).status).toBe(201);
    expect(await standbyRows(app)).toEqual([]);
    expect(await yankRows(app)).toEqual([{ version: VERSION, rollback_to: '1.0.0', yank_jws: manual }]);
    const discard = (await auditActions(app)).filter((r) => r.action === 'rollout.standby_discard');
    expect(discard).toHaveLength(1);
  });

  it('only halts, saying why, when the standby yank no longer holds (its target was yanked since)', async () => {
    const app = await appWithRelease();
    await publish(app, '1.0.5');
    await promote(app, 'stable', '1.0.5');
    const ok = await promote(app, 'stable', VERSION, undefined, {
      percent_bp: undefined,
      plan: rollbackPlan(),
      standby_yank: await signYank(app, VERSION, '1.0.5'),
    });
    expect(ok.status).toBe(200);
    const yanked = await admin(`/apps/${app}/yanks`, {
      method: 'POST',
      body: { yank: await signYank(app, '1.0.5', '1.0.0') },
    });
    expect(yanked.status).toBe(201);
    const started = Date.parse((await rollout(app)).step_started_at ?? '');
    await seed(app, { installs: 50, failures: 10 }, started, started + 10 * MINUTE);
    await runAt(started + 10 * MINUTE);
    const halted = await rollout(app);
    expect(halted.state).toBe('halted');
    expect(halted.judgement?.reason).toMatch(
      /; not rolled back: its standby yank was not published: rollback_to 1\.0\.5 must be a registered, not yanked release lower than 1\.1\.0$/,
    );
    expect((await yankRows(app)).map((y) => y.version)).toEqual(['1.0.5']);
    expect((await schedulerAudit(app)).at(-1)?.action).toBe('rollout.halt');
    // The standby stays sealed: a person may still yank the release by hand.
    expect(await standbyRows(app)).toEqual([{ channel: 'stable', version: VERSION, rollback_to: '1.0.5' }]);
  });

  it('refuses a promote whose standby yank is missing, invalid, for another version or unasked for', async () => {
    const app = await appWithRelease();
    await promote(app, 'stable', '1.0.0');
    await publish(app, '1.2.0');
    const stranger = (await generateKeyPair()).privateJwk;
    const foreign = await signDocument(
      'yank',
      { app, version: VERSION, reason: 'x', rollback_to: '1.0.0', yanked_at: '2026-11-21T12:00:00Z' },
      stranger,
    );
    const cases: [Plan, string | undefined, string][] = [
      [rollbackPlan(), undefined, 'standby_yank_required'],
      [rollbackPlan(), foreign, 'unknown_key'],
      [rollbackPlan(), await signYank(app, '1.2.0', '1.0.0'), 'standby_yank_mismatch'],
      [rollbackPlan(), await signYank(app, VERSION, '1.2.0'), 'invalid_rollback_target'],
      [rollbackPlan({ on_breach: 'halt' }), await signYank(app, VERSION, '1.0.0'), 'unexpected_standby_yank'],
      [plan({ steps_bp: [500, 10_000] }), await signYank(app, VERSION, '1.0.0'), 'unexpected_standby_yank'],
    ];
    for (const [planned, standby, code] of cases) {
      const res = await admin<ErrorBody>(`/apps/${app}/channels/stable/rollouts`, {
        method: 'POST',
        body: { version: VERSION, plan: planned, ...(standby !== undefined && { standby_yank: standby }) },
      });
      expect([res.status, res.body.error.code]).toEqual([400, code]);
    }
    expect(await standbyRows(app)).toEqual([]);
    // Without on_breach, a plan reads as before: no standby needed.
    expect(
      (await promote(app, 'stable', VERSION, undefined, { percent_bp: undefined, plan: plan() })).status,
    ).toBe(200);
  });
});
