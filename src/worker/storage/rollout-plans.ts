/**
 * Staged-rollout plans in D1 (docs/rollouts.md, migrations/0003_staged_rollouts.sql): the plan and
 * judgement columns of `rollouts`, and what the scheduler reads and writes each run.
 */
import { type Plan, planSchema, type RolloutJudgement } from '../../protocol/plan.ts';
import { ROLLOUT_COLUMNS, type RolloutKey, type RolloutRecord } from './rollouts.ts';

/** A stored plan, or null for a manual rollout (or a row that no longer parses, which is never judged). */
export function parsePlan(text: string | null): Plan | null {
  if (text === null) return null;
  try {
    const parsed = planSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** A stored judgement (written only by the scheduler), or null before the first one. */
export function parseJudgement(text: string | null): RolloutJudgement | null {
  if (text === null) return null;
  try {
    return JSON.parse(text) as RolloutJudgement;
  } catch {
    return null;
  }
}

/** A rollout the scheduler judges, with the revision of its channel read in the same statement. */
export interface PlannedRollout extends RolloutRecord {
  revision: number;
}

const prefixed = ROLLOUT_COLUMNS.split(', ')
  .map((c) => `ro.${c}`)
  .join(', ');

/**
 * Active planned rollouts of releases that are not yanked, least recently judged first (never
 * judged before all), at most `limit`: when there are more than a run can judge, each still gets
 * its turn. Paused, halted and complete rollouts are never judged.
 */
export async function listPlannedRollouts(db: D1Database, limit: number): Promise<PlannedRollout[]> {
  const { results } = await db
    .prepare(
      `SELECT ${prefixed}, ch.revision FROM rollouts ro
       JOIN channels ch ON ch.app = ro.app AND ch.name = ro.channel
       WHERE ro.state = 'active' AND ro.plan_json IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM yanks y WHERE y.app = ro.app AND y.version = ro.version)
       ORDER BY coalesce(json_extract(ro.judgement_json, '$.at'), ''), ro.app, ro.channel, ro.version
       LIMIT ?1`,
    )
    .bind(limit)
    .all<PlannedRollout>();
  return results;
}

/**
 * Records a `wait` judgement, which changes nothing clients see: no revision bump, no audit row. It
 * lands only while the channel is still at `revision` and the rollout active, so a run that raced
 * a change never pins a stale judgement on the new state.
 */
export function recordJudgement(
  db: D1Database,
  key: RolloutKey,
  judgement: RolloutJudgement,
  revision: number,
): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE rollouts SET judgement_json = ?4
       WHERE app = ?1 AND channel = ?2 AND version = ?3 AND state = 'active'
         AND (SELECT revision FROM channels WHERE app = ?1 AND name = ?2) = ?5`,
    )
    .bind(key.app, key.channel, key.version, JSON.stringify(judgement), revision);
}
