/**
 * What a rollout's judgement sees (docs/protocol.md §5 and §6, docs/rollouts.md): the figures of the canary and
 * of its baseline over the step's window, the differences between them, and the judgement as stored.
 * Pure and shared like plan.ts, which judges on them and re-exports them.
 */
import { newcombe, type Rate, type RateDifference, wilson } from './wilson.ts';

/** What the scheduler decided for one planned rollout. */
export type JudgementAction = 'advance' | 'complete' | 'halt' | 'wait';

/** A group's sessions in the window (docs/protocol.md §5): all of them, the crashed ones, and their distinct clients. */
export interface SessionCounts {
  total: number;
  crashed: number;
  /** Distinct clients with any session, and with a crashed one. */
  clients: number;
  crashed_clients: number;
}

/**
 * The telemetry a judgement uses: docs/protocol.md §5's counts and rates of the release over the current step.
 * The session figures are 1 − crash-free sessions (`crash_rate`) and 1 − crash-free users
 * (`crashed_users_rate`) with their Wilson intervals; optional, since judgements stored before them
 * lack them (a judge without them counts no sessions).
 */
export interface GateFigures {
  installs: number;
  failures: number;
  failure_rate: Rate;
  rollbacks: number;
  rollback_rate: Rate;
  sessions?: SessionCounts;
  crash_rate?: Rate;
  crashed_users_rate?: Rate;
}

/** A group's session figures from its counts: the crashed-sessions and crashed-users rates with Wilson intervals. */
export function sessionFigures(
  sessions: SessionCounts,
): Required<Pick<GateFigures, 'sessions' | 'crash_rate' | 'crashed_users_rate'>> {
  return {
    sessions,
    crash_rate: wilson(sessions.crashed, sessions.total),
    crashed_users_rate: wilson(sessions.crashed_clients, sessions.clients),
  };
}

/** The baseline's figures over the same window as the canary's, and which release it is. */
export interface BaselineFigures extends GateFigures {
  version: string;
}

/** canary − baseline of each rate, with its 95 % interval (Newcombe), fractions (0.01 = 1 point). */
export interface GateDifferences {
  failure: RateDifference;
  rollback: RateDifference;
  /** Of the crashed-sessions and crashed-users rates; present when both groups carry sessions. */
  crashed_sessions?: RateDifference;
  crashed_users?: RateDifference;
}

/** The baseline comparison a judgement with relative gates uses. */
export interface BaselineComparison {
  baseline: BaselineFigures;
  differences: GateDifferences;
}

/**
 * The counts behind a group's rates: GateFigures and `exposed`, the rollback rate's denominator
 * (distinct clients known to have run the release, docs/protocol.md §5), which GateFigures does not carry.
 */
export interface GroupCounts extends GateFigures {
  exposed: number;
}

/**
 * canary − baseline of the failure and rollback rates with Newcombe's 95 % interval, from the same
 * counts the rates were computed from (failures of installs + failures; rollbacks of exposed clients),
 * and, when both groups carry sessions, of the crashed-sessions and crashed-users rates.
 */
export function gateDifferences(canary: GroupCounts, baseline: GroupCounts): GateDifferences {
  const a = canary.sessions;
  const b = baseline.sessions;
  const crashes = a &&
    b && {
      crashed_sessions: newcombe(
        { successes: a.crashed, trials: a.total },
        { successes: b.crashed, trials: b.total },
      ),
      crashed_users: newcombe(
        { successes: a.crashed_clients, trials: a.clients },
        { successes: b.crashed_clients, trials: b.clients },
      ),
    };
  return {
    failure: newcombe(
      { successes: canary.failures, trials: canary.installs + canary.failures },
      { successes: baseline.failures, trials: baseline.installs + baseline.failures },
    ),
    rollback: newcombe(
      { successes: canary.rollbacks, trials: canary.exposed },
      { successes: baseline.rollbacks, trials: baseline.exposed },
    ),
    ...crashes,
  };
}

/**
 * A rollout's last judgement as stored and shown in ChannelView (`judgement`): when, what, why, and
 * the figures it saw over `figures.window` (the current step so far).
 */
export interface RolloutJudgement {
  at: string;
  action: JudgementAction;
  reason: string;
  figures: GateFigures & {
    window: { from: string; to: string };
    /** Present when the plan has relative gates and the channel a baseline. */
    baseline?: BaselineFigures;
    differences?: GateDifferences;
  };
}
