/**
 * `updraft promote <app> <version> --channel <name> [--percent 25]`: starts the rollout of a release
 * on a channel, or changes its percentage (the salt stays, so raising it only adds clients).
 */
import { type ApiClient, seg } from '../lib/api.ts';
import type { ChannelView } from '../lib/api-types.ts';
import { describeChannel } from '../lib/channel-view.ts';
import { arg, type Command, requireStr, str } from '../lib/command.ts';
import { UserError } from '../lib/errors.ts';
import { parseName, parsePercent, parseVersion } from '../lib/parse.ts';
import { formatPercent } from '../lib/table.ts';

export interface PromoteOptions {
  client: ApiClient;
  app: string;
  version: string;
  channel: string;
  /** Basis points, 0–10000 (default 10000: everyone). */
  percentBp?: number;
  expectedRevision?: number;
}

export async function promote(opts: PromoteOptions): Promise<ChannelView> {
  const app = parseName(opts.app, 'app name');
  const channel = parseName(opts.channel, '--channel');
  const version = parseVersion(opts.version);
  const percentBp = opts.percentBp ?? 10_000;
  if (!Number.isInteger(percentBp) || percentBp < 0 || percentBp > 10_000) {
    throw new UserError(`percent must be 0-10000 basis points, got ${percentBp}`);
  }
  const body: { version: string; percent_bp: number; expected_revision?: number } = {
    version,
    percent_bp: percentBp,
  };
  if (opts.expectedRevision !== undefined) body.expected_revision = opts.expectedRevision;
  return opts.client.post<ChannelView>(`/v1/admin/apps/${seg(app)}/channels/${seg(channel)}/rollouts`, body);
}

/** `--expected-revision 7` → 7; the server answers 409 when the channel changed since. */
export function parseRevision(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[1-9]\d{0,9}$/.test(text))
    throw new UserError(`--expected-revision must be a positive integer, got "${text}"`);
  return Number(text);
}

export const command: Command = {
  name: 'promote',
  summary: 'roll a release out to a share of a channel',
  args: ['<app>', '<version>'],
  usage: '<app> <version> --channel <name> [--percent <n>]',
  options: {
    channel: { type: 'string' },
    percent: { type: 'string' },
    'expected-revision': { type: 'string' },
  },
  help: [
    '--channel <name>           the channel (required)',
    "--percent <n>              share of the channel's clients, 0-100 in steps of 0.01 (default 100)",
    '--expected-revision <n>    refuse (409) if the channel changed since revision n',
  ],
  async run(inv) {
    const percent = str(inv.values, 'percent');
    const view = await promote({
      client: inv.client(),
      app: arg(inv.positionals, 0),
      version: arg(inv.positionals, 1),
      channel: requireStr(inv.values, 'channel', '<name>'),
      percentBp: percent === undefined ? undefined : parsePercent(percent),
      expectedRevision: parseRevision(str(inv.values, 'expected-revision')),
    });
    if (inv.config.json) return inv.printJson(view);
    const rollout = view.rollouts.find((r) => r.version === arg(inv.positionals, 1));
    const share = rollout ? formatPercent(rollout.percent_bp) : '';
    inv.print(
      `Promoted ${arg(inv.positionals, 0)} ${arg(inv.positionals, 1)} to ${share} of ${view.name}.\n${describeChannel(view)}`,
    );
  },
};
