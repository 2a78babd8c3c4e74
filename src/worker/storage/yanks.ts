/** Yank statements in D1: a release withdrawn, and where clients on it should go back to. */
import type { YankPayload } from '../../protocol/documents.ts';
import { isoSeconds } from './revisions.ts';

export interface YankRecord {
  app: string;
  version: string;
  yank_jws: string;
  yank_sha256: string;
  rollback_to: string | null;
  reason: string;
  yanked_at: string;
  created_at: string;
  /** The `expo-signature` of the yank's rollBackToEmbedded directive (docs/protocol.md §10), when one was given. */
  expo_directive_signature: string | null;
}

/** The table's columns, in order (a YankRecord is one row): the queries and backups read them all. */
export const YANK_COLUMN_LIST = [
  'app',
  'version',
  'yank_jws',
  'yank_sha256',
  'rollback_to',
  'reason',
  'yanked_at',
  'created_at',
  'expo_directive_signature',
] as const satisfies readonly (keyof YankRecord)[];
export const YANK_COLUMNS = YANK_COLUMN_LIST.join(', ');

export async function getYank(db: D1Database, app: string, version: string): Promise<YankRecord | null> {
  return db
    .prepare(`SELECT ${YANK_COLUMNS} FROM yanks WHERE app = ?1 AND version = ?2`)
    .bind(app, version)
    .first<YankRecord>();
}

export function insertYank(
  db: D1Database,
  yank: YankPayload,
  jws: string,
  sha256: string,
  now: Date,
  expoDirectiveSignature: string | null = null,
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO yanks (app, version, yank_jws, yank_sha256, rollback_to, reason, yanked_at, created_at,
                          expo_directive_signature)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)`,
    )
    .bind(
      yank.app,
      yank.version,
      jws,
      sha256,
      yank.rollback_to,
      yank.reason,
      yank.yanked_at,
      isoSeconds(now),
      expoDirectiveSignature,
    );
}
