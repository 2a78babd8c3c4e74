/** `updraft app webhooks <app> [--limit 20]`: the app's recent webhook deliveries, newest first. */

import type { WebhookDelivery } from '../../src/protocol/admin-api.ts';
import { type ApiClient, seg } from '../lib/api.ts';
import { arg, type Command, str } from '../lib/command.ts';
import { UserError } from '../lib/errors.ts';
import { parseName } from '../lib/parse.ts';
import { formatTable, formatTime } from '../lib/table.ts';

export async function appWebhooks(opts: {
  client: ApiClient;
  app: string;
  limit?: number;
}): Promise<{ deliveries: WebhookDelivery[] }> {
  return opts.client.get<{ deliveries: WebhookDelivery[] }>(
    `/v1/admin/apps/${seg(parseName(opts.app, 'app name'))}/webhooks`,
    { query: { limit: opts.limit } },
  );
}

export function parseWebhookLimit(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,3}$/.test(text) || Number(text) < 1 || Number(text) > 100) {
    throw new UserError(`--limit must be a whole number from 1 to 100, got "${text}"`);
  }
  return Number(text);
}

/** Attempts after which the server stops retrying a delivery (docs/rollouts.md § Audit and webhooks). */
const MAX_ATTEMPTS = 8;

/** "delivered 2026-11-21 19:48:02Z", "retry at 2026-11-21 19:52:00Z (last: 502)", "pending", "gave up …". */
export function deliveryState(d: WebhookDelivery): string {
  if (d.delivered_at) return `delivered ${formatTime(d.delivered_at)}`;
  if (d.attempts === 0) return 'pending';
  const last = d.last_status ?? d.last_error;
  const suffix = last === null ? '' : ` (last: ${last})`;
  if (d.attempts >= MAX_ATTEMPTS) return `gave up after ${d.attempts} attempts${suffix}`;
  return `retry at ${formatTime(d.next_attempt_at)}${suffix}`;
}

export function describeDeliveries(app: string, deliveries: readonly WebhookDelivery[]): string {
  if (deliveries.length === 0) return `No webhook deliveries for ${app} yet.`;
  return formatTable(
    ['id', 'created', 'event', 'attempts', 'state', 'url'],
    deliveries.map((d) => [d.id, formatTime(d.created_at), d.event, d.attempts, deliveryState(d), d.url]),
  );
}

export const command: Command = {
  name: 'app webhooks',
  summary: "an app's recent webhook deliveries and their outcome",
  args: ['<app>'],
  usage: '<app> [--limit <n>]',
  options: { limit: { type: 'string' } },
  help: ['--limit <n>  deliveries to show, 1-100 (default 20)', 'Needs an admin token.'],
  async run(inv) {
    const app = arg(inv.positionals, 0);
    const view = await appWebhooks({
      client: inv.client(),
      app,
      limit: parseWebhookLimit(str(inv.values, 'limit')),
    });
    if (inv.config.json) return inv.printJson(view);
    inv.print(describeDeliveries(app, view.deliveries));
  },
};
