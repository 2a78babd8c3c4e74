/**
 * D1 side of export and import (docs/backup.md). Export reads each part in one batch (one
 * transaction), so an app's rows always belong together. Import writes the whole control plane in
 * one batch: many rows per statement (a JSON array bound as one parameter and spread with
 * `json_each`), so the statement count stays small whatever the size of the deployment, and a
 * failure anywhere rolls everything back.
 */
import type { AuditRange, AuditRow, KeysEntry, TokenEntry } from '../../protocol/backup.ts';
import { APPS_COLUMN_LIST, type AppsRow, CHANNELS_BACKUP_COLUMN_LIST, type ChannelsRow } from './apps.ts';
import { AUDIT_COLUMN_LIST, type AuditTableRow } from './audit.ts';
import { RELEASES_COLUMN_LIST, type ReleasesRow } from './releases.ts';
import { ROLLOUT_COLUMN_LIST, type RolloutRecord } from './rollouts.ts';
import { STANDBY_YANK_COLUMNS, type StandbyYankRecord } from './standby-yanks.ts';
import { YANK_COLUMN_LIST, type YankRecord } from './yanks.ts';

/** A `tokens` row as backups read and write it: the app list as stored (migrations/0012). */
export type TokenRow = Omit<TokenEntry, 'apps'> & { apps_json: string | null };

const tokenEntry = ({ apps_json, ...row }: TokenRow): TokenEntry => ({
  ...row,
  apps: apps_json === null ? null : (JSON.parse(apps_json) as string[]),
});

export const tokenRow = ({ apps, ...entry }: TokenEntry): TokenRow => ({
  ...entry,
  apps_json: apps === null || apps === undefined ? null : JSON.stringify(apps),
});

const COLUMNS = {
  keysets: ['version', 'jws', 'created_at'],
  tokens: [
    'id',
    'name',
    'role',
    'token_sha256',
    'created_at',
    'created_by',
    'expires_at',
    'revoked_at',
    'apps_json',
  ],
  apps: APPS_COLUMN_LIST,
  channels: CHANNELS_BACKUP_COLUMN_LIST,
  releases: RELEASES_COLUMN_LIST,
  rollouts: ROLLOUT_COLUMN_LIST,
  yanks: YANK_COLUMN_LIST,
  standby_yanks: STANDBY_YANK_COLUMNS,
  audit: AUDIT_COLUMN_LIST,
} as const;

const list = (columns: readonly string[], alias = '') =>
  columns.map((c) => (alias ? `${alias}.${c}` : c)).join(', ');

// ---------------------------------------------------------------------------------------- export

export interface GlobalExport {
  apps: string[];
  keys: KeysEntry[];
  tokens: TokenEntry[];
  audit: AuditRange;
}

/** App names, keys documents, tokens (only for a whole-deployment export) and the audit range. */
export async function readGlobalExport(db: D1Database, app: string | null): Promise<GlobalExport> {
  const [apps, keys, tokens, audit] = await db.batch<unknown>([
    db.prepare('SELECT name FROM apps WHERE ?1 IS NULL OR name = ?1 ORDER BY name').bind(app),
    db.prepare(`SELECT ${list(COLUMNS.keysets)} FROM keysets ORDER BY version`),
    db
      .prepare(`SELECT ${list(COLUMNS.tokens)} FROM tokens WHERE ?1 IS NULL ORDER BY created_at, id`)
      .bind(app),
    db
      .prepare(
        'SELECT count(*) AS rows, min(id) AS min_id, max(id) AS max_id FROM audit WHERE ?1 IS NULL OR app = ?1',
      )
      .bind(app),
  ]);
  const range = (audit?.results[0] as AuditRange | undefined) ?? { rows: 0, min_id: null, max_id: null };
  return {
    apps: ((apps?.results ?? []) as { name: string }[]).map((r) => r.name),
    keys: (keys?.results ?? []) as KeysEntry[],
    tokens: ((tokens?.results ?? []) as TokenRow[]).map(tokenEntry),
    audit: range,
  };
}

export interface AppRows {
  app: AppsRow;
  channels: ChannelsRow[];
  releases: ReleasesRow[];
  rollouts: RolloutRecord[];
  yanks: YankRecord[];
  standby_yanks: StandbyYankRecord[];
}

/** Every row of one app, read in one transaction; null for an unknown app. Releases lowest version first. */
export async function readAppRows(db: D1Database, app: string): Promise<AppRows | null> {
  const [apps, channels, releases, rollouts, yanks, standby] = await db.batch<unknown>([
    db.prepare(`SELECT ${list(COLUMNS.apps)} FROM apps WHERE name = ?1`).bind(app),
    db.prepare(`SELECT ${list(COLUMNS.channels)} FROM channels WHERE app = ?1 ORDER BY name`).bind(app),
    db
      .prepare(`SELECT ${list(COLUMNS.releases)} FROM releases WHERE app = ?1 ORDER BY version_key`)
      .bind(app),
    db
      .prepare(
        `SELECT ${list(COLUMNS.rollouts, 'ro')} FROM rollouts ro
         JOIN releases re ON re.app = ro.app AND re.version = ro.version
         WHERE ro.app = ?1 ORDER BY ro.channel, re.version_key`,
      )
      .bind(app),
    db
      .prepare(
        `SELECT ${list(COLUMNS.yanks, 'y')} FROM yanks y
         JOIN releases re ON re.app = y.app AND re.version = y.version
         WHERE y.app = ?1 ORDER BY re.version_key`,
      )
      .bind(app),
    db
      .prepare(
        `SELECT ${list(COLUMNS.standby_yanks, 's')} FROM standby_yanks s
         JOIN releases re ON re.app = s.app AND re.version = s.version
         WHERE s.app = ?1 ORDER BY s.channel, re.version_key`,
      )
      .bind(app),
  ]);
  const row = apps?.results[0] as AppsRow | undefined;
  if (!row) return null;
  return {
    app: row,
    channels: (channels?.results ?? []) as ChannelsRow[],
    releases: (releases?.results ?? []) as ReleasesRow[],
    rollouts: (rollouts?.results ?? []) as RolloutRecord[],
    yanks: (yanks?.results ?? []) as YankRecord[],
    standby_yanks: (standby?.results ?? []) as StandbyYankRecord[],
  };
}

const parseJson = (text: string | null): unknown => (text === null ? null : JSON.parse(text));

/** Audit rows with `after < id <= until` (of `app` when given), oldest first, at most `limit`. */
export async function readAuditPage(
  db: D1Database,
  query: { after: number; until: number; app: string | null; limit: number },
): Promise<AuditRow[]> {
  const { results } = await db
    .prepare(
      `SELECT ${list(COLUMNS.audit)} FROM audit
       WHERE id > ?1 AND id <= ?2 AND (?3 IS NULL OR app = ?3) ORDER BY id LIMIT ?4`,
    )
    .bind(query.after, query.until, query.app, query.limit)
    .all<AuditTableRow>();
  return results.map(({ before_json, after_json, ...rest }) => ({
    ...rest,
    before: parseJson(before_json),
    after: parseJson(after_json),
  }));
}

// ---------------------------------------------------------------------------------------- import

/** What a deployment holds that an import must fit with. */
export interface ImportTarget {
  apps: number;
  keys: KeysEntry[];
  tokens: Pick<TokenEntry, 'id' | 'token_sha256'>[];
  /** The highest audit id (0 for an empty log): imported ids move up by it, so none collides. */
  auditMaxId: number;
  /** The D1 bindings an imported app may keep its telemetry in: DB and every bound TELEMETRY_*. */
  telemetryDbs: readonly string[];
}

export async function readImportTarget(
  db: D1Database,
  telemetryDbs: readonly string[],
): Promise<ImportTarget> {
  const [apps, keys, tokens, audit] = await db.batch<unknown>([
    db.prepare('SELECT count(*) AS n FROM apps'),
    db.prepare(`SELECT ${list(COLUMNS.keysets)} FROM keysets ORDER BY version`),
    db.prepare('SELECT id, token_sha256 FROM tokens'),
    db.prepare('SELECT coalesce(max(id), 0) AS n FROM audit'),
  ]);
  const count = (result: D1Result<unknown> | undefined) =>
    (result?.results[0] as { n: number } | undefined)?.n ?? 0;
  return {
    apps: count(apps),
    keys: (keys?.results ?? []) as KeysEntry[],
    tokens: (tokens?.results ?? []) as ImportTarget['tokens'],
    auditMaxId: count(audit),
    telemetryDbs,
  };
}

/** Column-level rows to insert; `channels` already carry the revision and window to sign. */
export interface ImportRows {
  keysets: KeysEntry[];
  tokens: TokenRow[];
  apps: AppsRow[];
  channels: ChannelsRow[];
  releases: ReleasesRow[];
  rollouts: RolloutRecord[];
  yanks: YankRecord[];
  standby_yanks: StandbyYankRecord[];
}

/** The `import` audit row; `id` is set when audit rows will follow, so they fit below it. */
export interface ImportAudit {
  id: number | null;
  at: string;
  actor: string;
  target: string;
  after: unknown;
}

/** A D1 string value is at most 2 MB; keep each bound JSON array well below. */
const CHUNK_BYTES = 512 * 1024;
const utf8 = new TextEncoder();

/** `rows` split into JSON arrays of at most CHUNK_BYTES each (a larger row goes alone). */
export function jsonChunks(rows: readonly object[]): string[] {
  const chunks: string[] = [];
  let current: string[] = [];
  let size = 2;
  for (const row of rows) {
    const text = JSON.stringify(row);
    const bytes = utf8.encode(text).length + 1;
    if (current.length > 0 && size + bytes > CHUNK_BYTES) {
      chunks.push(`[${current.join(',')}]`);
      current = [];
      size = 2;
    }
    current.push(text);
    size += bytes;
  }
  if (current.length > 0) chunks.push(`[${current.join(',')}]`);
  return chunks;
}

/** INSERTs of `rows` (objects keyed by column) into `table`, many rows per statement. */
function insertMany(
  db: D1Database,
  table: keyof typeof COLUMNS,
  rows: readonly object[],
  suffix = '',
): D1PreparedStatement[] {
  const columns = COLUMNS[table];
  const select = columns.map((c) => `json_extract(value, '$.${c}')`).join(', ');
  // `WHERE true` lets an upsert clause follow a SELECT without SQLite reading it as a join.
  const sql = `INSERT INTO ${table} (${list(columns)}) SELECT ${select} FROM json_each(?1) WHERE true ${suffix}`;
  return jsonChunks(rows).map((chunk) => db.prepare(sql).bind(chunk));
}

/**
 * The one batch of an import. It starts with a guard that fails the batch (`revision_guard_failed`)
 * when any app exists by then, so two racing imports cannot both land.
 */
export function importStatements(
  db: D1Database,
  rows: ImportRows,
  audit: ImportAudit,
): D1PreparedStatement[] {
  return [
    db.prepare('INSERT INTO revision_guard (ok) SELECT 0 WHERE EXISTS (SELECT 1 FROM apps)'),
    ...insertMany(db, 'keysets', rows.keysets),
    ...insertMany(db, 'tokens', rows.tokens),
    ...insertMany(db, 'apps', rows.apps),
    ...insertMany(db, 'channels', rows.channels),
    ...insertMany(db, 'releases', rows.releases),
    ...insertMany(db, 'rollouts', rows.rollouts),
    ...insertMany(db, 'yanks', rows.yanks),
    ...insertMany(db, 'standby_yanks', rows.standby_yanks),
    db
      .prepare(
        `INSERT INTO audit (id, at, actor, action, app, target, before_json, after_json)
         VALUES (?1, ?2, ?3, 'import', NULL, ?4, NULL, ?5)`,
      )
      .bind(audit.id, audit.at, audit.actor, audit.target, JSON.stringify(audit.after)),
  ];
}

/** The newest `import` audit row: its id and what it recorded (`after`). */
export async function lastImport(db: D1Database): Promise<{ id: number; after: unknown } | null> {
  const row = await db
    .prepare(`SELECT id, after_json FROM audit WHERE action = 'import' ORDER BY id DESC LIMIT 1`)
    .first<{ id: number; after_json: string | null }>();
  return row ? { id: row.id, after: parseJson(row.after_json) } : null;
}

export async function countAudit(db: D1Database, from: number, to: number): Promise<number> {
  const row = await db
    .prepare('SELECT count(*) AS n FROM audit WHERE id BETWEEN ?1 AND ?2')
    .bind(from, to)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

/**
 * Imported audit rows, as they were but for the id (moved up by `offset`). A row whose id is
 * already there is skipped, so a page sent twice is harmless.
 */
export function insertAuditRows(
  db: D1Database,
  rows: readonly AuditRow[],
  offset: number,
): D1PreparedStatement[] {
  const stored = rows.map((r) => ({
    id: r.id + offset,
    at: r.at,
    actor: r.actor,
    action: r.action,
    app: r.app,
    target: r.target,
    before_json: r.before === null || r.before === undefined ? null : JSON.stringify(r.before),
    after_json: r.after === null || r.after === undefined ? null : JSON.stringify(r.after),
  }));
  return insertMany(db, 'audit', stored, 'ON CONFLICT (id) DO NOTHING');
}
