/** Telemetry test data: valid events with overrides, and reads of the three telemetry tables. */
import { env } from 'cloudflare:workers';
import type { TelemetryEvent } from '../../../src/protocol/telemetry.ts';
import type { StoredEvent } from '../../../src/worker/storage/telemetry-sql.ts';

/** A valid install_succeeded event (1.0.0 → 1.1.0) with a fresh id; override any field. */
export function telemetryEvent(overrides: Partial<TelemetryEvent> = {}): TelemetryEvent {
  return {
    id: crypto.randomUUID(),
    type: 'install_succeeded',
    client_id: 'client-1',
    channel: 'stable',
    from_version: '1.0.0',
    to_version: '1.1.0',
    platform: 'linux',
    arch: 'x64',
    duration_ms: 1200,
    occurred_at: new Date().toISOString(),
    ...overrides,
  };
}

/** The same event as the queue carries it. */
export function storedEvent(app: string, overrides: Partial<StoredEvent> = {}): StoredEvent {
  return { ...telemetryEvent(overrides), app, received_at: new Date().toISOString(), ...overrides };
}

export interface RollupRow {
  channel: string;
  version: string;
  type: string;
  platform: string;
  error_code: string;
  hour: string;
  count: number;
}

export interface ClientRow {
  client_id: string;
  channel: string;
  version: string;
  platform: string;
  arch: string;
  last_seen: string;
}

export async function eventCount(app: string): Promise<number> {
  const row = await env.DB.prepare('SELECT count(*) AS n FROM events WHERE app = ?1')
    .bind(app)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

export async function eventIds(app: string): Promise<string[]> {
  const { results } = await env.DB.prepare('SELECT id FROM events WHERE app = ?1 ORDER BY id')
    .bind(app)
    .all<{ id: string }>();
  return results.map((r) => r.id);
}

export async function rollups(app: string): Promise<RollupRow[]> {
  const { results } = await env.DB.prepare(
    `SELECT channel, version, type, platform, error_code, hour, count FROM event_rollups_hourly
     WHERE app = ?1 ORDER BY hour, channel, version, type, platform, error_code`,
  )
    .bind(app)
    .all<RollupRow>();
  return results;
}

export async function clientRows(app: string): Promise<ClientRow[]> {
  const { results } = await env.DB.prepare(
    `SELECT client_id, channel, version, platform, arch, last_seen FROM clients
     WHERE app = ?1 ORDER BY client_id`,
  )
    .bind(app)
    .all<ClientRow>();
  return results;
}

export interface ReleaseClientRow {
  version: string;
  client_id: string;
  installed_at: string | null;
  last_at: string;
}

/** The app's `release_clients` rows (migrations/0015), by version and client. */
export async function releaseClients(app: string): Promise<ReleaseClientRow[]> {
  const { results } = await env.DB.prepare(
    `SELECT version, client_id, installed_at, last_at FROM release_clients
     WHERE app = ?1 ORDER BY version, client_id`,
  )
    .bind(app)
    .all<ReleaseClientRow>();
  return results;
}
