/**
 * Removing an upload no registered release lists (DELETE /v1/admin/apps/{app}/uploads/…): a path
 * squatted with the wrong bytes must not block the real publish of that version for ever, and a
 * registered artifact is never removed, not even by a removal that races its registration.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/protocol/encoding.ts';
import { signDocument } from '../../src/protocol/jws.ts';
import {
  admin,
  auditCount,
  bootstrapKeys,
  createApp,
  type ErrorBody,
  promote,
  releasePayload,
  signYank,
  testArtifact,
  uploadArtifact,
} from './support/fixtures.ts';
import { fingerprint } from './support/state-fingerprint.ts';
import {
  afterFirstHead,
  bytesAt,
  callWith,
  keyOf,
  lastAudit,
  onHead,
  pathOf,
  register,
  removeUpload,
  signal,
  squatter,
  token,
} from './support/upload-fixtures.ts';

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
    const [removed, looked] = [signal(), signal()];
    const registering = onHead(async () => {
      looked.resolve();
      await removed.promise;
    });
    const removing = onHead(async (k, n) => {
      if (n !== 2) return;
      await env.BUCKET.delete(k);
      await env.BUCKET.put(k, second.bytes, { customMetadata: { sha256: await sha256Hex(second.bytes) } });
      registration = callWith(registering, `/apps/${app}/releases`, {
        method: 'POST',
        body: JSON.stringify({ manifest }),
      });
      await looked.promise;
    });
    const removal = await callWith(removing, `/apps/${app}/uploads/5.1.0/${pathOf(first)}`, {
      method: 'DELETE',
    });
    expect(removal.status).toBe(200);
    expect(await env.BUCKET.head(key)).toBeNull();
    removed.resolve();
    if (!registration) throw new Error('the registration never started');
    const answer = await registration;
    expect(answer.status).toBe(409);
    expect(((await answer.json()) as ErrorBody).error.code).toBe('artifact_removed');
    expect((await admin(`/apps/${app}/releases/5.1.0`)).status).toBe(404);
  });
});
