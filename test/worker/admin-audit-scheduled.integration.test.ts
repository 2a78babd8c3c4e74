import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { verifyDocument } from '../../src/protocol/jws.ts';
import { errorFor } from '../../src/worker/http/error-handling.ts';
import worker from '../../src/worker/index.ts';
import { runScheduled } from '../../src/worker/scheduler/scheduled.ts';
import { auditStatement } from '../../src/worker/storage/audit.ts';
import { bumpChannel, commit, RevisionConflict } from '../../src/worker/storage/revisions.ts';
import {
  admin,
  auditCount,
  createApp,
  type ErrorBody,
  onlinePublic,
  projected,
  promote,
  publish,
} from './support/fixtures.ts';

interface AuditPage {
  entries: {
    id: number;
    at: string;
    actor: string;
    action: string;
    app: string;
    target: string;
    before: unknown;
    after: unknown;
  }[];
  next_before?: number;
}

const DAY = 24 * 3600 * 1000;

describe('audit log', () => {
  it('records who changed what, with before and after, newest first and paged', async () => {
    const app = await createApp();
    await publish(app, '1.0.0');
    await promote(app, 'stable', '1.0.0', 100);
    await promote(app, 'stable', '1.0.0', 2000);

    const all = await admin<AuditPage>(`/audit?app=${app}`);
    expect(all.body.entries.map((e) => e.action)).toEqual([
      'rollout.promote',
      'rollout.promote',
      'release.register',
      'artifact.upload',
      'app.create',
    ]);
    const latest = all.body.entries[0];
    expect(latest).toMatchObject({ actor: 'bootstrap', app, target: 'stable/1.0.0' });
    expect(latest?.before).toMatchObject({ percent_bp: 100, state: 'active' });
    expect(latest?.after).toMatchObject({ percent_bp: 2000, state: 'active' });
    expect(latest?.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(all.body.next_before).toBeUndefined();

    const page1 = await admin<AuditPage>(`/audit?app=${app}&limit=2`);
    expect(page1.body.entries).toEqual(all.body.entries.slice(0, 2));
    const page2 = await admin<AuditPage>(`/audit?app=${app}&limit=2&before=${page1.body.next_before}`);
    expect(page2.body.entries).toEqual(all.body.entries.slice(2, 4));
    const page3 = await admin<AuditPage>(`/audit?app=${app}&limit=2&before=${page2.body.next_before}`);
    expect(page3.body.entries).toEqual(all.body.entries.slice(4));
    expect(page3.body.next_before).toBeUndefined();

    for (const query of ['limit=0', 'limit=abc', 'before=-1', 'app=Not_An_App']) {
      const res = await admin<ErrorBody>(`/audit?${query}`);
      expect([res.status, res.body.error.code]).toEqual([400, 'invalid_query']);
    }
  });
});

describe('revision guard', () => {
  it('rolls back the whole batch when a guarded UPDATE matched no row', async () => {
    const app = await createApp();
    const now = new Date();
    const audit = auditStatement(
      env.DB,
      { actor: 't', action: 'guard.test', app, target: null, before: null, after: null },
      'x',
    );
    const audits = await auditCount(app);
    await expect(
      commit(env.DB, [...bumpChannel(env.DB, app, 'stable', 7, now), audit], false),
    ).rejects.toMatchObject({ name: 'RevisionConflict', stale: false });
    await expect(
      commit(env.DB, [...bumpChannel(env.DB, app, 'stable', 7, now), audit], true),
    ).rejects.toMatchObject({ name: 'RevisionConflict', stale: true });
    // The HTTP layer answers either as 409, in the one error shape.
    const request = new Request('https://updraft.test/v1/admin/x');
    for (const [stale, code] of [
      [false, 'conflict'],
      [true, 'stale_revision'],
    ] as const) {
      const response = errorFor(new RevisionConflict(stale), request, env);
      expect(response.status).toBe(409);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe(code);
    }
    // Two channels in one batch: the first guard passes, the second fails, and the first bump is undone too.
    const other = await createApp();
    await expect(
      commit(
        env.DB,
        [
          ...bumpChannel(env.DB, app, 'stable', 1, now),
          ...bumpChannel(env.DB, other, 'stable', 9, now),
          audit,
        ],
        false,
      ),
    ).rejects.toMatchObject({ name: 'RevisionConflict', stale: false });
    const row = await env.DB.prepare('SELECT revision FROM channels WHERE app = ?1')
      .bind(app)
      .first<{ revision: number }>();
    expect(row?.revision).toBe(1);
    expect(await auditCount(app)).toBe(audits);
    expect(await env.DB.prepare('SELECT count(*) AS n FROM revision_guard').first<{ n: number }>()).toEqual({
      n: 0,
    });

    await commit(env.DB, [...bumpChannel(env.DB, app, 'stable', 1, now), audit], false);
    expect(await auditCount(app)).toBe(audits + 1);
  });
});

describe('scheduler', () => {
  it('re-signs a snapshot once it is a day old, with a higher revision', async () => {
    const app = await createApp();
    await publish(app, '1.0.0');
    await promote(app, 'stable', '1.0.0', 300);
    const before = await projected(app, 'stable');
    expect(before?.payload.revision).toBe(2);

    // Not yet due: nothing happens.
    await runScheduled(env, new Date());
    expect((await projected(app, 'stable'))?.snapshot).toBe(before?.snapshot);

    // Just under a day later it is still fresh enough: nothing happens.
    await runScheduled(env, new Date(Date.now() + 0.9 * DAY));
    expect((await projected(app, 'stable'))?.snapshot).toBe(before?.snapshot);

    // A day and a half later the snapshot is over a day old: the cron re-signs it (docs/protocol.md §2: daily).
    const later = new Date(Date.now() + 1.5 * DAY);
    const controller = createScheduledController({ scheduledTime: later, cron: '* * * * *' });
    const ctx = createExecutionContext();
    worker.scheduled(controller, env, ctx);
    await waitOnExecutionContext(ctx);

    const after = await projected(app, 'stable');
    const payload = await verifyDocument('channel', after?.snapshot ?? '', [onlinePublic()], { now: later });
    expect(payload.revision).toBe(3);
    expect(Date.parse(payload.issued_at)).toBe(Math.floor(later.getTime() / 1000) * 1000);
    expect(Date.parse(payload.expires)).toBe(Date.parse(payload.issued_at) + 7 * DAY);
    expect(payload.releases).toEqual(before?.payload.releases);
    const history = await admin<AuditPage>(`/audit?app=${app}&limit=1`);
    expect(history.body.entries[0]).toMatchObject({
      actor: 'scheduler',
      action: 'channel.resign',
      target: 'stable',
    });
  });

  it('finishes a projection that a failed request left behind', async () => {
    const app = await createApp();
    // A change committed to D1 whose projection never ran (the request died after the batch).
    await commit(env.DB, bumpChannel(env.DB, app, 'stable', 1, new Date()), false);
    expect((await projected(app, 'stable'))?.payload.revision).toBe(1);
    await runScheduled(env, new Date());
    expect((await projected(app, 'stable'))?.payload.revision).toBe(2);
  });
});
