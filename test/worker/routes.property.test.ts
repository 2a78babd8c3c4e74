/**
 * Every route of the Worker, and paths that are none, under arbitrary requests (docs/protocol.md §4, §8):
 * never a 5xx or an uncaught exception, always the protocol's error shape on a 4xx, and a rejected request
 * changes nothing in D1's control plane, KV or R2.
 *
 * Fixed seeds keep CI deterministic; on a failure fast-check prints the seed, the path to the
 * shrunk counterexample and the request itself.
 */
import { exports } from 'cloudflare:workers';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { app } from '../../src/worker/app.ts';
import { ORIGIN } from './support/fixtures.ts';
import { type FuzzRequest, requestArb, unknownRequestArb } from './support/fuzz-requests.ts';
import { type FuzzWorld, routeSpec, seedWorld } from './support/fuzz-world.ts';
import { type Fingerprint, fingerprint } from './support/state-fingerprint.ts';

/** Runs per route: with ~40 routes this keeps the file well under 60 s. */
const RUNS = 30;

/** Every route a handler answers, from the app's own table; `use` middleware is listed as ALL. */
const ROUTES = [
  ...new Map(
    app.routes
      .filter((r) => r.method !== 'ALL')
      .map((r) => [`${r.method} ${r.path}`, { method: r.method, path: r.path }]),
  ).values(),
];

/** A stable seed per route (FNV-1a of its name), so adding a route does not reshuffle the others. */
function seedOf(name: string): number {
  let hash = 0x811c9dc5;
  for (const char of name) hash = Math.imul(hash ^ (char.codePointAt(0) ?? 0), 0x01000193) >>> 0;
  return hash;
}

let world: FuzzWorld;
/** The state as of the last accepted request: a rejected one must leave it exactly so. */
let state: Fingerprint;

beforeAll(async () => {
  world = await seedWorld();
  state = await fingerprint();
}, 60_000);

const ERROR_SHAPE = {
  error: { code: expect.stringMatching(/^[a-z][a-z0-9_]*$/), message: expect.any(String) },
};

let requests = 0;

/**
 * One request through the Worker, each from its own address as the auth limiter sees it
 * (CF-Connecting-IP): otherwise the fuzzed bad tokens would soon have every request answered 429.
 */
async function send(request: FuzzRequest): Promise<Response> {
  requests += 1;
  const headers = new Headers(request.headers);
  headers.set('CF-Connecting-IP', `10.${(requests >> 16) & 255}.${(requests >> 8) & 255}.${requests & 255}`);
  return exports.default.fetch(
    new Request(`${ORIGIN}${request.url}`, { method: request.method, headers, body: request.body }),
  );
}

/** The properties every answer must have. */
async function check(request: FuzzRequest): Promise<void> {
  const response = await send(request);
  const text = await response.text();
  const context = `${request.method} ${request.url} → ${response.status} ${text.slice(0, 300)}`;
  expect(response.status, context).toBeLessThan(500);
  if (response.status < 400) {
    // Accepted: it may well have changed things; the next rejection is judged against the new state.
    state = await fingerprint();
    return;
  }
  expect(response.headers.get('Cache-Control'), context).toContain('no-store');
  if (response.status === 405) expect(response.headers.get('Allow'), context).toBeTruthy();
  if (request.method !== 'HEAD') {
    let body: unknown;
    expect(() => {
      body = JSON.parse(text);
    }, `${context}: the error is not JSON`).not.toThrow();
    expect(body, context).toEqual(ERROR_SHAPE);
  }
  expect(await fingerprint(), `${context}: a rejected request changed the state`).toEqual(state);
}

describe('arbitrary requests to every route', () => {
  it('finds the routes in the app', () => {
    expect(ROUTES.length).toBeGreaterThan(30);
    expect(ROUTES).toContainEqual({ method: 'GET', path: '/v1/apps/:app/check' });
    expect(ROUTES).toContainEqual({ method: 'POST', path: '/v1/admin/apps/:app/yanks' });
  });

  for (const route of ROUTES) {
    const name = `${route.method} ${route.path}`;
    it(name, async () => {
      const spec = routeSpec(world, route.method, route.path);
      await fc.assert(fc.asyncProperty(requestArb(world, route.method, route.path, spec), check), {
        seed: seedOf(name),
        numRuns: RUNS,
      });
    });
  }

  it('paths no route was written for', async () => {
    await fc.assert(fc.asyncProperty(unknownRequestArb(world), check), { seed: 7301, numRuns: 4 * RUNS });
  });
});

describe('the valid request each route spec starts from', () => {
  // Run last: these are accepted and change the world. A stale template would make the property
  // tests above mutate something already invalid, so check that each one passes validation.
  const REJECTED_AS_INPUT = [
    'malformed_json',
    'invalid_json',
    'invalid_query',
    'invalid_param',
    'invalid_header',
  ];

  it('passes the route validation', async () => {
    for (const route of ROUTES) {
      const spec = routeSpec(world, route.method, route.path);
      // Routes without a spec get random input only; there is no template to check.
      if (spec.query === undefined && spec.body === undefined && spec.bytes === undefined) continue;
      const path = route.path.replace(
        /:(\w+)/g,
        (_, name: string) => spec.params?.[name]?.[0] ?? world.params[name]?.[0] ?? 'x',
      );
      const query = spec.query ? `?${new URLSearchParams(spec.query)}` : '';
      const body = spec.bytes ?? (spec.body === undefined ? undefined : JSON.stringify(spec.body));
      const headers: [string, string][] = [
        ['Authorization', world.bootstrap],
        ...Object.entries(spec.headers ?? {}),
      ];
      if (spec.body !== undefined) headers.push(['Content-Type', 'application/json']);
      const response = await send({ method: route.method, url: `${path}${query}`, headers, body });
      const text = await response.text();
      const code =
        response.status >= 400 ? (JSON.parse(text) as { error: { code: string } }).error.code : null;
      expect(REJECTED_AS_INPUT, `${route.method} ${path}${query} → ${response.status} ${text}`).not.toContain(
        code,
      );
    }
  });
});
