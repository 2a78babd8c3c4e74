/**
 * The SQL that stores telemetry (migrations/0002_telemetry.sql, 0005_event_batches.sql,
 * 0015_release_clients.sql) and the row layout it reads, apart from D1 itself so that
 * bench/storage-cost.ts can time the very same statements on node:sqlite. storeEvents (telemetry.ts) runs them.
 */
import {
  type ClientKind,
  eventVersion,
  installedVersionAfter,
  type TelemetryEvent,
} from '../../protocol/telemetry.ts';

/** An accepted event as the queue carries it and D1 stores it. */
export interface StoredEvent extends TelemetryEvent {
  app: string;
  /** When the Worker accepted it: RFC 3339 UTC with milliseconds. */
  received_at: string;
  /** The updater it comes from (migrations/0008); `sdk` when absent. */
  kind?: ClientKind;
}

/**
 * Events per D1 batch. They are bound once, as one JSON parameter of a few hundred bytes per event
 * (far inside D1's 2 MB per value), so a batch is six statements whatever its size.
 */
export const EVENTS_PER_BATCH = 1_000;

// A batch runs these in order inside one transaction. The rows are bound once, to the first, which
// copies them into `event_batch` (migrations/0005) marking those whose id is not stored yet; every
// other statement reads them from there, and the last empties it. Only fresh rows move rollups,
// client rows and release clients, so a redelivered or duplicate event changes nothing: it is counted
// once in `events`, in the rollups and in `clients`. Row layout: see `toRow`.
//
// The rows are read with `jsonb_each(jsonb(?1))` (SQLite 3.51): each row then comes as a binary JSON
// array whose 23 fields `->>` reads in place. From `json_each(?1)` each row is JSON text, which every
// one of the 23 `->>` parses again: 21 µs of SQLite per event for the reading alone, against 4.5
// (bench/storage-cost.ts; BENCHMARKS.md § Telemetry). STAGE_TEXT is the same statement over
// `json_each`, for a D1 whose SQLite is older (telemetry.ts falls back to it).
const stageFrom = (
  rows: string,
) => `INSERT INTO event_batch (seq, id, app, type, client_id, channel, from_version, to_version,
  version, platform, arch, os_version, error_code, error_message, duration_ms, occurred_at, received_at,
  installed, hour, kind, sessions_ok, sessions_errored, sessions_crashed, sessions_abnormal, fresh)
SELECT r.key, r.value ->> 0, r.value ->> 1, r.value ->> 2, r.value ->> 3, r.value ->> 4, r.value ->> 5,
  r.value ->> 6, r.value ->> 7, r.value ->> 8, r.value ->> 9, r.value ->> 10, r.value ->> 11,
  r.value ->> 12, r.value ->> 13, r.value ->> 14, r.value ->> 15, r.value ->> 16, r.value ->> 17,
  r.value ->> 18, r.value ->> 19, r.value ->> 20, r.value ->> 21, r.value ->> 22,
  NOT EXISTS (SELECT 1 FROM events WHERE events.id = r.value ->> 0)
FROM ${rows} AS r`;
const STAGE = stageFrom('jsonb_each(jsonb(?1))');
export const STAGE_TEXT = stageFrom('json_each(?1)');

// Session reports (migrations/0010) add their counts; for them `count` is the number of reports, one
// per client, version and hour, so the hour's distinct clients, and `crashed_clients` those that crashed.
// `timed` (migrations/0015) counts those that carry a duration: the samples of the install-duration
// percentiles, whose number the health then reads per hour.
const UPSERT_ROLLUPS = `INSERT INTO event_rollups_hourly (app, channel, version, type, platform, error_code, hour, count,
  sessions_ok, sessions_errored, sessions_crashed, sessions_abnormal, crashed_clients, timed)
SELECT app, channel, version, type, platform, coalesce(error_code, ''), hour, count(*),
  coalesce(sum(sessions_ok), 0), coalesce(sum(sessions_errored), 0), coalesce(sum(sessions_crashed), 0),
  coalesce(sum(sessions_abnormal), 0), count(CASE WHEN sessions_crashed > 0 THEN 1 END), count(duration_ms)
FROM event_batch
WHERE fresh
GROUP BY app, channel, version, type, platform, coalesce(error_code, ''), hour
ON CONFLICT (app, channel, version, type, platform, error_code, hour) DO UPDATE SET
  count = count + excluded.count, timed = timed + excluded.timed, sessions_ok = sessions_ok + excluded.sessions_ok,
  sessions_errored = sessions_errored + excluded.sessions_errored,
  sessions_crashed = sessions_crashed + excluded.sessions_crashed,
  sessions_abnormal = sessions_abnormal + excluded.sessions_abnormal,
  crashed_clients = crashed_clients + excluded.crashed_clients`;

// A client's row follows its newest event by occurred_at (ties: the later in the batch); an older
// event arriving late changes nothing. Each client's newest event comes from `max()` over
// occurred_at and position: SQLite takes the other (bare) columns of a min/max aggregate from the
// row that holds it, which is much cheaper here than a window function.
const newestPerClient = (
  where: string,
) => `SELECT app, client_id, channel, installed, platform, arch, kind, occurred_at,
    max(occurred_at || printf('%09d', seq)) AS position
  FROM event_batch WHERE ${where}
  GROUP BY app, client_id`;

// First the newest event that says which version the client runs moves the whole row forward (or
// creates it)...
const UPSERT_CLIENTS = `INSERT INTO clients (app, client_id, channel, version, platform, arch, kind, last_seen)
SELECT app, client_id, channel, installed, platform, arch, kind, occurred_at
FROM (${newestPerClient('fresh AND installed IS NOT NULL')})
WHERE true
ON CONFLICT (app, client_id) DO UPDATE SET
  channel = excluded.channel, version = excluded.version, platform = excluded.platform,
  arch = excluded.arch, kind = excluded.kind, last_seen = excluded.last_seen
WHERE excluded.last_seen >= clients.last_seen`;

// ...then the newest event of any type marks the client seen, keeping the version it last reported
// (a download_* or install_failed without from_version does not say). A client never seen with a
// version gets no row (the row's version is not nullable, and a guess would skew adoption).
const TOUCH_CLIENTS = `UPDATE clients SET channel = newest.channel, platform = newest.platform,
  arch = newest.arch, last_seen = newest.occurred_at
FROM (${newestPerClient('fresh')}) AS newest
WHERE clients.app = newest.app AND clients.client_id = newest.client_id
  AND clients.last_seen <= newest.occurred_at`;

// Who ran which release (migrations/0015): a fresh install_succeeded to it or rollback from it gives
// the client's row, or moves it, installed_at to the earliest install known, last_at to the newest of
// either. Both only ever move outwards, so the order in which events arrive does not matter.
const UPSERT_RELEASE_CLIENTS = `INSERT INTO release_clients (app, channel, version, client_id, installed_at, last_at)
SELECT app, channel, version, client_id,
  min(CASE WHEN type = 'install_succeeded' THEN occurred_at END), max(occurred_at)
FROM event_batch
WHERE fresh AND type IN ('install_succeeded', 'rollback')
GROUP BY app, channel, version, client_id
ON CONFLICT (app, channel, version, client_id) DO UPDATE SET
  installed_at = min(coalesce(installed_at, excluded.installed_at), coalesce(excluded.installed_at, installed_at)),
  last_at = max(last_at, excluded.last_at)`;

const INSERT_EVENTS = `INSERT OR IGNORE INTO events
  (id, app, type, client_id, channel, from_version, to_version, version, platform, arch, os_version,
   error_code, error_message, duration_ms, occurred_at, received_at, kind, sessions_ok, sessions_errored,
   sessions_crashed, sessions_abnormal)
SELECT id, app, type, client_id, channel, from_version, to_version, version, platform, arch, os_version,
  error_code, error_message, duration_ms, occurred_at, received_at, kind, sessions_ok, sessions_errored,
  sessions_crashed, sessions_abnormal
FROM event_batch WHERE fresh ORDER BY seq`;

const UNSTAGE = 'DELETE FROM event_batch';

/**
 * What one batch runs, in order: `stage` bound to the rows (see `toRow`), then the rest unbound.
 * (bench/storage-cost.ts times each against SQLite.)
 */
export const STORE_STATEMENTS = {
  stage: STAGE,
  rest: {
    rollups: UPSERT_ROLLUPS,
    clients: UPSERT_CLIENTS,
    touch: TOUCH_CLIENTS,
    releaseClients: UPSERT_RELEASE_CLIENTS,
    events: INSERT_EVENTS,
    unstage: UNSTAGE,
  },
} as const;

/** `2026-11-21T18:12:34.567Z` → `2026-11-21T18:00:00Z`, the rollup bucket. */
export function hourOf(occurredAt: string): string {
  return `${occurredAt.slice(0, 13)}:00:00Z`;
}

/** An event as the row `STAGE` reads: a JSON array in the column order of `event_batch`. */
export function toRow(e: StoredEvent): (string | number | null)[] {
  return [
    e.id,
    e.app,
    e.type,
    e.client_id,
    e.channel,
    e.from_version ?? null,
    e.to_version ?? null,
    eventVersion(e),
    e.platform,
    e.arch,
    e.os_version ?? null,
    e.error_code ?? null,
    e.error_message ?? null,
    e.duration_ms ?? null,
    e.occurred_at,
    e.received_at,
    installedVersionAfter(e) ?? null,
    hourOf(e.occurred_at),
    e.kind ?? 'sdk',
    e.sessions?.ok ?? null,
    e.sessions?.errored ?? null,
    e.sessions?.crashed ?? null,
    e.sessions?.abnormal ?? null,
  ];
}
