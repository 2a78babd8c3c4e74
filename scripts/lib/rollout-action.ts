/** The four rollout state changes (pause, resume, halt, complete) share one route and one shape. */

import type { ChannelView } from '../../src/protocol/admin-api.ts';
import { type ApiClient, seg } from './api.ts';
import { describeChannel } from './channel-view.ts';
import { arg, type Command, requireStr, str } from './command.ts';
import { parseName, parseVersion } from './parse.ts';

export type RolloutAction = 'pause' | 'resume' | 'halt' | 'complete';

export interface RolloutActionOptions {
  client: ApiClient;
  app: string;
  version: string;
  channel: string;
  reason?: string;
  expectedRevision?: number;
}

export async function rolloutAction(action: RolloutAction, opts: RolloutActionOptions): Promise<ChannelView> {
  const app = parseName(opts.app, 'app name');
  const channel = parseName(opts.channel, '--channel');
  const version = parseVersion(opts.version);
  const body: { reason?: string; expected_revision?: number } = {};
  if (opts.reason !== undefined) body.reason = opts.reason;
  if (opts.expectedRevision !== undefined) body.expected_revision = opts.expectedRevision;
  return opts.client.post<ChannelView>(
    `/v1/admin/apps/${seg(app)}/channels/${seg(channel)}/rollouts/${seg(version)}/${action}`,
    body,
  );
}

const PAST: Record<RolloutAction, string> = {
  pause: 'Paused',
  resume: 'Resumed',
  halt: 'Halted',
  complete: 'Completed',
};

/** The command definition of one action; each lives in its own file under commands/. */
export function rolloutActionCommand(action: RolloutAction, summary: string): Command {
  return {
    name: action,
    summary,
    args: ['<app>', '<version>'],
    usage: '<app> <version> --channel <name> [--reason <text>]',
    options: { channel: { type: 'string' }, reason: { type: 'string' } },
    help: [
      '--channel <name>  the channel of the rollout (required)',
      '--reason <text>   recorded in the audit log',
    ],
    async run(inv) {
      const app = arg(inv.positionals, 0);
      const version = arg(inv.positionals, 1);
      const view = await rolloutAction(action, {
        client: inv.client(),
        app,
        version,
        channel: requireStr(inv.values, 'channel', '<name>'),
        reason: str(inv.values, 'reason'),
      });
      if (inv.config.json) return inv.printJson(view);
      inv.print(
        `${PAST[action]} the rollout of ${app} ${version} on ${view.name}.\n${describeChannel(view)}`,
      );
    },
  };
}
