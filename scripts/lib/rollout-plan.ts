/**
 * How a planned rollout reads for people, shared by `status` and `watch`: the current step, what the
 * scheduler will do next and when, and its last judgement with the figures it used.
 */

import type { Plan, RolloutView } from '../../src/protocol/admin-api.ts';
import { formatBp, formatFraction, formatRate, formatSeconds } from '../../src/protocol/format.ts';
import { hasCrashGates, minSessions, type RolloutJudgement } from '../../src/protocol/plan.ts';
import { describeGates, describeSteps } from './plan-flags.ts';
import { formatTime } from './table.ts';

/** A rollout that follows a plan. */
export type PlannedRollout = RolloutView & { plan: Plan };

export function isPlanned(rollout: RolloutView): rollout is PlannedRollout {
  return rollout.plan !== undefined && rollout.plan !== null;
}

/** The current step's index, within the plan's steps. */
function stepIndex(rollout: PlannedRollout): number {
  return Math.min(Math.max(rollout.step ?? 0, 0), rollout.plan.steps_bp.length - 1);
}

/** "step 2/5 (5%)" */
export function stepLabel(rollout: PlannedRollout): string {
  const index = stepIndex(rollout);
  return `step ${index + 1}/${rollout.plan.steps_bp.length} (${formatBp(rollout.plan.steps_bp[index] ?? rollout.percent_bp)})`;
}

/** Seconds of bake time left at `now` (0 once baked); undefined when the server does not say. */
export function bakeLeftSeconds(rollout: RolloutView, now: Date): number | undefined {
  if (!rollout.bake_ends_at) return undefined;
  return Math.max(0, (Date.parse(rollout.bake_ends_at) - now.getTime()) / 1000);
}

/** The last judgement, when it judged the current step (not the previous one it advanced from). */
function currentStepJudgement(rollout: PlannedRollout): RolloutJudgement | undefined {
  const { judgement, step_started_at: started } = rollout;
  if (!judgement || !started) return undefined;
  return Date.parse(judgement.figures.window.from) >= Date.parse(started) ? judgement : undefined;
}

/** What the scheduler does next with this rollout, and when. */
export function nextAction(rollout: PlannedRollout, now: Date): string {
  const { plan } = rollout;
  const index = stepIndex(rollout);
  switch (rollout.state) {
    case 'complete':
      return 'nothing: the rollout is complete';
    case 'halted':
      return `nothing: halted, offered to nobody new (\`updraft resume\` restarts step ${index + 1})`;
    case 'paused':
      return 'nothing while paused (`updraft resume` continues this step with its bake clock restarted)';
  }
  // Moving into the last step (100 %) completes the rollout (plan.ts `judge`).
  const last = plan.steps_bp.length - 1;
  const following = plan.steps_bp[index + 1];
  const then =
    following === undefined || index + 1 === last
      ? 'completes the rollout (100%)'
      : `advances to ${formatBp(following)}`;
  const min = plan.gates.min_installs;
  const sessions = hasCrashGates(plan.gates) ? `, ${minSessions(plan.gates)} sessions` : '';
  const left = bakeLeftSeconds(rollout, now);
  if (left !== undefined && left > 0) {
    return `bakes ${formatSeconds(left)} more, then ${then} if it has ${min} installs${sessions} and no gate is clearly breached`;
  }
  const installs = currentStepJudgement(rollout)?.figures.installs;
  if (installs !== undefined && installs < min) {
    return `baked; waits for ${min} installs (has ${installs}), then ${then}`;
  }
  return `${then} at the next judgement (every minute) unless a gate is clearly breached`;
}

/** "failure rate 1.8% (0.5–6.2%), limit 2%" and the like, for a judgement's figures. */
export function figuresText(judgement: RolloutJudgement, plan?: Plan): string {
  const { figures } = judgement;
  const limit = (value: number | undefined) =>
    value === undefined ? '' : `, limit ${formatFraction(value)}`;
  return [
    `${figures.installs} installs`,
    `failure rate ${formatRate(figures.failure_rate)}${limit(plan?.gates.max_failure_rate)}`,
    `rollback rate ${formatRate(figures.rollback_rate)}${limit(plan?.gates.max_rollback_rate)}`,
    // Sessions only when counted: judgements stored before them, and releases without them, stay as they were.
    ...(figures.sessions && figures.sessions.total > 0 && figures.crash_rate && figures.crashed_users_rate
      ? [
          `${figures.sessions.total} sessions`,
          `crash rate ${formatRate(figures.crash_rate)}${limit(plan?.gates.max_crash_rate)}`,
          `crashed users ${formatRate(figures.crashed_users_rate)}`,
        ]
      : []),
  ].join(' · ');
}

/** "wait at 2026-11-21 19:48:00Z: baking: 1h12m left" */
export function judgementText(judgement: RolloutJudgement): string {
  return `${judgement.action} at ${formatTime(judgement.at)}: ${judgement.reason}`;
}

/**
 * What a clear breach of a plan with `on_breach: rollback` will publish, while the rollout can still
 * breach: "on breach: rolls back to 1.0.0 (standby yank ab12cd34…, signed …)", or that none is
 * stored (then a breach only halts). Undefined for plans that only halt and for finished rollouts.
 */
export function standbyLine(rollout: PlannedRollout): string | undefined {
  if (rollout.plan.on_breach !== 'rollback' || rollout.state === 'complete' || rollout.state === 'halted') {
    return undefined;
  }
  // A server older than automatic rollback does not say (undefined): nothing to claim either way.
  if (rollout.standby_yank === undefined) return undefined;
  const standby = rollout.standby_yank;
  if (standby === null) return 'on breach: halts only (no standby yank is stored: promote again with one)';
  const target =
    standby.rollback_to === null
      ? `yanks ${rollout.version} (no baseline to go back to)`
      : `rolls its clients back to ${standby.rollback_to}`;
  return `on breach: ${target} (standby yank ${standby.yank_sha256.slice(0, 12)}…, signed ${formatTime(standby.signed_at)})`;
}

/** The lines `status` prints under the rollout table for one planned rollout (indented by the caller). */
export function planLines(rollout: PlannedRollout, now: Date): string[] {
  const lines = [
    `${rollout.version}: ${stepLabel(rollout)} of ${describeSteps(rollout.plan.steps_bp)}; ${describeGates(rollout.plan)}`,
    `  next: ${nextAction(rollout, now)}`,
  ];
  const armed = standbyLine(rollout);
  if (armed) lines.push(`  ${armed}`);
  const { judgement } = rollout;
  if (judgement) {
    lines.push(`  last judgement: ${judgementText(judgement)}`);
    lines.push(`    ${figuresText(judgement, rollout.plan)}`);
  } else {
    lines.push('  last judgement: none yet (the scheduler judges every minute)');
  }
  return lines;
}
