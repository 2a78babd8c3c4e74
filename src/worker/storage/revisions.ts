/**
 * Optimistic concurrency for D1 (docs/protocol.md §1). A change that alters what clients see runs as one
 * `DB.batch`: an UPDATE that moves a revision from the one the handler read, then a guard that makes
 * the whole batch fail when that UPDATE matched no row (someone else moved the revision first).
 * D1 runs a batch as one transaction, so the failed guard rolls back every statement in it.
 */
import { MAX_SNAPSHOT_LIFETIME_MS } from '../../protocol/documents.ts';

const GUARD_SQL = 'INSERT INTO revision_guard (ok) SELECT 0 WHERE changes() = 0';
const GUARD_FAILURE = 'revision_guard_failed';

/** An RFC 3339 UTC timestamp with second precision: `2026-11-21T18:00:00Z`. */
export function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The validity window of a snapshot signed at `now`: at most seven days (docs/protocol.md §2). */
export function snapshotWindow(now: Date): { issued_at: string; expires: string } {
  const issued = new Date(Math.floor(now.getTime() / 1000) * 1000);
  return {
    issued_at: isoSeconds(issued),
    expires: isoSeconds(new Date(issued.getTime() + MAX_SNAPSHOT_LIFETIME_MS)),
  };
}

/**
 * Moves a channel from `fromRevision` to the next one with a fresh validity window, or fails the batch.
 * The snapshot of a revision is then fully determined by the rows, so any writer can sign it.
 */
export function bumpChannel(
  db: D1Database,
  app: string,
  channel: string,
  fromRevision: number,
  now: Date,
): D1PreparedStatement[] {
  const { issued_at, expires } = snapshotWindow(now);
  return [
    db
      .prepare(
        `UPDATE channels SET revision = revision + 1, issued_at = ?4, expires = ?5
         WHERE app = ?1 AND name = ?2 AND revision = ?3`,
      )
      .bind(app, channel, fromRevision, issued_at, expires),
    db.prepare(GUARD_SQL),
  ];
}

/** Moves an app from `fromRevision` to the next one (rules, channel list), or fails the batch. */
export function bumpApp(db: D1Database, app: string, fromRevision: number, now: Date): D1PreparedStatement[] {
  return [
    db
      .prepare('UPDATE apps SET revision = revision + 1, updated_at = ?3 WHERE name = ?1 AND revision = ?2')
      .bind(app, fromRevision, isoSeconds(now)),
    db.prepare(GUARD_SQL),
  ];
}

/** Whether a D1 error is a failed revision guard. */
export function isGuardFailure(error: unknown): boolean {
  return error instanceof Error && error.message.includes(GUARD_FAILURE);
}

/** Whether a D1 error is a PRIMARY KEY or UNIQUE violation (a row that raced us into existence). */
export function isUniqueViolation(error: unknown): boolean {
  return (
    error instanceof Error && /UNIQUE constraint failed|SQLITE_CONSTRAINT_PRIMARYKEY/.test(error.message)
  );
}

/**
 * A change that lost a race for a revision: nothing of it was written. `stale` when the caller named
 * the revision it expected (`expected_revision`) and it no longer holds; otherwise another change
 * committed first. The HTTP layer answers 409 (error-handling.ts); the scheduler lets it go.
 */
export class RevisionConflict extends Error {
  constructor(
    readonly stale: boolean,
    message = stale
      ? 'the revision changed since expected_revision; re-read and retry'
      : 'another change raced this one and won; nothing was changed, retry',
  ) {
    super(message);
    this.name = 'RevisionConflict';
  }
}

/**
 * Runs `statements` as one atomic batch; a failed guard throws RevisionConflict (`stale` when the
 * caller named the revision it expected).
 */
export async function commit(
  db: D1Database,
  statements: D1PreparedStatement[],
  expectedGiven: boolean,
): Promise<D1Result[]> {
  try {
    return await db.batch(statements);
  } catch (error) {
    if (!isGuardFailure(error)) throw error;
    throw new RevisionConflict(expectedGiven);
  }
}

/** A stale RevisionConflict unless `expected` is absent or equals `current`. */
export function checkExpected(expected: number | undefined, current: number, what: string): void {
  if (expected !== undefined && expected !== current) {
    throw new RevisionConflict(
      true,
      `expected_revision ${expected} does not match the ${what}'s revision ${current}`,
    );
  }
}
