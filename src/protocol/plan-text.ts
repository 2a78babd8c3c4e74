/**
 * A staged plan (docs/protocol.md §6, docs/rollouts.md) for people: the gate predicates and the one-line
 * description that the CLI prints and the dashboard's confirmation shows. Kept apart from plan.ts,
 * whose zod schemas the dashboard does not bundle. Pure.
 */
import { formatBp, formatFraction, formatSeconds } from './format.ts';
import { points } from './format-difference.ts';
import type { Gates, Plan } from './plan.ts';

/**
 * What an omitted option means when a plan is given (the CLI's flags, the dashboard's form): an hour
 * per step, halt on a failure rate clearly over 5 % or a rollback rate clearly over 2 %, judge a step
 * only once it has 100 installs. Loose enough not to halt a healthy release on noise, tight enough to
 * stop a broken one at the first step (docs/cli.md, "Staged rollouts").
 */
export const PLAN_DEFAULTS = {
  bake_seconds: 3600,
  max_failure_rate: 0.05,
  max_rollback_rate: 0.02,
  min_installs: 100,
} as const;

/**
 * Sessions a group needs in the step before a crash gate judges it, when the plan does not say
 * (`min_sessions`): like `min_installs`, enough that the first few crashes of a handful of users do
 * not halt a release, and that a step does not advance on a crash gate that saw nothing.
 */
export const DEFAULT_MIN_SESSIONS = 100;

interface OptionalLimits {
  max_failure_delta?: number | undefined;
  max_rollback_delta?: number | undefined;
  max_crash_rate?: number | undefined;
  max_crash_delta?: number | undefined;
}

/** True when the gates limit a difference from the baseline (docs/protocol.md §6), of any rate. */
export function hasRelativeGates(gates: OptionalLimits): boolean {
  return hasInstallDeltas(gates) || gates.max_crash_delta !== undefined;
}

/** True when a relative gate limits an install rate (failure, rollback): those need baseline installs. */
export function hasInstallDeltas(gates: OptionalLimits): boolean {
  return gates.max_failure_delta !== undefined || gates.max_rollback_delta !== undefined;
}

/** True when the gates judge sessions (docs/protocol.md §5): `max_crash_rate` or `max_crash_delta`. */
export function hasCrashGates(gates: OptionalLimits): boolean {
  return gates.max_crash_rate !== undefined || gates.max_crash_delta !== undefined;
}

/** Sessions each group needs in the window before the crash gates judge: `min_sessions`, else DEFAULT_MIN_SESSIONS. */
export function minSessions(gates: Gates): number {
  return gates.min_sessions ?? DEFAULT_MIN_SESSIONS;
}

/** Installs the baseline needs in the window before relative gates judge: `min_baseline_installs`, else `min_installs`. */
export function minBaselineInstalls(gates: Gates): number {
  return gates.min_baseline_installs ?? gates.min_installs;
}

/** "1% → 5% → 25% → 50% → 100%" */
export function describeSteps(stepsBp: readonly number[]): string {
  return stepsBp.map(formatBp).join(' → ');
}

/** 0.005 → "0.5 points", 0.01 → "1 point" */
function pointsOf(fraction: number): string {
  const number = points(fraction);
  return `${number} ${number === '1' ? 'point' : 'points'}`;
}

/**
 * "2h per step; halts on failure rate > 2% or rollback rate > 1%, judged from 200 installs", then
 * with relative gates "; or failure rate > baseline + 0.5 points, judged with 200 baseline installs",
 * and with crash gates "; or crash rate > 2% or crashed users > baseline + 0.5 points, judged from
 * 100 sessions".
 */
export function describeGates(plan: Plan): string {
  const { gates } = plan;
  const absolute = `${formatSeconds(plan.bake_seconds)} per step; halts on failure rate > ${formatFraction(gates.max_failure_rate)} or rollback rate > ${formatFraction(gates.max_rollback_rate)}, judged from ${gates.min_installs} installs`;
  const onBreach = plan.on_breach === 'rollback' ? '; on a breach also rolls its clients back' : '';
  const relative = [
    gates.max_failure_delta !== undefined && `failure rate > baseline + ${pointsOf(gates.max_failure_delta)}`,
    gates.max_rollback_delta !== undefined &&
      `rollback rate > baseline + ${pointsOf(gates.max_rollback_delta)}`,
  ].filter((part) => part !== false);
  const installDeltas = hasInstallDeltas(gates)
    ? `; or ${relative.join(' or ')}, judged with ${minBaselineInstalls(gates)} baseline installs`
    : '';
  const crash = [
    gates.max_crash_rate !== undefined && `crash rate > ${formatFraction(gates.max_crash_rate)}`,
    gates.max_crash_delta !== undefined && `crashed users > baseline + ${pointsOf(gates.max_crash_delta)}`,
  ].filter((part) => part !== false);
  const crashes = hasCrashGates(gates)
    ? `; or ${crash.join(' or ')}, judged from ${minSessions(gates)} sessions`
    : '';
  return `${absolute}${installDeltas}${crashes}${onBreach}`;
}

/** The whole plan on one line. */
export function describePlan(plan: Plan): string {
  return `${describeSteps(plan.steps_bp)}, ${describeGates(plan)}`;
}
