/**
 * Webhook outbox (docs/rollouts.md): a delivery row is written in the same D1 batch as the action it
 * reports, then posted with an HMAC signature and retried with backoff. Owned by the webhooks work.
 */

/** What a scheduler (or manual) rollout action reports. `text` is Slack-compatible. */
export interface WebhookEvent {
  event: 'rollout.advance' | 'rollout.complete' | 'rollout.halt';
  app: string;
  channel: string;
  version: string;
  from_bp: number;
  to_bp: number;
  reason: string;
  figures: unknown;
  at: string;
  text: string;
}

/**
 * A statement that queues `event` for the app's webhook (inserting nothing when the app has no
 * `webhook_url`), to run in the same batch as the action.
 */
export function enqueueWebhook(db: D1Database, event: WebhookEvent, now: Date): D1PreparedStatement {
  void db;
  void event;
  void now;
  throw new Error('not implemented');
}

/** Posts every due delivery once (bounded per run); records outcomes; never throws for a failed POST. */
export async function deliverDueWebhooks(env: Env, now: Date): Promise<void> {
  void env;
  void now;
  throw new Error('not implemented');
}
