/**
 * GET /v1/admin/apps/{app}/compare (docs/api.md § Analytics): a release against its baseline. The
 * baseline is chosen as docs/protocol.md §6 says (a yanked release in between is skipped), both sides are the
 * very answers of /health, and each difference is newcombe() on the counts seeded here.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ReleaseComparison, ReleaseHealth } from '../../src/protocol/admin-api.ts';
import { sessionEventId, type TelemetryEvent } from '../../src/protocol/telemetry.ts';
import { newcombe } from '../../src/protocol/wilson.ts';
import { storeEvents } from '../../src/worker/storage/telemetry.ts';
import type { StoredEvent } from '../../src/worker/storage/telemetry-sql.ts';
import { event, h, WINDOW } from './support/analytics-fixture.ts';
import { admin, createApp, type ErrorBody, promote, publish, signYank } from './support/fixtures.ts';

const query = (params: Record<string, string>) => `?${new URLSearchParams(params)}`;

let app: string;

/** One hourly `session` report of `client` running `version`, as the SDK sends it. */
async function session(
  client: string,
  version: string,
  at: number,
  counts: Partial<NonNullable<TelemetryEvent['sessions']>>,
): Promise<StoredEvent> {
  return {
    ...event(app, { client, type: 'session', at, from: version }),
    id: await sessionEventId(app, client, version, h(at)),
    sessions: { ok: 0, errored: 0, crashed: 0, abnormal: 0, ...counts },
  };
}

async function complete(version: string) {
  const res = await admin(`/apps/${app}/channels/stable/rollouts/${version}/complete`, {
    method: 'POST',
    body: {},
  });
  if (res.status !== 200) throw new Error(`complete ${version}: ${res.status} ${JSON.stringify(res.body)}`);
}

/**
 * stable: 1.0.0 and 1.1.0 complete; 1.2.0 complete, then yanked back to 1.1.0; 1.3.0, the canary,
 * at 10 %. Baseline of 1.3.0: 1.1.0 (1.2.0 is yanked).
 *
 * 1.3.0: b1–b6 install (6), f1 and f2 fail (2); b1 rolls back, and r1 (never reported its install)
 * too: rollbacks 2 of exposed 7 (b1–b6, r1).
 * 1.1.0: a1–a10 install (10), g1 fails (1); a1 rolls back: rollbacks 1 of exposed 10.
 *
 * Sessions: on 1.3.0, s1–s5 report 10 each, s1 and s2 with a crash (one in hour −20, one in −19):
 * 2 of 50 sessions crashed, 2 of 5 users. On 1.1.0, t1–t10 report 10 each, t1 with one crash: 1 of
 * 100, 1 of 10 users. 1.2.0's crashes and a report outside the window count for neither.
 */
beforeAll(async () => {
  app = await createApp(undefined, [
    { name: 'stable', public: true },
    { name: 'beta', public: true },
  ]);
  for (const version of ['1.0.0', '1.1.0', '1.2.0', '1.3.0']) await publish(app, version);
  for (const version of ['1.0.0', '1.1.0', '1.2.0']) {
    await promote(app, 'stable', version);
    await complete(version);
  }
  const yank = await admin(`/apps/${app}/yanks`, {
    method: 'POST',
    body: { yank: await signYank(app, '1.2.0', '1.1.0') },
  });
  if (yank.status !== 201) throw new Error(`yank: ${yank.status} ${JSON.stringify(yank.body)}`);
  await promote(app, 'stable', '1.3.0', 1000);

  const at = -20;
  const install = (client: string, from: string, to: string) =>
    event(app, { client, type: 'install_succeeded', at, from, to, ms: 1000 });
  const fail = (client: string, from: string, to: string) =>
    event(app, { client, type: 'install_failed', at, from, to, code: 'E_DISK' });
  const rollback = (client: string, from: string, to: string) =>
    event(app, { client, type: 'rollback', at: at + 1, from, to });
  const clients = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`);
  await storeEvents(env.DB, [
    ...clients('b', 6).map((c) => install(c, '1.1.0', '1.3.0')),
    ...clients('f', 2).map((c) => fail(c, '1.1.0', '1.3.0')),
    rollback('b1', '1.3.0', '1.1.0'),
    rollback('r1', '1.3.0', '1.1.0'),
    ...clients('a', 10).map((c) => install(c, '1.0.0', '1.1.0')),
    fail('g1', '1.0.0', '1.1.0'),
    rollback('a1', '1.1.0', '1.0.0'),
    await session('s1', '1.3.0', -20, { ok: 9, crashed: 1 }),
    await session('s2', '1.3.0', -20, { ok: 4, errored: 1 }),
    await session('s2', '1.3.0', -19, { ok: 4, crashed: 1 }),
    ...(await Promise.all(
      clients('s', 5)
        .slice(2)
        .map((c) => session(c, '1.3.0', -20, { ok: 10 })),
    )),
    await session('t1', '1.1.0', -20, { ok: 8, abnormal: 1, crashed: 1 }),
    ...(await Promise.all(
      clients('t', 10)
        .slice(1)
        .map((c) => session(c, '1.1.0', -20, { ok: 10 })),
    )),
    await session('t2', '1.2.0', -20, { crashed: 5 }),
    await session('t3', '1.1.0', -60, { crashed: 5 }),
  ]);
});

describe('GET /compare', () => {
  it('gives the canary and its baseline as /health does, and Newcombe intervals of the differences', async () => {
    const res = await admin<ReleaseComparison>(
      `/apps/${app}/compare${query({ version: '1.3.0', ...WINDOW })}`,
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    const health = async (version: string) =>
      (await admin<ReleaseHealth>(`/apps/${app}/health${query({ version, ...WINDOW })}`)).body;
    expect(res.body).toEqual({
      app,
      channel: 'stable',
      window: WINDOW,
      canary: await health('1.3.0'),
      baseline: await health('1.1.0'),
      baseline_version: '1.1.0',
      differences: {
        failure_rate: newcombe({ successes: 2, trials: 8 }, { successes: 1, trials: 11 }),
        rollback_rate: newcombe({ successes: 2, trials: 7 }, { successes: 1, trials: 10 }),
        crashed_sessions: newcombe({ successes: 2, trials: 50 }, { successes: 1, trials: 100 }),
        crashed_users: newcombe({ successes: 2, trials: 5 }, { successes: 1, trials: 10 }),
      },
    });
    expect(res.body.canary.sessions).toMatchObject({ total: 50, crashed: 2, clients: 5, crashed_clients: 2 });
    expect(res.body.baseline?.sessions).toMatchObject({
      total: 100,
      crashed: 1,
      clients: 10,
      crashed_clients: 1,
    });
    // Of the crash rates, not the crash-free ones: 2/50 − 1/100 = +3 points means the canary is worse.
    expect(res.body.differences?.crashed_sessions?.value).toBeCloseTo(0.04 - 0.01, 12);
    expect(res.body.differences?.crashed_users?.value).toBeCloseTo(0.4 - 0.1, 12);
    // The counts are the ones the Wilson intervals of /health are made of.
    expect(res.body.canary).toMatchObject({ installs: 6, failures: 2, rollbacks: 2 });
    expect(res.body.canary.rollback_rate.value).toBe(2 / 7);
    expect(res.body.baseline).toMatchObject({ installs: 10, failures: 1, rollbacks: 1 });
    expect(res.body.baseline?.rollback_rate.value).toBe(1 / 10);
    // 2/8 − 1/11 = 0.159; the interval straddles 0: with this few installs, no clear difference.
    const failure = res.body.differences?.failure_rate;
    expect(failure?.value).toBeCloseTo(2 / 8 - 1 / 11, 12);
    expect(failure?.low).toBeLessThan(0);
    expect(failure?.high).toBeGreaterThan(failure?.value ?? 1);
  });

  it('is what docs/analytics.md says: the baseline SQL, then the rates queries run twice and Newcombe', async () => {
    const block = (marker: string) => {
      const found = [...env.ANALYTICS_DOC.matchAll(/```sql\n([\s\S]*?)```/g)].find((m) =>
        m[1]?.includes(marker),
      );
      if (!found?.[1]) throw new Error(`docs/analytics.md has no SQL with ${marker}`);
      return found[1];
    };
    // An analyst's substitution: each :name becomes a quoted string.
    const run = async <T>(sql: string, params: Record<string, string>) =>
      (
        await env.DB.prepare(
          sql.replace(/:([a-z_]+)\b/g, (_, name: string) => `'${params[name] ?? ''}'`),
        ).all<T>()
      ).results;
    const base = { app, channel: 'stable', ...WINDOW };
    const candidates = await run<{ version: string }>(block('FROM rollouts r'), base);
    expect(candidates.map((r) => r.version).sort()).toEqual(['1.0.0', '1.1.0']);

    const rates = block("SELECT 'failure_rate' AS rate");
    const crashFree = block("SELECT 'crash_free_sessions' AS rate");
    type Row = { rate: string; successes: number; trials: number };
    type CrashRow = { rate: string; crashed: number; total: number };
    const counts = async (version: string) => {
      const rows = await run<Row>(rates, { ...base, version });
      const crashRows = await run<CrashRow>(crashFree, { ...base, version });
      const of = (rate: string) => {
        const row = rows.find((r) => r.rate === rate);
        return { successes: row?.successes ?? -1, trials: row?.trials ?? -1 };
      };
      // The crash-free query's counts: crashed of total, the crash rate's successes and trials.
      const crashes = (rate: string) => {
        const row = crashRows.find((r) => r.rate === rate);
        return { successes: row?.crashed ?? -1, trials: row?.total ?? -1 };
      };
      return {
        failure: of('failure_rate'),
        rollback: of('rollback_rate'),
        sessions: crashes('crash_free_sessions'),
        users: crashes('crash_free_users'),
      };
    };
    const [canary, baseline] = [await counts('1.3.0'), await counts('1.1.0')];
    const res = await admin<ReleaseComparison>(
      `/apps/${app}/compare${query({ version: '1.3.0', ...WINDOW })}`,
    );
    expect(res.body.differences).toEqual({
      failure_rate: newcombe(canary.failure, baseline.failure),
      rollback_rate: newcombe(canary.rollback, baseline.rollback),
      crashed_sessions: newcombe(canary.sessions, baseline.sessions),
      crashed_users: newcombe(canary.users, baseline.users),
    });
  });

  it('answers the oldest release with no baseline', async () => {
    const res = await admin<ReleaseComparison>(
      `/apps/${app}/compare${query({ version: '1.0.0', ...WINDOW })}`,
    );
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ baseline: null, baseline_version: null, differences: null });
    expect(res.body.canary.version).toBe('1.0.0');
  });

  it('takes the channel: on beta, where nothing is complete, there is no baseline', async () => {
    const res = await admin<ReleaseComparison>(
      `/apps/${app}/compare${query({ version: '1.3.0', channel: 'beta', ...WINDOW })}`,
    );
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ channel: 'beta', baseline: null, differences: null });
  });

  it.each([
    [`compare${query({ version: '9.9.9' })}`, 404, 'unknown_release'],
    [`compare${query({ version: '1.3.0', channel: 'nightly' })}`, 404, 'unknown_channel'],
    ['compare', 400, 'invalid_query'],
    [`compare${query({ version: 'not-a-version' })}`, 400, 'invalid_query'],
    [`compare${query({ version: '1.3.0', from: WINDOW.to, to: WINDOW.from })}`, 400, 'invalid_query'],
  ])('%s → %i %s', async (path, status, code) => {
    const res = await admin<ErrorBody>(`/apps/${app}/${path}`);
    expect(res.status).toBe(status);
    expect(res.body.error.code).toBe(code);
    expect(res.body.error.message).toEqual(expect.any(String));
  });

  it('404s an unknown app', async () => {
    const res = await admin<ErrorBody>(`/apps/no-such-app-here/compare${query({ version: '1.0.0' })}`);
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('unknown_app');
  });
});
