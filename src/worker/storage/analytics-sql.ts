/**
 * The SQL of every telemetry metric (docs/protocol.md §5), written once with `:name` placeholders so that
 * docs/analytics.md can print the very same text for `wrangler d1 execute` (a test holds the two
 * together). Times are the stored form, `2026-11-21T18:00:00.000Z`, whose text order is time order;
 * every window is half-open, `occurred_at >= :from AND occurred_at < :to`.
 */

/** Which versions a per-release query covers: one (`:version`), each separately, or all together. */
export type Slice = 'one' | 'each' | 'all';

const onlyVersion = (slice: Slice) => (slice === 'one' ? '\n  AND version = :version' : '');

/**
 * A window in whole UTC hours and cut ends (see countsSql): `rounded` and `hours`, the first two
 * common table expressions of every query that reads whole hours from `event_rollups_hourly` and
 * the cut ends from `events`.
 */
const WINDOW_HOURS = `rounded AS (
  SELECT strftime('%Y-%m-%dT%H:00:00.000Z', :from, '+3599.999 seconds') AS from_up,
    strftime('%Y-%m-%dT%H:00:00.000Z', :to) AS to_down
),
hours AS (
  SELECT substr(from_up, 1, 13) || ':00:00Z' AS first_hour, substr(to_down, 1, 13) || ':00:00Z' AS end_hour,
    min(from_up, :to) AS head_end, max(to_down, min(from_up, :to)) AS tail_start
  FROM rounded
)`;

/**
 * installs and failures: install_succeeded / install_failed events to the version, in the window.
 *
 * The whole UTC hours inside the window are read from `event_rollups_hourly` (a few rows per hour
 * whatever the traffic, through `event_rollups_window`, migrations/0006), and only the hours the
 * window cuts at either end from `events`. `rounded` is :from rounded up to a whole hour
 * (`+3599.999 seconds`, then truncated: stored times have millisecond precision) and :to rounded
 * down. In `hours`: [first_hour, end_hour) are the whole hours (none when first_hour ≥ end_hour), in
 * the rollups' form `2026-11-21T18:00:00Z`; [:from, head_end) and [tail_start, :to) are the cut ends,
 * in the events' form with milliseconds. The three never overlap and together are the window: the
 * same counts as reading every event of the window, for as long as raw events are kept (the rollups
 * outlive them).
 */
export function countsSql(slice: Exclude<Slice, 'all'>): string {
  const where = `app = :app AND channel = :channel${onlyVersion(slice).replace('\n', '\n  ')}
    AND type IN ('install_succeeded', 'install_failed')`;
  // One release's cut ends are ranges of its own index; every release's, ranges of time.
  const eventIndex = slice === 'one' ? 'events_by_release' : 'events_by_time';
  return `WITH ${WINDOW_HOURS},
counted AS (
  SELECT version, type, count AS n
  FROM event_rollups_hourly INDEXED BY event_rollups_window
  WHERE ${where}
    AND hour >= (SELECT first_hour FROM hours) AND hour < (SELECT end_hour FROM hours)
  UNION ALL
  SELECT version, type, 1 AS n
  FROM events INDEXED BY ${eventIndex}
  WHERE ${where}
    AND occurred_at >= :from AND occurred_at < (SELECT head_end FROM hours)
  UNION ALL
  SELECT version, type, 1 AS n
  FROM events INDEXED BY ${eventIndex}
  WHERE ${where}
    AND occurred_at >= (SELECT tail_start FROM hours) AND occurred_at < :to
)
SELECT version,
  sum(CASE WHEN type = 'install_succeeded' THEN n ELSE 0 END) AS installs,
  sum(CASE WHEN type = 'install_failed' THEN n ELSE 0 END) AS failures
FROM counted
GROUP BY version`;
}

/**
 * rollbacks: distinct clients with a rollback from the version in the window; exposed: distinct
 * clients known to have run it by :to — an install_succeeded to it at any time before :to, or a
 * rollback from it in the window (which proves the client ran it). rollbacks ≤ exposed always.
 *
 * Both read what the consumer keeps per client (migrations/0015), not every install: rollbacks from
 * `events_rollbacks`, which holds only rollbacks, in client order; exposure from `release_clients`,
 * one row per client and release with its earliest install (`installed_at`, NULL when only a
 * rollback is known). A row whose install is before :to counts without looking further; only the
 * others look for a rollback in the window. With no client, 0 and 0 (the health reads that as no
 * row).
 */
export function rollbacksSql(slice: Exclude<Slice, 'all'>): string {
  const rolledBack = `FROM events INDEXED BY events_rollbacks
  WHERE app = :app AND channel = :channel${onlyVersion(slice).replace('\n', '\n  ')}
    AND type = 'rollback' AND occurred_at >= :from AND occurred_at < :to`;
  const exposed = `FROM release_clients AS r
  WHERE r.app = :app AND r.channel = :channel${slice === 'one' ? ' AND r.version = :version' : ''}
    AND (r.installed_at < :to OR EXISTS (
      SELECT 1 FROM events INDEXED BY events_rollbacks
      WHERE app = r.app AND channel = r.channel AND version = r.version AND client_id = r.client_id
        AND type = 'rollback' AND occurred_at >= :from AND occurred_at < :to
    ))`;
  if (slice === 'one') {
    return `SELECT :version AS version,
  (SELECT count(DISTINCT client_id) ${rolledBack}) AS rollbacks,
  (SELECT count(*) ${exposed}) AS exposed`;
  }
  return `SELECT version, sum(rollbacks) AS rollbacks, sum(exposed) AS exposed
FROM (
  SELECT version, count(DISTINCT client_id) AS rollbacks, 0 AS exposed
  ${rolledBack}
  GROUP BY version
  UNION ALL
  SELECT r.version, 0 AS rollbacks, count(*) AS exposed
  ${exposed}
  GROUP BY r.version
)
GROUP BY version`;
}

/**
 * Nearest-rank percentiles of install_succeeded duration_ms: the k-th smallest of n samples with
 * k = ⌈P·n/100⌉, computed in integers as (n·P + 99) / 100. Events without a duration are no sample.
 *
 * For one version the samples are read in duration order from `events_install_durations`
 * (migrations/0004), so a percentile is a walk along the index instead of a sort and a window over
 * every sample: k − 1 entries from the smallest for p50, n − k from the largest for p95. n itself
 * comes as installs do in countsSql: the whole hours from the rollups' `timed` (migrations/0015:
 * the events of the hour that carry a duration) and the cut ends from `events`, which is exact
 * while no raw event of those hours has been exported and deleted: the hours after the last day
 * `telemetry_exports` names (`kept`). A window reaching further back counts its samples instead.
 * No row when there is no sample, as for the other slices.
 * Across versions (`each`, `all`) a window function ranks the samples.
 */
export function durationsSql(slice: Slice): string {
  if (slice === 'one') return ONE_VERSION_DURATIONS_SQL;
  const key = slice === 'all' ? '' : 'version, ';
  const partition = slice === 'all' ? '' : 'PARTITION BY version ';
  const group = slice === 'all' ? '' : '\nGROUP BY version';
  return `SELECT ${key}count(*) AS samples,
  max(CASE WHEN rn = (n * 50 + 99) / 100 THEN duration_ms END) AS p50,
  max(CASE WHEN rn = (n * 95 + 99) / 100 THEN duration_ms END) AS p95
FROM (
  SELECT ${key}duration_ms,
    row_number() OVER (${partition}ORDER BY duration_ms) AS rn,
    count(*) OVER (${partition.trimEnd()}) AS n
  FROM events
  WHERE app = :app AND channel = :channel${onlyVersion(slice).replace('\n', '\n  ')}
    AND type = 'install_succeeded' AND duration_ms IS NOT NULL
    AND occurred_at >= :from AND occurred_at < :to
)${group}`;
}

const ONE_VERSION_DURATIONS_SQL = `WITH ${WINDOW_HOURS},
kept AS (
  SELECT coalesce(strftime('%Y-%m-%dT%H:00:00Z', max(day), '+1 day'), '') AS since
  FROM telemetry_exports WHERE app = :app
),
samples AS NOT MATERIALIZED (
  SELECT duration_ms
  FROM events INDEXED BY events_install_durations
  WHERE app = :app AND channel = :channel
    AND version = :version
    AND type = 'install_succeeded' AND duration_ms IS NOT NULL
    AND occurred_at >= :from AND occurred_at < :to
),
cut_ends AS NOT MATERIALIZED (
  SELECT 1
  FROM events INDEXED BY events_by_release
  WHERE app = :app AND channel = :channel
    AND version = :version
    AND type = 'install_succeeded' AND duration_ms IS NOT NULL
    AND occurred_at >= :from AND occurred_at < (SELECT head_end FROM hours)
  UNION ALL
  SELECT 1
  FROM events INDEXED BY events_by_release
  WHERE app = :app AND channel = :channel
    AND version = :version
    AND type = 'install_succeeded' AND duration_ms IS NOT NULL
    AND occurred_at >= (SELECT tail_start FROM hours) AND occurred_at < :to
),
counted AS (
  SELECT CASE WHEN (SELECT first_hour FROM hours) >= (SELECT since FROM kept)
    THEN (SELECT coalesce(sum(timed), 0)
        FROM event_rollups_hourly INDEXED BY event_rollups_window
        WHERE app = :app AND channel = :channel
          AND type = 'install_succeeded' AND version = :version
          AND hour >= (SELECT first_hour FROM hours) AND hour < (SELECT end_hour FROM hours))
      + (SELECT count(*) FROM cut_ends)
    ELSE (SELECT count(*) FROM samples)
  END AS n
)
SELECT :version AS version, n AS samples,
  (SELECT duration_ms FROM samples ORDER BY duration_ms
    LIMIT 1 OFFSET (SELECT (n * 50 + 99) / 100 - 1 FROM counted)) AS p50,
  (SELECT duration_ms FROM samples ORDER BY duration_ms DESC
    LIMIT 1 OFFSET (SELECT n - (n * 95 + 99) / 100 FROM counted)) AS p95
FROM counted
WHERE n > 0`;

/**
 * Sessions of the version (docs/protocol.md §5, migrations/0010): the `session` reports whose hour starts in
 * the window, summed, and the distinct clients that reported any session and a crashed one. The
 * crash rates are crashed / sessions and crashed_clients / clients; crash-free is one minus each.
 *
 * The sums come as installs do in countsSql: the window's whole hours from the hourly rollups (a few
 * rows per hour, whatever the number of reports), only the cut ends from `events`. Each rate is made
 * of one source: sessions and crashed from the rollups, so crash-free sessions reach back as far as
 * they do; the clients from the reports themselves, `events_sessions` (every report in client order)
 * and `events_crashed_sessions` (migrations/0015: the reports with a crash, a few), so crash-free
 * users covers what raw events are kept.
 */
export function sessionsSql(slice: Exclude<Slice, 'all'>): string {
  const where = `app = :app AND channel = :channel${onlyVersion(slice).replace('\n', '\n  ')}
    AND type = 'session'`;
  const sums = `coalesce(sum(ok + errored + crashed + abnormal), 0) AS sessions,
  coalesce(sum(crashed), 0) AS crashed,
  coalesce(sum(errored), 0) AS errored,
  coalesce(sum(abnormal), 0) AS abnormal`;
  const reports = `reports AS (
  SELECT version, sessions_ok AS ok, sessions_errored AS errored, sessions_crashed AS crashed,
    sessions_abnormal AS abnormal
  FROM event_rollups_hourly INDEXED BY event_rollups_window
  WHERE ${where}
    AND hour >= (SELECT first_hour FROM hours) AND hour < (SELECT end_hour FROM hours)
  UNION ALL
  SELECT version, sessions_ok, sessions_errored, sessions_crashed, sessions_abnormal
  FROM events INDEXED BY events_by_release
  WHERE ${where}
    AND occurred_at >= :from AND occurred_at < (SELECT head_end FROM hours)
  UNION ALL
  SELECT version, sessions_ok, sessions_errored, sessions_crashed, sessions_abnormal
  FROM events INDEXED BY events_by_release
  WHERE ${where}
    AND occurred_at >= (SELECT tail_start FROM hours) AND occurred_at < :to
)`;
  /** Distinct clients with reports in the window (with a crash, from the crashed reports' index). */
  const key = slice === 'one' ? '' : 'version, ';
  const clients = (crashed: boolean) => `SELECT ${key}count(DISTINCT client_id) AS n
  FROM events INDEXED BY ${crashed ? 'events_crashed_sessions' : 'events_sessions'}
  WHERE ${where}${crashed ? ' AND sessions_crashed > 0' : ''}
    AND occurred_at >= :from AND occurred_at < :to${slice === 'one' ? '' : '\n  GROUP BY version'}`;
  if (slice === 'one') {
    return `WITH ${WINDOW_HOURS},
${reports},
clients AS (
  ${clients(false)}
),
crashed_clients AS (
  ${clients(true)}
)
SELECT :version AS version,
  ${sums},
  (SELECT n FROM clients) AS clients,
  (SELECT n FROM crashed_clients) AS crashed_clients
FROM reports`;
  }
  return `WITH ${WINDOW_HOURS},
${reports},
totals AS (
  SELECT version, ${sums.replaceAll('\n', '\n  ')}
  FROM reports
  GROUP BY version
),
clients AS (
  ${clients(false)}
),
crashed_clients AS (
  ${clients(true)}
)
SELECT t.version, t.sessions, t.crashed, t.errored, t.abnormal,
  coalesce(c.n, 0) AS clients, coalesce(x.n, 0) AS crashed_clients
FROM totals AS t
LEFT JOIN clients AS c ON c.version = t.version
LEFT JOIN crashed_clients AS x ON x.version = t.version`;
}

/**
 * Error codes of install_failed and download_failed events, most frequent first (ties by code), from
 * `events_errors` (migrations/0004), which holds only those failures.
 */
export function topErrorsSql(slice: Slice): string {
  const key = slice === 'all' ? '' : 'version, ';
  const partition = slice === 'all' ? '' : 'PARTITION BY version ';
  return `SELECT ${key}code, count FROM (
  SELECT ${key}error_code AS code, count(*) AS count,
    row_number() OVER (${partition}ORDER BY count(*) DESC, error_code) AS rn
  FROM events INDEXED BY events_errors
  WHERE app = :app AND channel = :channel${onlyVersion(slice).replace('\n', '\n  ')}
    AND type IN ('install_failed', 'download_failed') AND error_code IS NOT NULL
    AND occurred_at >= :from AND occurred_at < :to
  GROUP BY ${key}error_code
)
WHERE rn <= :limit
ORDER BY ${key}rn`;
}

/**
 * Clients active in the 24 h before :to (their newest event, `clients.last_seen`, in
 * [:to − 24 h, :to)) by the version they run: adoption, and the versions of /clients. Read from
 * `clients_by_version` (migrations/0004) in version order: no table rows, no sort.
 */
export const ACTIVE_VERSIONS_SQL = `SELECT version, count(*) AS clients
FROM clients INDEXED BY clients_by_version
WHERE app = :app AND channel = :channel
  AND last_seen >= strftime('%Y-%m-%dT%H:%M:%fZ', :to, '-24 hours') AND last_seen < :to
GROUP BY version
ORDER BY clients DESC, version`;

/** The same active clients by platform. */
export const ACTIVE_PLATFORMS_SQL = `SELECT platform, count(*) AS clients
FROM clients
WHERE app = :app AND channel = :channel
  AND last_seen >= strftime('%Y-%m-%dT%H:%M:%fZ', :to, '-24 hours') AND last_seen < :to
GROUP BY platform
ORDER BY clients DESC, platform`;

/** The same active clients by the updater they run (docs/protocol.md §9: `sdk`, `electron`, `tauri`, …). */
export const ACTIVE_KINDS_SQL = `SELECT kind, count(*) AS clients
FROM clients
WHERE app = :app AND channel = :channel
  AND last_seen >= strftime('%Y-%m-%dT%H:%M:%fZ', :to, '-24 hours') AND last_seen < :to
GROUP BY kind
ORDER BY clients DESC, kind`;

/**
 * Adoption over time: per bucket (the first :bucket_len characters of occurred_at: 13 for the UTC
 * hour, 10 for the UTC day), each client active in it counts once, for the version it ran after its
 * newest event in the bucket that says which version it runs (install_succeeded and rollback: to_version;
 * others: from_version; events with neither are skipped). Ties in occurred_at go to the larger id.
 */
export const ADOPTION_SERIES_SQL = `SELECT bucket, installed AS version, count(*) AS clients
FROM (
  SELECT substr(occurred_at, 1, :bucket_len) AS bucket,
    CASE WHEN type IN ('install_succeeded', 'rollback') THEN to_version ELSE from_version END AS installed,
    row_number() OVER (
      PARTITION BY substr(occurred_at, 1, :bucket_len), client_id
      ORDER BY occurred_at DESC, id DESC
    ) AS rn
  FROM events
  WHERE app = :app AND channel = :channel
    AND occurred_at >= :from AND occurred_at < :to
    AND (type IN ('install_succeeded', 'rollback') OR from_version IS NOT NULL)
)
WHERE rn = 1
GROUP BY bucket, installed
ORDER BY bucket, installed`;

/**
 * The versions a health listing covers: a rollout in the channel (the control database) or events in
 * the window (the app's telemetry database, docs/protocol.md §11). The Worker runs the two halves on their own
 * databases and takes the union; on one database (DB holding both) VERSIONS_IN_SCOPE_SQL is the same.
 */
export const ROLLOUT_VERSIONS_SQL = 'SELECT version FROM rollouts WHERE app = :app AND channel = :channel';
export const EVENT_VERSIONS_SQL = `SELECT DISTINCT version FROM events
WHERE app = :app AND channel = :channel AND occurred_at >= :from AND occurred_at < :to`;
export const VERSIONS_IN_SCOPE_SQL = `${ROLLOUT_VERSIONS_SQL}\nUNION\n${EVENT_VERSIONS_SQL}`;

/**
 * Whether anything is known about a version: a registered release (RELEASE_EXISTS_SQL, control
 * database) or events about it in the channel (KNOWN_VERSION_SQL, the app's telemetry database).
 */
export const RELEASE_EXISTS_SQL =
  'SELECT EXISTS (SELECT 1 FROM releases WHERE app = :app AND version = :version) AS known';
export const KNOWN_VERSION_SQL = `SELECT EXISTS (SELECT 1 FROM events WHERE app = :app AND channel = :channel AND version = :version) AS known`;

export type SqlParams = Record<string, string | number>;

/** How many error codes a release health lists (`:limit` of its top errors). */
export const HEALTH_TOP_ERRORS = 5;

/**
 * SQL written with `:name` placeholders as positional SQL: D1 binds only positional parameters, so
 * each name becomes `?N` in order of first use, and `values` are in that order. A placeholder
 * without a value is a bug and throws. (analytics.ts prepares the result on D1; bench/health-cost.ts
 * on node:sqlite.)
 */
export function positional(sql: string, params: SqlParams): { text: string; values: (string | number)[] } {
  const names: string[] = [];
  const text = sql.replace(/:([a-z_]+)\b/g, (_, name: string) => {
    if (!names.includes(name)) names.push(name);
    return `?${names.indexOf(name) + 1}`;
  });
  const values = names.map((name) => {
    const value = params[name];
    if (value === undefined) throw new Error(`no value for SQL parameter :${name}`);
    return value;
  });
  return { text, values };
}
