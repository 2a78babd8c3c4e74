/**
 * Uploads no registered release lists (docs/storage.md § Unregistered uploads): a path squatted with
 * the wrong bytes must not block the real publish of that version for ever. A publisher removes such
 * an upload, or the scheduler expires it; a registered artifact is never removed, not even by a
 * removal or an expiry that races its registration.
 */
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { sha256Hex } from '../../src/protocol/encoding.ts';
import { signDocument } from '../../src/protocol/jws.ts';
import { app as workerApp } from '../../src/worker/app.ts';
import worker from '../../src/worker/index.ts';
import { artifactKey } from '../../src/worker/storage/projection.ts';
import { expireUnregisteredUploads, SWEEP_PAUSE_MS } from '../../src/worker/storage/upload-sweep.ts';
import { STALE_CLAIM_MS, uploadTtlHours } from '../../src/worker/storage/uploads.ts';
import {
  admin,
  auditCount,
  bootstrapKeys,
  createApp,
  type ErrorBody,
  ORIGIN,
  promote,
  publish,
  releasePayload,
  signYank,
  type TestArtifact,
  testArtifact,
  uploadArtifact,
} from './fixtures.ts';
import { fingerprint } from './state-fingerprint.ts';

const HOUR = 3600 * 1000;
const TTL_MS = uploadTtlHours(env.UNREGISTERED_UPLOAD_TTL_HOURS) * HOUR;

interface Removed {
  key: string;
  size: number;
  sha256: string;
  uploaded: string;
  removed_at: string;
}

const pathOf = (a: TestArtifact) => `${a.platform}-${a.arch}/${a.file}`;
const keyOf = (app: string, version: string, a: TestArtifact) =>
  artifactKey(app, version, a.platform, a.arch, a.file);

/** Another upload's bytes for the same path: what a squatter (or a broken build) sends. */
const squatter = (real: TestArtifact): TestArtifact => ({
  ...real,
  bytes: new TextEncoder().encode(`not the release ${Math.random()}`),
});

async function token(role: 'publisher' | 'analyst'): Promise<string> {
  const created = await admin<{ token: string }>('/tokens', { method: 'POST', body: { name: role, role } });
  expect(created.status).toBe(201);
  return created.body.token;
}

function removeUpload(app: string, version: string, path: string, options: { token?: string } = {}) {
  return admin<Removed & ErrorBody>(`/apps/${app}/uploads/${version}/${path}`, {
    method: 'DELETE',
    token: options.token,
  });
}

async function register(app: string, version: string, artifacts: TestArtifact[]) {
  const keys = await bootstrapKeys();
  const manifest = await signDocument('release', await releasePayload(app, version, artifacts), keys.release);
  return admin<ErrorBody & { version: string }>(`/apps/${app}/releases`, {
    method: 'POST',
    body: { manifest },
  });
}

async function bytesAt(key: string): Promise<Uint8Array | null> {
  const object = await env.BUCKET.get(key);
  return object ? new Uint8Array(await object.arrayBuffer()) : null;
}

async function lastAudit(app: string) {
  return env.DB.prepare(
    'SELECT actor, action, target, before_json, after_json FROM audit WHERE app = ?1 ORDER BY id DESC LIMIT 1',
  )
    .bind(app)
    .first<{
      actor: string;
      action: string;
      target: string;
      before_json: string;
      after_json: string | null;
    }>();
}

/** A time at which the object at `key` is older than the TTL (from R2's own upload time). */
async function agedPast(key: string): Promise<Date> {
  const uploaded = (await env.BUCKET.head(key))?.uploaded ?? new Date();
  return new Date(Math.max(Date.now(), uploaded.getTime()) + TTL_MS + 60_000);
}

/** Runs the Worker's real cron handler at `at`. */
async function cronAt(at: Date): Promise<void> {
  const ctx = createExecutionContext();
  worker.scheduled(createScheduledController({ scheduledTime: at, cron: '* * * * *' }), env, ctx);
  await waitOnExecutionContext(ctx);
}

/** The Worker with `bucket` in place of the real R2 binding (to act between two of its calls). */
function callWith(bucket: R2Bucket, path: string, init: RequestInit) {
  const headers = new Headers(init.headers);
  headers.set('Authorization', `Bearer ${env.UPDRAFT_ADMIN_TOKEN}`);
  if (init.body) headers.set('Content-Type', 'application/json');
  return workerApp.fetch(new Request(`${ORIGIN}/v1/admin${path}`, { ...init, headers }), {
    ...env,
    BUCKET: bucket,
  });
}

/** `env.BUCKET`, except that `then()` runs once, right after the first `head(key)` has answered. */
function afterFirstHead(key: string, then: () => Promise<unknown>): R2Bucket {
  let done = false;
  return new Proxy(env.BUCKET, {
    get(bucket, name) {
      const value: unknown = Reflect.get(bucket, name, bucket);
      if (name !== 'head') return typeof value === 'function' ? value.bind(bucket) : value;
      return async (k: string) => {
        const object = await bucket.head(k);
        if (k === key && !done) {
          done = true;
          await then();
        }
        return object;
      };
    },
  });
}

beforeEach(async () => {
  // The sweep's place in R2 and its pause are global; each test starts a fresh pass.
  await env.DB.exec('DELETE FROM upload_sweep');
  vi.restoreAllMocks();
});

describe('removing an unregistered upload (DELETE /v1/admin/apps/{app}/uploads/…)', () => {
  it('unblocks the real publish of a version whose path another upload squatted', async () => {
    const app = await createApp();
    const real = testArtifact(app, '2.0.0');
    const squat = squatter(real);
    const key = keyOf(app, '2.0.0', real);
    const publisher = await token('publisher');
    expect((await uploadArtifact(app, '2.0.0', squat, { token: publisher })).status).toBe(201);

    // The real publish is refused, and told what to do about it.
    const blocked = await uploadArtifact(app, '2.0.0', real);
    expect(blocked.status).toBe(409);
    const { error } = blocked.body as unknown as ErrorBody;
    expect(error.code).toBe('artifact_exists');
    expect(error.message).toContain('no registered release lists');
    expect(error.message).toContain(`DELETE /v1/admin/apps/${app}/uploads/2.0.0/${pathOf(real)}`);
    expect(error.message).toContain('--replace-unregistered');
    expect(error.message).toContain(`SHA-256 ${await sha256Hex(squat.bytes)}`);

    const removed = await removeUpload(app, '2.0.0', pathOf(real), { token: publisher });
    expect(removed.status).toBe(200);
    expect(removed.body).toEqual({
      key,
      size: squat.bytes.length,
      sha256: await sha256Hex(squat.bytes),
      uploaded: expect.any(String),
      removed_at: expect.any(String),
    });
    expect(await env.BUCKET.head(key)).toBeNull();
    const audited = await lastAudit(app);
    expect(audited).toMatchObject({ action: 'artifact.remove', target: key, after_json: null });
    expect(audited?.actor).toMatch(/^token:[0-9a-f]{16}:publisher$/);
    expect(JSON.parse(audited?.before_json ?? '')).toMatchObject({
      key,
      sha256: await sha256Hex(squat.bytes),
    });

    expect((await uploadArtifact(app, '2.0.0', real)).status).toBe(201);
    expect((await register(app, '2.0.0', [real])).status).toBe(201);
    expect(await bytesAt(key)).toEqual(real.bytes);
  });

  it('never removes an artifact a registered release lists, promoted, yanked or neither', async () => {
    const app = await createApp();
    const [one, two] = [testArtifact(app, '1.0.0'), testArtifact(app, '1.1.0')];
    for (const [version, artifact] of [
      ['1.0.0', one],
      ['1.1.0', two],
    ] as const) {
      expect((await uploadArtifact(app, version, artifact)).status).toBe(201);
      expect((await register(app, version, [artifact])).status).toBe(201);
    }
    expect((await promote(app, 'stable', '1.1.0')).status).toBe(200);
    const yank = await signYank(app, '1.1.0', '1.0.0');
    expect((await admin(`/apps/${app}/yanks`, { method: 'POST', body: { yank } })).status).toBe(201);

    const before = await fingerprint();
    for (const [version, artifact] of [
      ['1.0.0', one],
      ['1.1.0', two],
    ] as const) {
      const answer = await removeUpload(app, version, pathOf(artifact), { token: await token('publisher') });
      expect(answer.status).toBe(409);
      expect(answer.body.error.code).toBe('artifact_registered');
      expect(answer.body.error.message).toContain(`registered release ${app} ${version}`);
    }
    // Tokens were created above; nothing else moved.
    const after = await fingerprint();
    expect({ ...after.d1, tokens: null, audit: null }).toEqual({ ...before.d1, tokens: null, audit: null });
    expect(after.r2).toEqual(before.r2);
    expect(await bytesAt(keyOf(app, '1.0.0', one))).toEqual(one.bytes);

    // A registered release's upload path still refuses other bytes, and says why.
    const other = await uploadArtifact(app, '1.0.0', squatter(one));
    expect(other.status).toBe(409);
    expect((other.body as unknown as ErrorBody).error.message).toContain('publish a new version');
  });

  it('answers bad input with a 4xx, a code and a message, and changes nothing', async () => {
    const app = await createApp();
    const artifact = testArtifact(app, '1.0.0');
    expect((await uploadArtifact(app, '1.0.0', artifact)).status).toBe(201);
    const analyst = await token('analyst');
    const before = await fingerprint();
    const audits = await auditCount();
    const cases: [string, string | undefined | null, number, string][] = [
      [`/apps/${app}/uploads/1.0.0/linux-x64/absent.tar.gz`, undefined, 404, 'artifact_missing'],
      [`/apps/${app}/uploads/9.9.9/${pathOf(artifact)}`, undefined, 404, 'artifact_missing'],
      [`/apps/no-such-app/uploads/1.0.0/${pathOf(artifact)}`, undefined, 404, 'unknown_app'],
      [`/apps/${app}/uploads/not-semver/${pathOf(artifact)}`, undefined, 400, 'invalid_param'],
      [`/apps/${app}/uploads/1.0.0/linux/${artifact.file}`, undefined, 400, 'invalid_param'],
      [`/apps/${app}/uploads/1.0.0/plan9-x64/${artifact.file}`, undefined, 400, 'invalid_param'],
      [`/apps/${app}/uploads/1.0.0/linux-x64/.hidden`, undefined, 400, 'invalid_param'],
      [`/apps/${app}/uploads/1.0.0/linux-x64/two%20words.tgz`, undefined, 400, 'invalid_param'],
      [`/apps/${app}/uploads/1.0.0/${pathOf(artifact)}`, analyst, 403, 'forbidden'],
      [`/apps/${app}/uploads/1.0.0/${pathOf(artifact)}`, null, 401, 'missing_token'],
    ];
    for (const [path, bearer, status, code] of cases) {
      const answer = await admin<ErrorBody>(path, { method: 'DELETE', token: bearer });
      expect([path, answer.status, answer.body.error.code]).toEqual([path, status, code]);
      expect(answer.body.error.message.length).toBeGreaterThan(0);
    }
    expect(await fingerprint()).toEqual(before);
    expect(await auditCount()).toBe(audits);
  });

  it('refuses a registration that raced a removal of its artifact (409 artifact_removed)', async () => {
    const app = await createApp();
    const artifact = testArtifact(app, '3.0.0');
    const key = keyOf(app, '3.0.0', artifact);
    expect((await uploadArtifact(app, '3.0.0', artifact)).status).toBe(201);
    const keys = await bootstrapKeys();
    const manifest = await signDocument(
      'release',
      await releasePayload(app, '3.0.0', [artifact]),
      keys.release,
    );

    // The registration has seen the object; then a removal claims and deletes it.
    const bucket = afterFirstHead(key, async () => {
      expect((await removeUpload(app, '3.0.0', pathOf(artifact))).status).toBe(200);
    });
    const answer = await callWith(bucket, `/apps/${app}/releases`, {
      method: 'POST',
      body: JSON.stringify({ manifest }),
    });
    expect(answer.status).toBe(409);
    expect(((await answer.json()) as ErrorBody).error.code).toBe('artifact_removed');
    expect((await admin(`/apps/${app}/releases/3.0.0`)).status).toBe(404);

    // Uploading the bytes again is all it takes.
    expect((await uploadArtifact(app, '3.0.0', artifact)).status).toBe(201);
    expect((await register(app, '3.0.0', [artifact])).status).toBe(201);
  });

  it('removes nothing when the release is registered between its look at R2 and its claim', async () => {
    const app = await createApp();
    const artifact = testArtifact(app, '4.0.0');
    const key = keyOf(app, '4.0.0', artifact);
    expect((await uploadArtifact(app, '4.0.0', artifact)).status).toBe(201);

    const bucket = afterFirstHead(key, async () => {
      expect((await register(app, '4.0.0', [artifact])).status).toBe(201);
    });
    const answer = await callWith(bucket, `/apps/${app}/uploads/4.0.0/${pathOf(artifact)}`, {
      method: 'DELETE',
    });
    expect(answer.status).toBe(409);
    expect(((await answer.json()) as ErrorBody).error.code).toBe('artifact_registered');
    expect(await bytesAt(key)).toEqual(artifact.bytes);
    const claims = await env.DB.prepare('SELECT count(*) AS n FROM upload_removals WHERE key = ?1')
      .bind(key)
      .first<{ n: number }>();
    expect(claims?.n).toBe(0);
  });

  it('deletes only the object it claimed: one replaced meanwhile stays (409 removal_in_progress)', async () => {
    const app = await createApp();
    const artifact = testArtifact(app, '5.0.0');
    const key = keyOf(app, '5.0.0', artifact);
    expect((await uploadArtifact(app, '5.0.0', artifact)).status).toBe(201);
    const replacement = squatter(artifact);
    // What an R2 multipart `complete` can do, unlike a put: replace the object after the first look.
    const bucket = afterFirstHead(key, async () => {
      await env.BUCKET.delete(key);
      await env.BUCKET.put(key, replacement.bytes);
    });
    const answer = await callWith(bucket, `/apps/${app}/uploads/5.0.0/${pathOf(artifact)}`, {
      method: 'DELETE',
    });
    expect(answer.status).toBe(409);
    expect(((await answer.json()) as ErrorBody).error.code).toBe('removal_in_progress');
    expect(await bytesAt(key)).toEqual(replacement.bytes);
    const claims = await env.DB.prepare('SELECT count(*) AS n FROM upload_removals WHERE key = ?1')
      .bind(key)
      .first<{ n: number }>();
    expect(claims?.n).toBe(0);
  });

  it('refuses a release whose object replaced the claimed one just before the removal deleted it', async () => {
    const app = await createApp();
    const first = testArtifact(app, '5.1.0');
    const key = keyOf(app, '5.1.0', first);
    expect((await uploadArtifact(app, '5.1.0', first)).status).toBe(201);
    const second = squatter(first);
    const keys = await bootstrapKeys();
    const manifest = await signDocument(
      'release',
      await releasePayload(app, '5.1.0', [second]),
      keys.release,
    );

    // The worst interleaving R2 allows: after the removal's second look, a multipart `complete`
    // replaces the object and a registration checks the new one; the removal then deletes it, and
    // the registration commits last.
    let registration: Promise<Response> | undefined;
    let removalDone = () => {};
    const removed = new Promise<void>((resolve) => {
      removalDone = resolve;
    });
    let registrationLooked = () => {};
    const looked = new Promise<void>((resolve) => {
      registrationLooked = resolve;
    });
    const registering = new Proxy(env.BUCKET, {
      get(bucket, name) {
        const value: unknown = Reflect.get(bucket, name, bucket);
        if (name !== 'head') return typeof value === 'function' ? value.bind(bucket) : value;
        return async (k: string) => {
          const object = await bucket.head(k);
          registrationLooked();
          await removed;
          return object;
        };
      },
    });
    let heads = 0;
    const removing = new Proxy(env.BUCKET, {
      get(bucket, name) {
        const value: unknown = Reflect.get(bucket, name, bucket);
        if (name !== 'head') return typeof value === 'function' ? value.bind(bucket) : value;
        return async (k: string) => {
          const object = await bucket.head(k);
          heads += 1;
          if (heads === 2) {
            await bucket.delete(k);
            await bucket.put(k, second.bytes, { customMetadata: { sha256: await sha256Hex(second.bytes) } });
            registration = callWith(registering, `/apps/${app}/releases`, {
              method: 'POST',
              body: JSON.stringify({ manifest }),
            });
            await looked;
          }
          return object;
        };
      },
    });
    const removal = await callWith(removing, `/apps/${app}/uploads/5.1.0/${pathOf(first)}`, {
      method: 'DELETE',
    });
    expect(removal.status).toBe(200);
    expect(await env.BUCKET.head(key)).toBeNull();
    removalDone();
    if (!registration) throw new Error('the registration never started');
    const answer = await registration;
    expect(answer.status).toBe(409);
    expect(((await answer.json()) as ErrorBody).error.code).toBe('artifact_removed');
    expect((await admin(`/apps/${app}/releases/5.1.0`)).status).toBe(404);
  });

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
