/**
 * A telemetry history whose every metric is computed by hand (analytics.integration.test.ts derives
 * each number), seeded through storeEvents, the queue consumer's real write path.
 *
 * Times are hours from H = 2026-11-10T12:00:00.000Z; the main window is [H−46h, H+2h). Channel
 * `stable` unless said; 1.0.0, 1.1.0 and 1.2.0 are published, 1.1.0 and 1.2.0 promoted to stable.
 */
import { env } from 'cloudflare:workers';
import type { EventType } from '../../../src/protocol/telemetry.ts';
import { storeEvents } from '../../../src/worker/storage/telemetry.ts';
import type { StoredEvent } from '../../../src/worker/storage/telemetry-sql.ts';
import { createApp, promote, publish } from './fixtures.ts';

export const H = Date.parse('2026-11-10T12:00:00.000Z');
/** H + n hours in the stored form. */
export const h = (n: number) => new Date(H + n * 3600_000).toISOString();
export const WINDOW = { from: h(-46), to: h(2) };

interface Spec {
  client: string;
  type: EventType;
  at: number;
  from?: string;
  to?: string;
  code?: string;
  ms?: number;
  channel?: string;
  platform?: StoredEvent['platform'];
}

export function event(app: string, s: Spec, at: string = h(s.at)): StoredEvent {
  return {
    id: crypto.randomUUID(),
    app,
    type: s.type,
    client_id: s.client,
    channel: s.channel ?? 'stable',
    ...(s.from && { from_version: s.from }),
    ...(s.to && { to_version: s.to }),
    platform: s.platform ?? 'linux',
    arch: 'x64',
    ...(s.code && { error_code: s.code }),
    ...(s.ms !== undefined && { duration_ms: s.ms }),
    occurred_at: at,
    received_at: at,
  };
}

const V0 = '1.0.0';
const V1 = '1.1.0';
const V2 = '1.2.0';

/** The history, in the order a table in the test reads it. */
export const HISTORY: Spec[] = [
  { client: 'c1', type: 'install_failed', at: -51, from: V0, to: V1, code: 'E_DISK' },
  { client: 'c1', type: 'install_succeeded', at: -50, from: V0, to: V1, ms: 1000 },
  { client: 'c1', type: 'rollback', at: -10, from: V1, to: V0 },
  { client: 'c2', type: 'install_succeeded', at: -40, from: V0, to: V1, ms: 2000 },
  { client: 'c2', type: 'check', at: 1, from: V1 },
  { client: 'c3', type: 'install_failed', at: -30, from: V0, to: V1, code: 'E_DISK' },
  { client: 'c3', type: 'install_succeeded', at: -29, from: V0, to: V1, ms: 3000 },
  { client: 'c3', type: 'check', at: -5, from: V1 },
  { client: 'c4', type: 'download_failed', at: -21, to: V1, code: 'E_NET' },
  { client: 'c4', type: 'install_failed', at: -20, from: V0, to: V1, code: 'E_SIG' },
  { client: 'c5', type: 'install_succeeded', at: -46, from: V0, to: V1, ms: 4000 },
  { client: 'c5', type: 'rollback', at: -45, from: V1, to: V0 },
  { client: 'c5', type: 'rollback', at: -3, from: V1, to: V0 },
  { client: 'c6', type: 'install_succeeded', at: 2, from: V0, to: V1, ms: 100 },
  { client: 'c7', type: 'check', at: -30, from: V0 },
  { client: 'c7', type: 'download_failed', at: -29.5, from: V0, to: V2, code: 'E_NET' },
  { client: 'c7', type: 'install_succeeded', at: -29, from: V0, to: V2, ms: 7000 },
  { client: 'c8', type: 'install_succeeded', at: -10, from: V0, to: V1, ms: 50, channel: 'beta' },
  { client: 'c9', type: 'download_failed', at: -14, from: V0, to: V1, code: 'E_DISK' },
  { client: 'c9', type: 'install_failed', at: -13, from: V0, to: V1, code: 'E_DISK' },
  { client: 'c9', type: 'install_succeeded', at: -12, from: V0, to: V1, ms: 5000 },
  { client: 'c10', type: 'download_failed', at: -1.5, from: V0, to: V1 },
  { client: 'c10', type: 'check', at: -1, from: V0 },
  { client: 'c11', type: 'rollback', at: -2, from: V1, to: V0 },
  { client: 'c12', type: 'check', at: -100, from: '0.9.0' },
  { client: 'c13', type: 'install_succeeded', at: -60, from: V0, to: V1, ms: 6000 },
  { client: 'c14', type: 'install_succeeded', at: -55, from: V0, to: V1 },
];

/** Creates the app (stable and beta), publishes and promotes, and stores HISTORY (one event twice). */
export async function seedAnalyticsApp(): Promise<string> {
  const app = await createApp(undefined, [
    { name: 'stable', public: true },
    { name: 'beta', public: true },
  ]);
  for (const version of [V0, V1, V2]) await publish(app, version);
  await promote(app, 'stable', V1);
  await promote(app, 'stable', V2, 1000);
  const events = HISTORY.map((spec) => event(app, spec));
  await storeEvents(env.DB, events);
  // A redelivered event is stored once and counted once.
  const again = events.find((e) => e.client_id === 'c9' && e.type === 'install_succeeded');
  if (again) await storeEvents(env.DB, [again]);
  return app;
}

/**
 * An app whose clients were seen hours before now (for /clients, which is always "the last 24 h"):
 * d1 linux on 1.0.0 (1 h ago), d2 darwin installed 1.1.0 in 900 ms (2 h), d3 windows on 1.0.0 (23 h),
 * d4 on 1.0.0 but last seen 25 h ago, d5 on beta.
 */
export async function seedLiveApp(): Promise<string> {
  const app = await createApp(undefined, [
    { name: 'stable', public: true },
    { name: 'beta', public: true },
  ]);
  const ago = (hours: number) => new Date(Date.now() - hours * 3600_000).toISOString();
  const seen = (client: string, hours: number, rest: Partial<Spec> = {}) =>
    event(app, { client, at: 0, type: 'check', from: V0, ...rest }, ago(hours));
  await storeEvents(env.DB, [
    seen('d1', 1),
    seen('d2', 2, { type: 'install_succeeded', to: V1, platform: 'darwin', ms: 900 }),
    seen('d3', 23, { platform: 'windows' }),
    seen('d4', 25),
    seen('d5', 1, { channel: 'beta' }),
  ]);
  return app;
}
