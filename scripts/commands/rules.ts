/**
 * `updraft rules <app>`: an app's channel rules, in the order they are tried (docs/protocol.md §3). `rules set`
 * replaces them, `rules test` says which channel a client would get and why.
 */

import type { AppView } from '../../src/protocol/admin-api.ts';
import { type ChannelRule, channelRuleSchema } from '../../src/protocol/channels.ts';
import { formatBp } from '../../src/protocol/format.ts';
import { type ApiClient, seg } from '../lib/api.ts';
import { arg, type Command } from '../lib/command.ts';
import { parseName } from '../lib/parse.ts';

export async function readApp(client: ApiClient, app: string): Promise<AppView> {
  return client.get<AppView>(`/v1/admin/apps/${seg(parseName(app, 'app name'))}`);
}

/** The rules of an AppView, typed (the server validated them with the same schema). */
export function rulesOf(view: AppView): ChannelRule[] {
  return view.rules.map((rule) => channelRuleSchema.parse(rule));
}

/** `platforms darwin and a 10% cohort (salt 0123abcd…)`; `everyone` for a rule without conditions. */
export function describeConditions(rule: ChannelRule): string {
  const { client_ids, percent_bp, salt, platforms, countries, versions } = rule.match;
  const parts: string[] = [];
  if (client_ids) parts.push(`client_ids ${client_ids.join(', ')}`);
  if (platforms) parts.push(`platforms ${platforms.join(', ')}`);
  if (countries) parts.push(`countries ${countries.join(', ')}`);
  if (versions !== undefined) parts.push(`installed version ${versions}`);
  if (percent_bp !== undefined) {
    parts.push(`a ${formatBp(percent_bp)} cohort${salt ? ` (salt ${salt.slice(0, 8)}…)` : ''}`);
  }
  return parts.length === 0 ? 'everyone' : parts.join(' and ');
}

export function describeRules(view: AppView): string {
  const rules = rulesOf(view);
  const names = new Set(view.channels.map((c) => c.name));
  const width = Math.max(0, ...rules.map((r) => r.channel.length));
  const lines = [
    rules.length === 0
      ? `${view.name} has no channel rules (revision ${view.revision}).`
      : `Channel rules of ${view.name} (revision ${view.revision}), tried in order; the first that matches decides:`,
  ];
  rules.forEach((rule, i) => {
    const missing = names.has(rule.channel) ? '' : '  (no such channel: skipped)';
    lines.push(`  ${i + 1}. → ${rule.channel.padEnd(width)}  ${describeConditions(rule)}${missing}`);
  });
  lines.push(
    `A client that matches no rule gets the public channel it asks for, else the default channel, ${view.default_channel}.`,
  );
  return lines.join('\n');
}

export const command: Command = {
  name: 'rules',
  summary: "list an app's channel rules (rules set, rules test: change them, try a client)",
  args: ['<app>'],
  help: [
    '`updraft rules set <app> --file rules.json | --rule <spec>... | --clear` replaces them;',
    '`updraft rules test <app> --client-id <id> [...]` says which channel a client would get and why.',
    '--json prints the app (GET /v1/admin/apps/{app}) with its rules; `rules set --file` reads it back.',
  ],
  options: {},
  async run(inv) {
    const view = await readApp(inv.client(), arg(inv.positionals, 0));
    if (inv.config.json) return inv.printJson(view);
    inv.print(describeRules(view));
  },
};
