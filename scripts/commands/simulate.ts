/**
 * `updraft simulate <app> --clients N [--rounds R] [--failure-rate 1.1.0=0.2] …`: a fleet of virtual
 * clients, each a real SDK updater, checking, downloading, installing and reporting against the
 * server in rounds (scripts/lib/fleet.ts); with --crash-rate they also run sessions, one hour of their
 * clock per round. Deterministic from --seed. Prints where the fleet ended up, the sessions and
 * crashes, the events the intake accepted, the refusals by code and the checks per second.
 */

import { ARCHES, PLATFORMS } from '../../src/protocol/documents.ts';
import { formatDuration, formatFraction } from '../../src/protocol/format.ts';
import { arg, type Command, flag, list, requireStr, str, type Values } from '../lib/command.ts';
import { UserError } from '../lib/errors.ts';
import { type FleetSummary, type RoundReport, type SimulateResult, simulateFleet } from '../lib/fleet.ts';
import {
  MAX_SESSION_ROUNDS,
  MIX_TARGETS,
  parseCount,
  parseRates,
  parseSeed,
  SESSIONS_PER_ROUND,
  type Target,
} from '../lib/fleet-model.ts';
import { readPinnedRootKeys } from '../lib/keys-folder.ts';
import { parseName, parseVersion } from '../lib/parse.ts';
import { formatTable } from '../lib/table.ts';

export const MAX_CLIENTS = 1_000_000;

export interface SimulateCommandOptions {
  server: string;
  app: string;
  clients: number;
  channel?: string;
  targets?: readonly Target[];
  fromVersion?: string;
  rounds?: number;
  concurrency?: number;
  failureRates?: ReadonlyMap<string, number>;
  rollbackRates?: ReadonlyMap<string, number>;
  /** Version → chance that a session crashes; makes each round an hour of the clients' clock. */
  crashRates?: ReadonlyMap<string, number>;
  seed?: number;
  /** A keys folder, a keys-N.jws or a JWK file: the root keys every client pins. */
  rootKeys: string;
  reportChecks?: boolean;
  /** Default true: each client keeps a private HTTP cache, as browsers do. */
  httpCache?: boolean;
  /** After each round (progress on stderr). */
  onRound?: (report: RoundReport) => void;
}

export async function simulate(opts: SimulateCommandOptions): Promise<SimulateResult> {
  const app = parseName(opts.app, 'app name');
  const channel = opts.channel === undefined ? undefined : parseName(opts.channel, '--channel');
  if ((opts.crashRates?.size ?? 0) > 0 && (opts.rounds ?? 1) > MAX_SESSION_ROUNDS) {
    throw new UserError(
      `--crash-rate makes each round an hour of the clients' clock, and the server takes reports at most 24 h ahead: --rounds must be at most ${MAX_SESSION_ROUNDS}, got ${opts.rounds}`,
    );
  }
  let rootKeys: Awaited<ReturnType<typeof readPinnedRootKeys>>;
  try {
    rootKeys = await readPinnedRootKeys(opts.rootKeys);
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    throw new UserError(`${error.message} (--root-keys: a keys folder, a keys-N.jws or a root JWK)`);
  }
  try {
    return await simulateFleet({
      server: opts.server,
      app,
      channel,
      clients: opts.clients,
      targets: opts.targets,
      fromVersion:
        opts.fromVersion === undefined ? undefined : parseVersion(opts.fromVersion, '--from-version'),
      rounds: opts.rounds,
      concurrency: opts.concurrency,
      failureRates: opts.failureRates,
      rollbackRates: opts.rollbackRates,
      crashRates: opts.crashRates,
      seed: opts.seed,
      rootKeys,
      reportChecks: opts.reportChecks,
      httpCache: opts.httpCache,
      afterRound: opts.onRound,
    });
  } catch (error) {
    // The SDK's own refusal of its options (a plain-HTTP server that is not this machine, …).
    if (error instanceof TypeError && error.message.startsWith('createUpdater:')) {
      throw new UserError(error.message.replace(/^createUpdater: /, ''));
    }
    throw error;
  }
}

/** `--platform`/`--arch` (default linux-x64), or `--mix` over MIX_TARGETS. */
export function targetsFromFlags(values: Values): readonly Target[] {
  const platformText = str(values, 'platform');
  const archText = str(values, 'arch');
  if (flag(values, 'mix')) {
    if (platformText !== undefined || archText !== undefined) {
      throw new UserError(
        '--mix spreads clients over every platform and arch: leave out --platform and --arch',
      );
    }
    return MIX_TARGETS;
  }
  const platform = PLATFORMS.find((p) => p === (platformText ?? 'linux'));
  const arch = ARCHES.find((a) => a === (archText ?? 'x64'));
  if (!platform)
    throw new UserError(`--platform must be one of ${PLATFORMS.join(', ')}, got "${platformText}"`);
  if (!arch) throw new UserError(`--arch must be one of ${ARCHES.join(', ')}, got "${archText}"`);
  return [{ platform, arch }];
}

/** One line of progress per round, on stderr. */
export function describeRound(report: RoundReport, rounds: number): string {
  const c = report.counts;
  const parts = [
    `${report.checks} checks`,
    `${c.installed} installed`,
    c.rolled_back > 0 && `${c.rolled_back} rolled back`,
    c.install_failed > 0 && `${c.install_failed} failed to install`,
    c.download_failed > 0 && `${c.download_failed} failed to download`,
    c.self_rollback > 0 && `${c.self_rollback} rolled back on their own`,
    c.declined > 0 && `${c.declined} declined a version they had left`,
    c.refused > 0 && `${c.refused} refused`,
  ].filter((p) => p !== false);
  return `round ${report.round}/${rounds}: ${parts.join(', ')} in ${formatDuration(report.elapsedMs)}`;
}

/** The summary people read. */
export function describeSimulation(summary: FleetSummary, rounds: readonly RoundReport[]): string {
  const channel = summary.channel === null ? "the app's default channel" : `channel ${summary.channel}`;
  const header = `Simulated ${summary.clients} clients of ${summary.app} on ${channel} (seed ${summary.seed}): ${summary.rounds} round${summary.rounds === 1 ? '' : 's'} in ${formatDuration(summary.elapsed_ms)}`;
  const roundTable = formatTable(
    [
      'round',
      'checks',
      'installed',
      'rolled back',
      'install failed',
      'download failed',
      'self rollback',
      'refused',
      'time',
    ],
    rounds.map((r) => [
      r.round,
      r.checks,
      r.counts.installed,
      r.counts.rolled_back,
      r.counts.install_failed,
      r.counts.download_failed,
      r.counts.self_rollback,
      r.counts.refused,
      formatDuration(r.elapsedMs),
    ]),
  );
  const versionTable = formatTable(
    ['version', 'clients', 'share'],
    Object.entries(summary.versions).map(([version, n]) => [version, n, formatFraction(n / summary.clients)]),
  );
  const e = summary.events;
  const refusals = Object.entries(summary.refusals);
  return [
    header,
    '',
    roundTable,
    '',
    'Fleet versions',
    versionTable,
    '',
    ...describeSessions(summary),
    `Events: ${e.sent} sent, ${e.accepted} accepted, ${e.duplicates} duplicates, ${e.rejected} rejected, ${e.failed_requests} requests not accepted (retried by the SDK)`,
    refusals.length === 0
      ? 'Refusals: none'
      : `Refusals (UpdraftError codes):\n${formatTable(['code', 'count'], refusals)}`,
    `Checks: ${summary.checks} at ${summary.checks_per_second}/s`,
  ].join('\n');
}

/** The sessions table of a run with crash rates (nothing without). */
function describeSessions(summary: FleetSummary): string[] {
  if (!summary.sessions || !summary.session_hours) return [];
  const rows = Object.entries(summary.sessions).map(([version, c]) => [
    version,
    c.sessions,
    c.crashed,
    formatFraction(c.sessions > 0 ? c.crashed / c.sessions : 0),
  ]);
  const { from, to } = summary.session_hours;
  return [
    `Sessions (clients' clock ${from} to ${to}, one hour a round)`,
    formatTable(['version', 'sessions', 'crashed', 'crash rate'], rows),
    '',
  ];
}

export const command: Command = {
  name: 'simulate',
  summary: 'run a fleet of virtual clients (the real SDK) against the server',
  args: ['<app>'],
  usage: '<app> --clients <n> [--rounds <r>] [--failure-rate <v>=<rate>] [--seed <n>] [options]',
  options: {
    clients: { type: 'string' },
    channel: { type: 'string' },
    platform: { type: 'string' },
    arch: { type: 'string' },
    mix: { type: 'boolean' },
    'from-version': { type: 'string' },
    rounds: { type: 'string' },
    concurrency: { type: 'string' },
    'failure-rate': { type: 'string', multiple: true },
    'rollback-rate': { type: 'string', multiple: true },
    'crash-rate': { type: 'string', multiple: true },
    seed: { type: 'string' },
    'root-keys': { type: 'string' },
    'report-checks': { type: 'boolean' },
    'no-http-cache': { type: 'boolean' },
  },
  help: [
    '--clients <n>                 virtual clients, IDs sim-<seed>-0 … sim-<seed>-<n-1> (required)',
    "--channel <name>              the channel they ask for (default: the app's default channel)",
    '--platform <p> --arch <a>     what they run on (default linux x64), or',
    '--mix                         spread them over linux, darwin and windows on x64 and arm64',
    '--from-version <v>            the version they start on (default 1.0.0)',
    '--rounds <r>                  check → download → install → report rounds (default 1)',
    '--concurrency <n>             clients playing at once (default 50)',
    '--failure-rate <v>=<rate>,…   chance that installing v fails: 1.1.0=0.2 or 1.1.0=20% (repeatable)',
    '--rollback-rate <v>=<rate>,…  chance that a client that installed v rolls back on its own next round',
    `--crash-rate <v>=<rate>,…     chance that a session on v crashes: each client then runs ${SESSIONS_PER_ROUND} sessions`,
    "                              a round, reported by the SDK, and a round is an hour of the clients'",
    `                              clock from the next whole hour (at most ${MAX_SESSION_ROUNDS} rounds)`,
    '--seed <n>                    fixes client IDs and every chance drawn (default 1): runs are reproducible',
    '--root-keys <path>            the pinned root keys: a keys folder (its keys-1.jws), a keys-N.jws or a',
    '                              JWK (default: --keys)',
    '--report-checks               also report a check event per check (adoption counts them)',
    '--no-http-cache               no private HTTP cache per client (by default /v1/keys, max-age 60 s,',
    '                              is asked once a minute per client, as a browser would)',
    'Sends real telemetry to --server; needs no token. --json prints the summary as JSON.',
  ],
  async run(inv) {
    const rounds = parseCount(str(inv.values, 'rounds') ?? '1', '--rounds', 1000);
    const result = await simulate({
      server: inv.config.server,
      app: arg(inv.positionals, 0),
      clients: parseCount(requireStr(inv.values, 'clients', '<n>'), '--clients', MAX_CLIENTS),
      channel: str(inv.values, 'channel'),
      targets: targetsFromFlags(inv.values),
      fromVersion: str(inv.values, 'from-version'),
      rounds,
      concurrency: parseCount(str(inv.values, 'concurrency') ?? '50', '--concurrency', 1000),
      failureRates: parseRates(list(inv.values, 'failure-rate'), '--failure-rate'),
      rollbackRates: parseRates(list(inv.values, 'rollback-rate'), '--rollback-rate'),
      crashRates: parseRates(list(inv.values, 'crash-rate'), '--crash-rate'),
      seed: parseSeed(str(inv.values, 'seed') ?? '1'),
      rootKeys: str(inv.values, 'root-keys') ?? inv.config.keysDir,
      reportChecks: flag(inv.values, 'report-checks'),
      httpCache: !flag(inv.values, 'no-http-cache'),
      onRound: (report) => inv.reporter.info(describeRound(report, rounds)),
    });
    if (inv.config.json) {
      return inv.printJson({
        ...result.summary,
        round_reports: result.rounds.map((r) => ({
          round: r.round,
          checks: r.checks,
          elapsed_ms: r.elapsedMs,
          ...r.counts,
        })),
      });
    }
    inv.print(describeSimulation(result.summary, result.rounds));
  },
};
