/**
 * `updraft app settings <app> [--webhook-url <url>|none] [--default-plan <steps>|none [gates]]
 * [--rotate-webhook-secret]`: shows an app's staged-rollout settings, or changes them. A new webhook
 * secret (the first URL set, or a rotation) is printed once.
 */

import type { AppSettings, Plan } from '../../src/protocol/admin-api.ts';
import { type ApiClient, seg } from '../lib/api.ts';
import { arg, type Command, flag, str, type Values } from '../lib/command.ts';
import { UserError } from '../lib/errors.ts';
import { parseName } from '../lib/parse.ts';
import { describePlan, GATE_HELP, GATE_OPTIONS, givenGateOptions, planFromFlags } from '../lib/plan-flags.ts';

export interface SettingsChange {
  webhook_url?: string | null;
  default_plan?: Plan | null;
  rotate_webhook_secret?: true;
}

/** GET the settings, or PUT `change` when it changes anything. */
export async function appSettings(opts: {
  client: ApiClient;
  app: string;
  change?: SettingsChange;
}): Promise<AppSettings> {
  const path = `/v1/admin/apps/${seg(parseName(opts.app, 'app name'))}/settings`;
  if (!opts.change || Object.keys(opts.change).length === 0) return opts.client.get<AppSettings>(path);
  return opts.client.request<AppSettings>('PUT', path, { json: opts.change });
}

/** `https://hooks.example.com/x` as is, `none` → null; anything but http(s) is refused here. */
export function parseWebhookUrl(text: string): string | null {
  if (text === 'none') return null;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UserError(`--webhook-url must be an https URL or none, got "${text}"`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new UserError(`--webhook-url must be an https URL or none, got "${text}"`);
  }
  return text;
}

/** The change the options ask for (empty: only show). */
export function settingsChange(values: Values): SettingsChange {
  const change: SettingsChange = {};
  const url = str(values, 'webhook-url');
  if (url !== undefined) change.webhook_url = parseWebhookUrl(url);
  if (str(values, 'default-plan') === 'none') {
    const gates = givenGateOptions(values);
    if (gates.length > 0)
      throw new UserError(`${gates.join(', ')} cannot be combined with --default-plan none`);
    change.default_plan = null;
  } else {
    const plan = planFromFlags(values, 'default-plan', false);
    if (plan !== undefined && plan !== 'default') change.default_plan = plan;
  }
  if (flag(values, 'rotate-webhook-secret')) change.rotate_webhook_secret = true;
  return change;
}

export function describeSettings(app: string, settings: AppSettings): string {
  const lines = [
    `Settings of ${app}`,
    `  webhook       ${settings.webhook_url ?? 'none (scheduler actions are only in the audit log)'}`,
    `  default plan  ${settings.default_plan ? describePlan(settings.default_plan) : 'none (`promote --plan default` is refused)'}`,
  ];
  if (settings.webhook_secret) {
    lines.push(
      '',
      'New webhook secret, shown once; store it where your receiver checks X-Updraft-Signature',
      '(sha256=<hex HMAC-SHA256 of "<X-Updraft-Timestamp>.<body>">, docs/rollouts.md § Verifying a delivery):',
      '',
      `  ${settings.webhook_secret}`,
    );
  }
  return lines.join('\n');
}

export const command: Command = {
  name: 'app settings',
  summary: "show or change an app's webhook and default staged plan",
  args: ['<app>'],
  usage: '<app> [--webhook-url <url>|none] [--default-plan <steps>|none [gates]] [--rotate-webhook-secret]',
  options: {
    'webhook-url': { type: 'string' },
    'default-plan': { type: 'string' },
    ...GATE_OPTIONS,
    'rotate-webhook-secret': { type: 'boolean' },
  },
  help: [
    '--webhook-url <url>|none    where scheduler actions are posted (https; http only on loopback)',
    '--default-plan <steps>|none the plan of `promote --plan default`: percentages such as 1,5,25,100',
    ...GATE_HELP,
    '--rotate-webhook-secret     make a new signing secret (printed once)',
    'Without options: show the settings. Needs an admin token.',
  ],
  async run(inv) {
    const app = arg(inv.positionals, 0);
    const settings = await appSettings({ client: inv.client(), app, change: settingsChange(inv.values) });
    if (inv.config.json) return inv.printJson(settings);
    inv.print(describeSettings(app, settings));
  },
};
