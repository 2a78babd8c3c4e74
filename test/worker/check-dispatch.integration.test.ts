/**
 * The check dispatched before the router (routes/check.ts `dispatchCheck`, src/worker/index.ts): for
 * every kind of check request its answer is the router's, byte for byte and header for header, so
 * skipping Hono's matching and middleware changes nothing a client sees. Requests the dispatch does
 * not take whole fall through to the router.
 */
import { createExecutionContext } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { app as router } from '../../src/worker/app.ts';
import { dispatchCheck } from '../../src/worker/routes/check.ts';
import { ORIGIN, release, seedApp, seedChannel, uniqueApp } from './support/seed-projection.ts';

async function seeded(): Promise<{ app: string; snapshotSha256: string }> {
  const app = uniqueApp('dispatch');
  await seedApp(app);
  await seedChannel({
    app,
    releases: [
      { release: release(app, '1.0.0') },
      { release: release(app, '1.1.0'), rollout: { percent_bp: 5_000 } },
    ],
  });
  const first = await exports.default.fetch(
    new Request(`${ORIGIN}/v1/apps/${app}/check?client_id=c&version=0.9.0&platform=linux&arch=x64`),
  );
  const body = (await first.json()) as { signed: { snapshot: string } };
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(body.signed.snapshot));
  const snapshotSha256 = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
  return { app, snapshotSha256 };
}

/** Status, every header and the body bytes: what a client could tell apart. */
async function seen(response: Response) {
  return {
    status: response.status,
    headers: [...response.headers].sort(([a], [b]) => a.localeCompare(b)),
    body: new TextDecoder().decode(await response.arrayBuffer()),
  };
}

async function both(path: string, init?: RequestInit) {
  const viaDispatch = await exports.default.fetch(new Request(`${ORIGIN}${path}`, init));
  const viaRouter = await router.fetch(new Request(`${ORIGIN}${path}`, init), env, createExecutionContext());
  return { dispatched: await seen(viaDispatch), routed: await seen(viaRouter) };
}

describe('the check dispatched before the router', () => {
  it('answers every kind of check exactly as the router does', async () => {
    const { app, snapshotSha256 } = await seeded();
    const base = `/v1/apps/${app}/check?platform=linux&arch=x64`;
    const cases: [string, RequestInit?][] = [
      [`${base}&client_id=inside-or-not-1&version=1.0.0`],
      [`${base}&client_id=inside-or-not-2&version=1.0.0`],
      [`${base}&client_id=up-to-date&version=1.1.0`],
      [`${base}&client_id=up-to-date&version=1.1.0&snapshot=${snapshotSha256}`],
      [`${base}&client_id=old&version=0.9.0&channel=stable&os_version=14.2`],
      // Bad input: each a 400 naming the parameter.
      [`${base}&version=1.0.0`],
      [`${base}&client_id=a&client_id=b&version=1.0.0`],
      [`${base}&client_id=c&version=one`],
      [`${base}&client_id=c&version=1.0.0&snapshot=xyz`],
      // Unknown app, unknown channel.
      [`/v1/apps/no-such-app/check?platform=linux&arch=x64&client_id=c&version=1.0.0`],
      [`${base}&client_id=c&version=1.0.0&channel=nightly`],
    ];
    const statuses: number[] = [];
    for (const [path, init] of cases) {
      const { dispatched, routed } = await both(path, init);
      expect(dispatched, path).toEqual(routed);
      statuses.push(dispatched.status);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 400, 400, 400, 400, 404, 200]);

    // A conditional request: the ETag of the answer gets 304 either way, with the same headers.
    const path = `${base}&client_id=etag&version=1.0.0`;
    const { dispatched: first } = await both(path);
    const etag = first.headers.find(([name]) => name === 'etag')?.[1] ?? '';
    expect(etag).not.toBe('');
    const conditional = await both(path, { headers: { 'If-None-Match': etag } });
    expect(conditional.dispatched.status).toBe(304);
    expect(conditional.dispatched).toEqual(conditional.routed);
  });

  it('leaves to the router what it does not take whole', async () => {
    const { app } = await seeded();
    const query = '?client_id=c&version=1.0.0&platform=linux&arch=x64';
    const request = (path: string, method = 'GET') => new Request(`${ORIGIN}${path}`, { method });
    expect(dispatchCheck(request(`/v1/apps/${app}/check${query}`), env)).toBeInstanceOf(Promise);
    for (const [path, method] of [
      [`/v1/apps/${app}/check${query}`, 'HEAD'],
      [`/v1/apps/${app}/check${query}`, 'OPTIONS'],
      [`/v1/apps/${app}/check/${query}`, 'GET'],
      [`/v1/apps/Not_A_Name/check${query}`, 'GET'],
      [`/v1/apps/${app}/events`, 'GET'],
      ['/healthz', 'GET'],
    ] as const) {
      expect(dispatchCheck(request(path, method), env), `${method} ${path}`).toBeUndefined();
    }
    // The router still answers them as before: a HEAD is a GET without its body, a bad name a 400.
    const head = await exports.default.fetch(request(`/v1/apps/${app}/check${query}`, 'HEAD'));
    expect(head.status).toBe(200);
    const bad = await exports.default.fetch(request(`/v1/apps/Not_A_Name/check${query}`));
    expect(bad.status).toBe(400);
  });
});
