/**
 * `updraft channel add <app> <name> [--public|--private] [--default]`: a new channel of an app (with
 * a signed empty snapshot), public unless `--private`. Private channels are reached only through
 * channel rules (`updraft rules`).
 */

import type { AppView } from '../../src/protocol/admin-api.ts';
import { type ApiClient, seg } from '../lib/api.ts';
import { arg, type Command, flag, str, type Values } from '../lib/command.ts';
import { UserError } from '../lib/errors.ts';
import { parseName } from '../lib/parse.ts';
import { describeApp } from './app-show.ts';
import { parseRevision } from './promote.ts';

export interface ChannelChange {
  client: ApiClient;
  app: string;
  channel: string;
  /** Visibility; left as it is when undefined (required to add a channel). */
  public?: boolean;
  /** Make it the app's default channel. */
  makeDefault?: boolean;
  /** The app's revision the change is based on; default the one just read, so a race is a 409. */
  expectedRevision?: number;
}

/** The `PUT …/channels/{channel}` both commands send, after reading the app (docs/api.md). */
export async function putChannel(
  opts: ChannelChange,
  expect: 'new' | 'existing',
): Promise<{ before: AppView; after: AppView }> {
  const app = parseName(opts.app, 'app name');
  const channel = parseName(opts.channel, 'channel name');
  const path = `/v1/admin/apps/${seg(app)}`;
  const before = await opts.client.get<AppView>(path);
  const exists = before.channels.some((c) => c.name === channel);
  if (expect === 'new' && exists) {
    throw new UserError(`${app} already has a channel ${channel} (change it with \`updraft channel set\`)`);
  }
  if (expect === 'existing' && !exists) {
    throw new UserError(`${app} has no channel ${channel} (add it with \`updraft channel add\`)`);
  }
  const body: { public?: boolean; default?: true; expected_revision: number } = {
    expected_revision: opts.expectedRevision ?? before.revision,
  };
  if (opts.public !== undefined) body.public = opts.public;
  if (opts.makeDefault) body.default = true;
  const after = await opts.client.request<AppView>('PUT', `${path}/channels/${seg(channel)}`, { json: body });
  return { before, after };
}

export async function channelAdd(
  opts: Omit<ChannelChange, 'public'> & { public?: boolean },
): Promise<AppView> {
  return (await putChannel({ ...opts, public: opts.public ?? true }, 'new')).after;
}

/** `--public` → true, `--private` → false, neither → undefined; both is a mistake. */
export function parseVisibility(values: Values): boolean | undefined {
  const pub = flag(values, 'public');
  const priv = flag(values, 'private');
  if (pub && priv) throw new UserError('--public and --private exclude each other');
  return pub ? true : priv ? false : undefined;
}

/** `beta: private, the default channel` as both commands print it. */
export function channelLine(view: AppView, channel: string): string {
  const info = view.channels.find((c) => c.name === channel);
  const visibility = info?.public === false ? 'private (reached only through channel rules)' : 'public';
  const isDefault = view.default_channel === channel ? ', the default channel' : '';
  return `${channel}: ${visibility}${isDefault}`;
}

export const CHANNEL_OPTIONS = {
  public: { type: 'boolean' },
  private: { type: 'boolean' },
  default: { type: 'boolean' },
  'expected-revision': { type: 'string' },
} as const;

export const command: Command = {
  name: 'channel add',
  summary: 'add a channel to an app (public, or private for rules only)',
  args: ['<app>', '<name>'],
  usage: '<app> <name> [--public|--private] [--default]',
  options: CHANNEL_OPTIONS,
  help: [
    '--public               clients may ask for it by name (the default)',
    '--private              clients reach it only through channel rules (`updraft rules`)',
    '--default              make it the default channel: what clients that match no rule get',
    '--expected-revision <n> refuse (409) if the app changed since revision n (default: the one just read)',
    'Needs an admin token.',
  ],
  async run(inv) {
    const app = arg(inv.positionals, 0);
    const channel = arg(inv.positionals, 1);
    const view = await channelAdd({
      client: inv.client(),
      app,
      channel,
      public: parseVisibility(inv.values),
      makeDefault: flag(inv.values, 'default'),
      expectedRevision: parseRevision(str(inv.values, 'expected-revision')),
    });
    if (inv.config.json) return inv.printJson(view);
    inv.print(`Added channel ${channelLine(view, channel)}.\n\n${describeApp(view)}`);
  },
};
