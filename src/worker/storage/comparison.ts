/**
 * A release against its baseline (docs/protocol.md §6, docs/analytics.md § Baseline comparison): the release
 * health of both over the same window, and canary − baseline of each rate with Newcombe's interval
 * on the very counts the two Wilson intervals are made of. The health is analytics.ts's, run once per
 * release; nothing here redefines a metric.
 */
import type { ReleaseComparison, SentReleaseHealth } from '../../protocol/admin-api.ts';
import { baselineOf, type ChannelRelease } from '../../protocol/baseline.ts';
import type { RolloutState } from '../../protocol/documents.ts';
import { newcombe } from '../../protocol/wilson.ts';
import { releaseHealths, type Scope } from './analytics.ts';
import type { AnalyticsDbs } from './telemetry-dbs.ts';

/** The channel's rollouts, each marked yanked or not: what baselineOf chooses from (control database). */
export async function channelReleases(
  db: D1Database,
  app: string,
  channel: string,
): Promise<ChannelRelease[]> {
  // One batch, one snapshot; the yanks' rows carry only a version.
  const [rollouts, yanks] = await db.batch<{ version: string; state: RolloutState }>([
    db.prepare('SELECT version, state FROM rollouts WHERE app = ?1 AND channel = ?2').bind(app, channel),
    db.prepare('SELECT version FROM yanks WHERE app = ?1').bind(app),
  ]);
  const yanked = new Set((yanks?.results ?? []).map((row) => row.version));
  return (rollouts?.results ?? []).map((row) => ({ ...row, yanked: yanked.has(row.version) }));
}

/** Successes and trials of each rate of one release, as its Wilson intervals count them. */
function rateCounts(health: SentReleaseHealth) {
  return {
    failure_rate: { successes: health.failures, trials: health.installs + health.failures },
    rollback_rate: { successes: health.rollbacks, trials: health.exposed },
    // The crash rates whose complements are the crash-free figures: differences of the rates, not of
    // the crash-free shares, so that here too a positive difference means the canary is worse.
    crashed_sessions: { successes: health.sessions.crashed, trials: health.sessions.total },
    crashed_users: { successes: health.sessions.crashed_clients, trials: health.sessions.clients },
  };
}

/**
 * `version` in the scope's channel against its baseline, or null when nothing is known about the
 * version (as releaseHealth). Without a baseline (a first release, or every release below it yanked
 * or not complete) only the canary is given.
 */
export async function compareWithBaseline(
  dbs: AnalyticsDbs,
  scope: Scope,
  version: string,
): Promise<ReleaseComparison | null> {
  // The baseline is known from the rollouts alone: both releases' health then go in one batch, which
  // reads what they share (the active clients) once.
  const baselineVersion = baselineOf(await channelReleases(dbs.control, scope.app, scope.channel), version);
  const [canary, baseline = null] = await releaseHealths(
    dbs,
    scope,
    baselineVersion === undefined ? [version] : [version, baselineVersion],
  );
  if (!canary) return null;
  const answer = { app: scope.app, channel: scope.channel, window: scope.window, canary };
  if (!baseline) return { ...answer, baseline: null, baseline_version: null, differences: null };
  const [a, b] = [rateCounts(canary), rateCounts(baseline)];
  return {
    ...answer,
    baseline,
    baseline_version: baseline.version,
    differences: {
      failure_rate: newcombe(a.failure_rate, b.failure_rate),
      rollback_rate: newcombe(a.rollback_rate, b.rollback_rate),
      crashed_sessions: newcombe(a.crashed_sessions, b.crashed_sessions),
      crashed_users: newcombe(a.crashed_users, b.crashed_users),
    },
  };
}
