/**
 * `updraft promote <app> <version> --channel <name> [--percent 25 | --plan 1,5,25,50,100 | --critical]`:
 * starts the rollout of a release on a channel, changes its percentage (the salt stays, so raising it
 * only adds clients), attaches a staged plan the scheduler follows, or sends a critical release to
 * everyone at once (docs/rollouts.md).
 */

import type { ChannelView, Plan } from '../../src/protocol/admin-api.ts';
import { formatBp } from '../../src/protocol/format.ts';
import { type ApiClient, seg } from '../lib/api.ts';
import { describeChannel } from '../lib/channel-view.ts';
import { arg, type Command, flag, requireStr, str } from '../lib/command.ts';
import { UserError } from '../lib/errors.ts';
import { parseName, parsePercent, parseVersion } from '../lib/parse.ts';
import { describePlan, GATE_HELP, GATE_OPTIONS, planFromFlags } from '../lib/plan-flags.ts';

export interface PromoteOptions {
  client: ApiClient;
  app: string;
  version: string;
  channel: string;
  /** Basis points, 0–10000 (default 10000: everyone); not with a plan or critical. */
  percentBp?: number;
  /** A staged plan, or `'default'` for the app's default plan. */
  plan?: Plan | 'default';
  /** Skip any plan and go to 100 % (the server refuses unless the release is signed critical). */
  critical?: boolean;
  expectedRevision?: number;
}

interface PromoteBody {
  version: string;
  percent_bp?: number;
  plan?: Plan | 'default';
  critical?: true;
  expected_revision?: number;
}

export async function promote(opts: PromoteOptions): Promise<ChannelView> {
  const app = parseName(opts.app, 'app name');
  const channel = parseName(opts.channel, '--channel');
  const version = parseVersion(opts.version);
  const body: PromoteBody = { version };
  const modes = [
    opts.percentBp !== undefined && '--percent',
    opts.plan !== undefined && '--plan',
    opts.critical === true && '--critical',
  ].filter((m) => m !== false);
  if (modes.length > 1) throw new UserError(`${modes.join(' and ')} cannot be combined: choose one`);
  if (opts.plan !== undefined) {
    body.plan = opts.plan;
  } else if (opts.critical === true) {
    body.critical = true;
  } else {
    const percentBp = opts.percentBp ?? 10_000;
    if (!Number.isInteger(percentBp) || percentBp < 0 || percentBp > 10_000) {
      throw new UserError(`percent must be 0-10000 basis points, got ${percentBp}`);
    }
    body.percent_bp = percentBp;
  }
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

/** The first line `promote` prints: what the rollout now does. */
export function promoteSummary(
  app: string,
  version: string,
  view: ChannelView,
  mode: 'plan' | 'critical' | 'percent',
): string {
  const rollout = view.rollouts.find((r) => r.version === version);
  const share = rollout ? formatBp(rollout.percent_bp) : '';
  if (mode === 'critical') {
    return `Promoted ${app} ${version} to ${share} of ${view.name} at once (critical release: no plan, no gates).`;
  }
  if (mode === 'plan' && rollout?.plan) {
    return `Promoted ${app} ${version} to ${share} of ${view.name}, staged: ${describePlan(rollout.plan)}.\nFollow it with: updraft watch ${app} ${version} --channel ${view.name}`;
  }
  return `Promoted ${app} ${version} to ${share} of ${view.name}.`;
}

export const command: Command = {
  name: 'promote',
  summary: 'roll a release out to a share of a channel, or by a staged plan',
  args: ['<app>', '<version>'],
  usage: '<app> <version> --channel <name> [--percent <n> | --plan <steps>|default [gates] | --critical]',
  options: {
    channel: { type: 'string' },
    percent: { type: 'string' },
    plan: { type: 'string' },
    ...GATE_OPTIONS,
    critical: { type: 'boolean' },
    'expected-revision': { type: 'string' },
  },
  help: [
    '--channel <name>            the channel (required)',
    "--percent <n>               share of the channel's clients, 0-100 in steps of 0.01 (default 100)",
    '--plan <steps>|default      a staged plan: percentages such as 1,5,25,50,100 (ending at 100), or',
    "                            default for the app's default plan (`updraft app settings`)",
    ...GATE_HELP,
    '--critical                  skip any plan and go to 100 % at once (only a release signed critical)',
    '--expected-revision <n>     refuse (409) if the channel changed since revision n',
  ],
  async run(inv) {
    const app = arg(inv.positionals, 0);
    const version = arg(inv.positionals, 1);
    const percent = str(inv.values, 'percent');
    const plan = planFromFlags(inv.values, 'plan', true);
    const critical = flag(inv.values, 'critical');
    const view = await promote({
      client: inv.client(),
      app,
      version,
      channel: requireStr(inv.values, 'channel', '<name>'),
      percentBp: percent === undefined ? undefined : parsePercent(percent),
      plan,
      critical,
      expectedRevision: parseRevision(str(inv.values, 'expected-revision')),
    });
    if (inv.config.json) return inv.printJson(view);
    const mode = plan !== undefined ? 'plan' : critical ? 'critical' : 'percent';
    inv.print(`${promoteSummary(app, version, view, mode)}\n${describeChannel(view)}`);
  },
};
