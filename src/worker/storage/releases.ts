/** Registered releases in D1 (the signed manifest and the fields the admin API lists). */
import * as z from 'zod';
import { type Artifact, artifactSchema, type ReleasePayload } from '../../protocol/documents.ts';
import { isoSeconds } from './revisions.ts';
import { versionKey } from './version-key.ts';

export interface ReleaseRecord {
  app: string;
  version: string;
  manifest_jws: string;
  release_sha256: string;
  published_at: string;
  mandatory: boolean;
  critical: boolean;
  requires: string;
  notes: string;
  artifacts: Artifact[];
  created_at: string;
  yanked: boolean;
}

/** A `releases` row as stored (migrations/0001): what backups read and write. */
export interface ReleasesRow {
  app: string;
  version: string;
  version_key: string;
  manifest_jws: string;
  release_sha256: string;
  published_at: string;
  mandatory: number;
  critical: number;
  requires: string;
  notes: string;
  artifacts_json: string;
  created_at: string;
}

/** The table's columns, in order. */
export const RELEASES_COLUMN_LIST = [
  'app',
  'version',
  'version_key',
  'manifest_jws',
  'release_sha256',
  'published_at',
  'mandatory',
  'critical',
  'requires',
  'notes',
  'artifacts_json',
  'created_at',
] as const satisfies readonly (keyof ReleasesRow)[];

/** A release as SELECT reads it: without its sort key, with whether a yank names it. */
type ListedRelease = Omit<ReleasesRow, 'version_key'> & { yanked: number };

const artifactsSchema = z.array(artifactSchema);

const SELECT = `SELECT r.app, r.version, r.manifest_jws, r.release_sha256, r.published_at, r.mandatory, r.critical,
  r.requires, r.notes, r.artifacts_json, r.created_at, (y.version IS NOT NULL) AS yanked
  FROM releases r LEFT JOIN yanks y ON y.app = r.app AND y.version = r.version`;

function toRelease(row: ListedRelease): ReleaseRecord {
  const { artifacts_json, ...rest } = row;
  return {
    ...rest,
    mandatory: row.mandatory === 1,
    critical: row.critical === 1,
    yanked: row.yanked === 1,
    artifacts: artifactsSchema.parse(JSON.parse(artifacts_json)),
  };
}

export async function getRelease(
  db: D1Database,
  app: string,
  version: string,
): Promise<ReleaseRecord | null> {
  const row = await db
    .prepare(`${SELECT} WHERE r.app = ?1 AND r.version = ?2`)
    .bind(app, version)
    .first<ListedRelease>();
  return row ? toRelease(row) : null;
}

/** Every release of an app, highest version first. */
export async function listReleases(db: D1Database, app: string): Promise<ReleaseRecord[]> {
  const { results } = await db
    .prepare(`${SELECT} WHERE r.app = ?1 ORDER BY r.version_key DESC`)
    .bind(app)
    .all<ListedRelease>();
  return results.map(toRelease);
}

export function insertRelease(
  db: D1Database,
  release: ReleasePayload,
  jws: string,
  sha256: string,
  now: Date,
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO releases (app, version, version_key, manifest_jws, release_sha256, published_at, mandatory,
         critical, requires, notes, artifacts_json, created_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)`,
    )
    .bind(
      release.app,
      release.version,
      versionKey(release.version),
      jws,
      sha256,
      release.published_at,
      release.mandatory ? 1 : 0,
      release.critical ? 1 : 0,
      release.requires,
      release.notes,
      JSON.stringify(release.artifacts),
      isoSeconds(now),
    );
}
