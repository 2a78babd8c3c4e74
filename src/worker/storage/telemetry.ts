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
 * Events written per `DB.batch`: one queue delivery (max_batch_size = 100) is one batch of three
 * statements per event, well inside D1's per-invocation query limit.
 */
export const EVENTS_PER_BATCH = 100;

// Each event is three statements run in order inside one transaction. The rollup and client rows move
// only when the INSERT OR IGNORE before them really inserted (`changes() = 1`), so a redelivered or
// duplicate event changes nothing. The rollup upsert always changes one row when it runs, which keeps
// `changes() = 1` true for the client statement after it.
const INSERT_EVENT = `INSERT OR IGNORE INTO events
  (id, app, type, client_id, channel, from_version, to_version, version, platform, arch, os_version,
   error_code, error_message, duration_ms, occurred_at, received_at)
  VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)`;

const UPSERT_ROLLUP = `INSERT INTO event_rollups_hourly (app, channel, version, type, platform, error_code, hour, count)
  SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, 1 WHERE changes() = 1
  ON CONFLICT (app, channel, version, type, platform, error_code, hour) DO UPDATE SET count = count + 1`;

// A client's row follows its newest event by occurred_at; an older event arriving late changes nothing.
const UPSERT_CLIENT = `INSERT INTO clients (app, client_id, channel, version, platform, arch, last_seen)
  SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 WHERE changes() = 1
  ON CONFLICT (app, client_id) DO UPDATE SET
    channel = excluded.channel, version = excluded.version, platform = excluded.platform,
    arch = excluded.arch, last_seen = excluded.last_seen
  WHERE excluded.last_seen >= clients.last_seen`;

// An event that does not say which version the client runs (a download_* or install_failed without
// from_version) still marks the client as seen, keeping the version it last reported; a client
// never seen with a version gets no row (the row's version is not nullable, and a guess would skew adoption).
const TOUCH_CLIENT = `UPDATE clients SET channel = ?3, platform = ?4, arch = ?5, last_seen = ?6
  WHERE app = ?1 AND client_id = ?2 AND last_seen <= ?6 AND changes() = 1`;

/** `2026-11-21T18:12:34.567Z` → `2026-11-21T18:00:00Z`, the rollup bucket. */
export function hourOf(occurredAt: string): string {
  return `${occurredAt.slice(0, 13)}:00:00Z`;
}

function eventStatements(db: D1Database, e: StoredEvent): D1PreparedStatement[] {
  const version = eventVersion(e);
  const installed = installedVersionAfter(e);
  return [
    db
      .prepare(INSERT_EVENT)
      .bind(
        e.id,
        e.app,
        e.type,
        e.client_id,
        e.channel,
        e.from_version ?? null,
        e.to_version ?? null,
        version,
        e.platform,
        e.arch,
        e.os_version ?? null,
        e.error_code ?? null,
        e.error_message ?? null,
        e.duration_ms ?? null,
        e.occurred_at,
        e.received_at,
      ),
    db
      .prepare(UPSERT_ROLLUP)
      .bind(e.app, e.channel, version, e.type, e.platform, e.error_code ?? '', hourOf(e.occurred_at)),
    installed === undefined
      ? db.prepare(TOUCH_CLIENT).bind(e.app, e.client_id, e.channel, e.platform, e.arch, e.occurred_at)
      : db
          .prepare(UPSERT_CLIENT)
          .bind(e.app, e.client_id, e.channel, installed, e.platform, e.arch, e.occurred_at),
  ];
}

/**
 * Writes events, their hourly rollups and client rows. Idempotent: an event whose id is already stored
 * changes nothing, so a retried delivery is harmless. Up to `EVENTS_PER_BATCH` events run in one
 * transaction (all or nothing); more are split into several, each idempotent, so retrying the whole
 * call after a partial failure is safe. Returns how many events were new.
 */
export async function storeEvents(db: D1Database, events: StoredEvent[]): Promise<{ inserted: number }> {
  let inserted = 0;
  for (let start = 0; start < events.length; start += EVENTS_PER_BATCH) {
    const chunk = events.slice(start, start + EVENTS_PER_BATCH);
    const results = await db.batch(chunk.flatMap((e) => eventStatements(db, e)));
    for (let i = 0; i < results.length; i += 3) inserted += results[i]?.meta.changes ?? 0;
  }
  return { inserted };
}
