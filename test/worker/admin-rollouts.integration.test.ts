import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/protocol/encoding.ts';
import { verifyDocument } from '../../src/protocol/jws.ts';
import { snapshotDocKey } from '../../src/worker/storage/projection.ts';
import {
  admin,
  auditCount,
  type ChannelViewBody,
  createApp,
  type ErrorBody,
  onlinePublic,
  projected,
  promote,
  publish,
  signYank,
} from './support/fixtures.ts';

const rolloutRow = (app: string, channel: string, version: string) =>
  env.DB.prepare('SELECT * FROM rollouts WHERE app = ?1 AND channel = ?2 AND version = ?3')
    .bind(app, channel, version)
    .first<{ percent_bp: number; state: string; salt: string }>();

describe('rollouts', () => {
  it('promotes a release: a signed snapshot at the next revision in KV and R2, listing the release', async () => {
    const app = await createApp();
    const manifest = await publish(app, '1.0.0');
    const initial = await projected(app, 'stable');
    expect(initial?.payload.revision).toBe(1);
    expect(initial?.payload.releases).toEqual([]);

    const res = await promote(app, 'stable', '1.0.0', 2500);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ name: 'stable', public: true, revision: 2, yanked: [] });
    expect(res.body.rollouts).toEqual([
      expect.objectContaining({ version: '1.0.0', percent_bp: 2500, state: 'active' }),
    ]);
    const salt = res.body.rollouts[0]?.salt;
    expect(salt).toMatch(/^[0-9a-f]{32}$/);

    const kv = await projected(app, 'stable');
    const payload = await verifyDocument('channel', kv?.snapshot ?? '', [onlinePublic()]);
    expect(payload).toMatchObject({ app, channel: 'stable', revision: 2, yanked: [] });
    expect(payload.releases).toEqual([
      {
        version: '1.0.0',
        release_sha256: await sha256Hex(manifest),
        rollout: { percent_bp: 2500, salt, state: 'active' },
      },
    ]);
    expect(Date.parse(payload.expires) - Date.parse(payload.issued_at)).toBe(7 * 24 * 3600 * 1000);
    expect(kv?.releases).toEqual({ '1.0.0': manifest });
    expect(await env.BUCKET.get(snapshotDocKey(app, 'stable', 2)).then((o) => o?.text())).toBe(kv?.snapshot);
    const channel = await env.DB.prepare('SELECT * FROM channels WHERE app = ?1').bind(app).first();
    expect(channel).toMatchObject({
      revision: 2,
      issued_at: payload.issued_at,
      expires: payload.expires,
      projected_revision: 2,
    });
  });

  it('raising the percentage keeps the salt; releases are listed highest first', async () => {
    const app = await createApp();
    await publish(app, '1.0.0');
    await publish(app, '1.10.0');
    const first = await promote(app, 'stable', '1.0.0', 100);
    const salt = first.body.rollouts[0]?.salt;
    await promote(app, 'stable', '1.10.0', 500);
    const raised = await promote(app, 'stable', '1.0.0', 5000);
    expect(raised.body.revision).toBe(4);
    expect(raised.body.rollouts.map((r) => [r.version, r.percent_bp])).toEqual([
      ['1.10.0', 500],
      ['1.0.0', 5000],
    ]);
    expect(raised.body.rollouts[1]?.salt).toBe(salt);
    expect((await projected(app, 'stable'))?.payload.releases.map((r) => r.version)).toEqual([
      '1.10.0',
      '1.0.0',
    ]);

    // The same promote again changes nothing: no new revision, no audit row.
    const audits = await auditCount(app);
    expect((await promote(app, 'stable', '1.0.0', 5000)).body.revision).toBe(4);
    expect(await auditCount(app)).toBe(audits);
  });

  it('pauses, resumes, halts and completes; refuses impossible transitions', async () => {
    const app = await createApp();
    await publish(app, '1.0.0');
    await promote(app, 'stable', '1.0.0', 1000);
    const act = (action: string, body: object = {}) =>
      admin<ChannelViewBody & ErrorBody>(`/apps/${app}/channels/stable/rollouts/1.0.0/${action}`, {
        method: 'POST',
        body,
      });

    expect((await act('pause')).body.rollouts[0]?.state).toBe('paused');
    expect((await act('pause')).body.error.code).toBe('invalid_transition');
    expect((await act('resume')).body.rollouts[0]?.state).toBe('active');
    const halted = await act('halt', { reason: 'crash rate' });
    expect(halted.body.rollouts[0]?.state).toBe('halted');
    // A halted release that no yank falls back to offers nothing to anyone: the pruned snapshot
    // (docs/protocol.md §2) leaves it out, and the halt reached the signed snapshot at a new revision.
    const haltedSnapshot = (await projected(app, 'stable'))?.payload;
    expect(haltedSnapshot?.releases).toEqual([]);
    expect(haltedSnapshot?.revision).toBe(halted.body.revision);

    const promoteHalted = await promote(app, 'stable', '1.0.0', 5000);
    expect(promoteHalted.status).toBe(409);
    expect((promoteHalted.body as unknown as ErrorBody).error.code).toBe('rollout_halted');
    expect((await act('complete')).status).toBe(409);
    expect((await act('resume')).status).toBe(200);
    const done = await act('complete');
    expect(done.body.rollouts[0]).toMatchObject({ state: 'complete', percent_bp: 10_000 });
    expect(done.body.revision).toBe(7);

    const history = await admin<{ entries: { action: string; after: { reason?: string } }[] }>(
      `/audit?app=${app}`,
    );
    expect(history.body.entries.map((e) => e.action).slice(0, 5)).toEqual([
      'rollout.complete',
      'rollout.resume',
      'rollout.halt',
      'rollout.resume',
      'rollout.pause',
    ]);
    expect(history.body.entries[2]?.after.reason).toBe('crash rate');
  });

  it('answers unknown release, channel, rollout and app with 404 and changes nothing', async () => {
    const app = await createApp();
    await publish(app, '1.0.0');
    const audits = await auditCount(app);
    const cases: [string, object, number, string][] = [
      [`/apps/${app}/channels/stable/rollouts`, { version: '2.0.0' }, 404, 'unknown_release'],
      [`/apps/${app}/channels/nightly/rollouts`, { version: '1.0.0' }, 404, 'unknown_channel'],
      ['/apps/no-such-app-xyz/channels/stable/rollouts', { version: '1.0.0' }, 404, 'unknown_app'],
      [`/apps/${app}/channels/stable/rollouts/1.0.0/pause`, {}, 404, 'unknown_rollout'],
      [`/apps/${app}/channels/stable/rollouts/1.0.0/explode`, {}, 400, 'invalid_param'],
      [
        `/apps/${app}/channels/stable/rollouts`,
        { version: '1.0.0', percent_bp: 10_001 },
        400,
        'invalid_json',
      ],
      [`/apps/${app}/channels/stable/rollouts`, { version: 'one' }, 400, 'invalid_json'],
    ];
    for (const [path, body, status, code] of cases) {
      const res = await admin<ErrorBody>(path, { method: 'POST', body });
      expect([path, res.status, res.body.error.code]).toEqual([path, status, code]);
    }
    expect(await auditCount(app)).toBe(audits);
    expect((await projected(app, 'stable'))?.payload.revision).toBe(1);
  });

  it('refuses to promote a yanked release', async () => {
    const app = await createApp();
    await publish(app, '1.0.0');
    await publish(app, '1.0.1');
    const yank = await admin(`/apps/${app}/yanks`, {
      method: 'POST',
      body: { yank: await signYank(app, '1.0.1', '1.0.0') },
    });
    expect(yank.status).toBe(201);
    const res = await promote(app, 'stable', '1.0.1');
    expect(res.status).toBe(409);
    expect((res.body as unknown as ErrorBody).error.code).toBe('release_yanked');
  });
});

describe('optimistic revisions', () => {
  it('a stale expected_revision answers 409 stale_revision and changes nothing', async () => {
    const app = await createApp();
    await publish(app, '1.0.0');
    await promote(app, 'stable', '1.0.0', 100);
    const audits = await auditCount(app);
    const kvBefore = await projected(app, 'stable');

    const stale = await promote(app, 'stable', '1.0.0', 9000, { expected_revision: 1 });
    expect(stale.status).toBe(409);
    expect((stale.body as unknown as ErrorBody).error.code).toBe('stale_revision');
    const action = await admin<ErrorBody>(`/apps/${app}/channels/stable/rollouts/1.0.0/halt`, {
      method: 'POST',
      body: { expected_revision: 5 },
    });
    expect(action.body.error.code).toBe('stale_revision');

    expect(await rolloutRow(app, 'stable', '1.0.0')).toMatchObject({ percent_bp: 100, state: 'active' });
    expect(await auditCount(app)).toBe(audits);
    expect((await projected(app, 'stable'))?.snapshot).toBe(kvBefore?.snapshot);

    const fresh = await promote(app, 'stable', '1.0.0', 9000, { expected_revision: 2 });
    expect(fresh.status).toBe(200);
    expect(fresh.body.revision).toBe(3);
  });

  it('concurrent promotes on one channel never lose an update', async () => {
    const app = await createApp();
    const versions = ['1.0.0', '1.1.0', '1.2.0', '1.3.0', '1.4.0', '1.5.0'];
    for (const v of versions) await publish(app, v);
    const results = await Promise.all(versions.map((v) => promote(app, 'stable', v, 1000)));
    const won = versions.filter((_, i) => results[i]?.status === 200);
    for (const res of results) {
      if (res.status !== 200) expect((res.body as unknown as ErrorBody).error.code).toBe('conflict');
    }
    expect(won.length).toBeGreaterThan(0);
    // Every promote that answered 200 is in D1 and in the signed snapshot, and each moved the revision by one.
    const status = await admin<{ channels: ChannelViewBody[] }>(`/apps/${app}/status`);
    const stable = status.body.channels[0];
    expect(stable?.revision).toBe(1 + won.length);
    expect(stable?.rollouts.map((r) => r.version).sort()).toEqual([...won].sort());
    const kv = await projected(app, 'stable');
    expect(kv?.payload.revision).toBe(1 + won.length);
    expect(kv?.payload.releases.map((r) => r.version).sort()).toEqual([...won].sort());
    expect(await auditCount(app)).toBe(1 + versions.length * 2 + won.length);
  });
});
