/** PUT …/channels/{channel} with `default: true`: the app's default channel, as `updraft channel set --default` sends it. */
import { describe, expect, it } from 'vitest';
import { clearStateCache } from '../../src/worker/storage/state-cache.ts';
import { admin, auditCount, call, createApp, type ErrorBody } from './support/fixtures.ts';

interface AppBody {
  default_channel: string;
  revision: number;
  channels: { name: string; public: boolean }[];
}

/** The channel a check is routed to, read past the isolate's few seconds of state cache. */
async function routedTo(app: string, channel?: string): Promise<string> {
  clearStateCache();
  const query = new URLSearchParams({
    client_id: 'client-1',
    version: '1.0.0',
    platform: 'linux',
    arch: 'x64',
  });
  if (channel) query.set('channel', channel);
  const response = await call(`/v1/apps/${app}/check?${query}`, { token: null });
  expect(response.status).toBe(200);
  return ((await response.json()) as { channel: string }).channel;
}

describe('the default channel', () => {
  it('moves to another channel, which clients that ask for none then get, with an audit row', async () => {
    const app = await createApp(undefined, [
      { name: 'stable', public: true },
      { name: 'beta', public: false },
    ]);
    expect(await routedTo(app)).toBe('stable');
    const before = await admin<AppBody>(`/apps/${app}`);
    const { status, body } = await admin<AppBody>(`/apps/${app}/channels/beta`, {
      method: 'PUT',
      body: { default: true, expected_revision: before.body.revision },
    });
    expect(status).toBe(200);
    expect(body.default_channel).toBe('beta');
    expect(body.revision).toBe(before.body.revision + 1);
    // Visibility is left as it was when only `default` is given.
    expect(body.channels).toContainEqual({ name: 'beta', public: false, revision: 1 });
    expect(await routedTo(app)).toBe('beta');
    const history = await admin<{
      entries: { action: string; target: string; before: unknown; after: unknown }[];
    }>(`/audit?app=${app}&limit=1`);
    expect(history.body.entries[0]).toMatchObject({
      action: 'channel.update',
      target: 'beta',
      before: { name: 'beta', public: false, default: false },
      after: { name: 'beta', public: false, default: true },
    });
  });

  it('creates a channel and makes it the default in one change; again it changes nothing', async () => {
    const app = await createApp();
    const created = await admin<AppBody>(`/apps/${app}/channels/edge`, {
      method: 'PUT',
      body: { public: true, default: true },
    });
    expect(created.status).toBe(201);
    expect(created.body.default_channel).toBe('edge');
    expect(await routedTo(app, 'stable')).toBe('stable');
    expect(await routedTo(app)).toBe('edge');
    const audits = await auditCount(app);
    const again = await admin<AppBody>(`/apps/${app}/channels/edge`, {
      method: 'PUT',
      body: { default: true },
    });
    expect(again.status).toBe(200);
    expect(again.body.revision).toBe(created.body.revision);
    expect(await auditCount(app)).toBe(audits);
  });

  it.each([
    [{}, 'invalid_json', 'public: give public, default or both'],
    [
      { default: false },
      'invalid_json',
      'default: can only be true (make another channel the default instead)',
    ],
    [{ default: true }, 'invalid_json', 'public: is required to create channel newone'],
  ])('refuses %j with 400 and changes nothing', async (body, code, message) => {
    const app = await createApp();
    const before = await admin<AppBody>(`/apps/${app}`);
    const audits = await auditCount(app);
    const answer = await admin<ErrorBody>(`/apps/${app}/channels/newone`, { method: 'PUT', body });
    expect(answer.status).toBe(400);
    expect(answer.body.error).toEqual({ code, message });
    expect((await admin<AppBody>(`/apps/${app}`)).body).toEqual(before.body);
    expect(await auditCount(app)).toBe(audits);
  });

  it('answers 409 stale_revision for an old expected_revision', async () => {
    const app = await createApp(undefined, [
      { name: 'stable', public: true },
      { name: 'beta', public: true },
    ]);
    const answer = await admin<ErrorBody>(`/apps/${app}/channels/beta`, {
      method: 'PUT',
      body: { default: true, expected_revision: 99 },
    });
    expect(answer.status).toBe(409);
    expect(answer.body.error.code).toBe('stale_revision');
    expect((await admin<AppBody>(`/apps/${app}`)).body.default_channel).toBe('stable');
  });
});
