import { env } from 'cloudflare:workers';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { handleError } from '../../src/worker/http/error-handling.ts';
import { ApiError } from '../../src/worker/http/errors.ts';
import { validate } from '../../src/worker/http/validate.ts';
import { appKey } from '../../src/worker/storage/projection.ts';
import { clearStateCache } from '../../src/worker/storage/state-cache.ts';
import { errorOf, fetchWorker, uniqueApp } from './support/seed-projection.ts';

afterEach(() => {
  vi.restoreAllMocks();
});

const CHECK_QUERY = '?client_id=c&version=1.0.0&platform=linux&arch=x64';

describe('routing errors', () => {
  it.each(['/', '/v1', '/v1/apps/demo', '/v1/apps/demo/nothing', '/v1/keys/1/extra', '/healthz/'])(
    'answers 404 not_found for %s',
    async (path) => {
      const response = await fetchWorker(path);
      expect(response.status).toBe(404);
      expect(await errorOf(response)).toEqual({ code: 'not_found', message: 'no such route' });
      expect(response.headers.get('Content-Type')).toMatch(/^application\/json/);
    },
  );

  it.each([
    ['POST', `/v1/apps/demo/check${CHECK_QUERY}`],
    ['DELETE', '/v1/apps/demo/artifacts/1.0.0/linux-x64/a.bin'],
    ['PUT', '/v1/keys'],
    ['POST', '/v1/keys/3'],
    ['POST', '/healthz'],
  ])('answers %s %s with 405 and Allow', async (method, path) => {
    const response = await fetchWorker(path, { method });
    expect(response.status).toBe(405);
    expect(response.headers.get('Allow')).toBe('GET, HEAD');
    expect((await errorOf(response)).code).toBe('method_not_allowed');
  });
});

describe('headers on every response', () => {
  const expectSecure = (response: Response) => {
    expect(response.headers.get('X-Content-Type-Options')).toBe('nosniff');
    expect(response.headers.get('Referrer-Policy')).toBe('no-referrer');
    expect(response.headers.get('Content-Security-Policy')).toContain("default-src 'none'");
    expect(response.headers.get('Strict-Transport-Security')).toMatch(/^max-age=\d+/);
  };

  it('sets the security headers on successes, errors, 404s and 405s', async () => {
    for (const [path, method] of [
      ['/healthz', 'GET'],
      ['/v1/keys/0', 'GET'],
      ['/nowhere', 'GET'],
      ['/healthz', 'DELETE'],
    ] as const) {
      const response = await fetchWorker(path, { method });
      expectSecure(response);
      await response.arrayBuffer();
    }
  });

  it('answers CORS preflights on client endpoints and exposes the caching headers', async () => {
    const preflight = await fetchWorker(`/v1/apps/demo/check${CHECK_QUERY}`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'GET' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('Access-Control-Allow-Origin')).toBe('*');

    const response = await fetchWorker('/v1/keys/999999998', { headers: { Origin: 'https://app.example' } });
    expect(response.headers.get('Access-Control-Allow-Origin')).toBe('*');
    expect(response.headers.get('Access-Control-Expose-Headers')).toContain('ETag');
    await response.arrayBuffer();
  });

  it('does not open the admin API to browsers', async () => {
    const response = await fetchWorker('/v1/admin/whoami', { headers: { Origin: 'https://evil.example' } });
    expect(response.headers.get('Access-Control-Allow-Origin')).toBeNull();
    await response.arrayBuffer();
  });
});

describe('unexpected failures', () => {
  it('logs them and answers a generic 500 without details', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    const app = uniqueApp('corrupt');
    await env.STATE.put(appKey(app), JSON.stringify({ app, default_channel: 42 }));
    clearStateCache();
    const response = await fetchWorker(`/v1/apps/${app}/check${CHECK_QUERY}`);
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({ error: { code: 'internal_error', message: 'internal error' } });
    expect(text).not.toMatch(/default_channel|at .*\.ts/);
    expect(logged).toHaveBeenCalledOnce();
  });
});

describe('handleError', () => {
  // A throwaway app with the Worker's error handler, to reach the failures no public route has yet.
  const probe = new Hono()
    .post('/json', validate('json', z.object({ name: z.string() })), (c) => c.json(c.req.valid('json')))
    .post('/small', bodyLimit({ maxSize: 8 }), (c) => c.text('ok'))
    .get('/auth', () => {
      const res = new Response(null, { headers: { 'WWW-Authenticate': 'Bearer realm="updraft"' } });
      throw new HTTPException(401, { message: 'missing bearer token', res });
    })
    .get('/api', () => {
      throw new ApiError(409, 'stale_revision', 'channel revision is 8, not 7');
    })
    .get('/bug', () => {
      throw new TypeError('secret internals');
    })
    .onError(handleError);

  const post = (path: string, body: string) =>
    probe.request(path, { method: 'POST', body, headers: { 'Content-Type': 'application/json' } });

  it('maps a malformed JSON body to 400 malformed_json', async () => {
    const response = await post('/json', '{"name": ');
    expect(response.status).toBe(400);
    expect((await errorOf(response)).code).toBe('malformed_json');
  });

  it('maps a body that fails its schema to 400 invalid_json naming the field', async () => {
    const response = await post('/json', '{"name": 3}');
    expect(response.status).toBe(400);
    expect(await errorOf(response)).toMatchObject({
      code: 'invalid_json',
      message: expect.stringMatching(/^name:/),
    });
  });

  it('maps an oversized body to 413 too_large', async () => {
    const response = await post('/small', '0123456789abcdef');
    expect(response.status).toBe(413);
    expect(await errorOf(response)).toEqual({ code: 'too_large', message: 'request body is too large' });
  });

  it('keeps the status, message and WWW-Authenticate of an HTTPException', async () => {
    const response = await probe.request('/auth');
    expect(response.status).toBe(401);
    expect(response.headers.get('WWW-Authenticate')).toBe('Bearer realm="updraft"');
    expect(response.headers.get('Cache-Control')).toBe('no-store');
    expect(await errorOf(response)).toEqual({ code: 'unauthorized', message: 'missing bearer token' });
  });

  it('answers an ApiError with its own status and code', async () => {
    const response = await probe.request('/api');
    expect(response.status).toBe(409);
    expect(await errorOf(response)).toEqual({
      code: 'stale_revision',
      message: 'channel revision is 8, not 7',
    });
  });

  it('answers anything else with a generic 500', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    const response = await probe.request('/bug');
    expect(response.status).toBe(500);
    expect(await errorOf(response)).toEqual({ code: 'internal_error', message: 'internal error' });
    expect(logged).toHaveBeenCalledOnce();
  });
});
