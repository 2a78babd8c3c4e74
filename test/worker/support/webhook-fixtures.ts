/**
 * Fixtures for webhook tests: inboxes on the real HTTP receiver of test/support/webhook-receiver.ts,
 * apps whose webhook points at one, events to queue, and the outbox rows.
 */
import { env } from 'cloudflare:workers';
import { randomHex } from '../../../src/protocol/encoding.ts';
import { enqueueWebhook, type WebhookEvent } from '../../../src/worker/storage/webhooks.ts';
import type { ReceivedRequest, ScriptedReply } from '../../support/webhook-receiver-types.ts';
import { admin, createApp } from './fixtures.ts';

declare global {
  namespace Cloudflare {
    interface Env {
      /** Base URL of the test receiver, `http://127.0.0.1:<port>`. */
      WEBHOOK_RECEIVER: string;
    }
  }
}

export interface Inbox {
  url: string;
  /** Replies for the next deliveries, in order; 200 once they run out. */
  script(replies: ScriptedReply[]): Promise<void>;
  received(): Promise<ReceivedRequest[]>;
}

export function inbox(): Inbox {
  const name = `inbox-${randomHex(6)}`;
  const base = env.WEBHOOK_RECEIVER;
  return {
    url: `${base}/${name}`,
    async script(replies) {
      const res = await fetch(`${base}/__script/${name}`, { method: 'PUT', body: JSON.stringify(replies) });
      if (res.status !== 204) throw new Error(`scripting the receiver failed: ${res.status}`);
    },
    async received() {
      return (await fetch(`${base}/__log/${name}`)).json<ReceivedRequest[]>();
    },
  };
}

export interface SettingsBody {
  webhook_url: string | null;
  default_plan: unknown;
  webhook_secret?: string;
}

/** An app whose webhook posts to a fresh inbox; returns the secret shown once. */
export async function appWithWebhook(): Promise<{ app: string; inbox: Inbox; secret: string }> {
  const app = await createApp();
  const box = inbox();
  const { status, body } = await admin<SettingsBody>(`/apps/${app}/settings`, {
    method: 'PUT',
    body: { webhook_url: box.url },
  });
  if (status !== 200 || !body.webhook_secret)
    throw new Error(`settings failed: ${status} ${JSON.stringify(body)}`);
  return { app, inbox: box, secret: body.webhook_secret };
}

export function rolloutEvent(app: string, overrides: Partial<WebhookEvent> = {}): WebhookEvent {
  return {
    event: 'rollout.advance',
    app,
    channel: 'stable',
    version: '1.2.0',
    from_bp: 500,
    to_bp: 2500,
    reason: 'baked 2h with 412 installs and no gate clearly breached',
    figures: { installs: 412, failures: 2 },
    at: '2026-11-21T18:00:00Z',
    text: `${app} 1.2.0 on stable: 5% → 25% (baked 2h with 412 installs and no gate clearly breached)`,
    ...overrides,
  };
}

/** Queues `event` as the scheduler does, in a batch of its own; returns how many rows it wrote. */
export async function enqueue(event: WebhookEvent, now: Date): Promise<number> {
  const [result] = await env.DB.batch([enqueueWebhook(env.DB, event, now)]);
  return result?.meta.changes ?? 0;
}

export interface DeliveryRow {
  id: number;
  app: string;
  url: string;
  event: string;
  body: string;
  attempts: number;
  next_attempt_at: string;
  last_error: string | null;
  last_status: number | null;
  delivered_at: string | null;
  created_at: string;
}

export async function deliveries(app: string): Promise<DeliveryRow[]> {
  const { results } = await env.DB.prepare('SELECT * FROM webhook_deliveries WHERE app = ?1 ORDER BY id')
    .bind(app)
    .all<DeliveryRow>();
  return results;
}

export const minutes = (n: number) => n * 60_000;
