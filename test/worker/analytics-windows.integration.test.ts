/**
 * Installs, failures and session counts take a window's whole hours from the hourly rollups and only
 * its cut ends from raw events (countsSql, sessionsSql). Whatever the window, the answer must be what counting its events one
 * by one gives; and because the rollups outlive the raw events, whole hours keep their counts after
 * the retention export.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../scripts/lib/random.ts';
import type { SentReleaseHealth as ReleaseHealth } from '../../src/protocol/admin-api.ts';
import { storeEvents } from '../../src/worker/storage/telemetry.ts';
import { exportExpiredEvents } from '../../src/worker/storage/telemetry-export.ts';
import type { StoredEvent } from '../../src/worker/storage/telemetry-sql.ts';
import { event } from './support/analytics-fixture.ts';
import { admin, createApp, promote, publish } from './support/fixtures.ts';

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
      // Installs carry varied durations, a few none (no sample).
      ...(type === 'install_succeeded' && i % 7 !== 0 && { ms: 100 + ((i * 37) % 900) }),
      ...(type !== 'install_succeeded' && type !== 'check' && { code: 'E_DISK' }),
      // A tenth in another channel, which no count of stable may include.
      ...(i % 10 === 3 && { channel: 'beta' }),
    };
    return event(app, spec, at(ms));
  });
}

/**
 * Session reports over the same span, dated at their hour's start as the SDK dates them: one per
 * client, version and hour, a third of them with a crash.
 */
function sessionReports(app: string): StoredEvent[] {
  const rand = mulberry32(0x5e5);
  const reports: StoredEvent[] = [];
  for (let hour = -6; hour < 6; hour++) {
    for (let client = 0; client < 12; client++) {
      if (rand() < 0.4) continue;
      const version = VERSIONS[client % VERSIONS.length] ?? '1.0.0';
      const crashed = rand() < 0.33 ? 1 + Math.floor(rand() * 2) : 0;
      reports.push({
        id: crypto.randomUUID(),
        app,
        type: 'session',
        client_id: `s${client}`,
        channel: client % 5 === 4 ? 'beta' : 'stable',
        from_version: version,
        platform: 'linux',
        arch: 'x64',
        sessions: { ok: 1 + Math.floor(rand() * 4), errored: Math.floor(rand() * 2), crashed, abnormal: 0 },
        occurred_at: at(hour * HOUR),
        received_at: at(hour * HOUR),
      });
    }
  }
  return reports;
}

/** Sessions by hand: the stable reports of the version whose hour starts in [from, to). */
function expectedSessions(reports: StoredEvent[], version: string, from: string, to: string) {
  const inWindow = reports.filter(
    (e) =>
      e.channel === 'stable' && e.from_version === version && e.occurred_at >= from && e.occurred_at < to,
  );
  const sum = (pick: (s: NonNullable<StoredEvent['sessions']>) => number) =>
    inWindow.reduce((total, e) => total + (e.sessions ? pick(e.sessions) : 0), 0);
  return {
    total: sum((x) => x.ok + x.errored + x.crashed + x.abnormal),
    crashed: sum((x) => x.crashed),
    errored: sum((x) => x.errored),
    abnormal: 0,
    clients: new Set(inWindow.map((e) => e.client_id)).size,
    crashed_clients: new Set(inWindow.filter((e) => (e.sessions?.crashed ?? 0) > 0).map((e) => e.client_id))
      .size,
  };
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

/** Nearest-rank percentiles by hand over the samples of `events` (to the version, in the window). */
function expectedDurations(events: StoredEvent[], version: string, from: string, to: string) {
  const samples = events
    .filter(
      (e) =>
        e.channel === 'stable' &&
        e.type === 'install_succeeded' &&
        e.to_version === version &&
        e.duration_ms !== undefined &&
        e.occurred_at >= from &&
        e.occurred_at < to,
    )
    .map((e) => e.duration_ms ?? 0)
    .sort((a, b) => a - b);
  const rank = (p: number) => samples[Math.floor((samples.length * p + 99) / 100) - 1] ?? null;
  return { count: samples.length, duration_ms: { p50: rank(50), p95: rank(95) } };
}

const query = (params: Record<string, string>) => `?${new URLSearchParams(params)}`;

let app: string;
let events: StoredEvent[];
let reports: StoredEvent[];
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
  reports = sessionReports(app);
  await storeEvents(env.DB, reports);
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
        // Durations: the number of samples from the rollups' whole hours and the cut ends.
        const durations = expectedDurations(events, version, from, to);
        expect(one.body.duration_ms, `durations ${version} ${from} ${to}`).toEqual(durations.duration_ms);
        const counted = await admin<{ count: number }>(
          `/apps/${app}/durations${query({ version, from, to })}`,
        );
        expect(counted.body.count, `samples ${version} ${from} ${to}`).toBe(durations.count);
        // Sessions too: sums from the rollups' whole hours and the cut ends, clients from the reports.
        const sessions = expectedSessions(reports, version, from, to);
        expect(one.body.sessions, `sessions ${version} ${from} ${to}`).toEqual(sessions);
        expect(
          inList?.sessions ?? expectedSessions([], version, from, to),
          `list sessions ${version}`,
        ).toEqual(sessions);
      }
    }
    // Not a vacuous comparison: the whole span holds installs, failures and crashes of both versions.
    for (const version of VERSIONS) {
      const all = expected(events, version, at(-6 * HOUR), at(6 * HOUR));
      expect(all.installs).toBeGreaterThan(10);
      expect(all.failures).toBeGreaterThan(10);
      expect(expectedSessions(reports, version, at(-6 * HOUR), at(6 * HOUR)).crashed_clients).toBeGreaterThan(
        2,
      );
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

  it('counts install-duration samples one by one once a window reaches hours the export thinned', async () => {
    const thinned = await createApp();
    await publish(thinned, '1.1.0');
    const rand = mulberry32(0xd0);
    // Installs every 20 minutes over the three days before H, each with a duration.
    const installs = Array.from({ length: 3 * 72 }, (_, i) =>
      event(
        thinned,
        {
          client: `d${i}`,
          type: 'install_succeeded',
          at: 0,
          from: '1.0.0',
          to: '1.1.0',
          ms: Math.floor(rand() * 5000),
        },
        at(-3 * 24 * HOUR + i * 20 * 60_000),
      ),
    );
    await storeEvents(env.DB, installs);
    // A 30-day retention seen 28.5 days after H: the cutoff, H − 36 h, falls inside a day, whose
    // earlier events are exported and deleted while its later ones stay.
    const cutoff = H - 36 * HOUR;
    await exportExpiredEvents(env.DB, env.BUCKET, {
      now: new Date(cutoff + 30 * 24 * HOUR),
      retentionDays: 30,
    });
    const kept = installs.filter((e) => e.occurred_at >= new Date(cutoff).toISOString());
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(installs.length);

    // Whole hours before and after the cutoff (the rollups still count the deleted samples), and a
    // window of whole hours wholly after the day the export reached.
    for (const [fromMs, toMs] of [
      [-3 * 24 * HOUR, 0],
      [-40 * HOUR, -20 * HOUR + 1],
      [-10 * HOUR, -HOUR],
    ] as const) {
      const [from, to] = [at(fromMs), at(toMs)];
      const want = expectedDurations(kept, '1.1.0', from, to);
      expect(want.count).toBeGreaterThan(0);
      const counted = await admin<{ count: number; duration_ms: unknown }>(
        `/apps/${thinned}/durations${query({ version: '1.1.0', from, to })}`,
      );
      expect(counted.body, `${from} ${to}`).toMatchObject(want);
      const health = await admin<ReleaseHealth>(
        `/apps/${thinned}/health${query({ version: '1.1.0', from, to })}`,
      );
      expect(health.body.duration_ms, `${from} ${to}`).toEqual(want.duration_ms);
    }
  });
});
