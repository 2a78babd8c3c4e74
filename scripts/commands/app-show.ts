/** `updraft app show <app>`: the app, its channels and its channel rules. */

import type { AppView } from '../../src/protocol/admin-api.ts';
import { type ApiClient, seg } from '../lib/api.ts';
import { arg, type Command } from '../lib/command.ts';
import { parseName } from '../lib/parse.ts';
import { formatTable, formatTime } from '../lib/table.ts';

export async function appShow(opts: { client: ApiClient; app: string }): Promise<AppView> {
  return opts.client.get<AppView>(`/v1/admin/apps/${seg(parseName(opts.app, 'app name'))}`);
}

export function describeApp(view: AppView): string {
  const lines = [
    `App ${view.name} (revision ${view.revision}, created ${formatTime(view.created_at)}); default channel ${view.default_channel}` +
      (view.telemetry_db === undefined ? '' : `; telemetry in ${view.telemetry_db}`),
    '',
    formatTable(
      ['channel', 'visibility', 'revision', 'default'],
      view.channels.map((c) => [
        c.name,
        c.public ? 'public' : 'private',
        c.revision,
        c.name === view.default_channel ? 'yes' : '',
      ]),
    ),
  ];
  lines.push('', view.rules.length === 0 ? 'No channel rules.' : `Channel rules (tried in order):`);
  view.rules.forEach((rule, i) => {
    lines.push(`  ${i + 1}. ${JSON.stringify(rule)}`);
  });
  return lines.join('\n');
}

export const command: Command = {
  name: 'app show',
  summary: 'show an app, its channels and rules',
  args: ['<app>'],
  options: {},
  help: [],
  async run(inv) {
    const view = await appShow({ client: inv.client(), app: arg(inv.positionals, 0) });
    if (inv.config.json) return inv.printJson(view);
    inv.print(describeApp(view));
  },
};
