/**
 * `updraft stats <app> [<version>] [--channel c] [--since 7d] [--until now]`: docs/protocol.md §5's metrics
 * from GET /v1/admin/apps/{app}/health, for one release or every release of a channel; with
 * `--compare`, one release against its baseline (GET …/compare, docs/protocol.md §6).
 */

import type { ChannelHealth, ReleaseComparison, ReleaseHealth } from '../../src/protocol/admin-api.ts';
import { type ApiClient, seg } from '../lib/api.ts';
import { arg, type Command, flag, str } from '../lib/command.ts';
import { describeComparison } from '../lib/comparison.ts';
import { UserError } from '../lib/errors.ts';
import { describeChannelHealth, describeReleaseHealth } from '../lib/metrics.ts';
import { parseName, parseVersion, parseWhen } from '../lib/parse.ts';

export interface StatsOptions {
  client: ApiClient;
  app: string;
  version?: string;
  /** Default: the app's default channel (the server decides). */
  channel?: string;
  /** RFC 3339; default: the server's (the last 7 days up to now). */
  from?: string;
  to?: string;
}

export async function stats(opts: StatsOptions & { version: string }): Promise<ReleaseHealth>;
export async function stats(opts: StatsOptions & { version?: undefined }): Promise<ChannelHealth>;
export async function stats(opts: StatsOptions): Promise<ReleaseHealth | ChannelHealth>;
export async function stats(opts: StatsOptions): Promise<ReleaseHealth | ChannelHealth> {
  const app = parseName(opts.app, 'app name');
  checkWindow(opts);
  return opts.client.get<ReleaseHealth | ChannelHealth>(`/v1/admin/apps/${seg(app)}/health`, {
    query: {
      version: opts.version === undefined ? undefined : parseVersion(opts.version),
      channel: opts.channel === undefined ? undefined : parseName(opts.channel, '--channel'),
      from: opts.from,
      to: opts.to,
    },
  });
}

/** One release against its baseline over the window: GET …/compare. */
export async function compare(opts: StatsOptions & { version: string }): Promise<ReleaseComparison> {
  const app = parseName(opts.app, 'app name');
  checkWindow(opts);
  return opts.client.get<ReleaseComparison>(`/v1/admin/apps/${seg(app)}/compare`, {
    query: {
      version: parseVersion(opts.version),
      channel: opts.channel === undefined ? undefined : parseName(opts.channel, '--channel'),
      from: opts.from,
      to: opts.to,
    },
  });
}

function checkWindow(opts: StatsOptions) {
  if (opts.from !== undefined && opts.to !== undefined && Date.parse(opts.from) >= Date.parse(opts.to)) {
    throw new UserError(`--since must be before --until (${opts.from} is not before ${opts.to})`);
  }
}

export function isChannelHealth(view: ReleaseHealth | ChannelHealth): view is ChannelHealth {
  return 'releases' in view;
}

export const command: Command = {
  name: 'stats',
  summary: 'installs, failure and rollback rates, adoption and durations of releases',
  args: ['<app>', '[version]'],
  usage: '<app> [<version>] [--compare] [--channel <name>] [--since 7d] [--until now]',
  options: {
    channel: { type: 'string' },
    since: { type: 'string' },
    until: { type: 'string' },
    compare: { type: 'boolean' },
  },
  help: [
    "--channel <name>   the channel (default: the app's default channel)",
    '--since <when>     start of the window: 24h, 7d, 2w ago, or a date/RFC 3339 time (default 7d)',
    '--until <when>     end of the window, in the same forms (default now)',
    '--compare          the release against its baseline (the highest complete, not yanked release of',
    '                   the channel below it), side by side, and canary − baseline of each rate with',
    '                   its 95 % interval; needs a version',
    'Without a version: one row per release of the channel. Rates are shown with their 95 % Wilson',
    'interval; "–" means nothing is known yet (no installs). --json prints the API answer unchanged.',
  ],
  async run(inv) {
    const since = str(inv.values, 'since');
    const until = str(inv.values, 'until');
    const opts = {
      client: inv.client(),
      app: arg(inv.positionals, 0),
      channel: str(inv.values, 'channel'),
      from: since === undefined ? undefined : parseWhen(since, '--since'),
      to: until === undefined ? undefined : parseWhen(until, '--until'),
    };
    const version = inv.positionals[1];
    if (flag(inv.values, 'compare')) {
      if (version === undefined)
        throw new UserError('--compare needs a version: updraft stats <app> <version> --compare');
      const comparison = await compare({ ...opts, version });
      if (inv.config.json) return inv.printJson(comparison);
      return inv.print(describeComparison(comparison));
    }
    const view = await stats({ ...opts, version });
    if (inv.config.json) return inv.printJson(view);
    inv.print(isChannelHealth(view) ? describeChannelHealth(view) : describeReleaseHealth(view));
  },
};
