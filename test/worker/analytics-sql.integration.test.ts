/**
 * "The SQL in docs/analytics.md runs and matches the API": every ```sql block after a
 * `<!-- query: name -->` marker is substituted like an analyst would (placeholders → literals), run on
 * D1 and compared with the API's answer on the same seeded history.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SentReleaseHealth as ReleaseHealth } from '../../src/protocol/admin-api.ts';
import type { ActiveClients, AdoptionPoint } from '../../src/worker/storage/analytics.ts';
import * as implementation from '../../src/worker/storage/analytics-sql.ts';
import { h, seedAnalyticsApp, seedLiveApp, WINDOW } from './support/analytics-fixture.ts';
import { admin } from './support/fixtures.ts';

function docQueries(markdown: string): Map<string, string> {
  const queries = new Map<string, string>();
  for (const match of markdown.matchAll(/<!-- query: ([a-z0-9-]+) -->\s*```sql\n([\s\S]*?)```/g)) {
    const [, name, sql] = match;
    if (name && sql) queries.set(name, sql.trim());
  }
  return queries;
}

const QUERIES = docQueries(env.ANALYTICS_DOC);

/** What an analyst does: each `:name` becomes a quoted string or a number. */
function substitute(sql: string, params: Record<string, string | number>): string {
  return sql.replace(/:([a-z_]+)\b/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`the doc's SQL uses :${name}, which the test does not fill`);
    return typeof value === 'number' ? String(value) : `'${value.replaceAll("'", "''")}'`;
  });
}

async function run<T>(name: string, params: Record<string, string | number>): Promise<T[]> {
  const sql = QUERIES.get(name);
  if (sql === undefined) throw new Error(`docs/analytics.md has no query ${name}`);
  const { results } = await env.DB.prepare(substitute(sql, params)).all<T>();
  return results;
}

const flat = (sql: string) => sql.replace(/;\s*$/, '').replace(/\s+/g, ' ').trim();
const share = (part: number, rows: { clients: number }[]) =>
  part / rows.reduce((sum, row) => sum + row.clients, 0);

let app: string;
let base: Record<string, string | number>;
beforeAll(async () => {
  app = await seedAnalyticsApp();
  base = { app, channel: 'stable', ...WINDOW };
});

describe('docs/analytics.md', () => {
  it('prints the implementation SQL verbatim', () => {
    const expected: Record<string, string> = {
      'health-counts': implementation.countsSql('one'),
      'health-rollbacks': implementation.rollbacksSql('one'),
      'health-durations': implementation.durationsSql('one'),
      'health-top-errors': implementation.topErrorsSql('one'),
      'health-versions': implementation.VERSIONS_IN_SCOPE_SQL,
      'active-versions': implementation.ACTIVE_VERSIONS_SQL,
      'active-platforms': implementation.ACTIVE_PLATFORMS_SQL,
      'active-kinds': implementation.ACTIVE_KINDS_SQL,
      'adoption-series': implementation.ADOPTION_SERIES_SQL,
      'errors-all': implementation.topErrorsSql('all'),
      'durations-all': implementation.durationsSql('all'),
      'health-sessions': implementation.sessionsSql('one'),
      'rollbacks-all': implementation.rollbacksSql('each'),
    };
    for (const [name, sql] of Object.entries(expected)) {
      expect(flat(QUERIES.get(name) ?? ''), name).toBe(flat(sql));
    }
    expect([...QUERIES.keys()].sort()).toEqual(
      [...Object.keys(expected), 'health-rates', 'rollup-counts', 'crash-free-rates'].sort(),
    );
  });

  it('gives each release health number of the API', async () => {
    const list = await admin<{ releases: ReleaseHealth[] }>(
      `/apps/${app}/health?from=${WINDOW.from}&to=${WINDOW.to}`,
    );
    const versions = await run<{ version: string }>('health-versions', base);
    expect(versions.map((r) => r.version).sort()).toEqual(list.body.releases.map((r) => r.version).sort());
    expect(list.body.releases).toHaveLength(3);

    for (const health of list.body.releases) {
      const p = { ...base, version: health.version, limit: 5 };
      const [counts] = await run<{ installs: number; failures: number }>('health-counts', p);
      expect({ installs: counts?.installs ?? 0, failures: counts?.failures ?? 0 }).toEqual({
        installs: health.installs,
        failures: health.failures,
      });
      const [fromRollups] = await run<{ installs: number; failures: number }>('rollup-counts', p);
      expect({ installs: fromRollups?.installs ?? 0, failures: fromRollups?.failures ?? 0 }).toEqual({
        installs: health.installs,
        failures: health.failures,
      });
      const [rollbacks] = await run<{ rollbacks: number; exposed: number }>('health-rollbacks', p);
      expect(rollbacks?.rollbacks ?? 0).toBe(health.rollbacks);
      expect(rollbacks?.exposed ?? 0).toBe(health.exposed);
      const everyVersion = await run<{ version: string; rollbacks: number; exposed: number }>(
        'rollbacks-all',
        p,
      );
      const ofVersion = everyVersion.find((row) => row.version === health.version);
      expect({ rollbacks: ofVersion?.rollbacks ?? 0, exposed: ofVersion?.exposed ?? 0 }).toEqual({
        rollbacks: health.rollbacks,
        exposed: health.exposed,
      });

      const rates = await run<{ rate: string; value: number; low: number; high: number }>('health-rates', p);
      for (const rate of rates) {
        const api = rate.rate === 'failure_rate' ? health.failure_rate : health.rollback_rate;
        expect(rate.value, `${health.version} ${rate.rate}`).toBeCloseTo(api.value, 12);
        expect(rate.low, `${health.version} ${rate.rate}`).toBeCloseTo(api.low, 12);
        expect(rate.high, `${health.version} ${rate.rate}`).toBeCloseTo(api.high, 12);
      }
      expect(rates.map((r) => r.rate)).toEqual(['failure_rate', 'rollback_rate']);

      const active = await run<{ version: string; clients: number }>('active-versions', p);
      const onVersion = active.find((r) => r.version === health.version)?.clients ?? 0;
      expect(share(onVersion, active)).toBe(health.adoption);

      const [durations] = await run<{ p50: number | null; p95: number | null }>('health-durations', p);
      expect({ p50: durations?.p50 ?? null, p95: durations?.p95 ?? null }).toEqual(health.duration_ms);

      const errors = await run<{ code: string; count: number }>('health-top-errors', p);
      expect(errors.map(({ code, count }) => ({ code, count }))).toEqual(health.top_errors);
    }
  });

  it('gives the adoption series of the API, per day and per hour', async () => {
    for (const [interval, window, bucket_len] of [
      ['day', WINDOW, 10],
      ['hour', { from: h(-16), to: h(-11) }, 13],
    ] as const) {
      const api = await admin<{ points: AdoptionPoint[] }>(
        `/apps/${app}/adoption?interval=${interval}&from=${window.from}&to=${window.to}`,
      );
      const rows = await run<{ bucket: string; version: string; clients: number }>('adoption-series', {
        ...base,
        ...window,
        bucket_len,
      });
      const fromSql = new Map<string, Record<string, number>>();
      for (const row of rows) {
        const all = rows.filter((r) => r.bucket === row.bucket);
        fromSql.set(row.bucket, { ...fromSql.get(row.bucket), [row.version]: share(row.clients, all) });
      }
      const nonEmpty = api.body.points.filter((point) => point.clients > 0);
      expect(nonEmpty.length).toBeGreaterThan(1);
      expect(Object.fromEntries(nonEmpty.map((pt) => [pt.at.slice(0, bucket_len), pt.versions]))).toEqual(
        Object.fromEntries(fromSql),
      );
    }
  });

  it('gives the errors and durations of all versions together', async () => {
    const errors = await admin<{ top_errors: unknown[] }>(
      `/apps/${app}/errors?from=${WINDOW.from}&to=${WINDOW.to}&limit=10`,
    );
    expect(await run('errors-all', { ...base, limit: 10 })).toEqual(errors.body.top_errors);
    const durations = await admin<{ count: number; duration_ms: object }>(
      `/apps/${app}/durations?from=${WINDOW.from}&to=${WINDOW.to}`,
    );
    const [row] = await run<{ samples: number; p50: number; p95: number }>('durations-all', base);
    expect({ count: row?.samples, duration_ms: { p50: row?.p50, p95: row?.p95 } }).toEqual({
      count: durations.body.count,
      duration_ms: durations.body.duration_ms,
    });
  });

  it('gives the active clients of the API', async () => {
    const live = await seedLiveApp();
    const api = await admin<ActiveClients>(`/apps/${live}/clients`);
    const p = { app: live, channel: 'stable', to: new Date().toISOString() };
    const versions = await run<{ version: string; clients: number }>('active-versions', p);
    expect(versions.map((r) => ({ ...r, share: share(r.clients, versions) }))).toEqual(api.body.versions);
    expect(await run('active-platforms', p)).toEqual(api.body.platforms);
    expect(api.body.active_24h).toBe(3);
  });
});
