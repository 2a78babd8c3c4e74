/**
 * The staged-plan options shared by `promote` and `app settings`: `--plan 1,5,25,50,100` (or
 * `--default-plan`), `--bake`, `--max-failure-rate`, `--max-rollback-rate`, `--min-installs`, and the
 * relative gates `--max-failure-delta`, `--max-rollback-delta`, `--min-baseline-installs`, and the
 * crash gates `--max-crash-rate`, `--max-crash-delta`, `--min-sessions`, turned
 * into the plan object of docs/rollouts.md with src/protocol/plan.ts's parsers, so the CLI sends
 * exactly what the Worker validates.
 */
import type { ParseArgsOptionsConfig } from 'node:util';
import { formatFraction, formatSeconds } from '../../src/protocol/format.ts';
import {
  DEFAULT_MIN_SESSIONS,
  type Gates,
  MAX_BAKE_SECONDS,
  MIN_BAKE_SECONDS,
  type OnBreach,
  onBreachSchema,
  type Plan,
  PlanInputError,
  parseDuration,
  parsePlanSteps,
  parseRate,
} from '../../src/protocol/plan.ts';
import { PLAN_DEFAULTS } from '../../src/protocol/plan-text.ts';
import { str, type Values } from './command.ts';
import { UserError } from './errors.ts';

export { describeGates, describePlan, describeSteps, PLAN_DEFAULTS } from '../../src/protocol/plan-text.ts';

/** The gate options, without the steps option (whose name differs per command). */
export const GATE_OPTIONS = {
  bake: { type: 'string' },
  'max-failure-rate': { type: 'string' },
  'max-rollback-rate': { type: 'string' },
  'min-installs': { type: 'string' },
  'max-failure-delta': { type: 'string' },
  'max-rollback-delta': { type: 'string' },
  'min-baseline-installs': { type: 'string' },
  'max-crash-rate': { type: 'string' },
  'max-crash-delta': { type: 'string' },
  'min-sessions': { type: 'string' },
} as const satisfies ParseArgsOptionsConfig;

const GATE_NAMES = Object.keys(GATE_OPTIONS);

export const GATE_HELP: readonly string[] = [
  `--bake <duration>           how long each step runs before it may advance: 30m, 2h, 1d (default ${formatSeconds(PLAN_DEFAULTS.bake_seconds)})`,
  `--max-failure-rate <rate>   halt when the failure rate is clearly above it: 2% or 0.02 (default ${formatFraction(PLAN_DEFAULTS.max_failure_rate)})`,
  `--max-rollback-rate <rate>  halt when the rollback rate is clearly above it (default ${formatFraction(PLAN_DEFAULTS.max_rollback_rate)})`,
  `--min-installs <n>          installs a step needs before it is judged (default ${PLAN_DEFAULTS.min_installs})`,
  '--max-failure-delta <rate>  halt when the failure rate is clearly more than this above the',
  "                            baseline's (the release the clients came from): 0.5% = 0.5 points",
  '--max-rollback-delta <rate> the same for the rollback rate; with either, a step advances only',
  '                            once the baseline can be compared (none: it waits)',
  '--min-baseline-installs <n> installs the baseline needs in the step (default: --min-installs)',
  '--max-crash-rate <rate>     halt when the crashed-sessions rate is clearly above it: 2%',
  '--max-crash-delta <rate>    halt when the crashed-users rate is clearly more than this above the',
  "                            baseline's (crash-free users clearly below it): 0.5% = 0.5 points",
  `--min-sessions <n>          sessions each group needs in the step for the crash gates (default ${DEFAULT_MIN_SESSIONS})`,
];

/** Re-throws plan.ts's input errors as one-line user errors that name the option. */
function withOption<T>(option: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof PlanInputError) throw new UserError(`--${option}: ${error.message}`);
    throw error;
  }
}

/** `--min-installs 200` → 200: a whole number from 1 to 1e9. */
export function parseMinInstalls(text: string, option = 'min-installs'): number {
  if (!/^[1-9]\d{0,9}$/.test(text.trim()) || Number(text) > 1_000_000_000) {
    throw new UserError(`--${option} must be a whole number from 1 to 1000000000, got "${text}"`);
  }
  return Number(text);
}

/** `--bake 2h` → 7200, within the plan's 1 minute to 30 days. */
export function parseBake(text: string): number {
  const seconds = withOption('bake', () => parseDuration(text));
  if (seconds < MIN_BAKE_SECONDS || seconds > MAX_BAKE_SECONDS) {
    throw new UserError(
      `--bake must be from ${formatSeconds(MIN_BAKE_SECONDS)} to ${formatSeconds(MAX_BAKE_SECONDS)}, got "${text}"`,
    );
  }
  return seconds;
}

/** The gate options the user gave, by name (for "needs --plan" errors). */
export function givenGateOptions(values: Values): string[] {
  return GATE_NAMES.filter((name) => str(values, name) !== undefined).map((name) => `--${name}`);
}

/**
 * A plan from `--<stepsOption> 1,5,25,50,100` and the gate options, with PLAN_DEFAULTS for the
 * gates left out. Undefined when the steps option is absent (gate options then are a mistake).
 * `--plan default` (when `allowDefault`) answers `'default'`: the app's default plan, whose gates
 * are its own, so gate options are refused with it.
 */
export function planFromFlags(
  values: Values,
  stepsOption: string,
  allowDefault: boolean,
): Plan | 'default' | undefined {
  const steps = str(values, stepsOption);
  const gates = givenGateOptions(values);
  if (steps === undefined) {
    if (gates.length > 0) throw new UserError(`${gates.join(', ')} needs --${stepsOption} <steps>`);
    return undefined;
  }
  if (allowDefault && steps === 'default') {
    if (gates.length > 0) {
      throw new UserError(
        `${gates.join(', ')} cannot be combined with --${stepsOption} default (the app's default plan has its own; change it with \`updraft app settings\`)`,
      );
    }
    return 'default';
  }
  const bake = str(values, 'bake');
  const failure = str(values, 'max-failure-rate');
  const rollback = str(values, 'max-rollback-rate');
  const minInstalls = str(values, 'min-installs');
  const relative = relativeGates(values);
  return {
    steps_bp: withOption(stepsOption, () => parsePlanSteps(steps)),
    bake_seconds: bake === undefined ? PLAN_DEFAULTS.bake_seconds : parseBake(bake),
    gates: {
      max_failure_rate:
        failure === undefined
          ? PLAN_DEFAULTS.max_failure_rate
          : withOption('max-failure-rate', () => parseRate(failure)),
      max_rollback_rate:
        rollback === undefined
          ? PLAN_DEFAULTS.max_rollback_rate
          : withOption('max-rollback-rate', () => parseRate(rollback)),
      min_installs: minInstalls === undefined ? PLAN_DEFAULTS.min_installs : parseMinInstalls(minInstalls),
      ...relative,
      ...crashGates(values),
    },
  };
}

/** The crash gates given (none by default: sessions are judged only when asked). */
function crashGates(values: Values): Partial<Gates> {
  const rate = str(values, 'max-crash-rate');
  const delta = str(values, 'max-crash-delta');
  const sessions = str(values, 'min-sessions');
  if (sessions !== undefined && rate === undefined && delta === undefined) {
    throw new UserError('--min-sessions needs --max-crash-rate or --max-crash-delta');
  }
  return {
    ...(rate !== undefined && { max_crash_rate: withOption('max-crash-rate', () => parseRate(rate)) }),
    ...(delta !== undefined && { max_crash_delta: withOption('max-crash-delta', () => parseRate(delta)) }),
    ...(sessions !== undefined && { min_sessions: parseMinInstalls(sessions, 'min-sessions') }),
  };
}

/** The relative gates given (none by default: a plan is judged against its baseline only when asked). */
function relativeGates(values: Values): Partial<Gates> {
  const failure = str(values, 'max-failure-delta');
  const rollback = str(values, 'max-rollback-delta');
  const minBaseline = str(values, 'min-baseline-installs');
  if (minBaseline !== undefined && failure === undefined && rollback === undefined) {
    throw new UserError('--min-baseline-installs needs --max-failure-delta or --max-rollback-delta');
  }
  return {
    ...(failure !== undefined && {
      max_failure_delta: withOption('max-failure-delta', () => parseRate(failure)),
    }),
    ...(rollback !== undefined && {
      max_rollback_delta: withOption('max-rollback-delta', () => parseRate(rollback)),
    }),
    ...(minBaseline !== undefined && {
      min_baseline_installs: parseMinInstalls(minBaseline, 'min-baseline-installs'),
    }),
  };
}

/**
 * `--on-breach halt|rollback` (promote only): what a clear gate breach does. Needs `--plan <steps>`:
 * alone it is refused, and with `--plan default` too (the app's default plan says it itself).
 */
export function parseOnBreach(values: Values, plan: Plan | 'default' | undefined): OnBreach | undefined {
  const text = str(values, 'on-breach');
  if (text === undefined) return undefined;
  if (plan === undefined) throw new UserError('--on-breach needs --plan <steps>');
  if (plan === 'default') throw new UserError('--on-breach cannot be combined with --plan default');
  const parsed = onBreachSchema.safeParse(text);
  if (!parsed.success) throw new UserError(`--on-breach must be halt or rollback, got "${text}"`);
  return parsed.data;
}
