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
  /** Index into the plan's steps_bp; null without a plan. */
  step: number | null;
  /** When the current step's bake clock (re)started; null without a plan. */
  step_started_at: string | null;
  /** The scheduler's last judgement (`RolloutJudgement` as JSON); null before the first. */
  judgement_json: string | null;
  created_at: string;
  updated_at: string;
}

/** A rollout's staged-plan columns (docs/rollouts.md); all null for a manual rollout. */
export type PlanFields = Pick<RolloutRecord, 'plan_json' | 'step' | 'step_started_at' | 'judgement_json'>;

export const MANUAL: PlanFields = {
  plan_json: null,
  step: null,
  step_started_at: null,
  judgement_json: null,
};

/** The table's columns, in order (a RolloutRecord is one row): the queries and backups read them all. */
export const ROLLOUT_COLUMN_LIST = [
  'app',
  'channel',
  'version',
  'percent_bp',
  'salt',
  'state',
  'plan_json',
  'step',
  'step_started_at',
  'judgement_json',
  'created_at',
  'updated_at',
] as const satisfies readonly (keyof RolloutRecord)[];
export const ROLLOUT_COLUMNS = ROLLOUT_COLUMN_LIST.join(', ');

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

export interface RolloutKey {
  app: string;
  channel: string;
  version: string;
}

export function insertRollout(
  db: D1Database,
  rollout: RolloutKey & Pick<RolloutRecord, 'percent_bp' | 'salt' | 'state'> & { plan?: PlanFields },
  now: Date,
): D1PreparedStatement {
  const plan = rollout.plan ?? MANUAL;
  return db
    .prepare(
      `INSERT INTO rollouts (app, channel, version, percent_bp, salt, state, plan_json, step, step_started_at,
         judgement_json, created_at, updated_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)`,
    )
    .bind(
      rollout.app,
      rollout.channel,
      rollout.version,
      rollout.percent_bp,
      rollout.salt,
      rollout.state,
      plan.plan_json,
      plan.step,
      plan.step_started_at,
      plan.judgement_json,
      isoSeconds(now),
    );
}

/**
 * Sets percentage and state, and with `plan` every plan column too (a plan attached, dropped,
 * advanced, or its bake clock restarted). The salt never changes once a rollout exists (docs/protocol.md §3).
 */
export function updateRollout(
  db: D1Database,
  key: RolloutKey,
  change: { percent_bp: number; state: RolloutState; plan?: PlanFields },
  now: Date,
): D1PreparedStatement {
  const { plan } = change;
  if (!plan) {
    return db
      .prepare(
        `UPDATE rollouts SET percent_bp = ?4, state = ?5, updated_at = ?6
         WHERE app = ?1 AND channel = ?2 AND version = ?3`,
      )
      .bind(key.app, key.channel, key.version, change.percent_bp, change.state, isoSeconds(now));
  }
  return db
    .prepare(
      `UPDATE rollouts SET percent_bp = ?4, state = ?5, plan_json = ?6, step = ?7, step_started_at = ?8,
         judgement_json = ?9, updated_at = ?10
       WHERE app = ?1 AND channel = ?2 AND version = ?3`,
    )
    .bind(
      key.app,
      key.channel,
      key.version,
      change.percent_bp,
      change.state,
      plan.plan_json,
      plan.step,
      plan.step_started_at,
      plan.judgement_json,
      isoSeconds(now),
    );
}
