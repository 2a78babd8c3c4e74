/** The audit log: one row per change, written in the same D1 batch as the change itself. */
import type { AuditEntry } from '../../protocol/admin-api.ts';

/** A change to record: the entry without what the log assigns (its id and time). */
export type AuditInput = Omit<AuditEntry, 'id' | 'at'>;

/** An `audit` row as stored: what the history reads and backups carry. */
export interface AuditTableRow {
  id: number;
  at: string;
  actor: string;
  action: string;
  app: string | null;
  target: string | null;
  before_json: string | null;
  after_json: string | null;
}

/** The table's columns, in order. */
export const AUDIT_COLUMN_LIST = [
  'id',
  'at',
  'actor',
  'action',
  'app',
  'target',
  'before_json',
  'after_json',
] as const satisfies readonly (keyof AuditTableRow)[];

const json = (value: unknown) => (value === null || value === undefined ? null : JSON.stringify(value));
const parse = (text: string | null): unknown => (text === null ? null : JSON.parse(text));

export function auditStatement(db: D1Database, entry: AuditInput, at: string): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO audit (at, actor, action, app, target, before_json, after_json)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)`,
    )
    .bind(at, entry.actor, entry.action, entry.app, entry.target, json(entry.before), json(entry.after));
}

/** Newest first; `before` is an exclusive id cursor. Returns one page and the cursor of the next. */
export async function listAudit(
  db: D1Database,
  query: { app?: string; before?: number; limit: number },
): Promise<{ entries: AuditEntry[]; next_before?: number }> {
  const { results } = await db
    .prepare(
      `SELECT id, at, actor, action, app, target, before_json, after_json FROM audit
       WHERE (?1 IS NULL OR app = ?1) AND (?2 IS NULL OR id < ?2)
       ORDER BY id DESC LIMIT ?3`,
    )
    .bind(query.app ?? null, query.before ?? null, query.limit + 1)
    .all<AuditTableRow>();
  const page = results.slice(0, query.limit);
  const entries = page.map((row) => ({
    id: row.id,
    at: row.at,
    actor: row.actor,
    action: row.action,
    app: row.app,
    target: row.target,
    before: parse(row.before_json),
    after: parse(row.after_json),
  }));
  const last = entries.at(-1);
  return results.length > query.limit && last ? { entries, next_before: last.id } : { entries };
}
