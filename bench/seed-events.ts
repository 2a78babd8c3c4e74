/**
 * Seeds telemetry straight into D1 for the release-health query: a week of events of one app's
 * channel, in large multi-row INSERTs (one JSON array parameter per statement, expanded by
 * json_each), plus the hourly rollups, client rows and release clients storeEvents would have written
 * for them.
 * One event in ten is a `session` report (one per client, version and hour, as the SDK sends them),
 * so crash-free sessions and users are computed over as many reports as a fleet would send.
 * Events are generated in time order, so "arrival order" and occurred_at agree, as they do for a
 * client reporting live; the generator is seeded, so a run is reproducible.
 */
import { mulberry32 } from '../scripts/lib/random.ts';
import {
  type EventType,
  eventVersion,
  HOUR_MS,
  installedVersionAfter,
  sessionHour,
  type TelemetryEvent,
} from '../src/protocol/telemetry.ts';

/**
 * What seeding needs of a database: Miniflare's D1 binding, or bench/health-cost.ts's adapter over
 * node:sqlite, which times the health SQL on the very same history.
 */
export interface SeedDb {
  prepare(sql: string): SeedStatement;
  batch(statements: SeedStatement[]): Promise<unknown>;
}
export interface SeedStatement {
  bind(...values: unknown[]): SeedStatement;
  all<T>(): Promise<{ results: T[] }>;
}

/** Rows per INSERT statement and statements per D1 batch (one round trip). */
const ROWS_PER_STATEMENT = 5_000;
const STATEMENTS_PER_BATCH = 4;
const WEEK_MS = 7 * 24 * HOUR_MS;

export interface EventSeed {
  app: string;
  channel: string;
  events: number;
  /** Versions oldest first; later ones get more traffic, as a fleet moving forward does. */
  versions: readonly string[];
  /** The clock the week of events ends at (an hour before it, so the default window covers them all). */
  now: number;
}

const TYPE_WEIGHTS: readonly [EventType, number][] = [
  ['check', 0.25],
  ['session', 0.1],
  ['download_started', 0.15],
  ['download_succeeded', 0.14],
  ['download_failed', 0.01],
  ['install_succeeded', 0.3],
  ['install_failed', 0.03],
  ['rollback', 0.02],
];
const ERROR_CODES = ['disk_full', 'file_locked', 'migration_failed', 'network_error', 'signature_mismatch'];
const PLATFORMS = ['linux', 'darwin', 'windows'] as const;

function pick<T>(items: readonly (readonly [T, number])[], r: number): T {
  let acc = 0;
  for (const [item, weight] of items) {
    acc += weight;
    if (r < acc) return item;
  }
  const last = items[items.length - 1];
  if (!last) throw new Error('pick from nothing');
  return last[0];
}

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

/** A version 4 UUID from the seeded generator. */
function uuid(rand: () => number): string {
  let s = '';
  for (let i = 0; i < 16; i++) {
    let byte = Math.floor(rand() * 256);
    if (i === 6) byte = (byte & 0x0f) | 0x40;
    if (i === 8) byte = (byte & 0x3f) | 0x80;
    s += HEX[byte];
  }
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}

/** One events row in column order (see INSERT_EVENTS). */
type EventRow = [
  string, // id
  string, // type
  string, // client_id
  string, // platform
  string | null, // from_version
  string | null, // to_version
  string, // version
  string | null, // error_code
  number | null, // duration_ms
  string, // occurred_at
  number | null, // sessions_ok
  number | null, // sessions_errored
  number | null, // sessions_crashed
  number | null, // sessions_abnormal
];

const INSERT_EVENTS = `INSERT INTO events
  (id, app, type, client_id, channel, from_version, to_version, version, platform, arch, os_version,
   error_code, error_message, duration_ms, occurred_at, received_at,
   sessions_ok, sessions_errored, sessions_crashed, sessions_abnormal)
  SELECT e.value ->> 0, ?2, e.value ->> 1, e.value ->> 2, ?3, e.value ->> 4, e.value ->> 5, e.value ->> 6,
    e.value ->> 3, 'x64', '14.2', e.value ->> 7, NULL, e.value ->> 8, e.value ->> 9, e.value ->> 9,
    e.value ->> 10, e.value ->> 11, e.value ->> 12, e.value ->> 13
  FROM json_each(?1) AS e`;

const INSERT_ROLLUPS = `INSERT INTO event_rollups_hourly (app, channel, version, type, platform, error_code, hour,
   count, sessions_ok, sessions_errored, sessions_crashed, sessions_abnormal, crashed_clients, timed)
  SELECT ?2, ?3, r.value ->> 0, r.value ->> 1, r.value ->> 2, r.value ->> 3, r.value ->> 4, r.value ->> 5,
    r.value ->> 6, r.value ->> 7, r.value ->> 8, r.value ->> 9, r.value ->> 10, r.value ->> 11
  FROM json_each(?1) AS r`;

/**
 * One hourly rollup's sums: reports, for `session` reports their counts and crashed clients, and the
 * events with a duration.
 */
type RollupSums = [
  count: number,
  ok: number,
  errored: number,
  crashed: number,
  abnormal: number,
  crashedClients: number,
  timed: number,
];

const INSERT_CLIENTS = `INSERT INTO clients (app, client_id, channel, version, platform, arch, last_seen)
  SELECT ?2, c.value ->> 0, ?3, c.value ->> 1, c.value ->> 2, 'x64', c.value ->> 3
  FROM json_each(?1) AS c`;

const INSERT_RELEASE_CLIENTS = `INSERT INTO release_clients (app, channel, version, client_id, installed_at, last_at)
  SELECT ?2, ?3, r.value ->> 0, r.value ->> 1, r.value ->> 2, r.value ->> 3
  FROM json_each(?1) AS r`;

/** A release's row of a client (migrations/0015): its earliest install and newest install or rollback. */
interface ReleaseClient {
  installedAt: string | null;
  lastAt: string;
}

interface ClientState {
  version: string;
  platform: string;
  lastSeen: string;
}

/** Writes `statement` for every chunk of `rows`, a few statements per D1 batch. */
async function insertAll(db: SeedDb, sql: string, seed: EventSeed, rows: readonly unknown[]): Promise<void> {
  const statements = [];
  for (let start = 0; start < rows.length; start += ROWS_PER_STATEMENT) {
    const chunk = JSON.stringify(rows.slice(start, start + ROWS_PER_STATEMENT));
    statements.push(db.prepare(sql).bind(chunk, seed.app, seed.channel));
  }
  for (let start = 0; start < statements.length; start += STATEMENTS_PER_BATCH) {
    await db.batch(statements.slice(start, start + STATEMENTS_PER_BATCH));
  }
}

/**
 * Runs `fill` with the indexes of `table` dropped, then creates them again from their own stored
 * definitions (whatever the migrations made them): one sort per index instead of a million random
 * B-tree inserts. Only for seeding an otherwise idle database.
 */
async function withoutIndexes(db: SeedDb, table: string, fill: () => Promise<void>): Promise<void> {
  const { results } = await db
    .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?1 AND sql IS NOT NULL")
    .bind(table)
    .all<{ name: string; sql: string }>();
  await db.batch(results.map((index) => db.prepare(`DROP INDEX ${index.name}`)));
  try {
    await fill();
  } finally {
    await db.batch(results.map((index) => db.prepare(index.sql)));
  }
}

/** Seeds `seed.events` events with their rollups and client rows; returns how many clients there are. */
export async function seedEvents(db: SeedDb, seed: EventSeed): Promise<{ clients: number }> {
  let clients = 0;
  await withoutIndexes(db, 'events', async () => {
    clients = await fillEvents(db, seed);
  });
  return { clients };
}

async function fillEvents(db: SeedDb, seed: EventSeed): Promise<number> {
  const rand = mulberry32(0x5eed);
  const clientCount = Math.max(1, Math.round(seed.events / 10));
  const versionWeights = seed.versions.map((v, i) => [v, i + 1] as const);
  const totalWeight = versionWeights.reduce((sum, [, w]) => sum + w, 0);
  const versionsByWeight = versionWeights.map(([v, w]) => [v, w / totalWeight] as const);
  const start = seed.now - WEEK_MS + HOUR_MS;
  const span = WEEK_MS - 2 * HOUR_MS;

  const rollups = new Map<string, RollupSums>();
  const clients = new Map<string, ClientState>();
  const releaseClients = new Map<string, ReleaseClient>();
  // A client sends one session report per version and hour: a second draw of the same becomes a check.
  const sessionReports = new Set<string>();
  let batch: EventRow[] = [];
  const flushEvery = ROWS_PER_STATEMENT * STATEMENTS_PER_BATCH;
  for (let i = 0; i < seed.events; i++) {
    let event = nextEvent(rand, {
      channel: seed.channel,
      versions: seed.versions,
      versionsByWeight,
      clientId: `client-${Math.floor(rand() * clientCount)}`,
      occurredAt: new Date(start + Math.floor((i / seed.events) * span)).toISOString(),
    });
    if (event.type === 'session') {
      const report = `${event.client_id} ${event.from_version} ${event.occurred_at}`;
      if (sessionReports.has(report)) {
        const { sessions: _, ...rest } = event;
        event = { ...rest, type: 'check' };
      } else sessionReports.add(report);
    }
    // The same derivations the consumer makes.
    const about = eventVersion(event);
    const installed = installedVersionAfter(event);
    batch.push([
      event.id,
      event.type,
      event.client_id,
      event.platform,
      event.from_version ?? null,
      event.to_version ?? null,
      about,
      event.error_code ?? null,
      event.duration_ms ?? null,
      event.occurred_at,
      event.sessions?.ok ?? null,
      event.sessions?.errored ?? null,
      event.sessions?.crashed ?? null,
      event.sessions?.abnormal ?? null,
    ]);

    const hour = `${event.occurred_at.slice(0, 13)}:00:00Z`;
    const key = [about, event.type, event.platform, event.error_code ?? '', hour].join(' ');
    const sums = rollups.get(key) ?? [0, 0, 0, 0, 0, 0, 0];
    const s = event.sessions;
    rollups.set(key, [
      sums[0] + 1,
      sums[1] + (s?.ok ?? 0),
      sums[2] + (s?.errored ?? 0),
      sums[3] + (s?.crashed ?? 0),
      sums[4] + (s?.abnormal ?? 0),
      sums[5] + (s && s.crashed > 0 ? 1 : 0),
      sums[6] + (event.duration_ms === undefined ? 0 : 1),
    ]);
    if (event.type === 'install_succeeded' || event.type === 'rollback') {
      // Events come in time order: the first install is the earliest, every one the newest so far.
      const key = `${about} ${event.client_id}`;
      const ran = releaseClients.get(key);
      const install = event.type === 'install_succeeded' ? event.occurred_at : null;
      releaseClients.set(key, { installedAt: ran?.installedAt ?? install, lastAt: event.occurred_at });
    }
    const known = clients.get(event.client_id);
    if (installed !== undefined) {
      clients.set(event.client_id, {
        version: installed,
        platform: event.platform,
        lastSeen: event.occurred_at,
      });
    } else if (known) {
      clients.set(event.client_id, { ...known, platform: event.platform, lastSeen: event.occurred_at });
    }

    if (batch.length === flushEvery || i === seed.events - 1) {
      await insertAll(db, INSERT_EVENTS, seed, batch);
      batch = [];
    }
  }
  const rollupRows = [...rollups].map(([key, sums]) => [...key.split(' '), ...sums]);
  await insertAll(db, INSERT_ROLLUPS, seed, rollupRows);
  const clientRows = [...clients].map(([id, c]) => [id, c.version, c.platform, c.lastSeen]);
  await insertAll(db, INSERT_CLIENTS, seed, clientRows);
  const releaseClientRows = [...releaseClients].map(([key, ran]) => [
    ...key.split(' '),
    ran.installedAt,
    ran.lastAt,
  ]);
  await insertAll(db, INSERT_RELEASE_CLIENTS, seed, releaseClientRows);
  return clients.size;
}

interface EventDraw {
  channel: string;
  versions: readonly string[];
  versionsByWeight: readonly (readonly [string, number])[];
  clientId: string;
  occurredAt: string;
}

/** One random event as intake stores it: a type, the version it is about, and what that type carries. */
function nextEvent(rand: () => number, draw: EventDraw): TelemetryEvent {
  const type = pick(TYPE_WEIGHTS, rand());
  const version = pick(draw.versionsByWeight, rand());
  const previous = draw.versions[Math.max(0, draw.versions.indexOf(version) - 1)] ?? version;
  const event: TelemetryEvent = {
    id: uuid(rand),
    type,
    client_id: draw.clientId,
    channel: draw.channel,
    platform: PLATFORMS[Math.floor(rand() * PLATFORMS.length)] ?? 'linux',
    arch: 'x64',
    os_version: '14.2',
    occurred_at: draw.occurredAt,
  };
  if (type === 'check') return { ...event, from_version: version };
  if (type === 'session') {
    // The report of the hour the draw falls in; about 2 % of clients crash at least once in it.
    const hour = sessionHour(Date.parse(draw.occurredAt));
    const crashed = rand() < 0.02 ? 1 : 0;
    const errored = rand() < 0.05 ? 1 : 0;
    const abnormal = rand() < 0.01 ? 1 : 0;
    const ok = 1 + Math.floor(rand() * 6);
    return {
      ...event,
      from_version: version,
      occurred_at: hour,
      sessions: { ok, errored, crashed, abnormal },
    };
  }
  if (type === 'rollback') return { ...event, from_version: version, to_version: previous };
  const moving = { ...event, from_version: previous, to_version: version };
  if (type === 'install_succeeded')
    return { ...moving, duration_ms: 500 + Math.floor(rand() * rand() * 20_000) };
  if (type === 'install_failed' || type === 'download_failed') {
    return {
      ...moving,
      error_code: ERROR_CODES[Math.floor(rand() * rand() * ERROR_CODES.length)] ?? 'unknown',
    };
  }
  return moving;
}
