/**
 * `updraft channel set <app> <name> [--public|--private] [--default]`: a channel's visibility, and
 * which channel is the app's default. Only what is given changes.
 */

import type { AppView } from '../../src/protocol/admin-api.ts';
import { arg, type Command, flag, str } from '../lib/command.ts';
import { UserError } from '../lib/errors.ts';
import { describeApp } from './app-show.ts';
import {
  CHANNEL_OPTIONS,
  type ChannelChange,
  channelLine,
  parseVisibility,
  putChannel,
} from './channel-add.ts';
import { parseRevision } from './promote.ts';

/** Changes the channel; `changed` is false when it already was as asked (the server wrote nothing). */
export async function channelSet(opts: ChannelChange): Promise<{ view: AppView; changed: boolean }> {
  if (opts.public === undefined && !opts.makeDefault) {
    throw new UserError('nothing to change: give --public, --private or --default');
  }
  const { before, after } = await putChannel(opts, 'existing');
  return { view: after, changed: after.revision !== before.revision };
}

export const command: Command = {
  name: 'channel set',
  summary: "change a channel's visibility, or make it the app's default channel",
  args: ['<app>', '<name>'],
  usage: '<app> <name> [--public|--private] [--default]',
  options: CHANNEL_OPTIONS,
  help: [
    '--public               clients may ask for it by name',
    '--private              clients reach it only through channel rules (`updraft rules`)',
    '--default              make it the default channel (the previous default stays, as an ordinary channel)',
    '--expected-revision <n> refuse (409) if the app changed since revision n (default: the one just read)',
    'Needs an admin token.',
  ],
  async run(inv) {
    const channel = arg(inv.positionals, 1);
    const { view, changed } = await channelSet({
      client: inv.client(),
      app: arg(inv.positionals, 0),
      channel,
      public: parseVisibility(inv.values),
      makeDefault: flag(inv.values, 'default'),
      expectedRevision: parseRevision(str(inv.values, 'expected-revision')),
    });
    if (inv.config.json) return inv.printJson(view);
    const what = changed ? 'Changed' : 'Nothing to change';
    inv.print(`${what}: ${channelLine(view, channel)}.\n\n${describeApp(view)}`);
  },
};
