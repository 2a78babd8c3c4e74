/** API tokens in D1: only the SHA-256 of a token is stored; the token itself is shown once. */
import type { Role } from '../auth-roles.ts';

export interface TokenRecord {
  id: string;
  name: string;
  role: Role;
  created_at: string;
  created_by: string;
  expires_at: string | null;
  revoked_at: string | null;
}

const COLUMNS = 'id, name, role, created_at, created_by, expires_at, revoked_at';

export async function findTokenByHash(db: D1Database, sha256: string): Promise<TokenRecord | null> {
  return db
    .prepare(`SELECT ${COLUMNS} FROM tokens WHERE token_sha256 = ?1`)
    .bind(sha256)
    .first<TokenRecord>();
}

export async function getToken(db: D1Database, id: string): Promise<TokenRecord | null> {
  return db.prepare(`SELECT ${COLUMNS} FROM tokens WHERE id = ?1`).bind(id).first<TokenRecord>();
}

export async function listTokens(db: D1Database): Promise<TokenRecord[]> {
  const { results } = await db
    .prepare(`SELECT ${COLUMNS} FROM tokens ORDER BY created_at, id`)
    .all<TokenRecord>();
  return results;
}

export function insertToken(db: D1Database, token: TokenRecord, sha256: string): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO tokens (id, name, role, token_sha256, created_at, created_by, expires_at, revoked_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL)`,
    )
    .bind(token.id, token.name, token.role, sha256, token.created_at, token.created_by, token.expires_at);
}

/** Revokes a token once; revoking it again keeps the first time. */
export function revokeToken(db: D1Database, id: string, at: string): D1PreparedStatement {
  return db.prepare('UPDATE tokens SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1').bind(id, at);
}
