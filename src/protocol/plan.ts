/**
 * Staged rollout plans (docs/protocol.md §6, docs/rollouts.md): the plan a rollout follows, the CLI's human
 * forms of it, and the judgement the scheduler makes every minute. Pure: the Worker and the CLI
 * share it, so what `updraft promote --plan` sends is exactly what the Worker validates.
 */
import * as z from 'zod';
import { formatFraction, formatRate, formatSeconds } from './format.ts';
import { formatDifference, points } from './format-difference.ts';
import type { BaselineComparison, GateFigures, JudgementAction, SessionCounts } from './gate-figures.ts';
import {
  hasCrashGates,
  hasInstallDeltas,
  hasRelativeGates,
  minBaselineInstalls,
  minSessions,
} from './plan-text.ts';
import { type Rate, type RateDifference, wilson } from './wilson.ts';

export {
  type BaselineComparison,
  type BaselineFigures,
  type GateDifferences,
  type GateFigures,
  type GroupCounts,
  gateDifferences,
  type JudgementAction,
  type RolloutJudgement,
  type SessionCounts,
  sessionFigures,
} from './gate-figures.ts';
// The gate predicates and the plan's one-line description live in plan-text.ts (no zod), which the
// dashboard bundles; re-exported so importers stay as they are.
export {
  DEFAULT_MIN_SESSIONS,
  describeGates,
  describePlan,
  describeSteps,
  hasCrashGates,
  hasInstallDeltas,
  hasRelativeGates,
  minBaselineInstalls,
  minSessions,
} from './plan-text.ts';

export const MAX_PLAN_STEPS = 20;
export const MIN_BAKE_SECONDS = 60;
export const MAX_BAKE_SECONDS = 30 * 86_400;

/** A gate limit: a fraction strictly between 0 and 1 (0.02 = 2 %). */
const limitSchema = z.number().gt(0).lt(1);

const countSchema = z.number().int().min(1).max(1_000_000_000);

/**
 * Absolute limits, and optionally relative ones (docs/protocol.md §6): the most the canary's rate may exceed
 * its baseline's (0.005 = 0.5 points), judged once the baseline has `min_baseline_installs`
 * (default `min_installs`) in the same window. Crash gates (docs/protocol.md §5's sessions): `max_crash_rate`
 * limits the crashed-sessions rate, `max_crash_delta` the crashed-users rate's difference from the
 * baseline, each judged from `min_sessions` sessions per group (default DEFAULT_MIN_SESSIONS).
 * All these fields are optional, so every plan written before them still reads the same.
 */
export const gatesSchema = z
  .object({
    max_failure_rate: limitSchema,
    max_rollback_rate: limitSchema,
    min_installs: countSchema,
    max_failure_delta: limitSchema.optional(),
    max_rollback_delta: limitSchema.optional(),
    min_baseline_installs: countSchema.optional(),
    max_crash_rate: limitSchema.optional(),
    max_crash_delta: limitSchema.optional(),
    min_sessions: countSchema.optional(),
  })
  .refine((g) => g.min_baseline_installs === undefined || hasInstallDeltas(g), {
    message: 'min_baseline_installs needs max_failure_delta or max_rollback_delta',
    path: ['min_baseline_installs'],
  })
  .refine((g) => g.min_sessions === undefined || hasCrashGates(g), {
    message: 'min_sessions needs max_crash_rate or max_crash_delta',
    path: ['min_sessions'],
  });

export const stepsSchema = z
  .array(z.number().int().min(1).max(10_000))
  .min(1)
  .max(MAX_PLAN_STEPS)
  .refine(
    (steps) => steps.every((bp, i) => i === 0 || bp > (steps[i - 1] ?? 0)),
    'must be strictly increasing',
  )
  .refine((steps) => steps.at(-1) === 10_000, 'must end at 100 % (everyone)');

/**
 * What a clear gate breach does (docs/protocol.md §6): `halt` (the default) stops the rollout; `rollback`
 * also publishes the standby yank signed at promote time, so clients on the release go back.
 */
export const onBreachSchema = z.enum(['halt', 'rollback']);
export type OnBreach = z.infer<typeof onBreachSchema>;

/**
 * `{steps_bp, bake_seconds, gates, on_breach?}`: percentage steps in basis points, a bake time per
 * step, health gates, and what a breach does (absent: halt, so plans written before it read the same).
 */
export const planSchema = z.object({
  steps_bp: stepsSchema,
  bake_seconds: z.number().int().min(MIN_BAKE_SECONDS).max(MAX_BAKE_SECONDS),
  gates: gatesSchema,
  on_breach: onBreachSchema.optional(),
});
export type Plan = z.infer<typeof planSchema>;
export type Gates = z.infer<typeof gatesSchema>;

/** A CLI input that does not parse; its message is one line fit to print as is. */
export class PlanInputError extends Error {
  override name = 'PlanInputError';
}

/** "25" / "25%" / "0.5" → basis points (2500 / 2500 / 50); null when not a percentage. */
function percentToBp(text: string): number | null {
  const match = /^(\d{1,3})(?:\.(\d{1,2}))?%?$/.exec(text.trim());
  return match ? Number(match[1]) * 100 + Number((match[2] ?? '').padEnd(2, '0')) : null;
}

/**
 * `"1,5,25,50,100"` (percentages, `%` optional, up to two decimals) → basis points
 * `[100, 500, 2500, 5000, 10000]`, checked like a plan's `steps_bp`.
 * @throws PlanInputError naming what is wrong
 */
export function parsePlanSteps(text: string): number[] {
  const steps = text.split(',').map((part) => {
    const bp = percentToBp(part);
    if (bp === null)
      throw new PlanInputError(`plan step "${part.trim()}" is not a percentage such as 5 or 0.5%`);
    return bp;
  });
  const checked = stepsSchema.safeParse(steps);
  if (!checked.success) {
    throw new PlanInputError(
      `plan steps ${checked.error.issues[0]?.message ?? 'are invalid'} (1-${MAX_PLAN_STEPS} percentages, 0.01-100), got "${text}"`,
    );
  }
  return checked.data;
}

const UNIT_SECONDS: Record<string, number> = { w: 604_800, d: 86_400, h: 3600, m: 60, s: 1 };

/**
 * A duration such as `90s`, `30m`, `2h`, `1h30m`, `2d` or `1w` → seconds.
 * @throws PlanInputError for anything else
 */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  const parts = [...trimmed.matchAll(/(\d{1,7})([wdhms])/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== trimmed) {
    throw new PlanInputError(`"${text}" is not a duration such as 90s, 30m, 2h, 1h30m or 2d`);
  }
  return parts.reduce((sum, p) => sum + Number(p[1]) * (UNIT_SECONDS[p[2] ?? 's'] ?? 1), 0);
}

/**
 * A gate limit: `"2%"` → 0.02, `"0.5%"` → 0.005, or a fraction `"0.02"` → 0.02; strictly between 0 and 1.
 * @throws PlanInputError for anything else
 */
export function parseRate(text: string): number {
  const match = /^(\d{1,3}(?:\.\d{1,6})?|\.\d{1,6})(%?)$/.exec(text.trim());
  // Through the decimal string ("2e-2"), so "0.7%" is exactly 0.007, not 0.7 / 100.
  const value = match ? Number(match[2] ? `${match[1]}e-2` : match[1]) : Number.NaN;
  if (!(value > 0 && value < 1)) {
    throw new PlanInputError(`"${text}" is not a rate such as 2% or 0.02 (between 0 and 100 %, exclusive)`);
  }
  return value;
}

/** When the bake time of a step that started at `stepStartedAt` ends. */
export function bakeEndsAt(plan: Plan, stepStartedAt: Date): Date {
  return new Date(stepStartedAt.getTime() + plan.bake_seconds * 1000);
}

export interface JudgeInput {
  plan: Plan;
  /** Index into `plan.steps_bp` of the current step. */
  step: number;
  /** When the current step's bake clock (re)started. */
  stepStartedAt: Date;
  now: Date;
  /** The release's figures in its channel over [stepStartedAt, now). */
  figures: GateFigures;
  /**
   * With relative gates: the baseline over the same window and the differences, or null when the
   * channel has no baseline. Ignored by plans without relative gates.
   */
  comparison?: BaselineComparison | null;
}

export interface Judgement {
  action: JudgementAction;
  /** One line for people: the audit row, ChannelView, the webhook. */
  reason: string;
  /** advance and complete: the step moved to, and its percentage. */
  next_step?: number;
  to_bp?: number;
}

interface RelativeCheck {
  name: string;
  canary: Rate;
  baseline: Rate;
  difference: RateDifference;
  allowed: number;
  /** Whether both groups have the counts this gate needs; else why not (a wait reason). */
  ready: true | string;
  /** "(1000 installs vs 1000)": what both groups were judged on. */
  counted: string;
}

const UNKNOWN: Rate = wilson(0, 0);
const NO_DIFFERENCE: RateDifference = { value: 0, low: -1, high: 1 };
const NO_SESSIONS: SessionCounts = { total: 0, crashed: 0, clients: 0, crashed_clients: 0 };

/** The relative gates the plan configures: the canary's `figures` against `comparison`. */
function relativeChecks(gates: Gates, comparison: BaselineComparison, figures: GateFigures): RelativeCheck[] {
  const { baseline, differences } = comparison;
  const installsNeeded = minBaselineInstalls(gates);
  const installsReady: true | string =
    figures.installs < gates.min_installs
      ? `needs ${gates.min_installs} installs, has ${figures.installs}`
      : baseline.installs >= installsNeeded ||
        `baseline ${baseline.version} needs ${installsNeeded} installs in this step for the relative gates, has ${baseline.installs}`;
  const installs = `(${figures.installs} installs vs ${baseline.installs})`;
  const sessionsNeeded = minSessions(gates);
  const canarySessions = figures.sessions ?? NO_SESSIONS;
  const baselineSessions = baseline.sessions ?? NO_SESSIONS;
  const sessionsReady: true | string =
    canarySessions.total < sessionsNeeded
      ? `needs ${sessionsNeeded} sessions, has ${canarySessions.total}`
      : baselineSessions.total >= sessionsNeeded ||
        `baseline ${baseline.version} needs ${sessionsNeeded} sessions in this step for the crash gate, has ${baselineSessions.total}`;
  const checks: (RelativeCheck | undefined)[] = [
    gates.max_failure_delta === undefined
      ? undefined
      : {
          name: 'failure rate',
          canary: figures.failure_rate,
          baseline: baseline.failure_rate,
          difference: differences.failure,
          allowed: gates.max_failure_delta,
          ready: installsReady,
          counted: installs,
        },
    gates.max_rollback_delta === undefined
      ? undefined
      : {
          name: 'rollback rate',
          canary: figures.rollback_rate,
          baseline: baseline.rollback_rate,
          difference: differences.rollback,
          allowed: gates.max_rollback_delta,
          ready: installsReady,
          counted: installs,
        },
    gates.max_crash_delta === undefined
      ? undefined
      : {
          name: 'crashed-users rate',
          canary: figures.crashed_users_rate ?? UNKNOWN,
          baseline: baseline.crashed_users_rate ?? UNKNOWN,
          difference: differences.crashed_users ?? NO_DIFFERENCE,
          allowed: gates.max_crash_delta,
          ready: sessionsReady,
          counted: `(${canarySessions.crashed_clients} of ${canarySessions.clients} users in ${canarySessions.total} sessions vs ${baselineSessions.crashed_clients} of ${baselineSessions.clients} in ${baselineSessions.total})`,
        },
  ];
  return checks.filter((c) => c !== undefined);
}

interface AbsoluteCheck {
  name: string;
  rate: Rate;
  limit: number;
  /** Whether the canary has the counts this gate needs. */
  ready: boolean;
  /** "(509 installs)" */
  counted: string;
  /** What it waits for while not ready: "needs 200 installs, has 57". */
  shortfall: string;
}

/** The absolute gates the plan configures, on the canary's `figures`. */
function absoluteChecks(gates: Gates, figures: GateFigures): AbsoluteCheck[] {
  const installs = {
    ready: figures.installs >= gates.min_installs,
    counted: `(${figures.installs} installs)`,
    shortfall: `needs ${gates.min_installs} installs, has ${figures.installs}`,
  };
  const sessions = figures.sessions?.total ?? 0;
  return [
    { name: 'failure rate', rate: figures.failure_rate, limit: gates.max_failure_rate, ...installs },
    { name: 'rollback rate', rate: figures.rollback_rate, limit: gates.max_rollback_rate, ...installs },
    ...(gates.max_crash_rate === undefined
      ? []
      : [
          {
            name: 'crash rate',
            rate: figures.crash_rate ?? UNKNOWN,
            limit: gates.max_crash_rate,
            ready: sessions >= minSessions(gates),
            counted: `(${sessions} sessions)`,
            shortfall: `needs ${minSessions(gates)} sessions, has ${sessions}`,
          },
        ]),
  ];
}

/**
 * The scheduler's decision for one planned rollout (docs/protocol.md §6):
 * - `halt` when the step has at least `min_installs` installs and the 95 % Wilson *lower* bound of
 *   the failure or rollback rate is above its limit: a clear breach, not noise; likewise the
 *   crashed-sessions rate over `max_crash_rate` once the step has `min_sessions` sessions;
 * - with relative gates, also `halt` when the canary has `min_installs`, the baseline
 *   `min_baseline_installs` in the same window, and the 95 % interval of the difference
 *   canary − baseline (Newcombe) lies wholly above the allowed difference; for `max_crash_delta`
 *   (the crashed-users rate) both groups need `min_sessions` sessions instead;
 * - `advance` to the next step when the bake time has passed, the step has at least `min_installs`
 *   installs (and `min_sessions` sessions with a crash gate) and no gate is clearly breached;
 *   `complete` when that next step is the last (10000 bp), or when the last step itself has baked.
 *   A plan with relative gates advances only once they could judge (a baseline with enough installs,
 *   or sessions): absolute gates alone never carry it past a relative gate;
 * - `wait` otherwise, saying for what (`baking: 1h12m left`, `needs 200 installs, has 57`,
 *   `no baseline …`, `baseline 1.0.0 needs 200 installs in this step, has 12`).
 * An estimate over a limit whose interval still reaches under it is no breach: the rollout advances
 * and the reason says so.
 * @throws RangeError when `step` is not an index of `plan.steps_bp`
 */
export function judge(input: JudgeInput): Judgement {
  const { plan, step, figures } = input;
  const last = plan.steps_bp.length - 1;
  if (!Number.isInteger(step) || step < 0 || step > last) {
    throw new RangeError(`step ${step} is not a step of a ${plan.steps_bp.length}-step plan`);
  }
  const { gates } = plan;
  const checks = absoluteChecks(gates, figures);
  const breach = checks.find((g) => g.ready && g.rate.low > g.limit);
  if (breach) {
    return {
      action: 'halt',
      reason: `${breach.name} ${formatRate(breach.rate)} is clearly over the ${formatFraction(breach.limit)} limit ${breach.counted}`,
    };
  }

  const relative = hasRelativeGates(gates);
  const comparison = relative ? input.comparison : undefined;
  const relatives = comparison ? relativeChecks(gates, comparison, figures) : [];
  const clear = relatives.find((g) => g.ready === true && g.difference.low > g.allowed);
  if (clear && comparison) {
    return {
      action: 'halt',
      reason: `${clear.name} ${formatFraction(clear.canary.value)} vs baseline ${comparison.baseline.version} ${formatFraction(clear.baseline.value)}: difference ≥ ${points(clear.difference.low)} points (95 %), over the allowed ${points(clear.allowed)} ${clear.counted}`,
    };
  }

  const left = (bakeEndsAt(plan, input.stepStartedAt).getTime() - input.now.getTime()) / 1000;
  // A Set: the canary's own shortfalls and the relative gates' may say the same thing.
  const waiting = new Set<string>();
  if (left > 0) waiting.add(`baking: ${formatSeconds(left)} left`);
  for (const g of checks) if (!g.ready) waiting.add(g.shortfall);
  if (relative && !comparison) {
    waiting.add('no baseline (no complete release below it in the channel): relative gates cannot judge');
  }
  for (const g of relatives) if (g.ready !== true) waiting.add(g.ready);
  if (waiting.size > 0) return { action: 'wait', reason: [...waiting].join('; ') };

  const next = Math.min(step + 1, last);
  const borderline = [
    ...checks
      .filter((g) => g.rate.value > g.limit)
      .map(
        (g) => `${g.name} ${formatRate(g.rate)} is over the ${formatFraction(g.limit)} limit but not clearly`,
      ),
    ...relatives
      .filter((g) => g.difference.value > g.allowed)
      .map(
        (g) =>
          `${g.name} ${formatDifference(g.difference)} from the baseline is over the allowed ${points(g.allowed)} but not clearly`,
      ),
  ];
  const crash = hasCrashGates(gates);
  const sessions = (f: GateFigures) => (crash ? `, ${f.sessions?.total ?? 0} sessions` : '');
  const against = comparison
    ? ` (baseline ${comparison.baseline.version}: ${comparison.baseline.installs} installs${sessions(comparison.baseline)})`
    : '';
  const reason = [
    `baked ${formatSeconds(plan.bake_seconds)} with ${figures.installs} installs${sessions(figures)}${against} and no gate clearly breached`,
    ...borderline,
  ].join('; ');
  return {
    action: next === last ? 'complete' : 'advance',
    reason,
    next_step: next,
    to_bp: plan.steps_bp[next] ?? 10_000,
  };
}
