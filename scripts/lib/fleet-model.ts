/**
 * The deterministic parts of a simulated fleet (`updraft simulate`, scripts/lib/fleet.ts): client
 * IDs and targets from the index, and every chance (install failures, rollbacks) drawn from the
 * seed, the client and the round, so one seed always tells the same story and tests can predict it.
 */
import { createHash } from 'node:crypto';
import type { Arch, Platform } from '../../src/protocol/documents.ts';
import { PlanInputError, parseRate } from '../../src/protocol/plan.ts';
import { HOUR_MS } from '../../src/protocol/telemetry.ts';
import { UserError } from './errors.ts';
import { parseVersion } from './parse.ts';

export interface Target {
  platform: Platform;
  arch: Arch;
}

/** What `--mix` spreads the fleet over, one client after the other. */
export const MIX_TARGETS: readonly Target[] = [
  { platform: 'linux', arch: 'x64' },
  { platform: 'linux', arch: 'arm64' },
  { platform: 'darwin', arch: 'x64' },
  { platform: 'darwin', arch: 'arm64' },
  { platform: 'windows', arch: 'x64' },
  { platform: 'windows', arch: 'arm64' },
];

/** The `error_code`s a failed install reports, with the message an app would attach. */
export const INSTALL_ERRORS: readonly (readonly [code: string, message: string])[] = [
  ['disk_full', 'not enough free space to unpack the update'],
  ['file_locked', 'the application is still running'],
  ['migration_failed', 'settings migration to the new version failed'],
];

/** Why a client rolls back on its own. */
export const SELF_ROLLBACK_ERROR = ['crash_on_start', 'crashed twice within a minute of starting'] as const;

/** What a draw decides; each purpose gets its own independent stream (`session-<i>`: whether a round's i-th session crashes). */
export type DrawPurpose = 'install' | 'rollback' | 'error' | 'duration' | `session-${number}`;

/** Sessions each client runs per round when the fleet has crash rates (`--crash-rate`). */
export const SESSIONS_PER_ROUND = 3;

/**
 * With crash rates, a round is one hour of the clients' clock, starting at the next whole hour; the
 * intake takes reports at most 24 h ahead of its clock, so a run with sessions has at most 22 rounds.
 */
export const MAX_SESSION_ROUNDS = 22;

/** The hour the clients' clock starts at: the next whole UTC hour after `now`, after any step begun before it. */
export function firstSessionHour(now: number): number {
  return Math.floor(now / HOUR_MS) * HOUR_MS + HOUR_MS;
}

/** Client `index` (0-based) of the fleet with `seed`: `sim-<seed>-<index>`. */
export function simClientId(seed: number, index: number): string {
  return `sim-${seed}-${index}`;
}

/**
 * A number in [0, 1) fixed by the seed, the client, the round and the purpose: the first 6 bytes
 * of SHA-256 of `seed:client:round:purpose`. A fleet run twice with one seed draws the same numbers.
 */
export function draw(seed: number, clientId: string, round: number, purpose: DrawPurpose): number {
  const digest = createHash('sha256').update(`${seed}:${clientId}:${round}:${purpose}`).digest();
  return digest.readUIntBE(0, 6) / 2 ** 48;
}

/** `--seed`: a whole number from 0 to 2^32 - 1 (it is part of every client ID). */
export function parseSeed(text: string): number {
  const seed = /^\d{1,10}$/.test(text) ? Number(text) : Number.NaN;
  if (!(seed >= 0 && seed <= 0xffff_ffff)) {
    throw new UserError(`--seed must be a whole number from 0 to 4294967295, got "${text}"`);
  }
  return seed;
}

/** A positive whole number option (`--clients`, `--rounds`, `--concurrency`) up to `max`. */
export function parseCount(text: string, option: string, max: number): number {
  const value = /^[1-9]\d{0,9}$/.test(text) ? Number(text) : Number.NaN;
  if (!(value >= 1 && value <= max)) {
    throw new UserError(`${option} must be a whole number from 1 to ${max}, got "${text}"`);
  }
  return value;
}

/**
 * `--failure-rate 1.1.0=0.2,1.2.0=5%` (repeatable) → version → probability. A rate is a fraction
 * or a percentage strictly between 0 and 1; 0 is "not given" and 1 would make the version useless.
 */
export function parseRates(texts: readonly string[], option: string): Map<string, number> {
  const rates = new Map<string, number>();
  for (const part of texts.flatMap((t) => t.split(','))) {
    const eq = part.indexOf('=');
    if (eq <= 0) {
      throw new UserError(
        `${option} takes <version>=<rate> pairs such as 1.1.0=0.2 or 1.1.0=5%, got "${part}"`,
      );
    }
    const version = parseVersion(part.slice(0, eq).trim(), `the version in ${option}`);
    let rate: number;
    try {
      rate = parseRate(part.slice(eq + 1));
    } catch (error) {
      if (error instanceof PlanInputError) throw new UserError(`${option} ${version}: ${error.message}`);
      throw error;
    }
    if (rates.has(version)) throw new UserError(`${option} names ${version} twice`);
    rates.set(version, rate);
  }
  return rates;
}
