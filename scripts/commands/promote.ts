/**
 * `updraft promote <app> <version> --channel <name> [--percent 25 | --plan 1,5,25,50,100 | --critical]`:
 * starts the rollout of a release on a channel, changes its percentage (the salt stays, so raising it
 * only adds clients), attaches a staged plan the scheduler follows, or sends a critical release to
 * everyone at once (docs/rollouts.md). With `--on-breach rollback` it also signs, with the release
 * key, the standby yank the scheduler publishes on a clear gate breach (docs/protocol.md §6), and for an Expo
 * app with code signing (`--expo-private-key`) the rollBackToEmbedded directive published with it.
 */

import type { ChannelView, Plan, StatusView } from '../../src/protocol/admin-api.ts';
import { baselineOf } from '../../src/protocol/baseline.ts';
import { rollBackToEmbeddedDirective } from '../../src/protocol/expo.ts';
import { formatBp } from '../../src/protocol/format.ts';
import { signDocument } from '../../src/protocol/jws.ts';
import { type ApiClient, seg } from '../lib/api.ts';
import { describeChannel } from '../lib/channel-view.ts';
import { arg, type Command, flag, requireStr, str, type Values } from '../lib/command.ts';
import { UserError } from '../lib/errors.ts';
import { type ExpoSignerOptions, expoSigningFlags, readExpoSigner, signExpo } from '../lib/expo-signing.ts';
import { readPrivateKey } from '../lib/keys-folder.ts';
import { parseName, parsePercent, parseVersion, rfc3339 } from '../lib/parse.ts';
import { describePlan, GATE_HELP, GATE_OPTIONS, parseOnBreach, planFromFlags } from '../lib/plan-flags.ts';

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
  /**
   * With a plan whose `on_breach` is rollback: where the standby yank sends the release's clients
   * (a version, or null for nowhere); undefined for the channel's baseline, read from the API.
   */
  rollbackTo?: string | null;
  /** The keys folder holding the release key the standby yank is signed with. */
  keysDir?: string;
  /** An Expo app with code signing: the key its standby yank's rollBackToEmbedded directive is signed with. */
  expoSigning?: ExpoSignerOptions;
  now?: Date;
}

interface PromoteBody {
  version: string;
  percent_bp?: number;
  plan?: Plan | 'default';
  critical?: true;
  standby_yank?: string;
  standby_expo_directive_signature?: string;
  expected_revision?: number;
}

/**
 * The standby yank of `version` (docs/protocol.md §6), signed now with the release key: `rollback_to` the
 * given version, else the channel's baseline (its highest complete, not yanked release below
 * `version`, as the scheduler chooses it), null when it has none. Kept sealed by the Worker.
 */
export async function signStandbyYank(opts: {
  client: ApiClient;
  keysDir: string;
  app: string;
  channel: string;
  version: string;
  rollbackTo?: string | null;
  now?: Date;
}): Promise<{ jws: string; rollback_to: string | null; yanked_at: string }> {
  const { app, channel, version } = opts;
  let rollbackTo = opts.rollbackTo;
  if (rollbackTo === undefined) {
    const status = await opts.client.get<StatusView>(`/v1/admin/apps/${seg(app)}/status`);
    const view = status.channels.find((ch) => ch.name === channel);
    if (!view) throw new UserError(`app ${app} has no channel named ${channel}`);
    const yanked = new Set(view.yanked.map((y) => y.version));
    const releases = view.rollouts.map((r) => ({ ...r, yanked: yanked.has(r.version) }));
    rollbackTo = baselineOf(releases, version) ?? null;
  } else if (rollbackTo !== null) {
    parseVersion(rollbackTo, '--rollback-to');
  }
  const releaseKey = await readPrivateKey(opts.keysDir, 'release');
  const reason = `automatic rollback: a gate of the staged rollout on ${channel} was clearly breached`;
  const yankedAt = rfc3339(opts.now ?? new Date());
  const payload = { app, version, reason, rollback_to: rollbackTo, yanked_at: yankedAt };
  return {
    jws: await signDocument('yank', payload, releaseKey),
    rollback_to: rollbackTo,
    yanked_at: yankedAt,
  };
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
  if (
    opts.rollbackTo !== undefined &&
    (typeof opts.plan !== 'object' || opts.plan.on_breach !== 'rollback')
  ) {
    throw new UserError('--rollback-to needs --on-breach rollback');
  }
  const rollsBack = typeof opts.plan === 'object' && opts.plan.on_breach === 'rollback';
  if (opts.expoSigning !== undefined && !rollsBack) {
    throw new UserError(
      '--expo-private-key signs the directive of a standby yank: it needs --on-breach rollback',
    );
  }
  // Read before anything is signed or sent: a bad key is one line and nothing happened.
  const expoSigner = opts.expoSigning
    ? await readExpoSigner({ ...opts.expoSigning, now: opts.now ?? new Date() })
    : undefined;
  if (opts.plan !== undefined) {
    body.plan = opts.plan;
    if (typeof opts.plan === 'object' && opts.plan.on_breach === 'rollback') {
      if (opts.keysDir === undefined) throw new UserError('--on-breach rollback needs the release key');
      const standby = await signStandbyYank({ ...opts, app, channel, version, keysDir: opts.keysDir });
      body.standby_yank = standby.jws;
      // The directive's bytes are fixed by the standby's yanked_at, as for `yank --expo-private-key`.
      if (expoSigner) {
        body.standby_expo_directive_signature = signExpo(
          rollBackToEmbeddedDirective(standby.yanked_at),
          expoSigner,
        );
      }
    }
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
  usage:
    '<app> <version> --channel <name> [--percent <n> | --plan <steps>|default [gates] [--on-breach halt|rollback [--rollback-to <v>]] | --critical]',
  options: {
    channel: { type: 'string' },
    percent: { type: 'string' },
    plan: { type: 'string' },
    ...GATE_OPTIONS,
    'on-breach': { type: 'string' },
    'rollback-to': { type: 'string' },
    'expo-private-key': { type: 'string' },
    'expo-keyid': { type: 'string' },
    'expo-certificate': { type: 'string' },
    critical: { type: 'boolean' },
    'expected-revision': { type: 'string' },
  },
  help: [
    '--channel <name>            the channel (required)',
    "--percent <n>               share of the channel's clients, 0-100 in steps of 0.01 (default 100)",
    '--plan <steps>|default      a staged plan: percentages such as 1,5,25,50,100 (ending at 100), or',
    "                            default for the app's default plan (`updraft app settings`)",
    ...GATE_HELP,
    '--on-breach halt|rollback   what a clear gate breach does (default halt); rollback also yanks the',
    '                            release with a standby yank signed now with the release key',
    "--rollback-to <v>|none      with --on-breach rollback: where its clients go (default: the channel's",
    '                            baseline, its highest complete, not yanked release below <version>)',
    '--expo-private-key <pem>    with --on-breach rollback, an Expo app with code signing: also sign the',
    '                            rollBackToEmbedded directive sent with the standby yank (env',
    '                            UPDRAFT_EXPO_PRIVATE_KEY; --expo-keyid, --expo-certificate as for yank)',
    '--critical                  skip any plan and go to 100 % at once (only a release signed critical)',
    '--expected-revision <n>     refuse (409) if the channel changed since revision n',
  ],
  async run(inv) {
    const app = arg(inv.positionals, 0);
    const version = arg(inv.positionals, 1);
    const percent = str(inv.values, 'percent');
    const flagsPlan = planFromFlags(inv.values, 'plan', true);
    const onBreach = parseOnBreach(inv.values, flagsPlan);
    const plan =
      onBreach && typeof flagsPlan === 'object' ? { ...flagsPlan, on_breach: onBreach } : flagsPlan;
    const rollbackTo = str(inv.values, 'rollback-to');
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
      rollbackTo: rollbackTo === undefined ? undefined : rollbackTo === 'none' ? null : rollbackTo,
      keysDir: inv.config.keysDir,
      expoSigning: promoteExpoSigning(inv.values, inv.env, plan),
    });
    if (inv.config.json) return inv.printJson(view);
    const mode = plan !== undefined ? 'plan' : critical ? 'critical' : 'percent';
    inv.print(`${promoteSummary(app, version, view, mode)}\n${describeChannel(view)}`);
  },
};

/**
 * The Expo signing key of a promote: `--expo-private-key` (or its environment default) with a plan
 * that rolls back. The environment default alone is left unused by other promotes, so a shell set up
 * for an Expo app can still promote by percentage; the flag given outright is refused there.
 */
function promoteExpoSigning(
  values: Values,
  env: NodeJS.ProcessEnv,
  plan: Plan | 'default' | undefined,
): ExpoSignerOptions | undefined {
  const signing = expoSigningFlags(values, env);
  const rollsBack = typeof plan === 'object' && plan.on_breach === 'rollback';
  if (!rollsBack && str(values, 'expo-private-key') === undefined) return undefined;
  return signing;
}
