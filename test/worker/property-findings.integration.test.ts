/**
 * The shrunk counterexamples of the property tests (routes.property.test.ts and
 * test/protocol/decision.property.test.ts), kept as plain examples so each finding stays fixed.
 */
import { describe, expect, it } from 'vitest';
import type { CheckResponse } from '../../src/protocol/api.ts';
import { sha256Hex } from '../../src/protocol/encoding.ts';
import { clearStateCache } from '../../src/worker/storage/state-cache.ts';
import { admin, call, createApp, type ErrorBody, promote, publish, signYank } from './support/fixtures.ts';
import { fingerprint } from './support/state-fingerprint.ts';

const bytes = new TextEncoder().encode('twenty-four bytes, here.');

async function rejected(response: Promise<Response>, status: number, code: string) {
  const answer = await response;
  expect(answer.status).toBe(status);
  expect(((await answer.json()) as ErrorBody).error.code).toBe(code);
}

describe('a body that is not Content-Length bytes long', () => {
  it('is 400 length_mismatch on a single upload, longer or shorter, and stores nothing', async () => {
    const app = await createApp();
    const before = await fingerprint();
    const sha256 = await sha256Hex(bytes);
    for (const length of ['1', '100']) {
      await rejected(
        call(`/v1/admin/apps/${app}/uploads/1.0.0/linux-x64/a.bin`, {
          method: 'PUT',
          body: bytes,
          headers: { 'Content-Length': length, 'X-Updraft-Sha256': sha256 },
        }),
        400,
        'length_mismatch',
      );
    }
    expect(await fingerprint()).toEqual(before);
  });

  it('is 400 length_mismatch on a multipart part', async () => {
    const app = await createApp();
    const path = `/apps/${app}/multipart/1.0.0/linux-x64/big.bin`;
    const created = await admin<{ upload_id: string }>(path, {
      method: 'POST',
      body: { sha256: 'a'.repeat(64), size: 200 * 1024 * 1024 },
    });
    const id = encodeURIComponent(created.body.upload_id);
    await rejected(
      call(`/v1/admin${path}?upload_id=${id}&part=1`, {
        method: 'PUT',
        body: bytes,
        headers: { 'Content-Length': '1' },
      }),
      400,
      'length_mismatch',
    );
  });
});

describe('a multipart upload_id that is not this path’s', () => {
  it('is 404 unknown_upload on complete and abort, and a bad parts list is 400', async () => {
    const app = await createApp();
    const path = `/apps/${app}/multipart/1.0.0/linux-x64/big.bin`;
    const other = `/v1/admin/apps/${app}/multipart/1.0.0/linux-x64/other.bin`;
    const created = await admin<{ upload_id: string }>(path, {
      method: 'POST',
      body: { sha256: 'a'.repeat(64), size: 200 * 1024 * 1024 },
    });
    const id = encodeURIComponent(created.body.upload_id);
    const parts = { parts: [{ part: 1, etag: 'not-an-etag' }] };
    const before = await fingerprint();

    await rejected(
      call(`${other}/complete?upload_id=${id}`, { method: 'POST', body: parts }),
      404,
      'unknown_upload',
    );
    await rejected(call(`${other}?upload_id=${id}`, { method: 'DELETE' }), 404, 'unknown_upload');
    await rejected(call(`${other}?upload_id=junk`, { method: 'DELETE' }), 404, 'unknown_upload');
    await rejected(
      call(`/v1/admin${path}/complete?upload_id=${id}`, { method: 'POST', body: parts }),
      400,
      'invalid_part',
    );
    const twice = { parts: [parts.parts[0], parts.parts[0]] };
    await rejected(
      call(`/v1/admin${path}/complete?upload_id=${id}`, { method: 'POST', body: twice }),
      400,
      'invalid_json',
    );
    expect(await fingerprint()).toEqual(before);

    // The upload itself is untouched by all that: its own path can still abort it.
    expect((await call(`/v1/admin${path}?upload_id=${id}`, { method: 'DELETE' })).status).toBe(200);
  });
});

describe('a rollback target pulled after the yank (decision.property.test.ts)', () => {
  async function check(app: string, version: string): Promise<CheckResponse> {
    clearStateCache();
    const query = new URLSearchParams({ client_id: 'client-1', version, platform: 'linux', arch: 'x64' });
    const response = await call(`/v1/apps/${app}/check?${query}`, { token: null });
    expect(response.status).toBe(200);
    return response.json();
  }

  it('is no refuge once yanked itself: none, yanked', async () => {
    const app = await createApp();
    await publish(app, '1.0.0');
    await publish(app, '1.1.0');
    await promote(app, 'stable', '1.0.0');
    await promote(app, 'stable', '1.1.0');
    const yank = (version: string, to: string | null) =>
      signYank(app, version, to).then((jws) =>
        admin(`/apps/${app}/yanks`, { method: 'POST', body: { yank: jws } }),
      );
    expect((await yank('1.1.0', '1.0.0')).status).toBe(201);
    expect(await check(app, '1.1.0')).toMatchObject({ status: 'rollback', version: '1.0.0' });
    expect((await yank('1.0.0', null)).status).toBe(201);
    expect(await check(app, '1.1.0')).toMatchObject({ status: 'none', yanked: true });
  });

  it('is no refuge while halted in the channel: none, yanked, until resumed', async () => {
    const app = await createApp();
    await publish(app, '1.0.0');
    await publish(app, '1.1.0');
    await promote(app, 'stable', '1.0.0', 5000);
    await promote(app, 'stable', '1.1.0');
    const action = (what: string) =>
      admin(`/apps/${app}/channels/stable/rollouts/1.0.0/${what}`, { method: 'POST', body: {} });
    expect((await action('halt')).status).toBe(200);
    const yank = await signYank(app, '1.1.0', '1.0.0');
    expect((await admin(`/apps/${app}/yanks`, { method: 'POST', body: { yank } })).status).toBe(201);
    expect(await check(app, '1.1.0')).toMatchObject({ status: 'none', yanked: true });
    expect((await action('resume')).status).toBe(200);
    expect(await check(app, '1.1.0')).toMatchObject({ status: 'rollback', version: '1.0.0' });
  });
});
