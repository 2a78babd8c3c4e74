/**
 * What a 400 says about a bad query: a repeated parameter is named as repeated (not "is required"),
 * and a number that is not one reads "must be a whole number …" (not zod's "received NaN").
 */
import { describe, expect, it } from 'vitest';
import { admin, auditCount, createApp, type ErrorBody } from './support/fixtures.ts';
import { errorOf, fetchWorker, release, seedApp, seedChannel, uniqueApp } from './support/seed-projection.ts';

describe('a parameter given twice', () => {
  it.each(['client_id', 'version', 'platform', 'channel'])(
    'check says %s was given more than once',
    async (name) => {
      const app = uniqueApp('twice');
      await seedApp(app);
      await seedChannel({ app, releases: [{ release: release(app, '1.0.0') }] });
      const query = new URLSearchParams({
        client_id: 'client-1',
        version: '1.0.0',
        platform: 'linux',
        arch: 'x64',
        channel: 'stable',
      });
      query.append(name, query.get(name) ?? '');
      const response = await fetchWorker(`/v1/apps/${app}/check?${query}`);
      expect(response.status).toBe(400);
      expect(await errorOf(response)).toEqual({
        code: 'invalid_query',
        message: `${name}: is given more than once; give it once`,
      });
    },
  );

  it('an admin list route says it too, and an unknown parameter given twice is still ignored', async () => {
    const twice = await admin<ErrorBody>('/audit?limit=5&limit=6');
    expect(twice.status).toBe(400);
    expect(twice.body.error).toEqual({
      code: 'invalid_query',
      message: 'limit: is given more than once; give it once',
    });
    const ignored = await admin('/audit?limit=5&foo=1&foo=2');
    expect(ignored.status).toBe(200);
  });
});

describe('a number that is not a whole number', () => {
  it.each([
    ['/audit?limit=abc', 'limit: must be a whole number from 1 to 500'],
    ['/audit?limit=2.5', 'limit: must be a whole number from 1 to 500'],
    ['/audit?limit=0', 'limit: must be a whole number from 1 to 500'],
    ['/audit?limit=', 'limit: must be a whole number from 1 to 500'],
    ['/audit?before=-3', 'before: must be a whole number of at least 1'],
    ['/export/audit?until=abc', 'until: must be a whole number of at least 1'],
    ['/export/audit', 'until: is required'],
    ['/export/audit?until=5&limit=1e3', 'limit: must be a whole number from 1 to 500'],
  ])('%s answers 400 "%s"', async (path, message) => {
    const before = await auditCount();
    const { status, body } = await admin<ErrorBody>(path);
    expect(status).toBe(400);
    expect(body.error).toEqual({ code: 'invalid_query', message });
    expect(await auditCount()).toBe(before);
  });

  it('on the analytics and webhook list routes too, while a good limit still answers', async () => {
    const app = await createApp();
    const errors = await admin<ErrorBody>(`/apps/${app}/errors?limit=abc`);
    expect(errors.status).toBe(400);
    expect(errors.body.error).toEqual({
      code: 'invalid_query',
      message: 'limit: must be a whole number from 1 to 100',
    });
    const webhooks = await admin<ErrorBody>(`/apps/${app}/webhooks?limit=ten`);
    expect(webhooks.status).toBe(400);
    expect(webhooks.body.error.message).toBe('limit: must be a whole number from 1 to 100');
    expect((await admin(`/apps/${app}/errors?limit=3`)).status).toBe(200);
    expect((await admin('/audit?limit=2')).status).toBe(200);
  });
});
