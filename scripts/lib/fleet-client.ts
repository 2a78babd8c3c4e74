/**
 * One virtual client of a simulated fleet (fleet.ts) playing one round through its SDK updater:
 * a rollback it decided on earlier, or check → download (verifying) → install, with the chances
 * drawn from the seed; then it flushes its telemetry.
 */
import { type CheckResult, type ReportInput, type Updater, UpdraftError } from '../../src/client/index.ts';
import { HOUR_MS } from '../../src/protocol/telemetry.ts';
import { draw, INSTALL_ERRORS, SELF_ROLLBACK_ERROR, SESSIONS_PER_ROUND, type Target } from './fleet-model.ts';

/** What one client did in a round. */
export type Outcome =
  | 'current' // check answered none
  | 'declined' // offered a version it rolled back from on its own
  | 'installed' // installed an update
  | 'rolled_back' // installed the rollback a yank ordered
  | 'install_failed'
  | 'download_failed'
  | 'refused' // check threw (an UpdraftError or anything else)
  | 'self_rollback'; // went back on its own (no check this round)

export const OUTCOMES: readonly Outcome[] = [
  'current',
  'installed',
  'rolled_back',
  'install_failed',
  'download_failed',
  'refused',
  'declined',
  'self_rollback',
];

export interface ClientRound {
  outcome: Outcome;
  /** The version it ran when the round started. */
  from: string;
  /** The version it was offered (or rolled back to on its own). */
  to?: string;
  /** The UpdraftError code (or `install_failed`'s error code). */
  code?: string;
}

export interface SimClient {
  readonly id: string;
  readonly platform: Target['platform'];
  readonly arch: Target['arch'];
  version: string;
  /** Versions it rolled back from on its own: it declines them from then on. */
  readonly skipped: Set<string>;
  /** A rollback decided when it installed, played in a later round. */
  pendingRollback?: { from: string; to: string; decidedIn: number };
}

/** What every client of a fleet shares: the seed, the chances, and the fleet's counters. */
export interface Player {
  seed: number;
  failureRates: ReadonlyMap<string, number>;
  rollbackRates: ReadonlyMap<string, number>;
  reportChecks: boolean;
  /**
   * With crash rates (version → chance that a session crashes): the hour the clients' clock starts
   * at; round r is the hour starting r - 1 hours after it.
   */
  sessions?: { crashRates: ReadonlyMap<string, number>; firstHour: number };
  refuse(code: string): void;
  checked(): void;
  /** A session ended on `version`, crashed or not. */
  session(version: string, crashed: boolean): void;
}

/** A client's own clock (its updater's `now`), moved by the rounds when the fleet runs sessions. */
export interface SimClock {
  at: number;
}

/**
 * One client's round: a pending rollback, or check → download → install; with crash rates, then the
 * round's sessions on the version it runs, half an hour into the round's hour, and the clock moved
 * to the hour's end so the flush reports them (the SDK reports finished hours only); then flush.
 */
export async function playClient(
  play: Player,
  client: SimClient,
  updater: Updater,
  round: number,
  clock?: SimClock,
): Promise<ClientRound> {
  const hour = play.sessions && clock ? play.sessions.firstHour + (round - 1) * HOUR_MS : undefined;
  if (clock && hour !== undefined) clock.at = hour + HOUR_MS / 2;
  try {
    return await playTurn(play, client, updater, round);
  } finally {
    if (clock && hour !== undefined) {
      await playSessions(play, client, updater, round);
      clock.at = hour + HOUR_MS;
    }
    try {
      await updater.flush();
    } catch (error) {
      play.refuse(codeOf(error));
    }
  }
}

async function playTurn(
  play: Player,
  client: SimClient,
  updater: Updater,
  round: number,
): Promise<ClientRound> {
  const from = client.version;
  const report = (event: ReportInput) => updater.report(event);
  const pending = client.pendingRollback;
  if (pending && pending.decidedIn < round) {
    const [error_code, error_message] = SELF_ROLLBACK_ERROR;
    client.pendingRollback = undefined;
    client.skipped.add(pending.from);
    move(client, updater, pending.to);
    await report({
      type: 'rollback',
      from_version: pending.from,
      to_version: pending.to,
      error_code,
      error_message,
    });
    return { outcome: 'self_rollback', from, to: pending.to };
  }

  let result: CheckResult;
  try {
    result = await updater.check();
  } catch (error) {
    play.refuse(codeOf(error));
    return { outcome: 'refused', from, code: codeOf(error) };
  } finally {
    play.checked();
  }
  if (play.reportChecks) await report({ type: 'check', from_version: from });
  if (result.status === 'none') return { outcome: 'current', from };
  const to = result.version;
  if (result.status === 'update' && client.skipped.has(to)) return { outcome: 'declined', from, to };

  await report({ type: 'download_started', from_version: from, to_version: to });
  const started = performance.now();
  try {
    await updater.download(result);
  } catch (error) {
    const code = codeOf(error);
    play.refuse(code);
    const error_message = (error instanceof Error ? error.message : String(error)).slice(0, 256);
    const duration_ms = Math.round(performance.now() - started);
    await report({
      type: 'download_failed',
      from_version: from,
      to_version: to,
      error_code: code,
      error_message,
      duration_ms,
    });
    return { outcome: 'download_failed', from, to, code };
  }
  await report({
    type: 'download_succeeded',
    from_version: from,
    to_version: to,
    duration_ms: Math.round(performance.now() - started),
  });

  // Installing takes 0.5–5 s of simulated time, reported rather than waited for.
  const duration_ms = 500 + Math.floor(draw(play.seed, client.id, round, 'duration') * 4500);
  if (draw(play.seed, client.id, round, 'install') < (play.failureRates.get(to) ?? 0)) {
    const pick = Math.floor(draw(play.seed, client.id, round, 'error') * INSTALL_ERRORS.length);
    const [error_code, error_message] = INSTALL_ERRORS[pick] ?? ['install_failed', 'install failed'];
    await report({
      type: 'install_failed',
      from_version: from,
      to_version: to,
      error_code,
      error_message,
      duration_ms,
    });
    return { outcome: 'install_failed', from, to, code: error_code };
  }
  move(client, updater, to);
  client.pendingRollback = undefined;
  if (result.status === 'rollback') {
    await report({ type: 'rollback', from_version: from, to_version: to, duration_ms });
    return { outcome: 'rolled_back', from, to };
  }
  await report({ type: 'install_succeeded', from_version: from, to_version: to, duration_ms });
  if (draw(play.seed, client.id, round, 'rollback') < (play.rollbackRates.get(to) ?? 0)) {
    client.pendingRollback = { from: to, to: from, decidedIn: round };
  }
  return { outcome: 'installed', from, to };
}

async function playSessions(play: Player, client: SimClient, updater: Updater, round: number) {
  const rate = play.sessions?.crashRates.get(client.version) ?? 0;
  for (let i = 0; i < SESSIONS_PER_ROUND; i++) {
    await updater.sessions.start();
    const crashed = draw(play.seed, client.id, round, `session-${i}`) < rate;
    await (crashed ? updater.sessions.markCrashed() : updater.sessions.end());
    play.session(client.version, crashed);
  }
}

function move(client: SimClient, updater: Updater, version: string): void {
  client.version = version;
  updater.setCurrentVersion(version);
}

function codeOf(error: unknown): string {
  return error instanceof UpdraftError ? error.code : 'unexpected';
}
