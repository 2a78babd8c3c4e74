/**
 * Standby yanks in D1 (docs/protocol.md §6, migrations/0011_standby_yanks.sql): yank statements signed with a
 * release key at promote time for a rollout whose plan says `on_breach: rollback`. Sealed: nothing
 * here is served or projected; the scheduler publishes one (storage/yank-publish.ts) when a gate
 * breach is clear, and the rollout completing or a manual yank deletes it.
 */
import type { AuditInput } from './audit.ts';
import { isoSeconds } from './revisions.ts';
import type { RolloutKey } from './rollouts.ts';

export interface StandbyYankRecord {
  app: string;
  channel: string;
  version: string;
  yank_jws: string;
  yank_sha256: string;
  rollback_to: string | null;
  created_at: string;
  /** The signed rollBackToEmbedded directive of an Expo app (migrations/0013), or null. */
  expo_directive_signature: string | null;
}

/** The table's columns, in order: the queries here and backups (storage/backup.ts) read them all. */
export const STANDBY_YANK_COLUMNS = [
  'app',
  'channel',
  'version',
  'yank_jws',
  'yank_sha256',
  'rollback_to',
  'created_at',
  'expo_directive_signature',
] as const;
const COLUMNS = STANDBY_YANK_COLUMNS.join(', ');

export async function getStandbyYank(db: D1Database, key: RolloutKey): Promise<StandbyYankRecord | null> {
  return db
    .prepare(`SELECT ${COLUMNS} FROM standby_yanks WHERE app = ?1 AND channel = ?2 AND version = ?3`)
    .bind(key.app, key.channel, key.version)
    .first<StandbyYankRecord>();
}

/** The standby yanks of a release, in every channel it was promoted to with one. */
export async function listStandbyYanks(
  db: D1Database,
  app: string,
  version: string,
): Promise<StandbyYankRecord[]> {
  const { results } = await db
    .prepare(`SELECT ${COLUMNS} FROM standby_yanks WHERE app = ?1 AND version = ?2 ORDER BY channel`)
    .bind(app, version)
    .all<StandbyYankRecord>();
  return results;
}

/** Stores (or replaces, on a new promote of the same rollout) the standby yank of a rollout. */
export function putStandbyYank(
  db: D1Database,
  key: RolloutKey,
  yank: { jws: string; sha256: string; rollback_to: string | null; expo_directive_signature: string | null },
  now: Date,
): D1PreparedStatement {
  return db
    .prepare(`INSERT OR REPLACE INTO standby_yanks (${COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)`)
    .bind(
      key.app,
      key.channel,
      key.version,
      yank.jws,
      yank.sha256,
      yank.rollback_to,
      isoSeconds(now),
      yank.expo_directive_signature,
    );
}

/** Deletes the standby yank of one rollout (none: no-op). */
export function deleteStandbyYank(db: D1Database, key: RolloutKey): D1PreparedStatement {
  return db
    .prepare('DELETE FROM standby_yanks WHERE app = ?1 AND channel = ?2 AND version = ?3')
    .bind(key.app, key.channel, key.version);
}

/** Deletes every standby yank of a release: once it is yanked, none of them can apply. */
export function deleteStandbyYanks(db: D1Database, app: string, version: string): D1PreparedStatement {
  return db.prepare('DELETE FROM standby_yanks WHERE app = ?1 AND version = ?2').bind(app, version);
}

/** The audit row (`rollout.standby_discard`, without its actor) of a standby yank deleted, and why. */
export function standbyDiscarded(standby: StandbyYankRecord, reason: string): Omit<AuditInput, 'actor'> {
  return {
    action: 'rollout.standby_discard',
    app: standby.app,
    target: `${standby.channel}/${standby.version}`,
    before: { yank_sha256: standby.yank_sha256, rollback_to: standby.rollback_to },
    after: { reason },
  };
}
