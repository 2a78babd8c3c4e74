import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { JSON_BODY_LIMIT, RELEASE_BODY_LIMIT } from '../../src/worker/routes/admin/common.ts';
import { channelKey } from '../../src/worker/storage/projection.ts';
import { admin, auditCount, createApp, type ErrorBody, promote, publish } from './support/fixtures.ts';

/** Everything a rejected request could have changed: audit rows, D1 revisions, KV, rollouts, tokens. */
async function fingerprint(app: string) {
  const db = env.DB;
  const [channels, rollouts, tokens, releases, yanks] = await db.batch([
    db.prepare('SELECT name, public, revision FROM channels WHERE app = ?1 ORDER BY name').bind(app),
    db.prepare('SELECT * FROM rollouts WHERE app = ?1').bind(app),
    db.prepare('SELECT id, revoked_at FROM tokens'),
    db.prepare('SELECT version FROM releases WHERE app = ?1').bind(app),
    db.prepare('SELECT version FROM yanks WHERE app = ?1').bind(app),
  ]);
  return {
    audits: await auditCount(),
    d1: [channels, rollouts, tokens, releases, yanks].map((r) => r?.results),
    kv: await env.STATE.get(channelKey(app, 'stable')),
    r2: (await env.BUCKET.list({ prefix: `artifacts/${app}/` })).objects.length,
  };
}

describe('bad input on every admin route', () => {
  it('answers 4xx with code and message and changes nothing', async () => {
    const app = await createApp();
    await publish(app, '1.0.0');
    await promote(app, 'stable', '1.0.0', 100);
    const before = await fingerprint(app);
    const malformed = '{"oops": ';
    const json = { 'Content-Type': 'application/json' };
    const target = `${app}/multipart/1.0.0/linux-x64/f.bin`;

    const cases: {
      method: string;
      path: string;
      body?: string;
      headers?: Record<string, string>;
      status: number;
      code: string;
    }[] = [
      { method: 'POST', path: '/keys', body: malformed, headers: json, status: 400, code: 'malformed_json' },
      {
        method: 'POST',
        path: '/keys',
        body: '{"keys": "x"}',
        headers: json,
        status: 400,
        code: 'invalid_json',
      },
      { method: 'POST', path: '/apps', body: malformed, headers: json, status: 400, code: 'malformed_json' },
      {
        method: 'PUT',
        path: `/apps/${app}/channels/stable`,
        body: malformed,
        headers: json,
        status: 400,
        code: 'malformed_json',
      },
      {
        method: 'PUT',
        path: `/apps/${app}/channels/Bad_Name`,
        body: '{"public":true}',
        headers: json,
        status: 400,
        code: 'invalid_param',
      },
      {
        method: 'PUT',
        path: '/apps/no-such-app-xyz/channels/beta',
        body: '{"public":true}',
        headers: json,
        status: 404,
        code: 'unknown_app',
      },
      {
        method: 'PUT',
        path: `/apps/${app}/rules`,
        body: malformed,
        headers: json,
        status: 400,
        code: 'malformed_json',
      },
      {
        method: 'PUT',
        path: `/apps/${app}/rules`,
        body: '{"rules":[{"channel":"stable","match":{"percent_bp":-1}}]}',
        headers: json,
        status: 400,
        code: 'invalid_json',
      },
      {
        method: 'PUT',
        path: `/apps/${app}/uploads/1.0.0/linux-x64/../../x`,
        body: 'abc',
        status: 404,
        code: 'not_found',
      },
      {
        method: 'PUT',
        path: `/apps/${app}/uploads/1.0.0/linux-x64/.hidden`,
        body: 'abc',
        status: 400,
        code: 'invalid_param',
      },
      {
        method: 'POST',
        path: `/apps/${target}`,
        body: malformed,
        headers: json,
        status: 400,
        code: 'malformed_json',
      },
      {
        method: 'POST',
        path: `/apps/${target}`,
        body: '{"sha256":"x","size":1}',
        headers: json,
        status: 400,
        code: 'invalid_json',
      },
      { method: 'PUT', path: `/apps/${target}?part=1`, body: 'abc', status: 400, code: 'invalid_query' },
      {
        method: 'POST',
        path: `/apps/${target}/complete?upload_id=u`,
        body: malformed,
        headers: json,
        status: 400,
        code: 'malformed_json',
      },
      { method: 'DELETE', path: `/apps/${target}`, status: 400, code: 'invalid_query' },
      {
        method: 'POST',
        path: `/apps/${app}/releases`,
        body: malformed,
        headers: json,
        status: 400,
        code: 'malformed_json',
      },
      {
        method: 'POST',
        path: `/apps/${app}/channels/stable/rollouts`,
        body: malformed,
        headers: json,
        status: 400,
        code: 'malformed_json',
      },
      {
        method: 'POST',
        path: `/apps/${app}/channels/stable/rollouts/1.0.0/halt`,
        body: malformed,
        headers: json,
        status: 400,
        code: 'malformed_json',
      },
      {
        method: 'POST',
        path: `/apps/${app}/channels/stable/rollouts/1.0.0/halt`,
        body: '{"expected_revision":0}',
        headers: json,
        status: 400,
        code: 'invalid_json',
      },
      {
        method: 'POST',
        path: `/apps/${app}/yanks`,
        body: malformed,
        headers: json,
        status: 400,
        code: 'malformed_json',
      },
      {
        method: 'POST',
        path: `/apps/${app}/yanks`,
        body: '{"yank": 1}',
        headers: json,
        status: 400,
        code: 'invalid_json',
      },
      {
        method: 'POST',
        path: '/tokens',
        body: malformed,
        headers: json,
        status: 400,
        code: 'malformed_json',
      },
      { method: 'DELETE', path: '/tokens/not-an-id', status: 400, code: 'invalid_param' },
      { method: 'GET', path: '/apps/no-such-app-xyz', status: 404, code: 'unknown_app' },
      { method: 'GET', path: '/apps/no-such-app-xyz/releases', status: 404, code: 'unknown_app' },
      { method: 'GET', path: `/apps/${app}/releases/not-semver`, status: 400, code: 'invalid_param' },
      { method: 'GET', path: '/apps/no-such-app-xyz/status', status: 404, code: 'unknown_app' },
      { method: 'GET', path: '/audit?limit=100000', status: 400, code: 'invalid_query' },
      {
        method: 'POST',
        path: `/apps/${app}/releases`,
        body: `{"manifest":"${'a'.repeat(RELEASE_BODY_LIMIT + 1)}"}`,
        headers: json,
        status: 413,
        code: 'too_large',
      },
      {
        method: 'POST',
        path: `/apps/${app}/yanks`,
        body: `{"yank":"${'a'.repeat(JSON_BODY_LIMIT + 1)}"}`,
        headers: json,
        status: 413,
        code: 'too_large',
      },
    ];
    for (const { method, path, body, headers, status, code } of cases) {
      const res = await admin<ErrorBody>(path, { method, body, headers });
      expect([method, path.slice(0, 80), res.status, res.body.error.code]).toEqual([
        method,
        path.slice(0, 80),
        status,
        code,
      ]);
      expect(res.body.error.message.length).toBeGreaterThan(0);
    }
    expect(await fingerprint(app)).toEqual(before);
  });
});
