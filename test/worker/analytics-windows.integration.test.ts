/**
 * Installs and failures take a window's whole hours from the hourly rollups and only its cut ends
 * from raw events (countsSql). Whatever the window, the answer must be what counting its events one
 * by one gives; and because the rollups outlive the raw events, whole hours keep their counts after
 * the retention export.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../scripts/lib/random.ts';
import type { ReleaseHealth } from '../../src/worker/storage/analytics.ts';
import { storeEvents } from '../../src/worker/storage/telemetry.ts';
import { exportExpiredEvents } from '../../src/worker/storage/telemetry-export.ts';
import type { StoredEvent } from '../../src/worker/storage/telemetry-sql.ts';
import { event } from './analytics-fixture.ts';
import { admin, createApp, promote, publish } from './fixtures.ts';

const HOUR = 3600_000;
const H = Date.parse('2026-10-05T12:00:00.000Z');
const at = (ms: number) => new Date(H + ms).toISOString();
const VERSIONS = ['1.0.0', '1.1.0'];
const TYPES = ['install_succeeded', 'install_failed', 'download_failed', 'check'] as const;

/** Events over [H − 6 h, H + 6 h): random times, and some exactly on and next to hour boundaries. */
function history(app: string): StoredEvent[] {
  const rand = mulberry32(0x77);
  const edges = [-2, -1, 0, 1, 2].flatMap((hours) => [-1, 0, 1].map((ms) => hours * HOUR + ms));
  const times = [...edges, ...Array.from({ length: 300 }, () => Math.floor((rand() - 0.5) * 12 * HOUR))];
  return times.map((ms, i) => {
    const type = TYPES[Math.floor(rand() * TYPES.length)] ?? 'check';
    const to = VERSIONS[Math.floor(rand() * VERSIONS.length)] ?? '1.0.0';
    const spec = {
      client: `w${i % 40}`,
      type,
      at: 0,
      from: '0.9.0',
      ...(type !== 'check' && { to }),
      ...(type === 'install_succeeded' && { ms: 1000 }),
      ...(type !== 'install_succeeded' && type !== 'check' && { code: 'E_DISK' }),
      // A tenth in another channel, which no count of stable may include.
      ...(i % 10 === 3 && { channel: 'beta' }),
    };
    return event(app, spec, at(ms));
  });
}

/** The counts by hand: every stable event of the type to the version, from ≤ occurred_at < to. */
function expected(events: StoredEvent[], version: string, from: string, to: string) {
  const inWindow = events.filter(
    (e) => e.channel === 'stable' && e.to_version === version && e.occurred_at >= from && e.occurred_at < to,
  );
  return {
    installs: inWindow.filter((e) => e.type === 'install_succeeded').length,
    failures: inWindow.filter((e) => e.type === 'install_failed').length,
  };
}

const query = (params: Record<string, string>) => `?${new URLSearchParams(params)}`;

let app: string;
let events: StoredEvent[];
beforeAll(async () => {
  app = await createApp(undefined, [
    { name: 'stable', public: true },
    { name: 'beta', public: true },
  ]);
  for (const version of VERSIONS) await publish(app, version);
  await promote(app, 'stable', '1.1.0');
  events = history(app);
  // Stored in three deliveries, one of them again, as the queue may: counted once.
  await storeEvents(env.DB, events.slice(0, 100));
  await storeEvents(env.DB, events.slice(100));
  await storeEvents(env.DB, events.slice(50, 150));
});

describe('installs and failures over any window', () => {
  // [from, to) in ms from H: whole hours; cut at both ends; cut at one end; inside one hour; a single
  // millisecond on a boundary; ends a millisecond either side of a boundary; past the data.
  const WINDOWS: [number, number][] = [
    [-6 * HOUR, 6 * HOUR],
    [-2 * HOUR, 2 * HOUR],
    [-5 * HOUR + 1234, 4 * HOUR - 777],
    [-2 * HOUR, HOUR + 1],
    [-HOUR - 1, 2 * HOUR],
    [-HOUR + 60_000, -HOUR + 120_000],
    [0, 1],
    [-1, 1],
    [-1, HOUR + 1],
    [1, HOUR],
    [HOUR - 1, 2 * HOUR + 1],
    [7 * HOUR, 9 * HOUR],
  ];

  it('are what counting the events in the window one by one gives', async () => {
    for (const [fromMs, toMs] of WINDOWS) {
      const [from, to] = [at(fromMs), at(toMs)];
      const listed = await admin<{ releases: ReleaseHealth[] }>(`/apps/${app}/health${query({ from, to })}`);
      expect(listed.status).toBe(200);
      for (const version of VERSIONS) {
        const want = expected(events, version, from, to);
        const one = await admin<ReleaseHealth>(`/apps/${app}/health${query({ version, from, to })}`);
        expect(
          { installs: one.body.installs, failures: one.body.failures },
          `${version} ${from} ${to}`,
        ).toEqual(want);
        const inList = listed.body.releases.find((r) => r.version === version);
        expect(
          { installs: inList?.installs ?? 0, failures: inList?.failures ?? 0 },
          `list ${version} ${from} ${to}`,
        ).toEqual(want);
      }
    }
    // Not a vacuous comparison: the whole span holds installs and failures of both versions.
    for (const version of VERSIONS) {
      const all = expected(events, version, at(-6 * HOUR), at(6 * HOUR));
      expect(all.installs).toBeGreaterThan(10);
      expect(all.failures).toBeGreaterThan(10);
    }
  });

  it('keep whole hours after the retention export deletes the raw events; the cut ends go with them', async () => {
    const from = at(-2 * HOUR);
    const to = at(2 * HOUR);
    const cut = { from: at(-2 * HOUR + 30 * 60_000), to };
    const before = await admin<ReleaseHealth>(`/apps/${app}/health${query({ version: '1.1.0', from, to })}`);
    const beforeCut = await admin<ReleaseHealth>(`/apps/${app}/health${query({ version: '1.1.0', ...cut })}`);
    expect(before.body.installs).toBeGreaterThan(0);

    // 40 days on, with a 30-day retention, every raw event of this history is exported and deleted.
    const exported = await exportExpiredEvents(env.DB, env.BUCKET, {
      now: new Date(H + 40 * 24 * HOUR),
      retentionDays: 30,
    });
    expect(exported.reduce((sum, part) => sum + part.events, 0)).toBeGreaterThanOrEqual(events.length);
    const { results } = await env.DB.prepare('SELECT count(*) AS n FROM events WHERE app = ?1')
      .bind(app)
      .all<{ n: number }>();
    expect(results[0]?.n).toBe(0);

    const after = await admin<ReleaseHealth>(`/apps/${app}/health${query({ version: '1.1.0', from, to })}`);
    expect({ installs: after.body.installs, failures: after.body.failures }).toEqual({
      installs: before.body.installs,
      failures: before.body.failures,
    });
    // The cut half hour at the start is raw events only, now gone; the whole hours remain.
    const afterCut = await admin<ReleaseHealth>(`/apps/${app}/health${query({ version: '1.1.0', ...cut })}`);
    const firstHalfHour = expected(events, '1.1.0', cut.from, at(-HOUR));
    expect({ installs: afterCut.body.installs, failures: afterCut.body.failures }).toEqual({
      installs: beforeCut.body.installs - firstHalfHour.installs,
      failures: beforeCut.body.failures - firstHalfHour.failures,
    });
    expect(firstHalfHour.installs + firstHalfHour.failures).toBeGreaterThan(0);
    // What needs distinct clients or samples reads raw events only: gone with them.
    expect(after.body.duration_ms).toEqual({ p50: null, p95: null });
  });
});
