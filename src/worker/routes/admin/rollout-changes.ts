/**
 * What a rollout becomes after a promote or an action (docs/rollouts.md § Manual control stays
 * first), computed apart from the routes so the rules read in one place.
 */
import type { RolloutState } from '../../../protocol/documents.ts';
import type { Plan } from '../../../protocol/plan.ts';
import { isoSeconds } from '../../storage/revisions.ts';
import { parsePlan } from '../../storage/rollout-plans.ts';
import { MANUAL, type PlanFields, type RolloutRecord } from '../../storage/rollouts.ts';

export interface RolloutTarget {
  percent_bp: number;
  state: RolloutState;
  plan: PlanFields;
}

/** A rollout as audit rows show it. */
export function describeRollout(r: Pick<RolloutRecord, 'percent_bp' | 'state' | 'salt'> & PlanFields) {
  return {
    percent_bp: r.percent_bp,
    state: r.state,
    salt: r.salt,
    plan: parsePlan(r.plan_json),
    step: r.step,
  };
}

export const planFieldsOf = (r: RolloutRecord): PlanFields => ({
  plan_json: r.plan_json,
  step: r.step,
  step_started_at: r.step_started_at,
  judgement_json: r.judgement_json,
});

/**
 * A promote: `critical` goes to everyone at once and ends any plan; a plan (re)starts at its first
 * step with the bake clock at `now`; a manual percentage drops any plan. A paused rollout stays
 * paused (pausing freezes the plan, not the operator); a complete one cut below 10000 bp is active again.
 */
export function promoteTarget(
  existing: RolloutRecord | null,
  request: { percent_bp?: number; plan: Plan | null; critical: boolean },
  now: Date,
): RolloutTarget {
  if (request.critical) return { percent_bp: 10_000, state: 'complete', plan: MANUAL };
  const { plan } = request;
  const percent_bp = plan ? (plan.steps_bp[0] ?? 10_000) : (request.percent_bp ?? 10_000);
  const state: RolloutState =
    existing && !(existing.state === 'complete' && percent_bp < 10_000) ? existing.state : 'active';
  const fields: PlanFields = plan
    ? { plan_json: JSON.stringify(plan), step: 0, step_started_at: isoSeconds(now), judgement_json: null }
    : MANUAL;
  return { percent_bp, state, plan: fields };
}

/**
 * Whether a promote would change nothing: same percentage and state, and no plan either side, or
 * the same plan still at its first step (a retried promote must not restart the bake clock).
 */
export function isUnchanged(existing: RolloutRecord, target: RolloutTarget): boolean {
  const samePlan =
    existing.plan_json === target.plan.plan_json && (existing.plan_json === null || existing.step === 0);
  return existing.percent_bp === target.percent_bp && existing.state === target.state && samePlan;
}

/**
 * The plan columns after an action on a planned rollout (undefined for a manual one: untouched).
 * `resume` restarts the current step's bake clock (time paused or halted is not time baked);
 * `complete` moves to the last step (10000 bp), after which nothing is judged.
 */
export function planAfterAction(
  existing: RolloutRecord,
  action: 'pause' | 'resume' | 'halt' | 'complete',
  now: Date,
): PlanFields | undefined {
  const plan = parsePlan(existing.plan_json);
  if (!plan) return undefined;
  const fields = planFieldsOf(existing);
  if (action === 'resume') return { ...fields, step_started_at: isoSeconds(now), judgement_json: null };
  if (action === 'complete') {
    return { ...fields, step: plan.steps_bp.length - 1, step_started_at: isoSeconds(now) };
  }
  return undefined;
}
