/**
 * A simulated fleet: N virtual clients, each a real SDK updater (src/client) with its own
 * MemoryStorage, that check, download (verifying), install and report like an app would, in rounds,
 * with bounded concurrency. What fails and what rolls back is drawn from the seed (fleet-model.ts),
 * so a run is reproducible. `updraft simulate` prints its summary; tests and benchmarks call
 * `simulateFleet` (or `createFleet` and `runRound`) and read the state.
 */
import semverRcompare from 'semver/functions/rcompare.js';
import { createUpdater, type Updater } from '../../src/client/index.ts';
import { MemoryStorage } from '../../src/client/memory-storage.ts';
import type { PublicJwk } from '../../src/protocol/documents.ts';
import { HOUR_MS } from '../../src/protocol/telemetry.ts';
import {
  type ClientRound,
  OUTCOMES,
  type Outcome,
  type Player,
  playClient,
  type SimClient,
  type SimClock,
} from './fleet-client.ts';
import { countingFetch, type EventCounts, privateCache } from './fleet-fetch.ts';
import { firstSessionHour, simClientId, type Target } from './fleet-model.ts';

export type { ClientRound, Outcome, SimClient } from './fleet-client.ts';
export { OUTCOMES } from './fleet-client.ts';

export interface FleetOptions {
  /** Base URL of the Worker. */
  server: string;
  app: string;
  /** The channel clients ask for; undefined lets the server choose (the app's default channel). */
  channel?: string;
  clients: number;
  /** Client i runs on targets[i % targets.length] (default linux-x64; fleet-model's MIX_TARGETS for a mix). */
  targets?: readonly Target[];
  /** The version every client starts on (default 1.0.0). */
  fromVersion?: string;
  /** Fixes the client IDs (`sim-<seed>-<i>`) and every draw (default 1). */
  seed?: number;
  /** The pinned root public keys. */
  rootKeys: PublicJwk[];
  /** Clients playing a round at once (default 50). */
  concurrency?: number;
  /** Version → probability that installing it fails. */
  failureRates?: ReadonlyMap<string, number>;
  /** Version → probability that a client that installed it rolls back on its own in the next round. */
  rollbackRates?: ReadonlyMap<string, number>;
  /**
   * Version → probability that a session crashes. Given (non-empty), every client runs sessions each
   * round through the SDK's sessions API, and each round is one hour of the clients' own clock from
   * the next whole hour (fleet-client.ts), so the SDK reports them as `session` events.
   */
  crashRates?: ReadonlyMap<string, number>;
  /** Also report a `check` event per check (adoption counts active clients from them). Default false. */
  reportChecks?: boolean;
  /** Give each client a private HTTP cache, as browsers have (default true; see fleet-fetch.ts). */
  httpCache?: boolean;
  fetch?: typeof fetch;
}

export interface RoundReport {
  round: number;
  /** One entry per client, in fleet order. */
  clients: ClientRound[];
  counts: Record<Outcome, number>;
  checks: number;
  elapsedMs: number;
}

export interface FleetSummary {
  app: string;
  channel: string | null;
  seed: number;
  clients: number;
  rounds: number;
  /** Version → clients on it, highest version first. */
  versions: Record<string, number>;
  outcomes: Record<Outcome, number>;
  events: EventCounts;
  /** UpdraftError code → count, over checks, downloads and flushes. */
  refusals: Record<string, number>;
  checks: number;
  elapsed_ms: number;
  checks_per_second: number;
  /** With crash rates: version → the sessions the clients ran on it and how many crashed. */
  sessions?: Record<string, { sessions: number; crashed: number }>;
  /** With crash rates: the hours the clients' clock covered, [from, to). */
  session_hours?: { from: string; to: string };
}

export interface Fleet {
  readonly clients: readonly SimClient[];
  /** Plays the next round for every client; resolves when all have flushed their events. */
  runRound(): Promise<RoundReport>;
  summary(): FleetSummary;
  /**
   * The clients' clock after the rounds played so far: with crash rates, the end of the last round's
   * hour (judge the rollout at or after it to see every session); otherwise the real time.
   */
  now(): Date;
}

export interface SimulateOptions extends FleetOptions {
  /** Default 1. */
  rounds?: number;
  /** Before round `round` (1-based) starts: promote, yank, wait for the edge… */
  beforeRound?(round: number, fleet: Fleet): Promise<void> | void;
  afterRound?(report: RoundReport, fleet: Fleet): Promise<void> | void;
}

export interface SimulateResult {
  summary: FleetSummary;
  rounds: RoundReport[];
  clients: readonly SimClient[];
}

/** Runs `rounds` rounds of a fresh fleet and returns what every client ended on. */
export async function simulateFleet(options: SimulateOptions): Promise<SimulateResult> {
  const fleet = createFleet(options);
  const rounds: RoundReport[] = [];
  for (let round = 1; round <= (options.rounds ?? 1); round++) {
    await options.beforeRound?.(round, fleet);
    const report = await fleet.runRound();
    rounds.push(report);
    await options.afterRound?.(report, fleet);
  }
  return { summary: fleet.summary(), rounds, clients: fleet.clients };
}

const DEFAULT_TARGET: Target = { platform: 'linux', arch: 'x64' };

export function createFleet(options: FleetOptions): Fleet {
  const seed = options.seed ?? 1;
  const targets = options.targets?.length ? options.targets : [DEFAULT_TARGET];
  const events: EventCounts = { sent: 0, accepted: 0, duplicates: 0, rejected: 0, failed_requests: 0 };
  const fetcher = countingFetch(
    options.fetch ?? globalThis.fetch,
    `${options.server.replace(/\/+$/, '')}/`,
    events,
  );
  const refusals = new Map<string, number>();
  const refuse = (code: string) => refusals.set(code, (refusals.get(code) ?? 0) + 1);
  const totals = countOutcomes([]);
  let rounds = 0;
  let checks = 0;
  let elapsedMs = 0;

  const crashRates = options.crashRates ?? new Map<string, number>();
  const firstHour = crashRates.size > 0 ? firstSessionHour(Date.now()) : undefined;
  const sessionCounts = new Map<string, { sessions: number; crashed: number }>();

  const members: { client: SimClient; updater: Updater; clock?: SimClock }[] = [];
  for (let i = 0; i < options.clients; i++) {
    const target = targets[i % targets.length] ?? DEFAULT_TARGET;
    const client: SimClient = {
      id: simClientId(seed, i),
      ...target,
      version: options.fromVersion ?? '1.0.0',
      skipped: new Set(),
    };
    const clock = firstHour === undefined ? undefined : { at: firstHour };
    const updater = createUpdater({
      server: options.server,
      app: options.app,
      channel: options.channel,
      rootKeys: options.rootKeys,
      storage: new MemoryStorage(),
      platform: client.platform,
      arch: client.arch,
      currentVersion: client.version,
      clientId: client.id,
      // The server's choice is verifiable (docs/protocol.md §2): a simulator should notice when it is wrong.
      verifyBucket: true,
      fetch: options.httpCache === false ? fetcher : privateCache(fetcher),
      ...(clock && { now: () => new Date(clock.at) }),
    });
    members.push({ client, updater, clock });
  }
  const clients = members.map((m) => m.client);

  const play: Player = {
    seed,
    failureRates: options.failureRates ?? new Map(),
    rollbackRates: options.rollbackRates ?? new Map(),
    reportChecks: options.reportChecks === true,
    ...(firstHour !== undefined && { sessions: { crashRates, firstHour } }),
    refuse,
    checked: () => {
      checks++;
    },
    session: (version, crashed) => {
      const counts = sessionCounts.get(version) ?? { sessions: 0, crashed: 0 };
      counts.sessions++;
      if (crashed) counts.crashed++;
      sessionCounts.set(version, counts);
    },
  };

  return {
    clients,
    async runRound() {
      const round = ++rounds;
      const checksBefore = checks;
      const started = performance.now();
      const results = await mapLimit(members, options.concurrency ?? 50, ({ client, updater, clock }) =>
        playClient(play, client, updater, round, clock),
      );
      const report: RoundReport = {
        round,
        clients: results,
        counts: countOutcomes(results),
        checks: checks - checksBefore,
        elapsedMs: Math.round(performance.now() - started),
      };
      elapsedMs += report.elapsedMs;
      for (const outcome of OUTCOMES) totals[outcome] += report.counts[outcome];
      return report;
    },
    summary: () => ({
      app: options.app,
      channel: options.channel ?? null,
      seed,
      clients: clients.length,
      rounds,
      versions: versionCounts(clients),
      outcomes: { ...totals },
      events: { ...events },
      refusals: Object.fromEntries([...refusals].sort(([a], [b]) => a.localeCompare(b))),
      checks,
      elapsed_ms: elapsedMs,
      checks_per_second: elapsedMs > 0 ? Math.round((checks / elapsedMs) * 1000) : 0,
      ...(firstHour !== undefined && {
        sessions: Object.fromEntries(
          [...sessionCounts].sort(([a], [b]) => semverRcompare(a, b)).map(([v, c]) => [v, { ...c }]),
        ),
        session_hours: {
          from: new Date(firstHour).toISOString(),
          to: new Date(firstHour + rounds * HOUR_MS).toISOString(),
        },
      }),
    }),
    now: () => (firstHour === undefined ? new Date() : new Date(firstHour + rounds * HOUR_MS)),
  };
}

function countOutcomes(results: readonly ClientRound[]): Record<Outcome, number> {
  const counts: Record<Outcome, number> = {
    current: 0,
    installed: 0,
    rolled_back: 0,
    install_failed: 0,
    download_failed: 0,
    refused: 0,
    declined: 0,
    self_rollback: 0,
  };
  for (const result of results) counts[result.outcome]++;
  return counts;
}

/** Version → clients, highest version first. */
export function versionCounts(clients: readonly Pick<SimClient, 'version'>[]): Record<string, number> {
  const counts = new Map<string, number>();
  for (const client of clients) counts.set(client.version, (counts.get(client.version) ?? 0) + 1);
  return Object.fromEntries([...counts].sort(([a], [b]) => semverRcompare(a, b)));
}

/** `fn` over `items` with at most `limit` running at once; results in item order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  // One iterator shared by the workers: each takes the next item when it is free.
  const queue = items.entries();
  const worker = async () => {
    for (const [index, item] of queue) results[index] = await fn(item, index);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
