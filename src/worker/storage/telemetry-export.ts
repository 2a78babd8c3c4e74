/**
 * Retention of raw telemetry (docs/protocol.md §5, docs/telemetry.md): events older than the retention are
 * written to R2 as gzip NDJSON, one object per part of an (app, UTC day) partition,
 *   telemetry/<app>/dt=YYYY-MM-DD/part-NNNNN.ndjson.gz
 * and deleted from D1 only in the same transaction that records the part in `telemetry_exports`,
 * after the object is stored. Rollups and client rows stay; a release's row of a client
 * (`release_clients`, migrations/0015) goes once no event it was made from is left.
 *
 * A run that dies anywhere leaves either nothing, or an object with no `telemetry_exports` row (an
 * orphan: its events are still in D1). A partition with an unrecorded object younger than
 * ORPHAN_AGE_MS is left alone (another run may be committing it); an older one is dead and deleted,
 * and the partition's export goes on under the next part number, so readers never count an event
 * twice and nothing in R2 is overwritten. Two overlapping runs cannot both export an event either:
 * the commit deletes by id and fails unless every id was still there, and the loser removes its own
 * object.
 */
import { isGuardFailure, isUniqueViolation } from './revisions.ts';

export const DEFAULT_RETENTION_DAYS = 30;
/** Events exported per scheduler run, so that a run stays well inside Worker limits. */
export const EXPORT_EVENTS_PER_RUN = 10_000;
/** Events per R2 object (a few MB of NDJSON before gzip). */
export const EXPORT_EVENTS_PER_PART = 5_000;
/** Parts per run: bounds the subrequests of a run when many small partitions are due. */
const PARTS_PER_RUN = 10;
/** No run lives this long (cron invocations end within 15 minutes), so an older unrecorded object is dead. */
export const ORPHAN_AGE_MS = 3600 * 1000;
/** Ids per DELETE: one JSON array parameter each, kept far below D1's value size limit. */
const IDS_PER_DELETE = 1_000;
const DAY_MS = 86_400_000;
const IF_ABSENT: R2Conditional = { etagDoesNotMatch: '*' };

const GUARD_SQL = 'INSERT INTO revision_guard (ok) SELECT 0 WHERE changes() <> ?1';

/** One row of `events`, exactly as exported (one NDJSON line each). */
export interface EventRow {
  id: string;
  app: string;
  type: string;
  client_id: string;
  channel: string;
  from_version: string | null;
  to_version: string | null;
  version: string;
  platform: string;
  arch: string;
  os_version: string | null;
  error_code: string | null;
  error_message: string | null;
  duration_ms: number | null;
  occurred_at: string;
  received_at: string;
  kind: string;
  /** The counts of a `session` event (migrations/0010); null for other types. */
  sessions_ok: number | null;
  sessions_errored: number | null;
  sessions_crashed: number | null;
  sessions_abnormal: number | null;
}

const COLUMNS =
  'id, app, type, client_id, channel, from_version, to_version, version, platform, arch, os_version, ' +
  'error_code, error_message, duration_ms, occurred_at, received_at, kind, ' +
  'sessions_ok, sessions_errored, sessions_crashed, sessions_abnormal';

export interface ExportedPart {
  app: string;
  day: string;
  part: number;
  key: string;
  events: number;
}

export interface ExportOptions {
  now: Date;
  retentionDays: number;
  maxEvents?: number;
  eventsPerPart?: number;
}

/** `TELEMETRY_RETENTION_DAYS` as a whole number of days ≥ 1; the default when unset or invalid. */
export function retentionDays(value: string | undefined): number {
  const days = Number(value);
  return Number.isInteger(days) && days >= 1 ? days : DEFAULT_RETENTION_DAYS;
}

export function exportPrefix(app: string, day: string): string {
  return `telemetry/${app}/dt=${day}/`;
}

export function exportKey(app: string, day: string, part: number): string {
  return `${exportPrefix(app, day)}part-${String(part).padStart(5, '0')}.ndjson.gz`;
}

const PART_PATTERN = /\/part-(\d{5,})\.ndjson\.gz$/;

/**
 * Exports and deletes up to `maxEvents` expired events, oldest first, and returns the parts written.
 * Safe to run at any time and concurrently with itself; an interrupted run is finished by the next.
 */
export async function exportExpiredEvents(
  db: D1Database,
  bucket: R2Bucket,
  options: ExportOptions,
): Promise<ExportedPart[]> {
  const cutoffMs = options.now.getTime() - options.retentionDays * DAY_MS;
  const cutoff = new Date(cutoffMs).toISOString();
  let budget = options.maxEvents ?? EXPORT_EVENTS_PER_RUN;
  const perPart = options.eventsPerPart ?? EXPORT_EVENTS_PER_PART;
  const parts: ExportedPart[] = [];
  while (budget > 0 && parts.length < PARTS_PER_RUN) {
    const oldest = await db
      .prepare('SELECT app, occurred_at FROM events WHERE occurred_at < ?1 ORDER BY occurred_at LIMIT 1')
      .bind(cutoff)
      .first<{ app: string; occurred_at: string }>();
    if (!oldest) break;
    const day = oldest.occurred_at.slice(0, 10);
    const dayStart = Date.parse(`${day}T00:00:00.000Z`);
    // The partition's events that have expired: a day the cutoff cuts in two is finished by later runs.
    const end = new Date(Math.min(dayStart + DAY_MS, cutoffMs)).toISOString();
    const { results } = await db
      .prepare(
        `SELECT ${COLUMNS} FROM events WHERE app = ?1 AND occurred_at >= ?2 AND occurred_at < ?3
         ORDER BY occurred_at, id LIMIT ?4`,
      )
      .bind(oldest.app, new Date(dayStart).toISOString(), end, Math.min(budget, perPart))
      .all<EventRow>();
    if (results.length === 0) break;
    const next = await nextPart(db, bucket, oldest.app, day, options.now);
    // The oldest partition is being written by another run, or was just left by a dead one: later.
    if (next === 'busy') break;
    const part = await exportPart(db, bucket, oldest.app, day, next, results, options.now);
    if (!part) break;
    parts.push(part);
    budget -= results.length;
  }
  await forgetExpiredReleaseClients(db, cutoff);
  return parts;
}

/**
 * Deletes the `release_clients` rows whose newest event (last_at) is older than every event still
 * stored and than the cutoff: the installs and rollbacks they were made from are exported and gone,
 * so exposure counts, like the events, only what is retained. A range of `release_clients_by_last`;
 * nothing to read while exports are behind.
 */
async function forgetExpiredReleaseClients(db: D1Database, cutoff: string): Promise<void> {
  await db
    .prepare(
      `DELETE FROM release_clients
       WHERE last_at < min(?1, coalesce((SELECT min(occurred_at) FROM events), ?1))`,
    )
    .bind(cutoff)
    .run();
}

/** Writes one part to R2, then records it and deletes its events; null when the key was taken. */
async function exportPart(
  db: D1Database,
  bucket: R2Bucket,
  app: string,
  day: string,
  part: number,
  rows: EventRow[],
  now: Date,
): Promise<ExportedPart | null> {
  const body = await gzip(`${rows.map((row) => JSON.stringify(row)).join('\n')}\n`);
  const key = exportKey(app, day, part);
  // Taken since the listing: another run is exporting this partition right now. Never overwrite.
  if (!(await bucket.put(key, body, { onlyIf: IF_ABSENT, httpMetadata: PART_METADATA }))) return null;

  const ids = rows.map((row) => row.id);
  const statements = [
    db
      .prepare(
        `INSERT INTO telemetry_exports (app, day, part, r2_key, events, exported_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)`,
      )
      .bind(app, day, part, key, rows.length, now.toISOString()),
  ];
  for (let start = 0; start < ids.length; start += IDS_PER_DELETE) {
    const group = ids.slice(start, start + IDS_PER_DELETE);
    statements.push(
      db
        .prepare('DELETE FROM events WHERE id IN (SELECT value FROM json_each(?1))')
        .bind(JSON.stringify(group)),
      // Every id must still be there: otherwise another run exported some of them first.
      db.prepare(GUARD_SQL).bind(group.length),
    );
  }
  try {
    await db.batch(statements);
  } catch (error) {
    // Rolled back for certain: the object is ours, unrecorded, and its events are still in D1.
    if (isGuardFailure(error) || isUniqueViolation(error)) await bucket.delete(key);
    // Otherwise the commit may have happened; a later run judges the object by its row (or age).
    throw error;
  }
  return { app, day, part, key, events: rows.length };
}

const PART_METADATA: R2HTTPMetadata = { contentType: 'application/gzip' };

/**
 * The part number after every recorded part and every object in the partition (dead orphans
 * included: they are deleted on the way, older than ORPHAN_AGE_MS and unrecorded); `busy` while a
 * younger unrecorded object may still be committed by the run that wrote it.
 */
async function nextPart(
  db: D1Database,
  bucket: R2Bucket,
  app: string,
  day: string,
  now: Date,
): Promise<number | 'busy'> {
  const { results } = await db
    .prepare('SELECT part FROM telemetry_exports WHERE app = ?1 AND day = ?2')
    .bind(app, day)
    .all<{ part: number }>();
  const recorded = new Set(results.map((r) => r.part));
  let next = Math.max(-1, ...recorded) + 1;
  let busy = false;
  let cursor: string | undefined;
  do {
    const listed = await bucket.list({ prefix: exportPrefix(app, day), cursor });
    for (const object of listed.objects) {
      const match = PART_PATTERN.exec(object.key);
      if (!match?.[1]) continue;
      const part = Number(match[1]);
      next = Math.max(next, part + 1);
      if (recorded.has(part)) continue;
      if (now.getTime() - object.uploaded.getTime() > ORPHAN_AGE_MS) {
        console.warn(`telemetry export: deleting orphan ${object.key} (its events are still in D1)`);
        await bucket.delete(object.key);
      } else {
        busy = true;
      }
    }
    cursor = listed.truncated ? listed.cursor : undefined;
  } while (cursor);
  return busy ? 'busy' : next;
}

async function gzip(text: string): Promise<ArrayBuffer> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream('gzip'));
  return new Response(stream).arrayBuffer();
}
