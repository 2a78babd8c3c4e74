/**
 * Tokens limited to apps (docs/protocol.md §4, docs/api.md § Tokens): every admin route × role × scope. The
 * routes come from the admin router's own table, so a route added later fails here until it is given
 * a row below, with the role it needs and what it acts on.
 */
import { env } from 'cloudflare:workers';
import { Hono } from 'hono';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Role, roleAllows } from '../../src/protocol/roles.ts';
import { requireRole } from '../../src/worker/auth/authenticate.ts';
import { handleError } from '../../src/worker/http/error-handling.ts';
import { admin as adminRouter } from '../../src/worker/routes/admin/index.ts';
import type { AppEnv } from '../../src/worker/types.ts';
import { admin, auditCount, createApp, type ErrorBody, publish, uniqueApp } from './support/fixtures.ts';
import { fingerprint } from './support/state-fingerprint.ts';

/** `app`: the `:app` of its path; `query`: `?app=`; `own`: the caller's own view; `deployment`: all of it. */
type Acts = 'app' | 'query' | 'own' | 'deployment';

const ROUTES: Record<string, { role: Role; acts: Acts }> = {
  'GET /whoami': { role: 'analyst', acts: 'own' },
  'POST /tokens': { role: 'admin', acts: 'deployment' },
  'GET /tokens': { role: 'admin', acts: 'deployment' },
  'DELETE /tokens/:id': { role: 'admin', acts: 'deployment' },
  'POST /keys': { role: 'admin', acts: 'deployment' },
  'POST /apps': { role: 'admin', acts: 'deployment' },
  'GET /apps': { role: 'analyst', acts: 'own' },
  'GET /apps/:app': { role: 'analyst', acts: 'app' },
  'PUT /apps/:app/channels/:channel': { role: 'admin', acts: 'app' },
  'PUT /apps/:app/rules': { role: 'admin', acts: 'app' },
  'PUT /apps/:app/uploads/:version/:target/:file': { role: 'publisher', acts: 'app' },
  'DELETE /apps/:app/uploads/:version/:target/:file': { role: 'publisher', acts: 'app' },
  'POST /apps/:app/assets/missing': { role: 'publisher', acts: 'app' },
  'PUT /apps/:app/assets/:sha256': { role: 'publisher', acts: 'app' },
  'POST /apps/:app/multipart/:version/:target/:file': { role: 'publisher', acts: 'app' },
  'PUT /apps/:app/multipart/:version/:target/:file': { role: 'publisher', acts: 'app' },
  'POST /apps/:app/multipart/:version/:target/:file/complete': { role: 'publisher', acts: 'app' },
  'DELETE /apps/:app/multipart/:version/:target/:file': { role: 'publisher', acts: 'app' },
  'POST /apps/:app/releases': { role: 'publisher', acts: 'app' },
  'GET /apps/:app/releases': { role: 'analyst', acts: 'app' },
  'GET /apps/:app/releases/:version': { role: 'analyst', acts: 'app' },
  'POST /apps/:app/channels/:channel/rollouts': { role: 'publisher', acts: 'app' },
  'POST /apps/:app/channels/:channel/rollouts/:version/:action': { role: 'publisher', acts: 'app' },
  'POST /apps/:app/yanks': { role: 'publisher', acts: 'app' },
  'GET /apps/:app/status': { role: 'analyst', acts: 'app' },
  'GET /audit': { role: 'analyst', acts: 'query' },
  'GET /apps/:app/health': { role: 'analyst', acts: 'app' },
  'GET /apps/:app/compare': { role: 'analyst', acts: 'app' },
  'GET /apps/:app/adoption': { role: 'analyst', acts: 'app' },
  'GET /apps/:app/errors': { role: 'analyst', acts: 'app' },
  'GET /apps/:app/durations': { role: 'analyst', acts: 'app' },
  'GET /apps/:app/clients': { role: 'analyst', acts: 'app' },
  'GET /apps/:app/settings': { role: 'admin', acts: 'app' },
  'PUT /apps/:app/settings': { role: 'admin', acts: 'app' },
  'GET /apps/:app/webhooks': { role: 'admin', acts: 'app' },
  // A backup of one app is that app's; the deployment's index, its audit log and imports are not.
  'GET /export': { role: 'admin', acts: 'deployment' },
  'GET /export/apps/:app': { role: 'admin', acts: 'app' },
  'GET /export/audit': { role: 'admin', acts: 'deployment' },
  'POST /import': { role: 'admin', acts: 'deployment' },
  'POST /import/audit': { role: 'admin', acts: 'deployment' },
};

/** Every route the admin router answers, from its own table; `use` middleware is listed as ALL. */
const ROUTER = [
  ...new Set(adminRouter.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${r.path}`)),
];

const PARAMS: Record<string, string> = {
  channel: 'stable',
  version: '1.0.0',
  target: 'linux-x64',
  file: 'app.tar.gz',
  sha256: 'a'.repeat(64),
  id: '0'.repeat(16),
  action: 'pause',
};

/** The route's path with `app` (and harmless values for the other parameters). */
function pathOf(route: string, app: string, acts: Acts): string {
  const path = (route.split(' ')[1] ?? '').replace(/:(\w+)/g, (_, name: string) =>
    name === 'app' ? app : (PARAMS[name] ?? name),
  );
  return acts === 'query' ? `${path}?app=${app}` : path;
}

interface Caller {
  label: string;
  role: Role;
  /** null: a token for every app. */
  apps: string[] | null;
  token: string;
}

type Outcome = 'allowed' | 'forbidden' | 'app_forbidden' | 'scope_forbidden';

function expected(caller: Caller, route: { role: Role; acts: Acts }, app: string): Outcome {
  if (!roleAllows(caller.role, route.role)) return 'forbidden';
  if (caller.apps === null || route.acts === 'own') return 'allowed';
  if (route.acts === 'deployment') return 'scope_forbidden';
  return caller.apps.includes(app) ? 'allowed' : 'app_forbidden';
}

async function createToken(role: Role, apps?: string[]): Promise<string> {
  const created = await admin<{ token: string }>('/tokens', {
    method: 'POST',
    body: { name: `scope ${role} ${apps?.join(' ') ?? 'all'}`, role, ...(apps ? { apps } : {}) },
  });
  expect(created.status).toBe(201);
  return created.body.token;
}

let appA = '';
let appB = '';
const callers: Caller[] = [];

beforeAll(async () => {
  appA = await createApp(uniqueApp('scope-a'));
  appB = await createApp(uniqueApp('scope-b'));
  for (const apps of [null, [appA]]) {
    for (const role of ['admin', 'publisher', 'analyst'] as const) {
      const label = `${role} ${apps === null ? 'for every app' : 'for app A'}`;
      callers.push({ label, role, apps, token: await createToken(role, apps ?? undefined) });
    }
  }
}, 60_000);

async function send(caller: Caller, route: string, app: string) {
  const [method = 'GET'] = route.split(' ');
  const acts = ROUTES[route]?.acts ?? 'deployment';
  const body = method === 'GET' || method === 'DELETE' ? undefined : {};
  return admin<ErrorBody>(pathOf(route, app, acts), { method, body, token: caller.token });
}

describe('tokens limited to apps, on every admin route', () => {
  it('every route of the admin router has a row in the table, and every row a route', () => {
    expect(ROUTER.length).toBeGreaterThan(30);
    expect([...ROUTER].sort()).toEqual(Object.keys(ROUTES).sort());
    for (const [route, { acts }] of Object.entries(ROUTES)) {
      expect(route.includes(':app'), route).toBe(acts === 'app');
    }
  });

  it('refuses out of role or scope with 403 and the right code, and changes nothing', async () => {
    const before = await fingerprint();
    const mismatches: string[] = [];
    let refused = 0;
    for (const route of ROUTER) {
      const spec = ROUTES[route];
      if (!spec) continue;
      for (const caller of callers) {
        for (const [name, app] of [
          ['A', appA],
          ['B', appB],
        ] as const) {
          const want = expected(caller, spec, app);
          if (want === 'allowed') continue;
          refused += 1;
          const res = await send(caller, route, app);
          const got = res.status === 403 ? res.body.error.code : `${res.status}`;
          if (got !== want)
            mismatches.push(`${route} on ${name} by ${caller.label}: ${got}, expected ${want}`);
          if (res.headers.get('Cache-Control') !== 'no-store') mismatches.push(`${route}: cacheable 403`);
        }
      }
    }
    expect(mismatches).toEqual([]);
    expect(refused).toBeGreaterThan(100);
    expect(await fingerprint()).toEqual(before);
  }, 120_000);

  it('lets every caller through where its role and scope allow (past auth, no 5xx)', async () => {
    const mismatches: string[] = [];
    for (const route of ROUTER) {
      const spec = ROUTES[route];
      if (!spec) continue;
      for (const caller of callers) {
        for (const app of [appA, appB]) {
          if (expected(caller, spec, app) !== 'allowed') continue;
          const res = await send(caller, route, app);
          if (res.status === 401 || res.status === 403 || res.status >= 500) {
            mismatches.push(
              `${route} on ${app} by ${caller.label}: ${res.status} ${JSON.stringify(res.body)}`,
            );
          }
        }
      }
    }
    expect(mismatches).toEqual([]);
  }, 120_000);
});

describe('a token limited to one app', () => {
  it('publishes, promotes and reads its app; the other app is untouched', async () => {
    const publisher = callers.find((c) => c.role === 'publisher' && c.apps !== null);
    if (!publisher) throw new Error('no publisher for app A');
    await publish(appA, '2.0.0');
    await publish(appB, '2.0.0');
    const auditOfB = await auditCount(appB);
    const ok = await admin(`/apps/${appA}/channels/stable/rollouts`, {
      method: 'POST',
      token: publisher.token,
      body: { version: '2.0.0', percent_bp: 500 },
    });
    expect(ok.status).toBe(200);
    const denied = await admin<ErrorBody>(`/apps/${appB}/channels/stable/rollouts`, {
      method: 'POST',
      token: publisher.token,
      body: { version: '2.0.0', percent_bp: 500 },
    });
    expect(denied.status).toBe(403);
    expect(denied.body.error).toEqual({
      code: 'app_forbidden',
      message: `this token is limited to ${appA}; it cannot act on ${appB}`,
    });
    expect(await auditCount(appB)).toBe(auditOfB);
    const statusB = await admin<{ channels: { rollouts: unknown[] }[] }>(`/apps/${appB}/status`);
    expect(statusB.body.channels[0]?.rollouts).toEqual([]);
  });

  it('lists only its apps, and reads the audit history of its apps only', async () => {
    const analyst = callers.find((c) => c.role === 'analyst' && c.apps !== null);
    if (!analyst) throw new Error('no analyst for app A');
    const listed = await admin<{ apps: { name: string }[] }>('/apps', { token: analyst.token });
    expect(listed.body.apps.map((a) => a.name)).toEqual([appA]);
    const everything = await admin<{ apps: { name: string }[] }>('/apps');
    expect(everything.body.apps.map((a) => a.name)).toEqual(expect.arrayContaining([appA, appB]));

    const history = await admin<{ entries: { app: string | null }[] }>(`/audit?app=${appA}`, {
      token: analyst.token,
    });
    expect(history.status).toBe(200);
    expect(history.body.entries.length).toBeGreaterThan(0);
    expect(new Set(history.body.entries.map((e) => e.app))).toEqual(new Set([appA]));
    const whole = await admin<ErrorBody>('/audit', { token: analyst.token });
    expect(whole.status).toBe(403);
    expect(whole.body.error.code).toBe('scope_forbidden');
    const twice = await admin<ErrorBody>(`/audit?app=${appA}&app=${appB}`, { token: analyst.token });
    expect(twice.status).toBe(403);
    expect(twice.body.error.code).toBe('app_forbidden');
  });

  it('says who it is, with its apps, and token list shows every token with its apps', async () => {
    const scoped = callers.find((c) => c.role === 'admin' && c.apps !== null);
    if (!scoped) throw new Error('no admin for app A');
    const who = await admin<{ role: string; apps: string[] | null }>('/whoami', { token: scoped.token });
    expect(who.body).toMatchObject({ role: 'admin', apps: [appA] });
    expect((await admin('/whoami')).body).toMatchObject({ actor: 'bootstrap', apps: null });
    const listed = await admin<{ tokens: { name: string; apps: string[] | null }[] }>('/tokens');
    expect(listed.body.tokens.find((t) => t.name === `scope admin ${appA}`)?.apps).toEqual([appA]);
    expect(listed.body.tokens.find((t) => t.name === 'scope admin all')?.apps).toBeNull();
  });

  it('even an admin token for one app cannot mint a token, for its own app or any', async () => {
    const scoped = callers.find((c) => c.role === 'admin' && c.apps !== null);
    if (!scoped) throw new Error('no admin for app A');
    const tokensBefore = await env.DB.prepare('SELECT count(*) AS n FROM tokens').first<{ n: number }>();
    for (const apps of [[appA], undefined]) {
      const res = await admin<ErrorBody>('/tokens', {
        method: 'POST',
        token: scoped.token,
        body: { name: 'escalate', role: 'admin', ...(apps ? { apps } : {}) },
      });
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('scope_forbidden');
    }
    const tokensAfter = await env.DB.prepare('SELECT count(*) AS n FROM tokens').first<{ n: number }>();
    expect(tokensAfter?.n).toBe(tokensBefore?.n);
  });
});

describe('creating a token limited to apps', () => {
  it('stores the apps sorted and once each, and audits them', async () => {
    const created = await admin<{ id: string; apps: string[] | null }>('/tokens', {
      method: 'POST',
      body: { name: 'two apps', role: 'publisher', apps: [appB, appA, appB] },
    });
    expect(created.status).toBe(201);
    expect(created.body.apps).toEqual([appA, appB].sort());
    const row = await env.DB.prepare('SELECT apps_json FROM tokens WHERE id = ?1')
      .bind(created.body.id)
      .first<{ apps_json: string }>();
    expect(JSON.parse(row?.apps_json ?? 'null')).toEqual([appA, appB].sort());
    const history = await admin<{ entries: { action: string; target: string; after: { apps: unknown } }[] }>(
      '/audit?limit=5',
    );
    const entry = history.body.entries.find(
      (e) => e.action === 'token.create' && e.target === created.body.id,
    );
    expect(entry?.after.apps).toEqual([appA, appB].sort());
  });

  it('refuses unknown apps (404 unknown_app), an empty list and bad names (400), creating nothing', async () => {
    const ghost = uniqueApp('ghost');
    const cases: [unknown, number, string, string][] = [
      [[appA, ghost], 404, 'unknown_app', `apps: no app named ${ghost}`],
      [
        [],
        400,
        'invalid_json',
        'apps: must name at least one app (leave apps out for a token for every app)',
      ],
      [['Not An App!'], 400, 'invalid_json', 'apps.0:'],
      [appA, 400, 'invalid_json', 'apps:'],
      [null, 400, 'invalid_json', 'apps:'],
    ];
    const before = await fingerprint();
    for (const [apps, status, code, message] of cases) {
      const res = await admin<ErrorBody>('/tokens', {
        method: 'POST',
        body: { name: 'bad apps', role: 'analyst', apps },
      });
      expect(res.status, JSON.stringify(apps)).toBe(status);
      expect(res.body.error.code).toBe(code);
      expect(res.body.error.message.startsWith(message), res.body.error.message).toBe(true);
    }
    expect(await fingerprint()).toEqual(before);
  });
});

describe('a route added later', () => {
  // What `requireRole` does for a route nobody thought about: the router is real, the token is real.
  const probe = new Hono<AppEnv>();
  probe.get('/probe', requireRole('analyst'), (c) => c.json({ ok: true }));
  probe.get('/probe/apps/:app/thing', requireRole('analyst'), (c) => c.json({ ok: true }));
  probe.onError(handleError);
  const get = (path: string, token: string) =>
    probe.request(path, { headers: { Authorization: `Bearer ${token}` } }, env);

  it('is closed to a token limited to apps unless it has :app, which is then held to them', async () => {
    const scoped = callers.find((c) => c.role === 'analyst' && c.apps !== null);
    const unscoped = callers.find((c) => c.role === 'analyst' && c.apps === null);
    if (!scoped || !unscoped) throw new Error('no analysts');
    expect((await get('/probe', unscoped.token)).status).toBe(200);
    expect((await get('/probe', scoped.token)).status).toBe(403);
    expect((await get(`/probe/apps/${appA}/thing`, scoped.token)).status).toBe(200);
    expect((await get(`/probe/apps/${appB}/thing`, scoped.token)).status).toBe(403);
  });
});
