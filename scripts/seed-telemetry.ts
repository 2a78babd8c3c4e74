/**
 * Demo telemetry for `npm run dev`: a few days of a realistic client population reported through
 * the public intake (POST /v1/apps/demo/events), as the clients themselves would, so the dashboard
 * and `updraft stats` have something to show.
 *
 *   stable: 200 clients install 1.0.0 5 to 6.5 days ago and check in every ~8 h; 1.1.0 is staged to
 *           25 % for the last 2.5 days: a quarter of them update, a few installs fail (and are
 *           retried), three clients roll back to 1.0.0.
 *   beta:   40 clients on 1.1.0 move to 1.2.0-beta.1 from 3 days ago, with more failures and two
 *           rollbacks.
 *   sessions: every client uses the app a few times a day and reports its sessions as the SDK does
 *           (one `session` event per running version and UTC hour); 0.8 % of 1.0.0's sessions crash,
 *           4 % of 1.1.0's, so `updraft stats demo 1.1.0 --compare` shows the canary clearly worse
 *           than its baseline 1.0.0 (which the seed completes).
 *
 * Everything is generated from fixed seeds, and every event id is a UUIDv5 of the client and the
 * event's place in its history: seeding again sends the same ids and the consumer counts each once.
 * Times are relative to now, so a fresh database always gets a recent picture.
 */
import { createHash } from 'node:crypto';
import type { ChannelHealth } from '../src/protocol/admin-api.ts';
import { type EventType, sessionEventId, type TelemetryEventInput } from '../src/protocol/telemetry.ts';
import type { ApiClient } from './lib/api.ts';
import { mulberry32 } from './lib/random.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** The namespace of the seed's UUIDv5 event ids (a constant, so re-seeding repeats them). */
const NAMESPACE = '6f1c2a4e-8b3d-4e5f-9a7b-1c2d3e4f5a6b';

interface Device {
  platform: 'linux' | 'darwin' | 'windows';
  arch: 'x64' | 'arm64';
  os_version: string;
}

export interface TelemetryPlan {
  /** One batch per client: its whole history, oldest first. */
  batches: TelemetryEventInput[][];
  events: number;
}

/** The demo population's events for an app whose clock reads `now`. Deterministic in `now`. */
export async function planTelemetry(app: string, now: Date): Promise<TelemetryPlan> {
  // Ten-minute steps: seeding again within them repeats every event exactly (same ids, same times).
  const end = Math.floor(now.getTime() / 600_000) * 600_000 - 60_000;
  const batches: TelemetryEventInput[][] = [];
  for (let i = 0; i < 200; i++) batches.push(stableClient(app, i, end));
  for (let i = 0; i < 40; i++) batches.push(betaClient(app, i, end));
  // A session report's id is the SDK's (client, version, hour), so a report sent again is one report.
  for (const event of batches.flat()) {
    if (event.type === 'session' && event.from_version)
      event.id = await sessionEventId(app, event.client_id, event.from_version, event.occurred_at);
  }
  return { batches, events: batches.reduce((sum, b) => sum + b.length, 0) };
}

/** The share of a version's sessions that crash: the canary is clearly worse than its baseline. */
const CRASH_RATES: Record<string, number> = { '1.0.0': 0.008, '1.1.0': 0.04, '1.2.0-beta.1': 0.02 };

/** A client's history: a seeded random stream and an event log with deterministic ids. */
class History {
  readonly events: TelemetryEventInput[] = [];
  readonly random: () => number;
  private readonly app: string;
  private readonly clientId: string;
  private readonly channel: string;
  private readonly device: Device;
  private readonly end: number;

  constructor(app: string, clientId: string, channel: string, end: number) {
    this.app = app;
    this.clientId = clientId;
    this.channel = channel;
    this.end = end;
    this.random = mulberry32(Number.parseInt(hex(clientId, 8), 16));
    this.device = pickDevice(this.random());
  }

  add(
    type: EventType,
    at: number,
    fields: Pick<
      TelemetryEventInput,
      'from_version' | 'to_version' | 'error_code' | 'error_message' | 'duration_ms' | 'sessions'
    >,
  ): void {
    if (at > this.end) return;
    this.events.push({
      id: uuidV5(`${this.app}/${this.clientId}/${this.events.length}`),
      type,
      client_id: this.clientId,
      channel: this.channel,
      ...this.device,
      ...fields,
      occurred_at: new Date(at).toISOString(),
    });
  }

  /** Check-ins every ~8 h (±2 h) from `from` to `to`, reporting the version installed at the time. */
  checks(from: number, to: number, version: (at: number) => string): void {
    for (
      let at = from + this.jitter(2 * HOUR, 8 * HOUR);
      at < Math.min(to, this.end);
      at += this.jitter(6 * HOUR, 10 * HOUR)
    ) {
      this.add('check', at, { from_version: version(at) });
    }
  }

  /**
   * The app used 2 to 5 times a day from `from` to `to`, each day's sessions reported as one `session`
   * event at the start of their UTC hour for the version running then, each session crashing with
   * its version's CRASH_RATES. Drawn from a stream of its own, so the other events stay as they were.
   */
  sessions(from: number, to: number, version: (at: number) => string): void {
    const random = mulberry32(Number.parseInt(hex(`sessions:${this.clientId}`, 8), 16));
    const between = (min: number, max: number) => Math.round(min + random() * (max - min));
    for (
      let at = from + between(HOUR, 20 * HOUR);
      at < Math.min(to, this.end);
      at += between(20 * HOUR, 28 * HOUR)
    ) {
      const running = version(at);
      const crashRate = CRASH_RATES[running] ?? 0.01;
      const counts = { ok: 0, errored: 0, crashed: 0, abnormal: 0 };
      for (let n = between(2, 5); n > 0; n--) {
        const r = random();
        if (r < crashRate) counts.crashed++;
        else if (r < crashRate + 0.02) counts.errored++;
        else if (r < crashRate + 0.025) counts.abnormal++;
        else counts.ok++;
      }
      this.add('session', Math.floor(at / HOUR) * HOUR, { from_version: running, sessions: counts });
    }
  }

  /**
   * Download and install `to` at `at`. Each code in `failures` is one failed install attempt
   * (retried a few hours later); a download may stall too (and is retried). Returns when the
   * install succeeded, or undefined when it had not by the end.
   */
  update(
    at: number,
    from: string | undefined,
    to: string,
    medianMs: number,
    failures: readonly string[] = [],
  ): number | undefined {
    const versions = { from_version: from, to_version: to };
    let t = at;
    let installs = 0;
    while (t <= this.end) {
      this.add('download_started', t, versions);
      const downloadMs = Math.round(lognormal(this.random, 3500, 0.5));
      if (this.random() < 0.02) {
        this.add('download_failed', t + downloadMs, {
          ...versions,
          error_code: 'network_timeout',
          error_message: 'download stalled for 30 s',
        });
        t += this.jitter(HOUR, 4 * HOUR);
        continue;
      }
      this.add('download_succeeded', t + downloadMs, { ...versions, duration_ms: downloadMs });
      const installMs = Math.round(lognormal(this.random, medianMs, 0.55));
      const done = t + downloadMs + installMs;
      const failure = failures[installs++];
      if (failure !== undefined) {
        this.add('install_failed', done, {
          ...versions,
          error_code: failure,
          error_message: ERROR_MESSAGES[failure] ?? failure,
          duration_ms: installMs,
        });
        t = done + this.jitter(HOUR, 5 * HOUR);
        continue;
      }
      this.add('install_succeeded', done, { ...versions, duration_ms: installMs });
      return done <= this.end ? done : undefined;
    }
    return undefined;
  }

  jitter(min: number, max: number): number {
    return Math.round(min + this.random() * (max - min));
  }
}

const ERROR_MESSAGES: Record<string, string> = {
  disk_full: 'not enough free space to unpack the update',
  permission_denied: 'cannot replace the application bundle',
  file_locked: 'the application is still running',
  migration_failed: 'settings migration to the new version failed',
};

/**
 * Who fails and who rolls back is fixed rather than drawn, so the demo always tells the same story:
 * 1.0.0 is healthy, the 1.1.0 canary has a few failed installs and rollbacks (with intervals too
 * wide to call yet), and the beta is rougher.
 */
const STABLE_INSTALL_FAILURES: Record<number, string[]> = {
  17: ['disk_full'],
  67: ['file_locked'],
  117: ['disk_full'],
  167: ['permission_denied'],
};
const CANARY_INSTALL_FAILURES: Record<number, string[]> = {
  8: ['disk_full'],
  68: ['disk_full'],
  132: ['permission_denied', 'permission_denied'],
};
const CANARY_ROLLBACKS = new Set([24, 96, 172]);
const BETA_INSTALL_FAILURES: Record<number, string[]> = {
  3: ['migration_failed'],
  11: ['disk_full'],
  19: ['file_locked'],
  27: ['migration_failed', 'migration_failed', 'migration_failed', 'migration_failed', 'migration_failed'],
};
const BETA_ROLLBACKS = new Set([5, 30]);

function stableClient(app: string, i: number, end: number): TelemetryEventInput[] {
  const h = new History(app, `c-${hex(`stable:${i}`, 12)}`, 'stable', end);
  const installedAt = end - 6.5 * DAY + h.jitter(0, 1.5 * DAY);
  const first = h.update(installedAt, undefined, '1.0.0', 4600, STABLE_INSTALL_FAILURES[i]) ?? installedAt;
  // 1.1.0 reaches a quarter of the channel (the 25 % rollout) from 2.5 days ago.
  const rolloutAt = end - 2.5 * DAY + h.jitter(0, 1.2 * DAY);
  const upgraded =
    i % 4 === 0 ? h.update(rolloutAt, '1.0.0', '1.1.0', 3600, CANARY_INSTALL_FAILURES[i]) : undefined;
  const rolledBack =
    upgraded !== undefined && CANARY_ROLLBACKS.has(i)
      ? upgraded + h.jitter(10 * 60_000, 6 * HOUR)
      : undefined;
  if (rolledBack !== undefined) {
    h.add('rollback', rolledBack, {
      from_version: '1.1.0',
      to_version: '1.0.0',
      error_code: 'crash_on_start',
      error_message: 'crashed twice within a minute of starting',
    });
  }
  // Most clients are still around; some went quiet more than a day ago.
  const quietAt = h.random() < 0.12 ? end - h.jitter(1.2 * DAY, 4 * DAY) : end;
  const running = (at: number) =>
    upgraded !== undefined && at > upgraded && (rolledBack === undefined || at < rolledBack)
      ? '1.1.0'
      : '1.0.0';
  h.checks(first, quietAt, running);
  h.sessions(first, quietAt, running);
  return sortByTime(h.events);
}

function betaClient(app: string, i: number, end: number): TelemetryEventInput[] {
  const h = new History(app, `c-${hex(`beta:${i}`, 12)}`, 'beta', end);
  const start = end - 6 * DAY + h.jitter(0, 12 * HOUR);
  const upgradeAt = end - 3 * DAY + h.jitter(0, 1.5 * DAY);
  const upgraded = h.update(upgradeAt, '1.1.0', '1.2.0-beta.1', 5200, BETA_INSTALL_FAILURES[i]);
  const rolledBack =
    upgraded !== undefined && BETA_ROLLBACKS.has(i) ? upgraded + h.jitter(30 * 60_000, 8 * HOUR) : undefined;
  if (rolledBack !== undefined) {
    h.add('rollback', rolledBack, {
      from_version: '1.2.0-beta.1',
      to_version: '1.1.0',
      error_code: 'crash_on_start',
      error_message: 'crashed twice within a minute of starting',
    });
  }
  const running = (at: number) =>
    upgraded !== undefined && at > upgraded && (rolledBack === undefined || at < rolledBack)
      ? '1.2.0-beta.1'
      : '1.1.0';
  h.checks(start, end, running);
  h.sessions(start, end, running);
  return sortByTime(h.events);
}

export interface SeedTelemetryOptions {
  client: ApiClient;
  app: string;
  now?: Date;
}

/**
 * Posts the demo telemetry unless the app already has some in the last 30 days. Returns the number
 * of events accepted (0 when skipped). The consumer writes them to D1 a few seconds later. A
 * database seeded before session telemetry existed gets the session reports alone: their ids are
 * (client, version, hour), and the installs it has are left as they are.
 */
export async function seedTelemetry(opts: SeedTelemetryOptions): Promise<number> {
  const now = opts.now ?? new Date();
  const seeded = await seededSoFar(opts.client, opts.app, now);
  if (seeded.installs && seeded.sessions) return 0;
  const plan = await planTelemetry(opts.app, now);
  const batches = seeded.installs
    ? plan.batches.map((batch) => batch.filter((e) => e.type === 'session'))
    : plan.batches;
  let accepted = 0;
  await inParallel(batches, 8, async (events) => {
    const answer = await opts.client.post<{
      accepted: number;
      rejected: { index: number; message: string }[];
    }>(`/v1/apps/${opts.app}/events`, { events }, { auth: false });
    const bad = answer.rejected[0];
    if (bad) throw new Error(`the server refused a seeded event: ${bad.message}`);
    accepted += answer.accepted;
  });
  return accepted;
}

/**
 * Installs, and sessions, of any release in the default channel in the last 30 days (none on a
 * server without analytics).
 */
async function seededSoFar(
  client: ApiClient,
  app: string,
  now: Date,
): Promise<{ installs: boolean; sessions: boolean }> {
  const view = await client.find<ChannelHealth>(`/v1/admin/apps/${app}/health`, {
    query: { from: new Date(now.getTime() - 30 * DAY).toISOString() },
  });
  const releases = view?.releases ?? [];
  return {
    installs: releases.some((r) => r.installs + r.failures > 0),
    // A server without session telemetry has none to take: do not send it any.
    sessions: releases.some((r) => r.sessions === undefined || r.sessions.total > 0),
  };
}

async function inParallel<T>(
  items: readonly T[],
  width: number,
  run: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++];
      if (item !== undefined) await run(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}

function sortByTime(events: TelemetryEventInput[]): TelemetryEventInput[] {
  return events.sort((a, b) => Date.parse(a.occurred_at) - Date.parse(b.occurred_at));
}

function pickDevice(r: number): Device {
  if (r < 0.36)
    return { platform: 'darwin', arch: r < 0.27 ? 'arm64' : 'x64', os_version: r < 0.18 ? '15.1' : '14.6' };
  if (r < 0.7) return { platform: 'windows', arch: r < 0.64 ? 'x64' : 'arm64', os_version: '10.0.22631' };
  return { platform: 'linux', arch: r < 0.9 ? 'x64' : 'arm64', os_version: '6.8.0' };
}

/** Log-normal around `median` with shape `sigma` (Box–Muller), for durations with a long tail. */
function lognormal(random: () => number, median: number, sigma: number): number {
  const u = Math.max(random(), 1e-9);
  const v = random();
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  return median * Math.exp(sigma * z);
}

function hex(text: string, length: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/** RFC 9562 UUIDv5 (SHA-1 of a namespace and a name). */
export function uuidV5(name: string, namespace = NAMESPACE): string {
  const hash = createHash('sha1')
    .update(Buffer.from(namespace.replace(/-/g, ''), 'hex'))
    .update(name)
    .digest();
  hash[6] = ((hash[6] ?? 0) & 0x0f) | 0x50;
  hash[8] = ((hash[8] ?? 0) & 0x3f) | 0x80;
  const h = hash.subarray(0, 16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
