import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { app } from '../../src/worker/app.ts';
import { fetchWorker } from './support/seed-projection.ts';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('GET /healthz', () => {
  it('answers 200 when KV, R2, D1 and the online key all answer and nothing is refused', async () => {
    const response = await fetchWorker('/healthz');
    expect(response.status).toBe(200);
    expect(response.headers.get('Cache-Control')).toBe('no-store');
    expect(await response.json()).toEqual({
      ok: true,
      checks: { kv: 'ok', r2: 'ok', d1: 'ok', online_key: 'ok', projection: 'ok' },
    });
  });

  it('answers HEAD too', async () => {
    const response = await fetchWorker('/healthz', { method: 'HEAD' });
    expect(response.status).toBe(200);
  });

  it('answers 503 naming the failing check, without its reason', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    const ctx = createExecutionContext();
    const broken = { ...env, UPDRAFT_ONLINE_KEY: '{"kty":"RSA","secret":"do-not-echo"}' };
    const response = await app.fetch(new Request('https://updraft.test/healthz'), broken, ctx);
    await waitOnExecutionContext(ctx);
    expect(response.status).toBe(503);
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({
      ok: false,
      checks: { kv: 'ok', r2: 'ok', d1: 'ok', online_key: 'fail', projection: 'ok' },
    });
    expect(text).not.toContain('do-not-echo');
    expect(logged).toHaveBeenCalled();
  });
});
