/**
 * Expiry of uploads no registered release lists (the scheduler, UNREGISTERED_UPLOAD_TTL_HOURS): a
 * squatted path frees itself, a removal that died is finished, and a registered artifact is never
 * expired, however old, not even by an expiry that races its registration.
 */
import { env } from 'cloudflare:workers';
import { beforeEach, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/protocol/encoding.ts';
import { expireUnregisteredUploads, SWEEP_PAUSE_MS } from '../../src/worker/storage/upload-sweep.ts';
import { STALE_CLAIM_MS } from '../../src/worker/storage/uploads.ts';
import {
  admin,
  createApp,
  promote,
  publish,
  signYank,
  testArtifact,
  uploadArtifact,
} from './support/fixtures.ts';
import { fingerprint } from './support/state-fingerprint.ts';
import {
  afterFirstHead,
  agedPast,
  bytesAt,
  cronAt,
  HOUR,
  keyOf,
  lastAudit,
  register,
  squatter,
} from './support/upload-fixtures.ts';

beforeEach(async () => {
  // The sweep's place in R2 and its pause are global; each test starts a fresh pass.
  await env.DB.exec('DELETE FROM upload_sweep');
});

describe('a removal that died', () => {
  it('holds registration while a removal that died is open, and the scheduler finishes it', async () => {
    const app = await createApp();
    const artifact = testArtifact(app, '6.0.0');
    const key = keyOf(app, '6.0.0', artifact);
    expect((await uploadArtifact(app, '6.0.0', artifact)).status).toBe(201);
    const object = await env.BUCKET.head(key);
    // A removal that claimed the object and died before deleting it.
    const claimedAt = new Date();
    await env.DB.prepare(
      `INSERT INTO upload_removals (key, version, app, reason, actor, size, sha256, uploaded, claimed_at)
       VALUES (?1, ?2, ?3, 'removed', 'token:0123456789abcdef:ci', ?4, ?5, ?6, ?7)`,
    )
      .bind(
        key,
        object?.version,
        app,
        artifact.bytes.length,
        await sha256Hex(artifact.bytes),
        object?.uploaded.toISOString(),
        claimedAt.toISOString(),
      )
      .run();

    const held = await register(app, '6.0.0', [artifact]);
    expect(held.status).toBe(409);
    expect(held.body.error.code).toBe('artifact_removed');

    // Not stale yet: the cron leaves it to the request that claimed it.
    await cronAt(new Date(claimedAt.getTime() + 60_000));
    expect(await env.BUCKET.head(key)).not.toBeNull();
    await cronAt(new Date(claimedAt.getTime() + STALE_CLAIM_MS + 60_000));
    expect(await env.BUCKET.head(key)).toBeNull();
    expect(await lastAudit(app)).toMatchObject({
      actor: 'token:0123456789abcdef:ci',
      action: 'artifact.remove',
      target: key,
    });

    expect((await uploadArtifact(app, '6.0.0', artifact)).status).toBe(201);
    expect((await register(app, '6.0.0', [artifact])).status).toBe(201);
  });
});

describe('expiry of unregistered uploads (the scheduler)', () => {
  it('removes a squatting upload once it is older than UNREGISTERED_UPLOAD_TTL_HOURS, then the publish succeeds', async () => {
    expect(env.UNREGISTERED_UPLOAD_TTL_HOURS).toBe('24');
    const app = await createApp();
    const real = testArtifact(app, '7.0.0');
    const key = keyOf(app, '7.0.0', real);
    expect((await uploadArtifact(app, '7.0.0', squatter(real))).status).toBe(201);
    const aged = await agedPast(key);

    // Younger than the TTL: kept.
    await cronAt(new Date(aged.getTime() - 2 * 60_000));
    expect(await env.BUCKET.head(key)).not.toBeNull();

    await env.DB.exec('DELETE FROM upload_sweep');
    await cronAt(aged);
    expect(await env.BUCKET.head(key)).toBeNull();
    expect(await lastAudit(app)).toMatchObject({
      actor: 'scheduler',
      action: 'artifact.expire',
      target: key,
    });

    expect((await uploadArtifact(app, '7.0.0', real)).status).toBe(201);
    expect((await register(app, '7.0.0', [real])).status).toBe(201);
  });

  it('never expires a registered artifact, however old', async () => {
    const app = await createApp();
    await publish(app, '1.0.0');
    await publish(app, '1.1.0');
    expect((await promote(app, 'stable', '1.1.0')).status).toBe(200);
    const yank = await signYank(app, '1.1.0', '1.0.0');
    expect((await admin(`/apps/${app}/yanks`, { method: 'POST', body: { yank } })).status).toBe(201);
    const listed = await env.BUCKET.list({ prefix: `artifacts/${app}/` });
    expect(listed.objects).toHaveLength(2);

    const artifacts = async () =>
      Object.entries((await fingerprint()).r2).filter(([key]) => key.startsWith(`artifacts/${app}/`));
    const before = await artifacts();
    // A year on (the cron also expires other tests' leftovers and re-signs snapshots meanwhile).
    await cronAt(new Date(Date.now() + 400 * 24 * HOUR));
    expect(await artifacts()).toEqual(before);
    const removals = await env.DB.prepare(
      "SELECT count(*) AS n FROM audit WHERE app = ?1 AND action IN ('artifact.expire', 'artifact.remove')",
    )
      .bind(app)
      .first<{ n: number }>();
    expect(removals?.n).toBe(0);
  });

  it('walks R2 a page per run, bounds its removals, and pauses an hour between passes', async () => {
    const app = await createApp();
    const squats = ['8.0.0', '8.1.0', '8.2.0'].map((v) => ({ version: v, artifact: testArtifact(app, v) }));
    for (const { version, artifact } of squats)
      expect((await uploadArtifact(app, version, artifact)).status).toBe(201);
    const keys = squats.map((s) => keyOf(app, s.version, s.artifact));
    const now = await agedPast(keys[2] ?? '');
    const step = () =>
      expireUnregisteredUploads(env.DB, env.BUCKET, { now, ttlHours: 24, pageSize: 2, maxRemovals: 1 });

    const runs = [];
    let result = await step();
    runs.push(result);
    while (!result.passDone && runs.length < 100) {
      result = await step();
      runs.push(result);
    }
    expect(result.passDone).toBe(true);
    for (const run of runs) {
      expect(run.listed).toBeLessThanOrEqual(2);
      expect(run.expired.length).toBeLessThanOrEqual(1);
    }
    const expired = runs.flatMap((r) => r.expired.map((e) => e.key));
    for (const key of keys) {
      expect(expired).toContain(key);
      expect(await env.BUCKET.head(key)).toBeNull();
    }

    // The pass is over: the next one starts an hour later.
    expect((await step()).listed).toBe(0);
    const resumed = await expireUnregisteredUploads(env.DB, env.BUCKET, {
      now: new Date(now.getTime() + SWEEP_PAUSE_MS),
      ttlHours: 24,
    });
    expect(resumed.listed).toBeGreaterThan(0);
  });

  it('loses no bytes of a release registered while its old upload was being expired', async () => {
    const app = await createApp();
    const artifact = testArtifact(app, '9.0.0');
    const key = keyOf(app, '9.0.0', artifact);
    expect((await uploadArtifact(app, '9.0.0', artifact)).status).toBe(201);
    const aged = await agedPast(key);

    // The registration lands between the sweep's look at the listing and its claim: the claim finds
    // the release and removes nothing.
    const bucket = afterFirstHead(key, async () => {
      expect((await register(app, '9.0.0', [artifact])).status).toBe(201);
    });
    const result = await expireUnregisteredUploads(env.DB, bucket, { now: aged, ttlHours: 24 });
    expect(result.expired.map((e) => e.key)).not.toContain(key);
    expect(await bytesAt(key)).toEqual(artifact.bytes);
  });
});
