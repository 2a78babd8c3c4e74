/**
 * Telemetry in D1 (migrations/0002_telemetry.sql): raw events keyed by their client-made id, hourly
 * rollups and each client's latest state, written together so that an event is counted once however
 * often it is delivered. The statements are in telemetry-sql.ts.
 */
import { EVENTS_PER_BATCH, STAGE_TEXT, STORE_STATEMENTS, type StoredEvent, toRow } from './telemetry-sql.ts';

/** Where the insert into `events` stands among a batch's results: after `stage` and the rest before it. */
const EVENTS_RESULT = 1 + Object.keys(STORE_STATEMENTS.rest).indexOf('events');

/**
 * Whether this isolate stages rows with `jsonb_each` (telemetry-sql.ts). A D1 whose SQLite lacks it
 * refuses the statement; the batch (one transaction) then changed nothing, and is run again with
 * STAGE_TEXT, which every later batch of the isolate uses. Exported so tests can start either way.
 */
export const staging = { jsonb: true };

/** A refusal of `jsonb_each`/`jsonb` itself: "no such function" or "not authorized to use function". */
function lacksJsonb(error: unknown): boolean {
  const message = error instanceof Error ? `${error.message} ${String(error.cause ?? '')}` : String(error);
  return /(no such function|not authorized to use function): jsonb/i.test(message);
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
    const run = (stage: string) =>
      db.batch([
        db.prepare(stage).bind(rows),
        ...Object.values(STORE_STATEMENTS.rest).map((sql) => db.prepare(sql)),
      ]);
    let results: D1Result[];
    if (!staging.jsonb) {
      results = await run(STAGE_TEXT);
    } else {
      try {
        results = await run(STORE_STATEMENTS.stage);
      } catch (error) {
        if (!lacksJsonb(error)) throw error;
        staging.jsonb = false;
        results = await run(STAGE_TEXT);
      }
    }
    inserted += results[EVENTS_RESULT]?.meta.changes ?? 0;
  }
  return { inserted };
}
