/**
 * Fixtures for the staged-rollout scheduler tests: apps with a planned rollout, telemetry seeded
 * through storeEvents (the queue consumer's real write path) inside a step's window, and reads of
 * what the scheduler wrote.
 */
import { env } from 'cloudflare:workers';
import type { RolloutView as ApiRolloutView } from '../../../src/protocol/admin-api.ts';
import { randomHex } from '../../../src/protocol/encoding.ts';
import type { Plan, RolloutJudgement } from '../../../src/protocol/plan.ts';
import { runScheduled } from '../../../src/worker/scheduler/scheduled.ts';
import { storeEvents } from '../../../src/worker/storage/telemetry.ts';
import type { StoredEvent } from '../../../src/worker/storage/telemetry-sql.ts';
import { admin, createApp, promote, publish } from './fixtures.ts';
import { storedEvent } from './telemetry-fixtures.ts';

export const VERSION = '1.1.0';
export const MINUTE = 60_000;
export const HOUR = 3600_000;

export function plan(
  overrides: Omit<Partial<Plan>, 'gates'> & { gates?: Partial<Plan['gates']> } = {},
): Plan {
  return {
    steps_bp: overrides.steps_bp ?? [100, 500, 2500, 5000, 10_000],
    bake_seconds: overrides.bake_seconds ?? 3600,
    gates: { max_failure_rate: 0.02, max_rollback_rate: 0.01, min_installs: 50, ...overrides.gates },
  };
}

/** The API's rollout view, every field present: this Worker writes them all. */
export type RolloutView = Required<ApiRolloutView>;

export interface ViewBody {
  revision: number;
  rollouts: RolloutView[];
}

/** The rollout of VERSION in `stable` as ChannelView shows it, and the channel's revision. */
export async function rollout(app: string): Promise<RolloutView & { revision: number }> {
  const { body } = await admin<{ channels: (ViewBody & { name: string })[] }>(`/apps/${app}/status`);
  const channel = body.channels.find((ch) => ch.name === 'stable');
  const found = channel?.rollouts.find((r) => r.version === VERSION);
  if (!channel || !found) throw new Error(`no rollout of ${VERSION} in ${app}/stable`);
  return { ...found, revision: channel.revision };
}

/** Publishes 1.0.0 and VERSION (optionally critical) to a fresh app. */
export async function appWithRelease(app?: string, options: { critical?: boolean } = {}): Promise<string> {
  const name = await createApp(app);
  await publish(name, '1.0.0');
  await publish(name, VERSION, { critical: options.critical ?? false });
  return name;
}

/** Promotes VERSION with `planned`; returns the time its first step began (ms). */
export async function promotePlanned(app: string, planned: Plan | 'default'): Promise<number> {
  const res = await promote(app, 'stable', VERSION, undefined, { percent_bp: undefined, plan: planned });
  if (res.status !== 200) throw new Error(`promote failed: ${res.status} ${JSON.stringify(res.body)}`);
  const started = (await rollout(app)).step_started_at;
  if (!started) throw new Error('no step_started_at');
  return Date.parse(started);
}

export interface Health {
  installs: number;
  failures?: number;
  /** Clients that roll back after installing (counted among `installs`). */
  rollbacks?: number;
}

/** Events of VERSION spread evenly over [from, to) (ms), each from a fresh client. */
export async function seed(app: string, health: Health, from: number, to: number): Promise<void> {
  const failures = health.failures ?? 0;
  const total = health.installs + failures;
  const at = (i: number) => new Date(from + ((i + 0.5) * (to - from)) / total).toISOString();
  const events: StoredEvent[] = [];
  const base = { from_version: '1.0.0', to_version: VERSION };
  for (let i = 0; i < total; i++) {
    const client_id = `c-${randomHex(8)}`;
    const failed = i < failures;
    const type = failed ? 'install_failed' : 'install_succeeded';
    events.push(
      storedEvent(app, {
        ...base,
        type,
        client_id,
        occurred_at: at(i),
        ...(failed && { error_code: 'E_DISK' }),
      }),
    );
    if (!failed && i - failures < (health.rollbacks ?? 0)) {
      const rollback = { from_version: VERSION, to_version: '1.0.0', duration_ms: undefined };
      events.push(storedEvent(app, { ...rollback, type: 'rollback', client_id, occurred_at: at(i + 0.25) }));
    }
  }
  await storeEvents(env.DB, events);
}

/** One cron run at `ms`. */
export const runAt = (ms: number) => runScheduled(env, new Date(ms));

export interface SchedulerAudit {
  action: string;
  at: string;
  before: { percent_bp: number; state: string; step: number };
  after: {
    percent_bp: number;
    state: string;
    step: number;
    reason: string;
    figures: RolloutJudgement['figures'];
  };
}

/** The scheduler's rollout audit rows for `app`, oldest first. */
export async function schedulerAudit(app: string): Promise<SchedulerAudit[]> {
  const { results } = await env.DB.prepare(
    `SELECT action, at, before_json, after_json FROM audit
     WHERE app = ?1 AND actor = 'scheduler' AND action LIKE 'rollout.%' ORDER BY id`,
  )
    .bind(app)
    .all<{ action: string; at: string; before_json: string; after_json: string }>();
  return results.map((r) => ({
    action: r.action,
    at: r.at,
    before: JSON.parse(r.before_json),
    after: JSON.parse(r.after_json),
  }));
}

/** A rollout action through the admin API (pause, resume, halt, complete). */
export function act(app: string, action: string, body: object = {}) {
  return admin<ViewBody>(`/apps/${app}/channels/stable/rollouts/${VERSION}/${action}`, {
    method: 'POST',
    body,
  });
}
