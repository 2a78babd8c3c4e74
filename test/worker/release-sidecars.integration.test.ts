/**
 * What other updaters verify, checked by the Worker before a release exists (docs/protocol.md §9): the SHA-512
 * electron-updater checks (declared at upload and checked as the bytes stream in, or hashed at
 * registration), and sidecar files (electron-builder's `.blockmap`) stored beside their artifact with
 * the signed size and hashes. A refusal is a 400 with a code, and changes nothing.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Artifact } from '../../src/protocol/documents.ts';
import { sha256Hex } from '../../src/protocol/encoding.ts';
import { signDocument } from '../../src/protocol/jws.ts';
import { toBase64 } from '../../src/worker/storage/objects.ts';
import { releaseDocKey } from '../../src/worker/storage/projection.ts';
import {
  admin,
  auditCount,
  bootstrapKeys,
  call,
  createApp,
  type ErrorBody,
  releasePayload,
  type TestArtifact,
  testArtifact,
  uploadArtifact,
} from './support/fixtures.ts';
import { agedPast, cronAt, keyOf, pathOf, removeUpload } from './support/upload-fixtures.ts';

beforeAll(async () => {
  await bootstrapKeys();
});

async function sha512(bytes: Uint8Array): Promise<string> {
  return toBase64(new Uint8Array(await crypto.subtle.digest('SHA-512', bytes)));
}

const WRONG_512 = `${'A'.repeat(86)}==`;

/** PUTs `a`, declaring `declared512` as its SHA-512 (none when undefined). */
async function upload512(app: string, version: string, a: TestArtifact, declared512?: string) {
  return admin<ErrorBody & { sha512?: string }>(`/apps/${app}/uploads/${version}/${pathOf(a)}`, {
    method: 'PUT',
    body: a.bytes,
    headers: {
      'X-Updraft-Sha256': await sha256Hex(a.bytes),
      ...(declared512 ? { 'X-Updraft-Sha512': declared512 } : {}),
    },
  });
}

/** A blockmap-like sidecar of `a`, stored beside it. */
function sidecarOf(a: TestArtifact, suffix = '.blockmap'): TestArtifact {
  return { ...a, file: `${a.file}${suffix}`, bytes: new TextEncoder().encode(`blockmap of ${a.file}`) };
}

async function signedFile(a: TestArtifact) {
  return {
    file: a.file,
    sha256: await sha256Hex(a.bytes),
    size: a.bytes.length,
    sha512: await sha512(a.bytes),
  };
}

/** Registers `artifact` with the manifest fields in `extra` (sha512, sidecars…). */
async function registerWith(app: string, version: string, artifact: TestArtifact, extra: Partial<Artifact>) {
  const keys = await bootstrapKeys();
  const payload = await releasePayload(app, version, [artifact]);
  const [signed] = payload.artifacts;
  if (!signed) throw new Error('no artifact');
  const manifest = await signDocument(
    'release',
    { ...payload, artifacts: [{ ...signed, ...extra }] },
    keys.release,
  );
  return admin<ErrorBody & { version: string }>(`/apps/${app}/releases`, {
    method: 'POST',
    body: { manifest },
  });
}

/** The registration refused with `code`, and nothing stored: no release, no audit row, no manifest. */
async function expectRefused(
  app: string,
  version: string,
  answer: { status: number; body: ErrorBody },
  code: string,
) {
  expect(answer.status, JSON.stringify(answer.body)).toBe(400);
  expect(answer.body.error.code).toBe(code);
  expect(answer.body.error.message.length).toBeGreaterThan(20);
  const row = await env.DB.prepare('SELECT 1 FROM releases WHERE app = ?1 AND version = ?2')
    .bind(app, version)
    .first();
  expect(row).toBeNull();
  expect(await env.BUCKET.head(releaseDocKey(app, version))).toBeNull();
}

describe('SHA-512 at upload', () => {
  it('checks a declared X-Updraft-Sha512 as the bytes stream in and keeps it in custom metadata', async () => {
    const app = await createApp();
    const a = testArtifact(app, '1.0.0');
    const good = await upload512(app, '1.0.0', a, await sha512(a.bytes));
    expect(good.status).toBe(201);
    expect(good.body.sha512).toBe(await sha512(a.bytes));
    const stored = await env.BUCKET.head(keyOf(app, '1.0.0', a));
    expect(stored?.customMetadata).toEqual({
      sha256: await sha256Hex(a.bytes),
      sha512: await sha512(a.bytes),
    });

    // The same bytes again with another declared SHA-512: the caller's mistake, and nothing changes.
    const retry = await upload512(app, '1.0.0', a, WRONG_512);
    expect(retry.status).toBe(400);
    expect(retry.body.error.code).toBe('sha512_mismatch');
    expect((await env.BUCKET.head(keyOf(app, '1.0.0', a)))?.customMetadata?.sha512).toBe(
      await sha512(a.bytes),
    );
    expect((await upload512(app, '1.0.0', a, await sha512(a.bytes))).status).toBe(200);
  });

  it('refuses bytes that do not hash to the declared SHA-512 and stores nothing', async () => {
    const app = await createApp();
    const a = testArtifact(app, '1.0.0');
    const audits = await auditCount(app);
    const wrong = await upload512(app, '1.0.0', a, WRONG_512);
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.code).toBe('sha512_mismatch');
    expect(wrong.body.error.message).toContain(await sha512(a.bytes));
    expect(await env.BUCKET.head(keyOf(app, '1.0.0', a))).toBeNull();
    expect(await auditCount(app)).toBe(audits);

    // A body of many chunks, the last one held back until the digest is known.
    const big = { ...a, file: 'big.bin', bytes: new Uint8Array(3 * 1024 * 1024).fill(7) };
    expect((await upload512(app, '1.0.0', big, WRONG_512)).body.error.code).toBe('sha512_mismatch');
    expect(await env.BUCKET.head(keyOf(app, '1.0.0', big))).toBeNull();
    const ok = await upload512(app, '1.0.0', big, await sha512(big.bytes));
    expect(ok.status).toBe(201);
    const back = await env.BUCKET.get(keyOf(app, '1.0.0', big));
    const stored = new Uint8Array((await back?.arrayBuffer()) ?? new ArrayBuffer(0));
    expect(await sha256Hex(stored)).toBe(await sha256Hex(big.bytes));

    const empty = { ...a, file: 'empty.bin', bytes: new Uint8Array() };
    expect((await upload512(app, '1.0.0', empty, WRONG_512)).body.error.code).toBe('sha512_mismatch');
    expect((await upload512(app, '1.0.0', empty, await sha512(empty.bytes))).status).toBe(201);

    const garbage = await upload512(app, '1.0.0', a, 'not base64');
    expect(garbage.status).toBe(400);
    expect(garbage.body.error.code).toBe('invalid_header');
  });
});

describe('SHA-512 at registration', () => {
  it('accepts the signed SHA-512 of the stored bytes, whether declared at upload or hashed now', async () => {
    const app = await createApp();
    const a = testArtifact(app, '1.0.0');
    expect((await upload512(app, '1.0.0', a, await sha512(a.bytes))).status).toBe(201);
    expect((await registerWith(app, '1.0.0', a, { sha512: await sha512(a.bytes) })).status).toBe(201);

    const b = testArtifact(app, '1.1.0');
    expect((await uploadArtifact(app, '1.1.0', b)).status).toBe(201);
    expect((await registerWith(app, '1.1.0', b, { sha512: await sha512(b.bytes) })).status).toBe(201);
  });

  it('refuses a signed SHA-512 the bytes do not have, and stores nothing', async () => {
    const app = await createApp();
    const a = testArtifact(app, '1.0.0');
    expect((await upload512(app, '1.0.0', a, await sha512(a.bytes))).status).toBe(201);
    await expectRefused(
      app,
      '1.0.0',
      await registerWith(app, '1.0.0', a, { sha512: WRONG_512 }),
      'sha512_mismatch',
    );
    // Uploaded without a declared SHA-512: the Worker hashes the object and still refuses.
    const b = testArtifact(app, '1.1.0');
    expect((await uploadArtifact(app, '1.1.0', b)).status).toBe(201);
    const audits = await auditCount(app);
    await expectRefused(
      app,
      '1.1.0',
      await registerWith(app, '1.1.0', b, { sha512: WRONG_512 }),
      'sha512_mismatch',
    );
    expect(await auditCount(app)).toBe(audits);
  });
});

describe('sidecars', () => {
  it('registers an artifact with its sidecar, serves the sidecar beside it, and never removes it', async () => {
    const app = await createApp();
    const a = testArtifact(app, '1.0.0', 'windows', 'x64');
    const map = sidecarOf(a);
    expect((await upload512(app, '1.0.0', a, await sha512(a.bytes))).status).toBe(201);
    expect((await upload512(app, '1.0.0', map, await sha512(map.bytes))).status).toBe(201);
    const registered = await registerWith(app, '1.0.0', a, {
      sha512: await sha512(a.bytes),
      sidecars: [await signedFile(map)],
    });
    expect(registered.status, JSON.stringify(registered.body)).toBe(201);

    const served = await call(`/v1/apps/${app}/artifacts/1.0.0/${pathOf(map)}`, { token: null });
    expect(served.status).toBe(200);
    expect(new Uint8Array(await served.arrayBuffer())).toEqual(map.bytes);

    // A registered sidecar is part of the release: neither a publisher nor the expiry removes it.
    const removal = await removeUpload(app, '1.0.0', pathOf(map));
    expect(removal.status).toBe(409);
    expect(removal.body.error.code).toBe('artifact_registered');
    await cronAt(await agedPast(keyOf(app, '1.0.0', map)));
    expect(await env.BUCKET.head(keyOf(app, '1.0.0', map))).not.toBeNull();
  });

  it('refuses a sidecar that is missing, has other bytes, another SHA-512 or its artifact name', async () => {
    const app = await createApp();
    const a = testArtifact(app, '1.0.0', 'darwin', 'arm64');
    const map = sidecarOf(a);
    expect((await uploadArtifact(app, '1.0.0', a)).status).toBe(201);

    const missing = await registerWith(app, '1.0.0', a, { sidecars: [await signedFile(map)] });
    await expectRefused(app, '1.0.0', missing, 'artifact_missing');
    expect(missing.body.error.message).toContain(`${a.file}.blockmap`);

    expect((await uploadArtifact(app, '1.0.0', map)).status).toBe(201);
    const audits = await auditCount(app);
    const otherBytes = { ...(await signedFile(map)), sha256: 'c'.repeat(64) };
    await expectRefused(
      app,
      '1.0.0',
      await registerWith(app, '1.0.0', a, { sidecars: [otherBytes] }),
      'artifact_mismatch',
    );
    const otherSize = { ...(await signedFile(map)), size: map.bytes.length + 1 };
    await expectRefused(
      app,
      '1.0.0',
      await registerWith(app, '1.0.0', a, { sidecars: [otherSize] }),
      'artifact_mismatch',
    );
    const other512 = { ...(await signedFile(map)), sha512: WRONG_512 };
    await expectRefused(
      app,
      '1.0.0',
      await registerWith(app, '1.0.0', a, { sidecars: [other512] }),
      'sha512_mismatch',
    );
    const itself = { ...(await signedFile(a)) };
    await expectRefused(
      app,
      '1.0.0',
      await registerWith(app, '1.0.0', a, { sidecars: [itself] }),
      'invalid_sidecar',
    );
    expect(await auditCount(app)).toBe(audits);

    // An unregistered sidecar upload can still be removed; then the release registers without it.
    expect((await removeUpload(app, '1.0.0', pathOf(map))).status).toBe(200);
    expect((await registerWith(app, '1.0.0', a, {})).status).toBe(201);
  });
});

describe('multipart', () => {
  async function multipart(app: string, path: string, bytes: Uint8Array, declared512?: string) {
    const base = `/apps/${app}/multipart/2.0.0/${path}`;
    const created = await admin<{ upload_id: string; key: string }>(base, {
      method: 'POST',
      body: {
        sha256: await sha256Hex(bytes),
        size: bytes.length,
        ...(declared512 ? { sha512: declared512 } : {}),
      },
    });
    expect(created.status).toBe(201);
    const id = encodeURIComponent(created.body.upload_id);
    const part = await admin<{ part: number; etag: string }>(`${base}?upload_id=${id}&part=1`, {
      method: 'PUT',
      body: bytes,
    });
    const done = await admin<ErrorBody & { sha512?: string }>(`${base}/complete?upload_id=${id}`, {
      method: 'POST',
      body: { parts: [part.body] },
    });
    return { key: created.body.key, done };
  }

  it('checks a declared SHA-512 at complete, in the read-back, and deletes a mismatch', async () => {
    const app = await createApp();
    const bytes = new TextEncoder().encode(`multipart ${app}`);
    const good = await multipart(app, 'linux-x64/big.bin', bytes, await sha512(bytes));
    expect(good.done.status).toBe(201);
    expect(good.done.body.sha512).toBe(await sha512(bytes));

    const bad = await multipart(app, 'linux-arm64/big.bin', bytes, WRONG_512);
    expect(bad.done.status).toBe(400);
    expect(bad.done.body.error.code).toBe('sha512_mismatch');
    expect(await env.BUCKET.head(bad.key)).toBeNull();
  });

  it('registration re-hashes a multipart object for its SHA-512, trusting no declared one', async () => {
    const app = await createApp();
    const a: TestArtifact = {
      platform: 'linux',
      arch: 'x64',
      file: 'big.bin',
      bytes: new TextEncoder().encode(`mp ${app}`),
    };
    expect((await multipart(app, pathOf(a), a.bytes)).done.status).toBe(201);
    await expectRefused(
      app,
      '2.0.0',
      await registerWith(app, '2.0.0', a, { sha512: WRONG_512 }),
      'sha512_mismatch',
    );
    expect((await registerWith(app, '2.0.0', a, { sha512: await sha512(a.bytes) })).status).toBe(201);
  });
});
