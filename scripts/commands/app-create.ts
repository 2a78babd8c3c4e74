/** `updraft app create <app> [--default-channel stable] [--channel name[:private]]... [--telemetry-db <binding>]` */

import type { AppView } from '../../src/protocol/admin-api.ts';
import type { ApiClient } from '../lib/api.ts';
import { arg, type Command, list, str } from '../lib/command.ts';
import { UserError } from '../lib/errors.ts';
import { parseName } from '../lib/parse.ts';
import { describeApp } from './app-show.ts';

export interface ChannelSpec {
  name: string;
  public: boolean;
}

export interface AppCreateOptions {
  client: ApiClient;
  app: string;
  defaultChannel?: string;
  channels?: readonly ChannelSpec[];
  /** The D1 binding for the app's telemetry (docs/protocol.md §11); the server chooses when absent. */
  telemetryDb?: string;
}

export async function appCreate(opts: AppCreateOptions): Promise<AppView> {
  const app = parseName(opts.app, 'app name');
  const defaultChannel = parseName(opts.defaultChannel ?? 'stable', '--default-channel');
  const channels = [...(opts.channels ?? [])];
  if (!channels.some((c) => c.name === defaultChannel))
    channels.unshift({ name: defaultChannel, public: true });
  return opts.client.post<AppView>('/v1/admin/apps', {
    name: app,
    default_channel: defaultChannel,
    channels,
    ...(opts.telemetryDb !== undefined && { telemetry_db: opts.telemetryDb }),
  });
}

/** `beta` → public beta; `internal:private` → a channel clients reach only through rules. */
export function parseChannelSpec(text: string): ChannelSpec {
  const [name = '', visibility, ...rest] = text.split(':');
  if (rest.length > 0 || (visibility !== undefined && visibility !== 'private' && visibility !== 'public')) {
    throw new UserError(`--channel must be name, name:public or name:private, got "${text}"`);
  }
  return { name: parseName(name, 'channel name'), public: visibility !== 'private' };
}

export const command: Command = {
  name: 'app create',
  summary: 'create an app and its channels',
  args: ['<app>'],
  usage: '<app> [--default-channel stable] [--channel <name[:private]>]... [--telemetry-db <binding>]',
  options: {
    'default-channel': { type: 'string' },
    channel: { type: 'string', multiple: true },
    'telemetry-db': { type: 'string' },
  },
  help: [
    '--default-channel <name>  the channel of clients that ask for none (default stable)',
    '--channel <name[:private]>  a channel to create (repeatable); private ones are reached only through rules',
    '--telemetry-db <binding>  where its telemetry lives: DB or a bound TELEMETRY_* (default: the server picks)',
  ],
  async run(inv) {
    const channels = list(inv.values, 'channel').map(parseChannelSpec);
    const names = channels.map((c) => c.name);
    const duplicate = names.find((n, i) => names.indexOf(n) !== i);
    if (duplicate) throw new UserError(`--channel ${duplicate} is given twice`);
    const view = await appCreate({
      client: inv.client(),
      app: arg(inv.positionals, 0),
      defaultChannel: str(inv.values, 'default-channel'),
      channels,
      telemetryDb: str(inv.values, 'telemetry-db'),
    });
    if (inv.config.json) return inv.printJson(view);
    inv.print(`Created app ${view.name}.\n${describeApp(view)}`);
  },
};
