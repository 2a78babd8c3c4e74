/**
 * An app's settings in D1 (docs/rollouts.md § HTTP API): the webhook every scheduler action is posted
 * to and the plan `promote --plan default` uses. Nothing clients see: changing them re-signs nothing.
 * The webhook secret never leaves this module except as `has_webhook_secret`; deliveries read it
 * themselves (webhooks.ts).
 */
import { type Plan, planSchema } from '../../protocol/plan.ts';

export interface AppSettings {
  /** The app's revision, moved by a settings change like any app-level change. */
  revision: number;
  webhook_url: string | null;
  has_webhook_secret: boolean;
  default_plan: Plan | null;
}

interface SettingsRow {
  revision: number;
  webhook_url: string | null;
  has_webhook_secret: number;
  default_plan_json: string | null;
}

export async function getAppSettings(db: D1Database, app: string): Promise<AppSettings | null> {
  const row = await db
    .prepare(
      `SELECT revision, webhook_url, webhook_secret IS NOT NULL AS has_webhook_secret, default_plan_json
       FROM apps WHERE name = ?1`,
    )
    .bind(app)
    .first<SettingsRow>();
  if (!row) return null;
  return {
    revision: row.revision,
    webhook_url: row.webhook_url,
    has_webhook_secret: row.has_webhook_secret === 1,
    default_plan: row.default_plan_json === null ? null : planSchema.parse(JSON.parse(row.default_plan_json)),
  };
}

/** What a settings change writes; `webhook_secret` only when it changes (a new one, or null). */
export interface SettingsChange {
  webhook_url: string | null;
  default_plan: Plan | null;
  webhook_secret?: string | null;
}

/** The statement writing `change`, to run after `bumpApp` in the same batch. */
export function setAppSettings(db: D1Database, app: string, change: SettingsChange): D1PreparedStatement {
  const plan = change.default_plan === null ? null : JSON.stringify(change.default_plan);
  if (change.webhook_secret === undefined) {
    return db
      .prepare('UPDATE apps SET webhook_url = ?2, default_plan_json = ?3 WHERE name = ?1')
      .bind(app, change.webhook_url, plan);
  }
  return db
    .prepare('UPDATE apps SET webhook_url = ?2, default_plan_json = ?3, webhook_secret = ?4 WHERE name = ?1')
    .bind(app, change.webhook_url, plan, change.webhook_secret);
}
