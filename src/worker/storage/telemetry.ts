/**
 * Telemetry in D1 (migrations/0002_telemetry.sql): raw events keyed by their client-made id, hourly
 * rollups and each client's latest state, written together so that an event is counted once however
 * often it is delivered. The statements are in telemetry-sql.ts.
 */
import { EVENTS_PER_BATCH, STORE_STATEMENTS, type StoredEvent, toRow } from './telemetry-sql.ts';

/** Where the insert into `events` stands among a batch's results: after `stage` and the rest before it. */
const EVENTS_RESULT = 1 + Object.keys(STORE_STATEMENTS.rest).indexOf('events');

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
      db.prepare(STORE_STATEMENTS.stage).bind(rows),
      ...Object.values(STORE_STATEMENTS.rest).map((sql) => db.prepare(sql)),
    ]);
    inserted += results[EVENTS_RESULT]?.meta.changes ?? 0;
  }
  return { inserted };
}
