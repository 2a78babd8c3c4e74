/**
 * The JSON shapes of docs/api.md, built from storage records: each returns the type the CLI and the
 * dashboard read (src/protocol/admin-api.ts), so the compiler holds the two sides to one contract.
 */
import type { AppView, ChannelView, ReleaseView, RolloutView } from '../../../protocol/admin-api.ts';
import { bakeEndsAt } from '../../../protocol/plan.ts';
import type { AppRecord } from '../../storage/apps.ts';
import { type ChannelState, type ListedRollout, readChannelState } from '../../storage/channel-state.ts';
import type { ReleaseRecord } from '../../storage/releases.ts';
import { isoSeconds } from '../../storage/revisions.ts';
import { parseJudgement, parsePlan } from '../../storage/rollout-plans.ts';

export function appView(app: AppRecord): AppView {
  return {
    name: app.name,
    default_channel: app.default_channel,
    revision: app.revision,
    created_at: app.created_at,
    channels: app.channels.map((ch) => ({ name: ch.name, public: ch.public, revision: ch.revision })),
    rules: app.rules,
    telemetry_db: app.telemetry_db,
  };
}

/**
 * A rollout with its plan (docs/rollouts.md § Rollout fields): `bake_ends_at` only while the plan
 * runs (active); a paused or halted step's clock restarts on resume.
 */
export function rolloutView(r: ListedRollout): RolloutView {
  const plan = parsePlan(r.plan_json);
  const bakeEnds =
    plan && r.state === 'active' && r.step_started_at
      ? isoSeconds(bakeEndsAt(plan, new Date(r.step_started_at)))
      : null;
  return {
    version: r.version,
    percent_bp: r.percent_bp,
    state: r.state,
    salt: r.salt,
    plan,
    step: plan ? r.step : null,
    step_started_at: plan ? r.step_started_at : null,
    bake_ends_at: bakeEnds,
    judgement: plan ? parseJudgement(r.judgement_json) : null,
    standby_yank:
      r.standby_sha256 === null || r.standby_created_at === null
        ? null
        : {
            yank_sha256: r.standby_sha256,
            rollback_to: r.standby_rollback_to,
            signed_at: r.standby_created_at,
          },
    created_at: r.created_at,
    updated_at: r.updated_at,
  };
}

export function channelView(state: ChannelState): ChannelView {
  const { channel } = state;
  return {
    name: channel.name,
    public: channel.public,
    revision: channel.revision,
    issued_at: channel.issued_at,
    expires: channel.expires,
    rollouts: state.rollouts.map(rolloutView),
    yanked: state.yanks.map((y) => ({ version: y.version, rollback_to: y.rollback_to, reason: y.reason })),
  };
}

/** The ChannelView of a channel as D1 holds it now. */
export async function loadChannelView(db: D1Database, app: string, channel: string): Promise<ChannelView> {
  const state = await readChannelState(db, app, channel);
  if (!state) throw new Error(`channel ${app}/${channel} vanished`);
  return channelView(state);
}

export function releaseView(release: ReleaseRecord): ReleaseView {
  return {
    version: release.version,
    published_at: release.published_at,
    mandatory: release.mandatory,
    critical: release.critical,
    requires: release.requires,
    notes: release.notes,
    release_sha256: release.release_sha256,
    yanked: release.yanked,
    artifacts: release.artifacts,
  };
}
