/** API tokens in D1: only the SHA-256 of a token is stored; the token itself is shown once. */
import * as z from 'zod';
import type { Role } from '../../protocol/roles.ts';

export interface TokenRecord {
  id: string;
  name: string;
  role: Role;
  /** The apps the token is limited to (sorted, at least one), or null for every app (migrations/0012). */
  apps: string[] | null;
  created_at: string;
  created_by: string;
  expires_at: string | null;
  revoked_at: string | null;
}

type TokenRow = Omit<TokenRecord, 'apps'> & { apps_json: string | null };

const COLUMNS = 'id, name, role, apps_json, created_at, created_by, expires_at, revoked_at';

// The column's CHECK keeps it a non-empty JSON array; its elements were validated app names on insert.
const appsJson = z.array(z.string()).min(1);

function toToken({ apps_json, ...row }: TokenRow): TokenRecord {
  return { ...row, apps: apps_json === null ? null : appsJson.parse(JSON.parse(apps_json)) };
}

export async function findTokenByHash(db: D1Database, sha256: string): Promise<TokenRecord | null> {
  const row = await db
    .prepare(`SELECT ${COLUMNS} FROM tokens WHERE token_sha256 = ?1`)
    .bind(sha256)
    .first<TokenRow>();
  return row && toToken(row);
}

export async function getToken(db: D1Database, id: string): Promise<TokenRecord | null> {
  const row = await db.prepare(`SELECT ${COLUMNS} FROM tokens WHERE id = ?1`).bind(id).first<TokenRow>();
  return row && toToken(row);
}

export async function listTokens(db: D1Database): Promise<TokenRecord[]> {
  const { results } = await db
    .prepare(`SELECT ${COLUMNS} FROM tokens ORDER BY created_at, id`)
    .all<TokenRow>();
  return results.map(toToken);
}

export function insertToken(db: D1Database, token: TokenRecord, sha256: string): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO tokens (id, name, role, apps_json, token_sha256, created_at, created_by, expires_at, revoked_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, NULL)`,
    )
    .bind(
      token.id,
      token.name,
      token.role,
      token.apps === null ? null : JSON.stringify(token.apps),
      sha256,
      token.created_at,
      token.created_by,
      token.expires_at,
    );
}

/** Revokes a token once; revoking it again keeps the first time. */
export function revokeToken(db: D1Database, id: string, at: string): D1PreparedStatement {
  return db.prepare('UPDATE tokens SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1').bind(id, at);
}
