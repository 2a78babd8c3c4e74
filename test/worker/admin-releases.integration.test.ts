import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/protocol/encoding.ts';
import { signDocument } from '../../src/protocol/jws.ts';
import { generateKeyPair, parsePrivateJwk } from '../../src/protocol/keys.ts';
import { contentLength, MAX_SINGLE_PUT } from '../../src/worker/routes/admin/common.ts';
import { artifactKey, releaseDocKey } from '../../src/worker/storage/projection.ts';
import {
  admin,
  auditCount,
  bootstrapKeys,
  call,
  createApp,
  type ErrorBody,
  publish,
  releasePayload,
  testArtifact,
  uploadArtifact,
} from './support/fixtures.ts';

const releaseCount = async (app: string) =>
  (await env.DB.prepare('SELECT count(*) AS n FROM releases WHERE app = ?1').bind(app).first<{ n: number }>())
    ?.n;

/** Uploads one artifact and returns a manifest for it signed by `signer` (default: the release key). */
async function manifestFor(
  app: string,
  version: string,
  options: { signer?: 'online' | 'stranger'; upload?: boolean } = {},
) {
  const keys = await bootstrapKeys();
  const artifact = testArtifact(app, version);
  if (options.upload !== false) expect((await uploadArtifact(app, version, artifact)).status).toBe(201);
  const signer =
    options.signer === 'online'
      ? parsePrivateJwk(env.UPDRAFT_ONLINE_KEY)
      : options.signer === 'stranger'
        ? (await generateKeyPair()).privateJwk
        : keys.release;
  return {
    artifact,
    manifest: await signDocument('release', await releasePayload(app, version, [artifact]), signer),
  };
}

async function expectRejected(app: string, manifest: string, status: number, code: string) {
  const before = await auditCount(app);
  const res = await admin<ErrorBody>(`/apps/${app}/releases`, { method: 'POST', body: { manifest } });
  expect(res.status).toBe(status);
  expect(res.body.error.code).toBe(code);
  expect(res.body.error.message).toBeTruthy();
  expect(await releaseCount(app)).toBe(0);
  expect(await auditCount(app)).toBe(before);
}

describe('uploads', () => {
  it('streams an artifact into R2, treats an identical retry as success and never overwrites', async () => {
    const app = await createApp();
    const artifact = testArtifact(app, '1.0.0');
    const first = await uploadArtifact(app, '1.0.0', artifact);
    expect(first.status).toBe(201);
    const key = artifactKey(app, '1.0.0', 'linux', 'x64', artifact.file);
    expect(first.body).toEqual({ key, size: artifact.bytes.length, sha256: await sha256Hex(artifact.bytes) });
    const stored = await env.BUCKET.get(key);
    expect(stored?.customMetadata?.sha256).toBe(first.body.sha256);
    expect(stored?.httpMetadata?.contentType).toBe('application/gzip');
    expect(new Uint8Array(await (stored as R2ObjectBody).arrayBuffer())).toEqual(artifact.bytes);

    const retry = await uploadArtifact(app, '1.0.0', artifact);
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual(first.body);

    const other = await uploadArtifact(app, '1.0.0', {
      ...artifact,
      bytes: new TextEncoder().encode('other bytes'),
    });
    expect(other.status).toBe(409);
    expect((other.body as unknown as ErrorBody).error.code).toBe('artifact_exists');
  });

  it('refuses bytes that do not match X-Updraft-Sha256 and stores nothing', async () => {
    const app = await createApp();
    const artifact = testArtifact(app, '1.0.0');
    const res = await uploadArtifact(app, '1.0.0', artifact, { sha256: 'f'.repeat(64) });
    expect(res.status).toBe(400);
    expect((res.body as unknown as ErrorBody).error.code).toBe('sha256_mismatch');
    expect(await env.BUCKET.head(artifactKey(app, '1.0.0', 'linux', 'x64', artifact.file))).toBeNull();
  });

  it('validates headers, path and app', async () => {
    const app = await createApp();
    const path = `/v1/admin/apps/${app}/uploads/1.0.0/linux-x64/a.tar.gz`;
    const cases: [RequestInit & { headers?: Record<string, string> }, number, string][] = [
      [
        { headers: { 'X-Updraft-Sha256': 'a'.repeat(64), 'Content-Length': String(96 * 1024 * 1024) } },
        413,
        'too_large',
      ],
      [{ body: 'abc', headers: { 'X-Updraft-Sha256': 'nothex' } }, 400, 'invalid_header'],
      [{ body: 'abc', headers: {} }, 400, 'invalid_header'],
    ];
    for (const [init, status, code] of cases) {
      const res = await call(path, {
        method: 'PUT',
        body: init.body as string | undefined,
        headers: init.headers,
      });
      expect(res.status).toBe(status);
      expect(((await res.json()) as ErrorBody).error.code).toBe(code);
    }
    const badPath = await call(`/v1/admin/apps/${app}/uploads/1.0/linux-x64/a.tar.gz`, {
      method: 'PUT',
      body: 'abc',
    });
    expect(badPath.status).toBe(400);
    expect(((await badPath.json()) as ErrorBody).error.code).toBe('invalid_param');
    const badTarget = await call(`/v1/admin/apps/${app}/uploads/1.0.0/beos-x64/a.tar.gz`, {
      method: 'PUT',
      body: 'abc',
    });
    expect(badTarget.status).toBe(400);
    const unknown = await uploadArtifact('no-such-app-xyz', '1.0.0', testArtifact('x', '1.0.0'));
    expect(unknown.status).toBe(404);
    expect((unknown.body as unknown as ErrorBody).error.code).toBe('unknown_app');
  });

  it('requires Content-Length (411)', () => {
    // Requests built in-process always get a length, so the check itself is exercised directly.
    expect(() => contentLength(undefined, MAX_SINGLE_PUT)).toThrow(
      expect.objectContaining({ status: 411, code: 'length_required' }),
    );
    expect(() => contentLength('12x', MAX_SINGLE_PUT)).toThrow(
      expect.objectContaining({ code: 'invalid_header' }),
    );
    expect(contentLength('12', MAX_SINGLE_PUT)).toBe(12);
  });

  it('assembles a multipart upload, verifies its hash and deletes it on a mismatch', async () => {
    const app = await createApp();
    const bytes = new TextEncoder().encode('multipart artifact bytes');
    const base = `/apps/${app}/multipart/2.0.0/linux-arm64/big.bin`;
    const sha256 = await sha256Hex(bytes);
    const created = await admin<{ upload_id: string; key: string }>(base, {
      method: 'POST',
      body: { sha256, size: bytes.length },
    });
    expect(created.status).toBe(201);
    const part = await admin<{ part: number; etag: string }>(
      `${base}?upload_id=${encodeURIComponent(created.body.upload_id)}&part=1`,
      {
        method: 'PUT',
        body: bytes,
      },
    );
    expect(part.status).toBe(200);
    const done = await admin(`${base}/complete?upload_id=${encodeURIComponent(created.body.upload_id)}`, {
      method: 'POST',
      body: { parts: [part.body] },
    });
    expect(done.status).toBe(201);
    expect(done.body).toEqual({ key: created.body.key, size: bytes.length, sha256 });

    // The same dance with a wrong declared hash leaves nothing behind.
    const wrong = `/apps/${app}/multipart/2.0.0/linux-x64/big.bin`;
    const c2 = await admin<{ upload_id: string; key: string }>(wrong, {
      method: 'POST',
      body: { sha256: 'b'.repeat(64), size: bytes.length },
    });
    const id = encodeURIComponent(c2.body.upload_id);
    const p2 = await admin<{ part: number; etag: string }>(`${wrong}?upload_id=${id}&part=1`, {
      method: 'PUT',
      body: bytes,
    });
    const d2 = await admin<ErrorBody>(`${wrong}/complete?upload_id=${id}`, {
      method: 'POST',
      body: { parts: [p2.body] },
    });
    expect(d2.status).toBe(400);
    expect(d2.body.error.code).toBe('sha256_mismatch');
    expect(await env.BUCKET.head(c2.body.key)).toBeNull();

    const unknown = await admin<ErrorBody>(`${wrong}?upload_id=nonsense&part=1`, {
      method: 'PUT',
      body: bytes,
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('unknown_upload');

    const c3 = await admin<{ upload_id: string }>(wrong, {
      method: 'POST',
      body: { sha256, size: bytes.length },
    });
    const aborted = await admin(`${wrong}?upload_id=${encodeURIComponent(c3.body.upload_id)}`, {
      method: 'DELETE',
    });
    expect(aborted.status).toBe(200);
    expect(aborted.body).toMatchObject({ aborted: true });
  });
});

describe('release registration', () => {
  it('registers a signed release, stores it in D1 and immutably in R2, and lists it', async () => {
    const app = await createApp();
    const manifest = await publish(app, '1.0.0', { mandatory: true });
    await publish(app, '1.10.0');
    await publish(app, '1.2.0-beta.1');
    expect(await env.BUCKET.get(releaseDocKey(app, '1.0.0')).then((o) => o?.text())).toBe(manifest);
    const list = await admin<{
      releases: { version: string; mandatory: boolean; release_sha256: string; yanked: boolean }[];
    }>(`/apps/${app}/releases`);
    expect(list.body.releases.map((r) => r.version)).toEqual(['1.10.0', '1.2.0-beta.1', '1.0.0']);
    const one = await admin<{
      manifest: string;
      release_sha256: string;
      mandatory: boolean;
      yanked: boolean;
    }>(`/apps/${app}/releases/1.0.0`);
    expect(one.body).toMatchObject({
      manifest,
      release_sha256: await sha256Hex(manifest),
      mandatory: true,
      yanked: false,
    });
    expect((await admin<ErrorBody>(`/apps/${app}/releases/3.0.0`)).body.error.code).toBe('unknown_release');
  });

  it('refuses a tampered manifest', async () => {
    const app = await createApp();
    const { manifest } = await manifestFor(app, '1.0.0');
    const [header, payload, signature] = manifest.split('.');
    const json = JSON.parse(atob((payload ?? '').replaceAll('-', '+').replaceAll('_', '/')));
    json.mandatory = true;
    const forged = btoa(JSON.stringify(json)).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
    await expectRejected(app, `${header}.${forged}.${signature}`, 400, 'bad_signature');
  });

  it('refuses a manifest signed by an unknown key or by the online key', async () => {
    const app = await createApp();
    await expectRejected(
      app,
      (await manifestFor(app, '1.0.0', { signer: 'stranger' })).manifest,
      400,
      'unknown_key',
    );
    await expectRejected(
      app,
      (await manifestFor(app, '1.0.1', { signer: 'online' })).manifest,
      400,
      'unknown_key',
    );
  });

  it('refuses a document of another type, and garbage', async () => {
    const app = await createApp();
    const keys = await bootstrapKeys();
    const yank = await signDocument(
      'yank',
      { app, version: '1.0.0', reason: 'x', rollback_to: null, yanked_at: '2026-11-21T12:00:00Z' },
      keys.release,
    );
    await expectRejected(app, yank, 400, 'wrong_type');
    await expectRejected(app, 'a.b.c', 400, 'malformed');
  });

  it('refuses a manifest for another app, for a missing or different artifact, and a second registration', async () => {
    const app = await createApp();
    const other = await createApp();
    await expectRejected(app, (await manifestFor(other, '1.0.0')).manifest, 400, 'app_mismatch');
    await expectRejected(
      app,
      (await manifestFor(app, '1.0.0', { upload: false })).manifest,
      400,
      'artifact_missing',
    );

    const keys = await bootstrapKeys();
    const artifact = testArtifact(app, '1.1.0');
    expect((await uploadArtifact(app, '1.1.0', artifact)).status).toBe(201);
    const lying = await releasePayload(app, '1.1.0', [
      { ...artifact, bytes: new TextEncoder().encode('something else') },
    ]);
    await expectRejected(app, await signDocument('release', lying, keys.release), 400, 'artifact_mismatch');

    const manifest = await publish(app, '2.0.0');
    const again = await admin<ErrorBody>(`/apps/${app}/releases`, { method: 'POST', body: { manifest } });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('release_exists');
  });

  it('answers unknown_app, malformed JSON and bad bodies with 4xx and changes nothing', async () => {
    const keys = await bootstrapKeys();
    const missing = await admin<ErrorBody>('/apps/no-such-app-xyz/releases', {
      method: 'POST',
      body: {
        manifest: await signDocument(
          'release',
          await releasePayload('no-such-app-xyz', '1.0.0', [testArtifact('x', '1.0.0')]),
          keys.release,
        ),
      },
    });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('unknown_app');
    const app = await createApp();
    const before = await auditCount();
    for (const body of ['{"manifest": ', '[]', '{"manifest": 42}']) {
      const res = await admin<ErrorBody>(`/apps/${app}/releases`, {
        method: 'POST',
        body,
        headers: { 'Content-Type': 'application/json' },
      });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toMatch(/^(malformed_json|invalid_json)$/);
    }
    expect(await auditCount()).toBe(before);
    expect(await releaseCount(app)).toBe(0);
  });
});
