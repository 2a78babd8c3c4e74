/**
 * Telemetry metrics (docs/protocol.md §5), the one implementation behind the analytics API, the CLI and the
 * dashboard. The SQL lives in analytics-sql.ts and is printed verbatim in docs/analytics.md; this
 * file runs it (one D1 batch per request on the app's telemetry database, and the few reads of release
 * and rollout rows on the control database beside it: docs/protocol.md §11) and shapes the rows into the
 * documented JSON.
 */
import type { ErrorCount, Percentiles, SentReleaseHealth, TimeWindow } from '../../protocol/admin-api.ts';
import { type Rate, wilson } from '../../protocol/wilson.ts';
import {
  ACTIVE_KINDS_SQL,
  ACTIVE_PLATFORMS_SQL,
  ACTIVE_VERSIONS_SQL,
  ADOPTION_SERIES_SQL,
  countsSql,
  durationsSql,
  EVENT_VERSIONS_SQL,
  HEALTH_TOP_ERRORS,
  KNOWN_VERSION_SQL,
  positional,
  RELEASE_EXISTS_SQL,
  ROLLOUT_VERSIONS_SQL,
  rollbacksSql,
  type Slice,
  type SqlParams,
  sessionsSql,
  topErrorsSql,
} from './analytics-sql.ts';
import type { AnalyticsDbs } from './telemetry-dbs.ts';
import { versionKey } from './version-key.ts';

/** What a metric is about: one app's channel over a window. */
export interface Scope {
  app: string;
  channel: string;
  window: TimeWindow;
}

interface CountsRow {
  version: string;
  installs: number;
  failures: number;
}
interface RollbacksRow {
  version: string;
  rollbacks: number;
  exposed: number;
}
interface SessionsRow {
  version: string;
  sessions: number;
  crashed: number;
  errored: number;
  abnormal: number;
  clients: number;
  crashed_clients: number;
}
interface DurationsRow extends Percentiles {
  version?: string;
  samples: number;
}
interface ErrorRow extends ErrorCount {
  version?: string;
}
interface VersionCount {
  version: string;
  clients: number;
}

const rowsOf = <T>(result: D1Result | undefined): T[] => (result?.results ?? []) as T[];

/** Prepares SQL written with `:name` placeholders (analytics-sql.ts) on D1, bound to `params`. */
export function prepareNamed(db: D1Database, sql: string, params: SqlParams): D1PreparedStatement {
  const { text, values } = positional(sql, params);
  return db.prepare(text).bind(...values);
}

const params = (scope: Scope, extra: SqlParams = {}): SqlParams => ({
  app: scope.app,
  channel: scope.channel,
  from: scope.window.from,
  to: scope.window.to,
  ...extra,
});

/** Semver order for sorting, newest first; a stray non-semver version sorts last rather than failing. */
function newestFirst(a: string, b: string): number {
  const key = (v: string) => {
    try {
      return versionKey(v);
    } catch {
      return '';
    }
  };
  const [ka, kb] = [key(a), key(b)];
  return ka === kb ? a.localeCompare(b) : ka < kb ? 1 : -1;
}

/** Share of `part` in `whole`, 0 for an empty whole. */
const share = (part: number, whole: number) => (whole === 0 ? 0 : part / whole);

/**
 * The crash-free rate of `crashed` out of `total`: the Wilson interval of the crash rate, turned
 * into crash-free (value 1 − p, low 1 − high, high 1 − low). With nothing counted: `{1, 0, 1}`.
 */
export function crashFree(crashed: number, total: number): Rate {
  const crash = wilson(crashed, total);
  return { value: 1 - crash.value, low: 1 - crash.high, high: 1 - crash.low };
}

/** The statements of release health for `slice`, bound to `p`: HEALTH_STATEMENTS of them. */
function healthStatements(db: D1Database, slice: 'one' | 'each', p: SqlParams): D1PreparedStatement[] {
  return [
    prepareNamed(db, countsSql(slice), p),
    prepareNamed(db, rollbacksSql(slice), p),
    prepareNamed(db, durationsSql(slice), p),
    prepareNamed(db, topErrorsSql(slice), { ...p, limit: HEALTH_TOP_ERRORS }),
    prepareNamed(db, sessionsSql(slice), p),
  ];
}
const HEALTH_STATEMENTS = 5;

/**
 * Runs the health queries in one batch: for `slice` 'one' once per element of `bound` (each naming
 * its :version), for 'each' once; after each group its `extra` statement, and the active clients,
 * which every release's adoption shares, once. `extras` are the extra statements' results in the
 * order of `bound`.
 */
async function healthRows(
  db: D1Database,
  scope: Scope,
  slice: 'one' | 'each',
  bound: SqlParams[],
  extra: string,
) {
  const [active, ...groups] = await db.batch([
    prepareNamed(db, ACTIVE_VERSIONS_SQL, params(scope)),
    ...bound.flatMap((p) => [...healthStatements(db, slice, p), prepareNamed(db, extra, p)]),
  ]);
  const width = HEALTH_STATEMENTS + 1;
  /** The rows of the `index`-th health statement over every group: each row names its version. */
  const column = <T>(index: number) => bound.flatMap((_, group) => rowsOf<T>(groups[group * width + index]));
  const activeRows = rowsOf<VersionCount>(active);
  const activeTotal = activeRows.reduce((sum, row) => sum + row.clients, 0);
  const byVersion =
    <T extends { version?: string }>(rows: T[]) =>
    (version: string) =>
      rows.filter((row) => row.version === version);
  const countsOf = byVersion(column<CountsRow>(0));
  const rollbacksOf = byVersion(column<RollbacksRow>(1));
  const durationsOf = byVersion(column<DurationsRow>(2));
  const errorsOf = byVersion(column<ErrorRow>(3));
  const sessionsOf = byVersion(column<SessionsRow>(4));

  const health = (version: string): SentReleaseHealth => {
    const c = countsOf(version)[0] ?? { installs: 0, failures: 0 };
    const r = rollbacksOf(version)[0] ?? { rollbacks: 0, exposed: 0 };
    const d = durationsOf(version)[0] ?? { p50: null, p95: null };
    const onVersion = activeRows.find((row) => row.version === version)?.clients ?? 0;
    const s = sessionsOf(version)[0] ?? {
      sessions: 0,
      crashed: 0,
      errored: 0,
      abnormal: 0,
      clients: 0,
      crashed_clients: 0,
    };
    return {
      app: scope.app,
      channel: scope.channel,
      version,
      window: scope.window,
      installs: c.installs,
      failures: c.failures,
      failure_rate: wilson(c.failures, c.installs + c.failures),
      rollbacks: r.rollbacks,
      exposed: r.exposed,
      rollback_rate: wilson(r.rollbacks, r.exposed),
      adoption: share(onVersion, activeTotal),
      duration_ms: { p50: d.p50, p95: d.p95 },
      top_errors: errorsOf(version).map(({ code, count }) => ({ code, count })),
      sessions: {
        total: s.sessions,
        crashed: s.crashed,
        errored: s.errored,
        abnormal: s.abnormal,
        clients: s.clients,
        crashed_clients: s.crashed_clients,
      },
      crash_free_sessions: crashFree(s.crashed, s.sessions),
      crash_free_users: crashFree(s.crashed_clients, s.clients),
    };
  };
  const extras = bound.map((_, group) => groups[group * width + HEALTH_STATEMENTS]);
  return { health, extras };
}

/** Whether `version` is a registered release of the scope's app (the control database). */
async function isRelease(control: D1Database, scope: Scope, version: string): Promise<boolean> {
  const row = await prepareNamed(control, RELEASE_EXISTS_SQL, { app: scope.app, version }).first<{
    known: number;
  }>();
  return row?.known === 1;
}

/** The health of one release, or null when nothing is known about the version (no release, no events). */
export async function releaseHealth(
  dbs: AnalyticsDbs,
  scope: Scope,
  version: string,
): Promise<SentReleaseHealth | null> {
  return (await releaseHealths(dbs, scope, [version]))[0] ?? null;
}

/**
 * The health of each of `versions` (null for one nothing is known about), in one batch on the
 * telemetry database: the statements every release shares (the active clients) run once. The
 * baseline comparison asks for two.
 */
export async function releaseHealths(
  dbs: AnalyticsDbs,
  scope: Scope,
  versions: string[],
): Promise<(SentReleaseHealth | null)[]> {
  const [{ health, extras }, released] = await Promise.all([
    healthRows(
      dbs.telemetry,
      scope,
      'one',
      versions.map((version) => params(scope, { version })),
      KNOWN_VERSION_SQL,
    ),
    Promise.all(versions.map((version) => isRelease(dbs.control, scope, version))),
  ]);
  return versions.map((version, i) =>
    released[i] || rowsOf<{ known: number }>(extras[i])[0]?.known === 1 ? health(version) : null,
  );
}

/** The health of every version with a rollout in the channel or events in the window, newest first. */
export async function channelHealth(dbs: AnalyticsDbs, scope: Scope): Promise<SentReleaseHealth[]> {
  const [{ health, extras }, rollouts] = await Promise.all([
    healthRows(dbs.telemetry, scope, 'each', [params(scope)], EVENT_VERSIONS_SQL),
    prepareNamed(dbs.control, ROLLOUT_VERSIONS_SQL, { app: scope.app, channel: scope.channel }).all(),
  ]);
  const versions = new Set(
    [...rowsOf<{ version: string }>(rollouts), ...rowsOf<{ version: string }>(extras[0])].map(
      (row) => row.version,
    ),
  );
  return [...versions].sort(newestFirst).map(health);
}

const sliceOf = (version: string | undefined): Slice => (version === undefined ? 'all' : 'one');

/** Runs `sql` for one version (null when unknown, like releaseHealth) or for all versions together. */
async function perVersionOrAll<T>(
  dbs: AnalyticsDbs,
  scope: Scope,
  sql: string,
  p: SqlParams,
  version: string | undefined,
): Promise<T[] | null> {
  const db = dbs.telemetry;
  if (version === undefined) return rowsOf<T>(await prepareNamed(db, sql, p).all());
  const [[known, rows], released] = await Promise.all([
    db.batch([
      prepareNamed(db, KNOWN_VERSION_SQL, { ...p, version }),
      prepareNamed(db, sql, { ...p, version }),
    ]),
    isRelease(dbs.control, scope, version),
  ]);
  return released || rowsOf<{ known: number }>(known)[0]?.known === 1 ? rowsOf<T>(rows) : null;
}

/** Error codes of install_failed and download_failed, by count; null for an unknown version. */
export async function topErrors(
  dbs: AnalyticsDbs,
  scope: Scope,
  version: string | undefined,
  limit: number,
): Promise<ErrorCount[] | null> {
  const sql = topErrorsSql(sliceOf(version));
  const rows = await perVersionOrAll<ErrorRow>(dbs, scope, sql, params(scope, { limit }), version);
  return rows === null ? null : rows.map(({ code, count }) => ({ code, count }));
}

/** install_succeeded durations: sample count and nearest-rank p50/p95; null for an unknown version. */
export async function durations(
  dbs: AnalyticsDbs,
  scope: Scope,
  version: string | undefined,
): Promise<{ count: number; duration_ms: Percentiles } | null> {
  const rows = await perVersionOrAll<DurationsRow>(
    dbs,
    scope,
    durationsSql(sliceOf(version)),
    params(scope),
    version,
  );
  if (rows === null) return null;
  const row = rows[0];
  return row
    ? { count: row.samples, duration_ms: { p50: row.p50, p95: row.p95 } }
    : { count: 0, duration_ms: { p50: null, p95: null } };
}

export interface ActiveClients {
  active_24h: number;
  versions: { version: string; clients: number; share: number }[];
  platforms: { platform: string; clients: number }[];
  /** By the updater they run: `sdk`, or an adapter of docs/protocol.md §9. */
  kinds: { kind: string; clients: number }[];
}

/** Clients whose newest event is in the 24 h before `to`, by version, by platform and by updater. */
export async function activeClients(
  db: D1Database,
  where: { app: string; channel: string; to: string },
): Promise<ActiveClients> {
  const p = { app: where.app, channel: where.channel, to: where.to };
  const [versions, platforms, kinds] = await db.batch([
    prepareNamed(db, ACTIVE_VERSIONS_SQL, p),
    prepareNamed(db, ACTIVE_PLATFORMS_SQL, p),
    prepareNamed(db, ACTIVE_KINDS_SQL, p),
  ]);
  const rows = rowsOf<VersionCount>(versions);
  const total = rows.reduce((sum, row) => sum + row.clients, 0);
  return {
    active_24h: total,
    versions: rows.map((row) => ({
      version: row.version,
      clients: row.clients,
      share: share(row.clients, total),
    })),
    platforms: rowsOf<{ platform: string; clients: number }>(platforms),
    kinds: rowsOf<{ kind: string; clients: number }>(kinds),
  };
}

export type Interval = 'hour' | 'day';

export interface AdoptionPoint {
  /** Start of the UTC hour or day (`2026-11-21T18:00:00Z`); the first and last may be cut by the window. */
  at: string;
  clients: number;
  /** Share of the bucket's active clients on each version, by the latest version each ran in it. */
  versions: Record<string, number>;
}

const INTERVALS: Record<Interval, { ms: number; chars: number }> = {
  hour: { ms: 3600_000, chars: 13 },
  day: { ms: 86_400_000, chars: 10 },
};

/** Adoption per hour or day across the window: every bucket, empty ones included. */
export async function adoptionSeries(
  db: D1Database,
  scope: Scope,
  interval: Interval,
): Promise<AdoptionPoint[]> {
  const { ms, chars } = INTERVALS[interval];
  const { results } = await prepareNamed(db, ADOPTION_SERIES_SQL, params(scope, { bucket_len: chars })).all<{
    bucket: string;
    version: string;
    clients: number;
  }>();
  const buckets = new Map<string, VersionCount[]>();
  for (const row of results) {
    buckets.set(row.bucket, [...(buckets.get(row.bucket) ?? []), row]);
  }
  const points: AdoptionPoint[] = [];
  const end = Date.parse(scope.window.to);
  for (let start = Math.floor(Date.parse(scope.window.from) / ms) * ms; start < end; start += ms) {
    const at = new Date(start).toISOString().replace('.000Z', 'Z');
    const rows = buckets.get(at.slice(0, chars)) ?? [];
    const clients = rows.reduce((sum, row) => sum + row.clients, 0);
    points.push({
      at,
      clients,
      versions: Object.fromEntries(rows.map((row) => [row.version, share(row.clients, clients)])),
    });
  }
  return points;
}
