/**
 * Expiry of unregistered uploads (docs/storage.md § Unregistered uploads): the scheduler walks
 * `artifacts/` in R2 and removes, through the same claim as a publisher's removal (uploads.ts), every
 * object older than the TTL that no registered release lists. The walk is cheap: one listing page per
 * run while a pass is under way, one D1 query to tell registered keys from the rest, and a pause of
 * an hour between passes, so a quiet deployment lists R2 once an hour. Removals per run are bounded
 * too; the walk resumes at the first object it did not get to.
 */
import type { RemovedUpload } from '../../protocol/admin-api.ts';
import type { ArtifactPath } from './data-plane.ts';
import { artifactKey } from './projection.ts';
import { finishStaleRemovals, parseArtifactKey, removeUpload } from './uploads.ts';

/** Objects listed per run (R2's largest page). */
const PAGE = 1000;
/** Removals attempted per run. */
const REMOVALS_PER_RUN = 20;
/** The pause between the end of one pass and the start of the next. */
export const SWEEP_PAUSE_MS = 3600 * 1000;
/** Done removals are kept this long, far longer than any registration takes, then pruned. */
const KEEP_DONE_MS = 24 * 3600 * 1000;

export interface SweepOptions {
  now: Date;
  ttlHours: number;
  pageSize?: number;
  maxRemovals?: number;
}

export interface SweepResult {
  /** Objects listed by this run (0 while the sweep pauses between passes). */
  listed: number;
  expired: RemovedUpload[];
  /** Whether this run reached the end of `artifacts/` (the next pass starts after the pause). */
  passDone: boolean;
}

interface SweepState {
  after: string | null;
  resume_at: string;
}

/** Runs one step of the sweep: finishes dead removals, then expires what one page of R2 holds. */
export async function expireUnregisteredUploads(
  db: D1Database,
  bucket: R2Bucket,
  options: SweepOptions,
): Promise<SweepResult> {
  const { now } = options;
  await finishStaleRemovals(db, bucket, now);
  const state = await db
    .prepare('SELECT after, resume_at FROM upload_sweep WHERE id = 1')
    .first<SweepState>();
  if (state && Date.parse(state.resume_at) > now.getTime())
    return { listed: 0, expired: [], passDone: false };
  if (!state?.after) {
    await db
      .prepare('DELETE FROM upload_removals WHERE done_at IS NOT NULL AND done_at < ?1')
      .bind(new Date(now.getTime() - KEEP_DONE_MS).toISOString())
      .run();
  }

  const listed = await bucket.list({
    prefix: 'artifacts/',
    limit: options.pageSize ?? PAGE,
    ...(state?.after ? { startAfter: state.after } : {}),
  });
  const cutoff = new Date(now.getTime() - options.ttlHours * 3600 * 1000);
  const old = listed.objects
    .filter((object) => object.uploaded < cutoff)
    .flatMap((object) => {
      const path = parseArtifactKey(object.key);
      return path ? [{ key: object.key, path }] : [];
    });
  const registered = await registeredKeys(
    db,
    old.map((o) => o.path),
  );

  const expired: RemovedUpload[] = [];
  let budget = options.maxRemovals ?? REMOVALS_PER_RUN;
  let after = state?.after ?? null;
  let stopped = false;
  const candidates = new Map(old.filter((o) => !registered.has(o.key)).map((o) => [o.key, o.path]));
  for (const object of listed.objects) {
    const path = candidates.get(object.key);
    if (path) {
      if (budget === 0) {
        stopped = true;
        break;
      }
      budget -= 1;
      const removal = await removeUpload(db, bucket, path, object.key, {
        reason: 'expired',
        actor: 'scheduler',
        now,
        uploadedBefore: cutoff,
      });
      if (removal.kind === 'removed') expired.push(removal.upload);
    }
    after = object.key;
  }

  const passDone = !stopped && !listed.truncated;
  const next: SweepState = passDone
    ? { after: null, resume_at: new Date(now.getTime() + SWEEP_PAUSE_MS).toISOString() }
    : { after, resume_at: now.toISOString() };
  await db
    .prepare(
      `INSERT INTO upload_sweep (id, after, resume_at) VALUES (1, ?1, ?2)
       ON CONFLICT (id) DO UPDATE SET after = excluded.after, resume_at = excluded.resume_at`,
    )
    .bind(next.after, next.resume_at)
    .run();
  return { listed: listed.objects.length, expired, passDone };
}

/** The keys among `paths` that a registered release lists (artifacts and their sidecars), in one query. */
async function registeredKeys(db: D1Database, paths: readonly ArtifactPath[]): Promise<Set<string>> {
  if (paths.length === 0) return new Set();
  const releases = [...new Set(paths.map((p) => JSON.stringify([p.app, p.version])))];
  const { results } = await db
    .prepare(
      `WITH listed AS (SELECT r.app, r.version, a.value AS artifact FROM json_each(?1) p
         JOIN releases r ON r.app = json_extract(p.value, '$[0]') AND r.version = json_extract(p.value, '$[1]'),
           json_each(r.artifacts_json) a)
       SELECT app, version, json_extract(artifact, '$.platform') AS platform,
         json_extract(artifact, '$.arch') AS arch, json_extract(artifact, '$.file') AS file FROM listed
       UNION ALL
       SELECT app, version, json_extract(artifact, '$.platform'), json_extract(artifact, '$.arch'),
         json_extract(s.value, '$.file') FROM listed, json_each(artifact, '$.sidecars') s`,
    )
    .bind(`[${releases.join(',')}]`)
    .all<ArtifactPath>();
  return new Set(results.map((r) => artifactKey(r.app, r.version, r.platform, r.arch, r.file)));
}
