/** Rollouts (a release offered in a channel to a percentage of clients) in D1. */
import type { RolloutState } from '../../protocol/documents.ts';
import { isoSeconds } from './revisions.ts';

export interface RolloutRecord {
  app: string;
  channel: string;
  version: string;
  percent_bp: number;
  salt: string;
  state: RolloutState;
  plan_json: string | null;
  created_at: string;
  updated_at: string;
}

export const ROLLOUT_COLUMNS =
  'app, channel, version, percent_bp, salt, state, plan_json, created_at, updated_at';

export async function getRollout(
  db: D1Database,
  app: string,
  channel: string,
  version: string,
): Promise<RolloutRecord | null> {
  return db
    .prepare(`SELECT ${ROLLOUT_COLUMNS} FROM rollouts WHERE app = ?1 AND channel = ?2 AND version = ?3`)
    .bind(app, channel, version)
    .first<RolloutRecord>();
}

export function insertRollout(
  db: D1Database,
  rollout: Pick<RolloutRecord, 'app' | 'channel' | 'version' | 'percent_bp' | 'salt' | 'state'>,
  now: Date,
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO rollouts (app, channel, version, percent_bp, salt, state, plan_json, created_at, updated_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, ?7, ?7)`,
    )
    .bind(
      rollout.app,
      rollout.channel,
      rollout.version,
      rollout.percent_bp,
      rollout.salt,
      rollout.state,
      isoSeconds(now),
    );
}

/** Sets percentage and state; the salt never changes once a rollout exists (DESIGN §3). */
export function updateRollout(
  db: D1Database,
  key: { app: string; channel: string; version: string },
  change: { percent_bp: number; state: RolloutState },
  now: Date,
): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE rollouts SET percent_bp = ?4, state = ?5, updated_at = ?6
       WHERE app = ?1 AND channel = ?2 AND version = ?3`,
    )
    .bind(key.app, key.channel, key.version, change.percent_bp, change.state, isoSeconds(now));
}
