/**
 * The staged-rollout job of the cron (docs/protocol.md §6, docs/rollouts.md). Each run judges every active
 * planned rollout on its release's telemetry in its channel since the current step began (the §5
 * metrics of storage/analytics.ts, as `updraft stats` shows them for that window) and, for a plan
 * with relative gates, on its baseline's over the same window (`baselineOf` over the channel's
 * rollouts, yanked releases excluded), then:
 *
 * - advance, complete or halt: one guarded D1 batch moves the channel's revision from the one read
 *   with the rollout, updates the rollout, writes the audit row (actor `scheduler`) and queues the
 *   webhook; then the channel is re-projected. A failed guard means a person or another run changed
 *   the channel since: nothing is written, and the next run judges the new state. So a manual halt
 *   is never undone and two concurrent runs advance a step once;
 * - wait: only `judgement_json` is rewritten (nothing clients see changes: no revision, no audit).
 *
 * A halt of a plan with `on_breach: rollback` also publishes the rollout's standby yank in the same
 * batch (scheduler/rollback.ts; audit action `rollout.rollback`); a completion discards it.
 */

import { baselineOf } from '../../protocol/baseline.ts';
import type { RolloutState } from '../../protocol/documents.ts';
import { formatBp, formatRate } from '../../protocol/format.ts';
import { formatDifference } from '../../protocol/format-difference.ts';
import {
  type BaselineComparison,
  type GateFigures,
  type GroupCounts,
  gateDifferences,
  hasRelativeGates,
  type Judgement,
  type JudgementAction,
  judge,
  type Plan,
  type RolloutJudgement,
  sessionFigures,
} from '../../protocol/plan.ts';
import { wilson } from '../../protocol/wilson.ts';
import { releaseHealth } from '../storage/analytics.ts';
import { auditStatement } from '../storage/audit.ts';
import { channelReleases } from '../storage/comparison.ts';
import { projectChannels } from '../storage/projection-writer.ts';
import { bumpChannel, commit, isoSeconds, RevisionConflict } from '../storage/revisions.ts';
import {
  listPlannedRollouts,
  type PlannedRollout,
  parsePlan,
  recordJudgement,
} from '../storage/rollout-plans.ts';
import { updateRollout } from '../storage/rollouts.ts';
import { deleteStandbyYank, getStandbyYank, standbyDiscarded } from '../storage/standby-yanks.ts';
import { type AnalyticsDbs, analyticsDbs } from '../storage/telemetry-dbs.ts';
import { enqueueWebhook, type WebhookEvent } from '../storage/webhooks.ts';
import { yankPublished } from '../storage/yank-publish.ts';
import { prepareRollback, rollbackText } from './rollback.ts';

/**
 * Rollouts judged per run (each is one D1 batch of the analytics queries, plus a write; a plan with
 * relative gates adds the channel's releases, the baseline's batch and one of the two rollback
 * denominators); with more, the least recently judged go first and the rest wait a minute.
 */
export const ROLLOUTS_PER_RUN = 25;

export type Outcome = 'advance' | 'complete' | 'halt' | 'wait' | 'conflict' | 'skipped';

type Figures = RolloutJudgement['figures'];

/** The audit action and webhook event of each decision that changes the rollout. */
const EVENTS: Record<Exclude<JudgementAction, 'wait'>, WebhookEvent['event']> = {
  advance: 'rollout.advance',
  complete: 'rollout.complete',
  halt: 'rollout.halt',
};

/** docs/protocol.md §5's counts and rates of `version` in the rollout's channel over `window`. */
async function groupFigures(
  dbs: AnalyticsDbs,
  rollout: PlannedRollout,
  window: Figures['window'],
  version: string,
): Promise<GroupCounts> {
  const health = await releaseHealth(dbs, { app: rollout.app, channel: rollout.channel, window }, version);
  const unknown = wilson(0, 0);
  const sessions = health?.sessions;
  return {
    exposed: health?.exposed ?? 0,
    installs: health?.installs ?? 0,
    failures: health?.failures ?? 0,
    failure_rate: health?.failure_rate ?? unknown,
    rollbacks: health?.rollbacks ?? 0,
    rollback_rate: health?.rollback_rate ?? unknown,
    ...sessionFigures({
      total: sessions?.total ?? 0,
      crashed: sessions?.crashed ?? 0,
      clients: sessions?.clients ?? 0,
      crashed_clients: sessions?.crashed_clients ?? 0,
    }),
  };
}

/**
 * The gate figures of the rollout's release in its channel over [from, now) and, when the plan has
 * relative gates, its baseline's over the same window with the differences (null: no baseline).
 */
async function gateFigures(
  dbs: AnalyticsDbs,
  rollout: PlannedRollout,
  plan: Plan,
  from: Date,
  now: Date,
): Promise<{ figures: Figures; comparison?: BaselineComparison | null }> {
  // The stored form of event times (with milliseconds), so text order is time order.
  const window = { from: from.toISOString(), to: now.toISOString() };
  if (!hasRelativeGates(plan.gates)) {
    const { exposed: _, ...canary } = await groupFigures(dbs, rollout, window, rollout.version);
    return { figures: { window, ...canary } };
  }
  const [canary, releases] = await Promise.all([
    groupFigures(dbs, rollout, window, rollout.version),
    channelReleases(dbs.control, rollout.app, rollout.channel),
  ]);
  const version = baselineOf(releases, rollout.version);
  if (version === undefined) return { figures: { window, ...canary }, comparison: null };
  const baseline = await groupFigures(dbs, rollout, window, version);
  const { exposed: _canaryExposed, ...canaryFigures } = canary;
  const { exposed: _baselineExposed, ...baselineFigures } = baseline;
  const comparison = {
    baseline: { version, ...baselineFigures },
    differences: gateDifferences(canary, baseline),
  };
  return { figures: { window, ...canaryFigures, ...comparison }, comparison };
}

/** ", 1200 sessions, crash rate 1.2% (…), crashed users 3% (…)" when the group has sessions, else "". */
function sessionsText(figures: GateFigures): string {
  const { sessions, crash_rate, crashed_users_rate } = figures;
  if (!sessions || sessions.total === 0 || !crash_rate || !crashed_users_rate) return '';
  return `, ${sessions.total} sessions, crash rate ${formatRate(crash_rate)}, crashed users ${formatRate(crashed_users_rate)}`;
}

/** "; baseline 1.0.0: 380 installs, failure rate 0.5% (…), difference +0.2 points (−0.3 to 0.9)" or "". */
function baselineText(figures: Figures): string {
  const { baseline, differences } = figures;
  if (!baseline || !differences) return '';
  const rollbacks =
    figures.rollbacks > 0 || baseline.rollbacks > 0
      ? `, rollback rate ${formatRate(baseline.rollback_rate)}, difference ${formatDifference(differences.rollback)}`
      : '';
  const sessions = sessionsText(baseline);
  const crashes =
    sessions && differences.crashed_users
      ? `${sessions}, difference ${formatDifference(differences.crashed_users)}`
      : '';
  return `; baseline ${baseline.version}: ${baseline.installs} installs, failure rate ${formatRate(baseline.failure_rate)}, difference ${formatDifference(differences.failure)}${rollbacks}${crashes}`;
}

/** Slack-compatible one-liner: "demo 1.1.0 on stable: advanced 5% → 25% (412 installs, failure rate 0.73% (0.25–2.1%))". */
export function webhookText(
  rollout: PlannedRollout,
  decision: Judgement,
  figures: Figures,
  /** Set when the halt published the standby yank: where its clients go back to (null: nowhere). */
  rolledBackTo?: string | null,
): string {
  const head = `${rollout.app} ${rollout.version} on ${rollout.channel}`;
  const rollbacks = figures.rollbacks > 0 ? `, rollback rate ${formatRate(figures.rollback_rate)}` : '';
  const stats = `${figures.installs} installs, failure rate ${formatRate(figures.failure_rate)}${rollbacks}${sessionsText(figures)}${baselineText(figures)}`;
  if (decision.action === 'halt') {
    const both = figures.baseline ? ` (${stats})` : '';
    const verb =
      rolledBackTo === undefined
        ? 'halted'
        : rolledBackTo === null
          ? 'halted and yanked'
          : `halted and rolled back to ${rolledBackTo}`;
    return `${head}: ${verb} at ${formatBp(rollout.percent_bp)}: ${decision.reason}${both}`;
  }
  const to = decision.to_bp ?? rollout.percent_bp;
  const move =
    to === rollout.percent_bp ? `at ${formatBp(to)}` : `${formatBp(rollout.percent_bp)} → ${formatBp(to)}`;
  const verb = decision.action === 'complete' ? 'complete' : 'advanced';
  return `${head}: ${verb} ${move} (${stats})`;
}

/** Advance, complete or halt in one guarded batch; false when a change raced it (nothing written). */
async function act(
  env: Env,
  rollout: PlannedRollout,
  plan: Plan,
  action: Exclude<JudgementAction, 'wait'>,
  judged: Judgement,
  judgedAs: RolloutJudgement,
  now: Date,
): Promise<boolean> {
  const { app, channel, version } = rollout;
  const halt = action === 'halt';
  const rollback = halt && plan.on_breach === 'rollback' ? await prepareRollback(env.DB, rollout, now) : null;
  const published = rollback && !('refused' in rollback) ? rollback : null;
  const decision = rollback ? { ...judged, reason: judged.reason + rollbackText(version, rollback) } : judged;
  const judgement = { ...judgedAs, reason: decision.reason };
  // A rollout that completes can no longer breach: its standby yank is discarded.
  const discarded = action === 'complete' ? await getStandbyYank(env.DB, rollout) : null;
  const state: RolloutState = halt ? 'halted' : action === 'complete' ? 'complete' : 'active';
  const percent_bp = halt ? rollout.percent_bp : (decision.to_bp ?? rollout.percent_bp);
  const step = halt ? rollout.step : (decision.next_step ?? rollout.step);
  const fields = {
    plan_json: rollout.plan_json,
    step,
    step_started_at: halt ? rollout.step_started_at : isoSeconds(now),
    judgement_json: JSON.stringify(judgement),
  };
  const event = EVENTS[action];
  const at = isoSeconds(now);
  const yank = published && {
    version,
    rollback_to: published.yank.rollback_to,
    yank_sha256: published.yank_sha256,
    reason: published.yank.reason,
  };
  const statements = [
    // Publishing the standby yank bumps every channel of the app, this one from rollout.revision.
    ...(published ? published.statements : bumpChannel(env.DB, app, channel, rollout.revision, now)),
    updateRollout(env.DB, rollout, { percent_bp, state, plan: fields }, now),
    auditStatement(
      env.DB,
      {
        actor: 'scheduler',
        action: published ? 'rollout.rollback' : event,
        app,
        target: `${channel}/${version}`,
        before: { percent_bp: rollout.percent_bp, state: rollout.state, step: rollout.step },
        after: {
          percent_bp,
          state,
          step,
          reason: decision.reason,
          figures: judgement.figures,
          ...(yank ? { yank } : {}),
        },
      },
      at,
    ),
    ...(discarded
      ? [
          deleteStandbyYank(env.DB, discarded),
          auditStatement(
            env.DB,
            { ...standbyDiscarded(discarded, 'the rollout completed'), actor: 'scheduler' },
            at,
          ),
        ]
      : []),
    enqueueWebhook(
      env.DB,
      {
        event,
        app,
        channel,
        version,
        from_bp: rollout.percent_bp,
        to_bp: percent_bp,
        reason: decision.reason,
        figures: judgement.figures,
        at,
        text: webhookText(rollout, decision, judgement.figures, published?.yank.rollback_to),
        ...(published && {
          rollback: { rollback_to: published.yank.rollback_to, yank_sha256: published.yank_sha256 },
        }),
      },
      now,
    ),
  ];
  try {
    await commit(env.DB, statements, false);
  } catch (error) {
    if (error instanceof RevisionConflict) return false;
    throw error;
  }
  if (published) await yankPublished(env, app, version, published.jws);
  else await projectChannels(env, app, [channel]);
  return true;
}

/** Judges one planned rollout and carries out the decision. */
export async function judgeRollout(env: Env, rollout: PlannedRollout, now: Date): Promise<Outcome> {
  const plan = parsePlan(rollout.plan_json);
  if (!plan || rollout.step === null || rollout.step_started_at === null) {
    console.warn(`scheduled: ${rollout.app}/${rollout.channel}/${rollout.version} has an unusable plan`);
    return 'skipped';
  }
  const stepStartedAt = new Date(rollout.step_started_at);
  // Release health from the app's telemetry database, releases and rollouts from DB (docs/protocol.md §11).
  const dbs = await analyticsDbs(env, rollout.app);
  const { figures, comparison } = await gateFigures(dbs, rollout, plan, stepStartedAt, now);
  const decision = judge({ plan, step: rollout.step, stepStartedAt, now, figures, comparison });
  const judgement: RolloutJudgement = {
    at: isoSeconds(now),
    action: decision.action,
    reason: decision.reason,
    figures,
  };
  const { action } = decision;
  if (action === 'wait') {
    await recordJudgement(env.DB, rollout, judgement, rollout.revision).run();
    return 'wait';
  }
  return (await act(env, rollout, plan, action, decision, judgement, now)) ? action : 'conflict';
}

/** Judges the due planned rollouts (at most ROLLOUTS_PER_RUN); one failing never stops the others. */
export async function judgeRollouts(env: Env, now: Date): Promise<Outcome[]> {
  const due = await listPlannedRollouts(env.DB, ROLLOUTS_PER_RUN);
  const outcomes: Outcome[] = [];
  for (const rollout of due) {
    try {
      outcomes.push(await judgeRollout(env, rollout, now));
    } catch (error) {
      console.error(`scheduled: judging ${rollout.app}/${rollout.channel}/${rollout.version} failed`, error);
      outcomes.push('skipped');
    }
  }
  return outcomes;
}
