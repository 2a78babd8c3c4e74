/** `updraft status <app>`: every channel's rollouts, percentages and states, and its yanks. */
import { type ApiClient, seg } from '../lib/api.ts';
import type { StatusView } from '../lib/api-types.ts';
import { describeChannel } from '../lib/channel-view.ts';
import { arg, type Command } from '../lib/command.ts';
import { parseName } from '../lib/parse.ts';

export async function status(opts: { client: ApiClient; app: string }): Promise<StatusView> {
  return opts.client.get<StatusView>(`/v1/admin/apps/${seg(parseName(opts.app, 'app name'))}/status`);
}

export function describeStatus(view: StatusView): string {
  const header = `App ${view.app} (default channel ${view.default_channel})`;
  return [header, ...view.channels.map((c) => describeChannel(c, view.default_channel))].join('\n\n');
}

export const command: Command = {
  name: 'status',
  summary: 'rollouts of every channel of an app',
  args: ['<app>'],
  options: {},
  help: [],
  async run(inv) {
    const view = await status({ client: inv.client(), app: arg(inv.positionals, 0) });
    if (inv.config.json) return inv.printJson(view);
    inv.print(describeStatus(view));
  },
};
