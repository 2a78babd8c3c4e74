/**
 * Artifact uploads that no registered release references (docs/storage.md § Unregistered uploads).
 * Nothing in R2 is ever overwritten, so an upload of the wrong bytes (a publish that failed half-way,
 * or someone squatting the path of a future release) would block that version's real publish for
 * ever. Such an upload may therefore be removed: by a publisher, or by the scheduler once it is older
 * than UNREGISTERED_UPLOAD_TTL_HOURS. An object a registered release references is never removed.
 *
 * A removal and a release registration can race, and both look at R2 before they write D1. They meet
 * in D1: a removal first claims its object there (`upload_removals`), in a statement that inserts
 * nothing when a release references the key, and only then deletes it from R2; registration refuses,
 * in the batch that inserts the release, an artifact whose key has a removal in progress or whose
 * exact object (R2's version id) was removed. D1 runs one writer at a time, so one of the two comes
 * first: a registered release keeps its bytes, and a removed upload only costs the publisher a re-upload.
 */
import type { RemovedUpload } from '../../protocol/admin-api.ts';
import { ARCHES, PLATFORMS } from '../../protocol/documents.ts';
import { auditStatement } from './audit.ts';
import type { ArtifactPath } from './data-plane.ts';
import { isoSeconds, isUniqueViolation } from './revisions.ts';

export const DEFAULT_UPLOAD_TTL_HOURS = 24;
/** A claim older than this belongs to a request that died (a removal is a few calls): the scheduler finishes it. */
export const STALE_CLAIM_MS = 10 * 60 * 1000;
const PREFIX = 'artifacts/';

export type RemovalReason = 'removed' | 'expired';

export type Removal =
  | { kind: 'removed'; upload: RemovedUpload }
  | { kind: 'missing' }
  /** A registered release lists the key: registered artifacts are never removed. */
  | { kind: 'registered' }
  /** Another removal of the object is under way, or the object changed while this one looked. */
  | { kind: 'busy' }
  /** Uploaded after `uploadedBefore`: not old enough to expire. */
  | { kind: 'young' };

const TARGET = new RegExp(`^(${PLATFORMS.join('|')})-(${ARCHES.join('|')})$`);

/** The parts of `artifacts/<app>/<version>/<platform>-<arch>/<file>`, or null for any other key. */
export function parseArtifactKey(key: string): ArtifactPath | null {
  const parts = key.split('/');
  if (parts.length !== 5 || `${parts[0]}/` !== PREFIX) return null;
  const [, app, version, target, file] = parts;
  const match = TARGET.exec(target ?? '');
  if (!app || !version || !file || !match?.[1] || !match[2]) return null;
  return { app, version, platform: match[1], arch: match[2], file };
}

/** `UNREGISTERED_UPLOAD_TTL_HOURS` as a whole number of hours ≥ 1; the default when unset or invalid. */
export function uploadTtlHours(value: string | undefined): number {
  const hours = Number(value);
  return Number.isInteger(hours) && hours >= 1 ? hours : DEFAULT_UPLOAD_TTL_HOURS;
}

// The registered release, if any, that lists (?1 app, ?2 version, ?3 platform, ?4 arch, ?5 file): as an
// artifact, or as one of an artifact's sidecars (stored beside it).
const REFERENCING = `SELECT r.version FROM releases r, json_each(r.artifacts_json) a
  WHERE r.app = ?1 AND r.version = ?2 AND json_extract(a.value, '$.platform') = ?3
    AND json_extract(a.value, '$.arch') = ?4 AND (json_extract(a.value, '$.file') = ?5
      OR EXISTS (SELECT 1 FROM json_each(a.value, '$.sidecars') s WHERE json_extract(s.value, '$.file') = ?5))`;

const pathBinds = (p: ArtifactPath) => [p.app, p.version, p.platform, p.arch, p.file] as const;

/** Whether a registered release lists the artifact at `path`. */
export async function isRegistered(db: D1Database, path: ArtifactPath): Promise<boolean> {
  const row = await db
    .prepare(`${REFERENCING} LIMIT 1`)
    .bind(...pathBinds(path))
    .first();
  return row !== null;
}

export interface RemoveOptions {
  reason: RemovalReason;
  /** Who removes: the audit actor (`scheduler` for expiry). */
  actor: string;
  now: Date;
  /** Remove only an object uploaded before this time (expiry). */
  uploadedBefore?: Date;
}

/**
 * Removes the object at the artifact path `path` unless a registered release references it: claims
 * it in D1, deletes it from R2, then marks the claim done with an audit row.
 */
export async function removeUpload(
  db: D1Database,
  bucket: R2Bucket,
  path: ArtifactPath,
  key: string,
  options: RemoveOptions,
): Promise<Removal> {
  const object = await bucket.head(key);
  if (!object) return { kind: 'missing' };
  if (options.uploadedBefore && object.uploaded >= options.uploadedBefore) return { kind: 'young' };
  const claim = {
    key,
    version: object.version,
    app: path.app,
    reason: options.reason,
    actor: options.actor,
    size: object.size,
    sha256: object.customMetadata?.sha256 ?? null,
    uploaded: object.uploaded.toISOString(),
  };
  let claimed: D1Result;
  try {
    claimed = await db
      .prepare(
        `INSERT INTO upload_removals (key, version, app, reason, actor, size, sha256, uploaded, claimed_at)
         SELECT ?6, ?7, ?1, ?8, ?9, ?10, ?11, ?12, ?13 WHERE NOT EXISTS (${REFERENCING})`,
      )
      .bind(
        ...pathBinds(path),
        key,
        claim.version,
        claim.reason,
        claim.actor,
        claim.size,
        claim.sha256,
        claim.uploaded,
        options.now.toISOString(),
      )
      .run();
  } catch (error) {
    if (isUniqueViolation(error)) return { kind: 'busy' };
    throw error;
  }
  if (claimed.meta.changes === 0) return { kind: 'registered' };

  // Only this claim may delete the object now, and puts never replace one; but a multipart
  // `complete` can (R2 offers no condition on it). Delete only the object that was claimed; one
  // replaced after this look is covered by registration's check of when the removal finished.
  const current = await bucket.head(key);
  if (current?.version !== object.version) {
    await db
      .prepare('DELETE FROM upload_removals WHERE key = ?1 AND version = ?2')
      .bind(key, claim.version)
      .run();
    return current ? { kind: 'busy' } : { kind: 'missing' };
  }
  await bucket.delete(key);
  return { kind: 'removed', upload: await finish(db, claim, options.now) };
}

interface Claim {
  key: string;
  version: string;
  app: string;
  reason: RemovalReason;
  actor: string;
  size: number;
  sha256: string | null;
  uploaded: string;
}

/**
 * Marks a claim done, with the audit row of the removal (at `now`, the run's time). `done_at` is the
 * clock after the R2 delete, whatever `now` says: registration compares it with when it looked.
 */
async function finish(db: D1Database, claim: Claim, now: Date): Promise<RemovedUpload> {
  const removed: RemovedUpload = {
    key: claim.key,
    size: claim.size,
    sha256: claim.sha256,
    uploaded: claim.uploaded,
    removed_at: new Date().toISOString(),
  };
  const { removed_at: _, ...before } = removed;
  await db.batch([
    db
      .prepare('UPDATE upload_removals SET done_at = ?3 WHERE key = ?1 AND version = ?2')
      .bind(claim.key, claim.version, removed.removed_at),
    auditStatement(
      db,
      {
        actor: claim.actor,
        action: claim.reason === 'expired' ? 'artifact.expire' : 'artifact.remove',
        app: claim.app,
        target: claim.key,
        before,
        after: null,
      },
      isoSeconds(now),
    ),
  ]);
  return removed;
}

/** An artifact as release registration checked it: its key, R2's version id, and when it looked. */
export interface CheckedArtifact {
  key: string;
  version: string;
  /** ISO time taken before the look (`head`) at R2. */
  checked_at: string;
}

/**
 * The statement that fails a release registration's batch (a revision guard) when one of its
 * artifacts has a removal in progress, or its exact object (R2 version id) was removed, or a removal
 * of its key finished after the registration looked. The last catches the one object a claim can
 * delete without having claimed it: one a multipart `complete` put in its place after its check.
 */
export function refuseRemovedArtifacts(
  db: D1Database,
  artifacts: readonly CheckedArtifact[],
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO revision_guard (ok) SELECT 0 WHERE EXISTS (
         SELECT 1 FROM json_each(?1) v JOIN upload_removals m ON m.key = json_extract(v.value, '$.key')
         WHERE m.done_at IS NULL OR m.version = json_extract(v.value, '$.version')
           OR m.done_at >= json_extract(v.value, '$.checked_at'))`,
    )
    .bind(JSON.stringify(artifacts));
}

/**
 * Finishes removals whose request died after claiming (bounded per run).
 * A stale claim still names the object it claimed: no release can have been registered against it
 * meanwhile (registration refuses while the claim is open), so it is deleted if it is still there.
 */
export async function finishStaleRemovals(db: D1Database, bucket: R2Bucket, now: Date): Promise<number> {
  const { results } = await db
    .prepare(
      `SELECT key, version, app, reason, actor, size, sha256, uploaded FROM upload_removals
       WHERE done_at IS NULL AND claimed_at < ?1 ORDER BY claimed_at LIMIT 10`,
    )
    .bind(new Date(now.getTime() - STALE_CLAIM_MS).toISOString())
    .all<Claim>();
  for (const claim of results) {
    const current = await bucket.head(claim.key);
    if (current?.version === claim.version) await bucket.delete(claim.key);
    await finish(db, claim, now);
  }
  return results.length;
}
