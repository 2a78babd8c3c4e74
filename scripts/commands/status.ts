/**
 * `updraft status <app>`: every channel's rollouts, percentages and states, its yanks, each
 * rollout's health over the last 7 days (installs, failure and rollback rates, adoption), and for
 * staged rollouts the step, the time left to bake and the scheduler's last judgement.
 */

import type { ChannelHealth, ReleaseHealth, StatusView } from '../../src/protocol/admin-api.ts';
import { type ApiClient, ServerError, seg } from '../lib/api.ts';
import { describeChannel, type HealthColumns } from '../lib/channel-view.ts';
import { arg, type Command } from '../lib/command.ts';
import { parseName } from '../lib/parse.ts';

export async function status(opts: { client: ApiClient; app: string }): Promise<StatusView> {
  return opts.client.get<StatusView>(`/v1/admin/apps/${seg(parseName(opts.app, 'app name'))}/status`);
}

/**
 * The health of every release of each channel, by channel name. A server without the analytics
 * routes (older than the telemetry release) answers 404: its channels come back `unavailable`.
 */
export async function statusHealth(opts: {
  client: ApiClient;
  app: string;
  channels: readonly string[];
}): Promise<Map<string, HealthColumns>> {
  const app = seg(parseName(opts.app, 'app name'));
  const entries = await Promise.all(
    opts.channels.map(async (channel): Promise<[string, HealthColumns]> => {
      try {
        const view = await opts.client.get<ChannelHealth>(`/v1/admin/apps/${app}/health`, {
          query: { channel },
        });
        return [channel, new Map(view.releases.map((h): [string, ReleaseHealth] => [h.version, h]))];
      } catch (error) {
        if (error instanceof ServerError && error.status === 404) return [channel, 'unavailable'];
        throw error;
      }
    }),
  );
  return new Map(entries);
}

/** The status table of every channel; `now` places planned rollouts' bake times. */
export function describeStatus(
  view: StatusView,
  health?: ReadonlyMap<string, HealthColumns>,
  now: Date = new Date(),
): string {
  const header = `App ${view.app} (default channel ${view.default_channel})`;
  const channels = view.channels.map((c) =>
    describeChannel(
      c,
      view.default_channel,
      health?.get(c.name) ?? (health ? 'unavailable' : undefined),
      now,
    ),
  );
  return [header, ...channels, ...(health ? [healthNote(health)] : [])].join('\n\n');
}

function healthNote(health: ReadonlyMap<string, HealthColumns>): string {
  if ([...health.values()].every((h) => h === 'unavailable')) {
    return 'Health: – (this server has no analytics routes yet).';
  }
  return 'Health: the last 7 days; rates with their 95 % interval. `updraft stats <app>` shows more.';
}

export const command: Command = {
  name: 'status',
  summary: 'rollouts of every channel of an app, with their health',
  args: ['<app>'],
  options: {},
  help: [],
  async run(inv) {
    const app = arg(inv.positionals, 0);
    const view = await status({ client: inv.client(), app });
    if (inv.config.json) return inv.printJson(view);
    const health = await statusHealth({
      client: inv.client(),
      app,
      channels: view.channels.map((c) => c.name),
    });
    inv.print(describeStatus(view, health));
  },
};
