import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/protocol/encoding.ts';
import { insertToken } from '../../src/worker/storage/tokens.ts';
import { admin, createApp, type ErrorBody } from './support/fixtures.ts';

async function createToken(role: string, extra: object = {}) {
  const { status, body } = await admin<{
    id: string;
    token: string;
    role: string;
    expires_at: string | null;
  }>('/tokens', { method: 'POST', body: { name: `test ${role}`, role, ...extra } });
  expect(status).toBe(201);
  return body;
}

describe('admin auth', () => {
  it('answers 401 missing_token without a bearer token, with Cache-Control: no-store', async () => {
    const variants: Record<string, string>[] = [
      {},
      { Authorization: 'Basic abc' },
      { Authorization: 'Bearer' },
    ];
    for (const headers of variants) {
      const res = await admin<ErrorBody>('/whoami', { token: null, headers });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('missing_token');
      expect(res.headers.get('Cache-Control')).toBe('no-store');
    }
  });

  it('answers 401 invalid_token for a wrong token', async () => {
    for (const token of ['nope', `updr_${'A'.repeat(43)}`, `${env.UPDRAFT_ADMIN_TOKEN}x`]) {
      const res = await admin<ErrorBody>('/whoami', { token });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('invalid_token');
      expect(res.headers.get('Cache-Control')).toBe('no-store');
    }
  });

  it('knows the bootstrap token as an admin', async () => {
    const res = await admin('/whoami');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ actor: 'bootstrap', role: 'admin', apps: null });
    expect(res.headers.get('Cache-Control')).toBe('no-store');
  });

  it('creates a token shown once, stores only its hash, and the token works', async () => {
    const created = await createToken('publisher');
    expect(created.token).toMatch(/^updr_[A-Za-z0-9_-]{43}$/);
    const row = await env.DB.prepare('SELECT * FROM tokens WHERE id = ?1').bind(created.id).first();
    expect(JSON.stringify(row)).not.toContain(created.token);
    expect(row?.token_sha256).toBe(await sha256Hex(created.token));

    const who = await admin('/whoami', { token: created.token });
    expect(who.body).toEqual({ actor: `token:${created.id}:test publisher`, role: 'publisher', apps: null });

    // A publisher can publish: the route answers past auth (404 for an app that does not exist).
    const app = await createApp();
    const res = await admin<ErrorBody>(`/apps/${app}/channels/stable/rollouts`, {
      method: 'POST',
      token: created.token,
      body: { version: '9.9.9' },
    });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('unknown_release');

    const listed = await admin<{ tokens: Record<string, unknown>[] }>('/tokens');
    const entry = listed.body.tokens.find((t) => t.id === created.id);
    expect(entry).toMatchObject({
      name: 'test publisher',
      role: 'publisher',
      created_by: 'bootstrap',
      revoked_at: null,
    });
    expect(JSON.stringify(listed.body)).not.toContain(created.token);
  });

  it('answers 403 forbidden when an analyst calls a publisher or admin route', async () => {
    const { token } = await createToken('analyst');
    const app = await createApp();
    expect((await admin(`/apps/${app}/status`, { token })).status).toBe(200);
    const promote = await admin<ErrorBody>(`/apps/${app}/channels/stable/rollouts`, {
      method: 'POST',
      token,
      body: { version: '1.0.0' },
    });
    expect(promote.status).toBe(403);
    expect(promote.body.error.code).toBe('forbidden');
    expect(promote.headers.get('Cache-Control')).toBe('no-store');
    const tokens = await admin<ErrorBody>('/tokens', { token });
    expect(tokens.status).toBe(403);
  });

  it('a publisher cannot manage tokens or keys', async () => {
    const { token } = await createToken('publisher');
    expect(
      (await admin('/tokens', { token, method: 'POST', body: { name: 'x', role: 'admin' } })).status,
    ).toBe(403);
    expect((await admin('/keys', { token, method: 'POST', body: { keys: 'a.b.c' } })).status).toBe(403);
  });

  it('rejects a revoked token with 401 invalid_token, and revoking is idempotent', async () => {
    const created = await createToken('admin');
    expect((await admin('/whoami', { token: created.token })).status).toBe(200);
    const revoked = await admin<{ id: string; revoked_at: string }>(`/tokens/${created.id}`, {
      method: 'DELETE',
    });
    expect(revoked.status).toBe(200);
    expect(revoked.body.id).toBe(created.id);
    const again = await admin<{ revoked_at: string }>(`/tokens/${created.id}`, { method: 'DELETE' });
    expect(again.body.revoked_at).toBe(revoked.body.revoked_at);
    const res = await admin<ErrorBody>('/whoami', { token: created.token });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('invalid_token');
  });

  it('rejects an expired token with 401 invalid_token', async () => {
    const token = `updr_${'e'.repeat(43)}`;
    await insertToken(
      env.DB,
      {
        id: '00000000000e0e0e',
        name: 'expired',
        role: 'admin',
        apps: null,
        created_at: '2026-01-01T00:00:00Z',
        created_by: 'test',
        expires_at: '2026-01-02T00:00:00Z',
        revoked_at: null,
      },
      await sha256Hex(token),
    ).run();
    const res = await admin<ErrorBody>('/whoami', { token });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('invalid_token');
  });

  it('validates token creation and revocation', async () => {
    const cases = [
      { body: { name: '', role: 'admin' }, code: 'invalid_json' },
      { body: { name: 'x', role: 'root' }, code: 'invalid_json' },
      { body: { name: 'x', role: 'admin', expires_at: '2020-01-01T00:00:00Z' }, code: 'invalid_json' },
    ];
    for (const { body, code } of cases) {
      const res = await admin<ErrorBody>('/tokens', { method: 'POST', body });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe(code);
    }
    const unknown = await admin<ErrorBody>('/tokens/0123456789abcdef', { method: 'DELETE' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('unknown_token');
  });
});
