/**
 * Hygiene (docs/hardening.md): failed admin authentication is rate-limited per IP without touching
 * D1 once blocked; no token or token hash reaches an audit row or a log line; every response the
 * Worker makes carries the security headers, whatever its status.
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { sha256Hex } from '../../src/protocol/encoding.ts';
import { app } from '../../src/worker/app.ts';
import { redact } from '../../src/worker/http/error-handling.ts';
import {
  admin,
  BOOTSTRAP,
  call,
  createApp,
  type ErrorBody,
  promote,
  publish,
  uniqueApp,
} from './support/fixtures.ts';
import { withinOneRateWindow } from './support/rate-window.ts';

afterEach(() => {
  vi.restoreAllMocks();
});

let ipCounter = 0;
/** A documentation address (RFC 5737) of its own for each test, so blocks never leak between tests. */
const freshIp = () => `198.51.100.${++ipCounter}`;
const WRONG = `updr_${'Q'.repeat(43)}`;

/** A request through the Worker with `overrides` in place of real bindings. */
async function fetchWith(request: Request, overrides: Partial<Env> = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await app.fetch(request, { ...env, ...overrides }, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

/** env.DB, counting every call made on it. */
function countingDb(): { db: D1Database; calls: () => number } {
  let calls = 0;
  const db = new Proxy(env.DB, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls += 1;
        return Reflect.apply(value, target, args);
      };
    },
  });
  return { db, calls: () => calls };
}

const whoami = (ip: string, token: string | null) =>
  new Request('https://updraft.test/v1/admin/whoami', {
    headers: { 'CF-Connecting-IP': ip, ...(token === null ? {} : { Authorization: `Bearer ${token}` }) },
  });

describe('rate limit on failed admin authentication', () => {
  it('after 10 invalid tokens from one IP: 429 rate_limited with Retry-After, for any token, without touching D1', {
    timeout: 20_000,
  }, async () => {
    const ip = freshIp();
    const { db, calls } = countingDb();
    await withinOneRateWindow(3_000);
    for (let i = 0; i < 10; i++) {
      const response = await fetchWith(whoami(ip, WRONG), { DB: db });
      expect(response.status).toBe(401);
      expect((await response.json<ErrorBody>()).error.code).toBe('invalid_token');
    }
    expect(calls()).toBe(10); // one token lookup each

    const limited = await fetchWith(whoami(ip, WRONG), { DB: db });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('Retry-After')).toBe('60');
    expect(limited.headers.get('Cache-Control')).toBe('no-store');
    expect(await limited.json()).toEqual({
      error: {
        code: 'rate_limited',
        message: 'too many failed authentications from this address; retry in 60 s',
      },
    });

    // Blocked: neither a guess nor the right token is looked at, and D1 is not asked.
    const before = calls();
    for (const token of [`updr_${'R'.repeat(43)}`, BOOTSTRAP.token]) {
      const blocked = await fetchWith(whoami(ip, token), { DB: db });
      expect(blocked.status).toBe(429);
      expect(Number(blocked.headers.get('Retry-After'))).toBeGreaterThan(0);
    }
    expect(calls()).toBe(before);

    // Other addresses are not affected.
    expect((await fetchWith(whoami(freshIp(), BOOTSTRAP.token))).status).toBe(200);
  });

  it('never counts successful authentications, nor requests without a token', async () => {
    const ip = freshIp();
    for (let i = 0; i < 30; i++) expect((await fetchWith(whoami(ip, BOOTSTRAP.token))).status).toBe(200);
    for (let i = 0; i < 15; i++) {
      const response = await fetchWith(whoami(ip, null));
      expect((await response.json<ErrorBody>()).error.code).toBe('missing_token');
    }
    for (let i = 0; i < 10; i++) expect((await fetchWith(whoami(ip, 'wrong-token'))).status).toBe(401);
    expect((await fetchWith(whoami(ip, BOOTSTRAP.token))).status).toBe(200);
  });

  it('lets the 401 through when the limiter itself fails (logged)', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    const broken: RateLimit = {
      limit: () => Promise.reject(new Error('limiter down')),
    };
    const response = await fetchWith(whoami(freshIp(), WRONG), { AUTH_RATE_LIMIT: broken });
    expect(response.status).toBe(401);
    expect(logged).toHaveBeenCalledWith('auth: rate limiter failed; not limiting', expect.any(Error));
  });
});

describe('tokens never reach audit rows or logs', () => {
  it('a created token, the bootstrap token, a wrong token and their hashes appear in no audit row and no log line', async () => {
    const lines: string[] = [];
    for (const level of ['error', 'warn', 'log', 'info', 'debug'] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        lines.push(args.map((a) => (a instanceof Error ? `${a.message}\n${a.stack}` : String(a))).join(' '));
      });
    }
    const created = await admin<{ id: string; token: string }>('/tokens', {
      method: 'POST',
      body: { name: 'hardening admin', role: 'admin' },
    });
    expect(created.status).toBe(201);
    const token = created.body.token;

    // Successful changes by the new token, failed requests with it and with a wrong one.
    const name = await createApp(uniqueApp('hard'));
    await publish(name, '1.0.0');
    expect((await promote(name, 'stable', '1.0.0')).status).toBe(200);
    expect((await admin('/apps', { method: 'POST', token, body: { name: uniqueApp('hard') } })).status).toBe(
      400,
    );
    expect(
      (
        await admin('/apps', {
          method: 'POST',
          token,
          body: {
            name: uniqueApp('hard'),
            default_channel: 'stable',
            channels: [{ name: 'stable', public: true }],
          },
        })
      ).status,
    ).toBe(201);
    expect((await admin('/whoami', { token: WRONG })).status).toBe(401);
    expect((await admin(`/tokens/${created.body.id}`, { method: 'DELETE', token })).status).toBe(200);
    expect((await admin('/whoami', { token })).status).toBe(401);

    // An unexpected failure whose error message carries the request's credentials: redacted in the log.
    const failing = {
      prepare: () => {
        throw new Error(`D1 exploded handling Authorization: Bearer ${WRONG} (${BOOTSTRAP.token})`);
      },
    } as unknown as D1Database;
    const response = await fetchWith(
      new Request('https://updraft.test/v1/admin/whoami', { headers: { Authorization: `Bearer ${WRONG}` } }),
      { DB: failing },
    );
    expect(response.status).toBe(500);
    expect(lines.some((line) => line.includes('D1 exploded handling Authorization: Bearer [redacted]'))).toBe(
      true,
    );

    const secrets = [token, BOOTSTRAP.token, WRONG];
    const forbidden = [...secrets, ...(await Promise.all(secrets.map((s) => sha256Hex(s))))];
    const { results } = await env.DB.prepare('SELECT * FROM audit').all();
    const auditText = JSON.stringify(results);
    expect(auditText).toContain('token:'); // the actor names the token by id and name
    for (const value of forbidden) {
      expect(auditText).not.toContain(value);
      for (const line of lines) expect(line).not.toContain(value);
    }
  });

  it('redact() removes bearer credentials, issued tokens and given secrets', () => {
    expect(
      redact('Authorization: Bearer abc.def and basic dXNlcjpw, updr_xyz-_1 and s3cret-value', [
        's3cret-value',
      ]),
    ).toBe('Authorization: Bearer [redacted] and basic [redacted], updr_[redacted] and [redacted]');
  });
});

describe('security headers on every response of the Worker', () => {
  const EXPECTED = {
    'content-security-policy':
      "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'; sandbox",
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'strict-transport-security': 'max-age=63072000; includeSubDomains',
  };
  const headersOf = (response: Response) =>
    Object.fromEntries(Object.keys(EXPECTED).map((name) => [name, response.headers.get(name)]));

  it('2xx, 3xx, 4xx and 5xx alike', { timeout: 20_000 }, async () => {
    const name = await createApp(uniqueApp('hdr'));
    await publish(name, '1.0.0');
    expect((await promote(name, 'stable', '1.0.0')).status).toBe(200);
    const checkPath = `/v1/apps/${name}/check?client_id=c-1&version=0.9.0&platform=linux&arch=x64`;
    const check = await call(checkPath, { token: null });
    const artifactUrl = ((await check.clone().json()) as { artifact: { url: string } }).artifact.url;
    const etag = check.headers.get('ETag') ?? '';

    vi.spyOn(console, 'error').mockImplementation(() => {});
    const responses: [number, Response][] = [
      [200, check],
      [200, await call(new URL(artifactUrl).pathname, { token: null })],
      [206, await call(new URL(artifactUrl).pathname, { token: null, headers: { Range: 'bytes=0-1' } })],
      [
        201,
        await call('/v1/admin/apps', {
          method: 'POST',
          body: {
            name: uniqueApp('hdr'),
            default_channel: 'stable',
            channels: [{ name: 'stable', public: true }],
          },
        }),
      ],
      [304, await call(checkPath, { token: null, headers: { 'If-None-Match': etag } })],
      [400, await call(`/v1/apps/${name}/check`, { token: null })],
      [401, await call('/v1/admin/whoami', { token: null })],
      [404, await call('/nowhere', { token: null })],
      [405, await call('/healthz', { method: 'POST', token: null })],
      [429, await limitedResponse()],
      [
        500,
        await fetchWith(
          new Request(
            `https://updraft.test/v1/apps/${uniqueApp('hdr')}/check${checkPath.slice(checkPath.indexOf('?'))}`,
          ),
          {
            STATE: { get: () => Promise.reject(new Error('KV down')) } as unknown as KVNamespace,
          },
        ),
      ],
      [503, await fetchWith(new Request('https://updraft.test/healthz'), { UPDRAFT_ONLINE_KEY: '{}' })],
    ];
    for (const [status, response] of responses) {
      expect(response.status).toBe(status);
      expect(headersOf(response), `the ${status} response`).toEqual(EXPECTED);
    }
  });
});

/** A 429 from the auth limit: the 11th invalid token from one address. */
async function limitedResponse(): Promise<Response> {
  const ip = freshIp();
  await withinOneRateWindow(3_000);
  for (let i = 0; i < 10; i++) await fetchWith(whoami(ip, WRONG));
  return fetchWith(whoami(ip, WRONG));
}
