/**
 * Telemetry in D1 (migrations/0002_telemetry.sql): raw events keyed by their client-made id, hourly
 * rollups and each client's latest state, written together so that an event is counted once however
 * often it is delivered.
 */
import { eventVersion, installedVersionAfter, type TelemetryEvent } from '../../protocol/telemetry.ts';

/** An accepted event as the queue carries it and D1 stores it. */
export interface StoredEvent extends TelemetryEvent {
  app: string;
  /** When the Worker accepted it: RFC 3339 UTC with milliseconds. */
  received_at: string;
}

/**
 * Events per D1 batch. They are bound once, as one JSON parameter of a few hundred bytes per event
 * (far inside D1's 2 MB per value), so a batch is six statements whatever its size.
 */
export const EVENTS_PER_BATCH = 1_000;

// A batch runs these in order inside one transaction. The rows are bound once, to the first, which
// copies them into `event_batch` (migrations/0005) marking those whose id is not stored yet; every
// other statement reads them from there, and the last empties it. Only fresh rows move rollups and
// client rows, so a redelivered or duplicate event changes nothing: it is counted once in `events`,
// in the rollups and in `clients`. Row layout: see `toRow`.
const STAGE = `INSERT INTO event_batch (seq, id, app, type, client_id, channel, from_version, to_version,
  version, platform, arch, os_version, error_code, error_message, duration_ms, occurred_at, received_at,
  installed, hour, fresh)
SELECT r.key, r.value ->> 0, r.value ->> 1, r.value ->> 2, r.value ->> 3, r.value ->> 4, r.value ->> 5,
  r.value ->> 6, r.value ->> 7, r.value ->> 8, r.value ->> 9, r.value ->> 10, r.value ->> 11,
  r.value ->> 12, r.value ->> 13, r.value ->> 14, r.value ->> 15, r.value ->> 16, r.value ->> 17,
  NOT EXISTS (SELECT 1 FROM events WHERE events.id = r.value ->> 0)
FROM json_each(?1) AS r`;

const UPSERT_ROLLUPS = `INSERT INTO event_rollups_hourly (app, channel, version, type, platform, error_code, hour, count)
SELECT app, channel, version, type, platform, coalesce(error_code, ''), hour, count(*) FROM event_batch
WHERE fresh
GROUP BY app, channel, version, type, platform, coalesce(error_code, ''), hour
ON CONFLICT (app, channel, version, type, platform, error_code, hour) DO UPDATE SET
  count = count + excluded.count`;

// A client's row follows its newest event by occurred_at (ties: the later in the batch); an older
// event arriving late changes nothing. Each client's newest event comes from `max()` over
// occurred_at and position: SQLite takes the other (bare) columns of a min/max aggregate from the
// row that holds it, which is much cheaper here than a window function.
const newestPerClient = (
  where: string,
) => `SELECT app, client_id, channel, installed, platform, arch, occurred_at,
    max(occurred_at || printf('%09d', seq)) AS position
  FROM event_batch WHERE ${where}
  GROUP BY app, client_id`;

// First the newest event that says which version the client runs moves the whole row forward (or
// creates it)...
const UPSERT_CLIENTS = `INSERT INTO clients (app, client_id, channel, version, platform, arch, last_seen)
SELECT app, client_id, channel, installed, platform, arch, occurred_at
FROM (${newestPerClient('fresh AND installed IS NOT NULL')})
WHERE true
ON CONFLICT (app, client_id) DO UPDATE SET
  channel = excluded.channel, version = excluded.version, platform = excluded.platform,
  arch = excluded.arch, last_seen = excluded.last_seen
WHERE excluded.last_seen >= clients.last_seen`;

// ...then the newest event of any type marks the client seen, keeping the version it last reported
// (a download_* or install_failed without from_version does not say). A client never seen with a
// version gets no row (the row's version is not nullable, and a guess would skew adoption).
const TOUCH_CLIENTS = `UPDATE clients SET channel = newest.channel, platform = newest.platform,
  arch = newest.arch, last_seen = newest.occurred_at
FROM (${newestPerClient('fresh')}) AS newest
WHERE clients.app = newest.app AND clients.client_id = newest.client_id
  AND clients.last_seen <= newest.occurred_at`;

const INSERT_EVENTS = `INSERT OR IGNORE INTO events
  (id, app, type, client_id, channel, from_version, to_version, version, platform, arch, os_version,
   error_code, error_message, duration_ms, occurred_at, received_at)
SELECT id, app, type, client_id, channel, from_version, to_version, version, platform, arch, os_version,
  error_code, error_message, duration_ms, occurred_at, received_at
FROM event_batch WHERE fresh ORDER BY seq`;

const UNSTAGE = 'DELETE FROM event_batch';

/** `2026-11-21T18:12:34.567Z` → `2026-11-21T18:00:00Z`, the rollup bucket. */
export function hourOf(occurredAt: string): string {
  return `${occurredAt.slice(0, 13)}:00:00Z`;
}

function toRow(e: StoredEvent): (string | number | null)[] {
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
  ];
}

/**
 * Writes events, their hourly rollups and client rows. Idempotent: an event whose id is already stored
 * changes nothing, so a retried delivery is harmless, and of one id given twice the first counts. Up
 * to `EVENTS_PER_BATCH` events run in one transaction (all or nothing); more are split into several,
 * each idempotent, so retrying the whole call after a partial failure is safe. Returns how many
 * events were new.
 */
export async function storeEvents(db: D1Database, events: StoredEvent[]): Promise<{ inserted: number }> {
  const seen = new Set<string>();
  const unique = events.filter((e) => !seen.has(e.id) && seen.add(e.id));
  let inserted = 0;
  for (let start = 0; start < unique.length; start += EVENTS_PER_BATCH) {
    const rows = JSON.stringify(unique.slice(start, start + EVENTS_PER_BATCH).map(toRow));
    const results = await db.batch([
      db.prepare(STAGE).bind(rows),
      ...[UPSERT_ROLLUPS, UPSERT_CLIENTS, TOUCH_CLIENTS, INSERT_EVENTS, UNSTAGE].map((sql) =>
        db.prepare(sql),
      ),
    ]);
    inserted += results[4]?.meta.changes ?? 0;
  }
  return { inserted };
}
