/** App settings (webhook URL and secret, default plan) and the deliveries list, through the admin API. */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { admin, auditCount, createApp, type ErrorBody } from './support/fixtures.ts';
import { enqueue, inbox, rolloutEvent, type SettingsBody } from './support/webhook-fixtures.ts';

const PLAN = {
  steps_bp: [100, 500, 2500, 5000, 10000],
  bake_seconds: 7200,
  gates: { max_failure_rate: 0.02, max_rollback_rate: 0.01, min_installs: 200 },
};

const put = (app: string, body: object, token?: string) =>
  admin<SettingsBody & ErrorBody>(`/apps/${app}/settings`, { method: 'PUT', body, token });

async function storedSecret(app: string): Promise<string | null> {
  const row = await env.DB.prepare('SELECT webhook_secret FROM apps WHERE name = ?1')
    .bind(app)
    .first<{ webhook_secret: string | null }>();
  return row?.webhook_secret ?? null;
}

async function appRevision(app: string): Promise<number> {
  return (await admin<{ revision: number }>(`/apps/${app}`)).body.revision;
}

describe('app settings', () => {
  it('shows a new secret once, keeps it across URL changes, rotates it on request, never audits it', async () => {
    const app = await createApp();
    expect((await admin(`/apps/${app}/settings`)).body).toEqual({ webhook_url: null, default_plan: null });

    const first = await put(app, { webhook_url: 'https://hooks.example.com/updraft' });
    expect(first.status).toBe(200);
    expect(first.headers.get('Cache-Control')).toBe('no-store');
    const secret = first.body.webhook_secret ?? '';
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(first.body).toEqual({
      webhook_url: 'https://hooks.example.com/updraft',
      default_plan: null,
      webhook_secret: secret,
    });
    expect(await storedSecret(app)).toBe(secret);
    expect((await admin(`/apps/${app}/settings`)).body).toEqual({
      webhook_url: 'https://hooks.example.com/updraft',
      default_plan: null,
    });

    const moved = await put(app, { webhook_url: 'https://hooks.example.com/v2' });
    expect(moved.body).toEqual({ webhook_url: 'https://hooks.example.com/v2', default_plan: null });
    expect(await storedSecret(app)).toBe(secret);

    const rotated = await put(app, { rotate_webhook_secret: true });
    expect(rotated.body.webhook_secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(rotated.body.webhook_secret).not.toBe(secret);
    expect(await storedSecret(app)).toBe(rotated.body.webhook_secret);

    const audit = await env.DB.prepare(
      `SELECT before_json, after_json FROM audit WHERE app = ?1 AND action = 'settings.update' ORDER BY id`,
    )
      .bind(app)
      .all<{ before_json: string; after_json: string }>();
    expect(audit.results.map((r) => JSON.parse(r.after_json))).toEqual([
      { webhook_url: 'https://hooks.example.com/updraft', default_plan: null, webhook_secret: '(rotated)' },
      { webhook_url: 'https://hooks.example.com/v2', default_plan: null },
      { webhook_url: 'https://hooks.example.com/v2', default_plan: null, webhook_secret: '(rotated)' },
    ]);
    const everything = JSON.stringify(audit.results);
    expect(everything).not.toContain(secret);
    expect(everything).not.toContain(rotated.body.webhook_secret);
  });

  it('drops the secret with the URL, and a URL set again comes with a new one', async () => {
    const app = await createApp();
    const first = await put(app, { webhook_url: 'https://hooks.example.com/a' });
    const removed = await put(app, { webhook_url: null });
    expect(removed.body).toEqual({ webhook_url: null, default_plan: null });
    expect(await storedSecret(app)).toBeNull();
    const again = await put(app, { webhook_url: 'https://hooks.example.com/a' });
    expect(again.body.webhook_secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(again.body.webhook_secret).not.toBe(first.body.webhook_secret);

    const rotateNothing = await put(app, { webhook_url: null, rotate_webhook_secret: true });
    expect([rotateNothing.status, rotateNothing.body.error?.code]).toEqual([400, 'no_webhook_url']);
  });

  it('accepts https, and http only on loopback; refuses anything else with invalid_webhook_url', async () => {
    const app = await createApp();
    for (const url of ['http://127.0.0.1:8787/hook', 'http://localhost/hook', 'http://[::1]:9000/hook']) {
      const res = await put(app, { webhook_url: url });
      expect([res.status, res.body.webhook_url]).toEqual([200, url]);
    }
    const revision = await appRevision(app);
    const audits = await auditCount(app);
    for (const url of [
      'http://hooks.example.com/hook',
      'http://10.0.0.7/hook',
      'ftp://hooks.example.com/hook',
      'not a url',
      '',
      'https://user:password@hooks.example.com/hook',
    ]) {
      const res = await put(app, { webhook_url: url });
      expect([url, res.status, res.body.error?.code]).toEqual([url, 400, 'invalid_webhook_url']);
    }
    const tooLong = await put(app, { webhook_url: `https://hooks.example.com/${'a'.repeat(2100)}` });
    expect([tooLong.status, tooLong.body.error?.code]).toEqual([400, 'invalid_json']);
    expect(await appRevision(app)).toBe(revision);
    expect(await auditCount(app)).toBe(audits);
  });

  it('sets, validates and clears the default plan; a no-op writes nothing', async () => {
    const app = await createApp();
    const set = await put(app, { default_plan: PLAN });
    expect(set.body).toEqual({ webhook_url: null, default_plan: PLAN });
    expect((await admin(`/apps/${app}/settings`)).body).toEqual({ webhook_url: null, default_plan: PLAN });

    for (const bad of [
      { ...PLAN, steps_bp: [100, 500] },
      { ...PLAN, steps_bp: [500, 100, 10000] },
      { ...PLAN, bake_seconds: 1 },
      { ...PLAN, gates: { ...PLAN.gates, max_failure_rate: 2 } },
      'default',
    ]) {
      const res = await put(app, { default_plan: bad });
      expect([res.status, res.body.error?.code]).toEqual([400, 'invalid_json']);
    }

    const revision = await appRevision(app);
    const audits = await auditCount(app);
    expect((await put(app, {})).body).toEqual({ webhook_url: null, default_plan: PLAN });
    expect((await put(app, { default_plan: PLAN, webhook_url: null })).status).toBe(200);
    expect(await appRevision(app)).toBe(revision);
    expect(await auditCount(app)).toBe(audits);

    const cleared = await put(app, { default_plan: null });
    expect(cleared.body).toEqual({ webhook_url: null, default_plan: null });
    expect(await appRevision(app)).toBe(revision + 1);

    const stale = await put(app, { default_plan: PLAN, expected_revision: revision });
    expect([stale.status, stale.body.error?.code]).toEqual([409, 'stale_revision']);
  });

  it('lists deliveries newest first, bounded by limit', async () => {
    const app = await createApp();
    await put(app, { webhook_url: inbox().url });
    const now = new Date();
    for (const event of ['rollout.advance', 'rollout.halt', 'rollout.complete'] as const) {
      await enqueue(rolloutEvent(app, { event }), now);
    }
    const listed = await admin<{ deliveries: { id: number; event: string }[] }>(
      `/apps/${app}/webhooks?limit=2`,
    );
    expect(listed.body.deliveries.map((d) => d.event)).toEqual(['rollout.complete', 'rollout.halt']);
    const all = await admin<{ deliveries: { id: number; event: string }[] }>(`/apps/${app}/webhooks`);
    expect(all.body.deliveries).toHaveLength(3);
    expect(JSON.stringify(all.body)).not.toContain('"body"');
    for (const query of ['limit=0', 'limit=101', 'limit=x']) {
      const res = await admin<ErrorBody>(`/apps/${app}/webhooks?${query}`);
      expect([res.status, res.body.error.code]).toEqual([400, 'invalid_query']);
    }
  });

  it('needs the admin role, and an existing app', async () => {
    const app = await createApp();
    const created = await admin<{ token: string }>('/tokens', {
      method: 'POST',
      body: { name: 'settings analyst', role: 'analyst' },
    });
    const { token } = created.body;
    for (const [path, method, body] of [
      [`/apps/${app}/settings`, 'GET', undefined],
      [`/apps/${app}/settings`, 'PUT', { webhook_url: 'https://hooks.example.com/x' }],
      [`/apps/${app}/webhooks`, 'GET', undefined],
    ] as const) {
      const res = await admin<ErrorBody>(path, { method, body, token });
      expect([path, method, res.status, res.body.error.code]).toEqual([path, method, 403, 'forbidden']);
    }
    expect(await storedSecret(app)).toBeNull();
    for (const [path, method] of [
      ['/apps/no-such-app/settings', 'GET'],
      ['/apps/no-such-app/settings', 'PUT'],
      ['/apps/no-such-app/webhooks', 'GET'],
    ] as const) {
      const res = await admin<ErrorBody>(path, { method, body: method === 'PUT' ? {} : undefined });
      expect([path, method, res.status, res.body.error.code]).toEqual([path, method, 404, 'unknown_app']);
    }
  });
});
