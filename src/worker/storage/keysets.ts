/** Keys documents (docs/protocol.md §2) in D1, one row per version; the newest is current. */
import { isoSeconds } from './revisions.ts';

export interface KeysetRecord {
  version: number;
  jws: string;
  created_at: string;
}

export async function currentKeyset(db: D1Database): Promise<KeysetRecord | null> {
  return db
    .prepare('SELECT version, jws, created_at FROM keysets ORDER BY version DESC LIMIT 1')
    .first<KeysetRecord>();
}

/** The keys document of `version`, or null. */
export async function keysetAt(db: D1Database, version: number): Promise<KeysetRecord | null> {
  return db
    .prepare('SELECT version, jws, created_at FROM keysets WHERE version = ?1')
    .bind(version)
    .first<KeysetRecord>();
}

/** The keys documents of `version` and above, oldest first. */
export async function keysetsFrom(db: D1Database, version: number): Promise<KeysetRecord[]> {
  const { results } = await db
    .prepare('SELECT version, jws, created_at FROM keysets WHERE version >= ?1 ORDER BY version')
    .bind(version)
    .all<KeysetRecord>();
  return results;
}

/** Fails with a PRIMARY KEY violation when another writer registered this version first. */
export function insertKeyset(db: D1Database, version: number, jws: string, now: Date): D1PreparedStatement {
  return db
    .prepare('INSERT INTO keysets (version, jws, created_at) VALUES (?1, ?2, ?3)')
    .bind(version, jws, isoSeconds(now));
}
