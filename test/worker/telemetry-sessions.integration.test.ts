/**
 * Session telemetry end to end on the Worker (docs/protocol.md §5, issue 14): the intake judges `session`
 * events, the consumer stores a report once however often it is delivered, and release health
 * derives crash-free sessions and users with Wilson intervals, the same from the API and from the
 * SQL printed in docs/analytics.md.
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { SentReleaseHealth as ReleaseHealth } from '../../src/protocol/admin-api.ts';
import type { IntakeAnswer } from '../../src/protocol/telemetry.ts';
import { sessionEventId, type TelemetryEvent } from '../../src/protocol/telemetry.ts';
import { wilson } from '../../src/protocol/wilson.ts';
import worker from '../../src/worker/index.ts';
import { storeEvents } from '../../src/worker/storage/telemetry.ts';
import { type EventRow, exportExpiredEvents } from '../../src/worker/storage/telemetry-export.ts';
import type { StoredEvent } from '../../src/worker/storage/telemetry-sql.ts';
import { admin, createApp } from './support/fixtures.ts';
import { fetchWorker, seedApp, uniqueApp } from './support/seed-projection.ts';
import { eventIds } from './support/telemetry-fixtures.ts';

const HOUR = 3600_000;
/** The start of the current UTC hour, minus `n` hours, in the stored form. */
const hourAgo = (n: number) => new Date(Math.floor(Date.now() / HOUR) * HOUR - n * HOUR).toISOString();

async function session(
  app: string,
  client: string,
  version: string,
  hour: string,
  counts: Partial<NonNullable<TelemetryEvent['sessions']>>,
): Promise<StoredEvent> {
  return {
    id: await sessionEventId(app, client, version, hour),
    type: 'session',
    app,
    client_id: client,
    channel: 'stable',
    from_version: version,
    platform: 'linux',
    arch: 'x64',
    sessions: { ok: 0, errored: 0, crashed: 0, abnormal: 0, ...counts },
    occurred_at: hour,
    received_at: hour,
  };
}

describe('intake of session events', () => {
  it('accepts a valid hourly report and rejects the malformed ones with their reason', async () => {
    const app = uniqueApp('sess');
    await seedApp(app);
    const hour = hourAgo(1);
    const good = await session(app, 'c1', '1.2.0', hour, { ok: 3, crashed: 1 });
    const { app: _app, received_at: _received, ...wire } = good;
    const cases: [unknown, string | null][] = [
      [wire, null],
      [
        { ...wire, id: crypto.randomUUID(), from_version: undefined },
        'from_version: is required for session',
      ],
      [{ ...wire, id: crypto.randomUUID(), sessions: undefined }, 'sessions: is required for session'],
      [
        { ...wire, id: crypto.randomUUID(), sessions: { ok: 0, errored: 0, crashed: 0, abnormal: 0 } },
        'sessions: must count at least one session',
      ],
      [
        { ...wire, id: crypto.randomUUID(), sessions: { ok: -1, errored: 0, crashed: 2, abnormal: 0 } },
        'sessions.ok: ',
      ],
      [
        { ...wire, id: crypto.randomUUID(), sessions: { ok: 1.5, errored: 0, crashed: 0, abnormal: 0 } },
        'sessions.ok: ',
      ],
      [
        { ...wire, id: crypto.randomUUID(), sessions: { ok: 100_001, errored: 0, crashed: 0, abnormal: 0 } },
        'sessions.ok: ',
      ],
      [
        { ...wire, id: crypto.randomUUID(), occurred_at: new Date(Date.parse(hour) + 60_000).toISOString() },
        'occurred_at: must be the start of a UTC hour for session',
      ],
      [
        {
          ...wire,
          id: crypto.randomUUID(),
          type: 'check',
          sessions: { ok: 1, errored: 0, crashed: 0, abnormal: 0 },
        },
        'sessions: is only for session events, not check',
      ],
    ];
    const response = await fetchWorker(`/v1/apps/${app}/events`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ events: cases.map(([event]) => event) }),
    });
    expect(response.status).toBe(202);
    const answer = (await response.json()) as IntakeAnswer;
    expect(answer.accepted).toBe(1);
    expect(answer.rejected.map((r) => r.index)).toEqual(cases.flatMap(([, why], i) => (why ? [i] : [])));
    for (const rejection of answer.rejected) {
      expect(rejection.code).toBe('invalid_event');
      expect(rejection.message.startsWith(cases[rejection.index]?.[1] ?? '?'), rejection.message).toBe(true);
    }
  });
});

describe('the consumer', () => {
  it('stores a session report once when it is delivered twice, and counts it once in the rollups', async () => {
    const app = uniqueApp('sess');
    const hour = hourAgo(2);
    const report = await session(app, 'c1', '1.2.0', hour, { ok: 5, errored: 2, crashed: 1, abnormal: 1 });
    // The same report replayed by the SDK (same derived id, a later request) and a redelivery.
    const { app: _app, received_at: _received, ...event } = report;
    const body = { app, received_at: new Date().toISOString(), events: [event] };
    for (let delivery = 0; delivery < 2; delivery++) {
      const batch = createMessageBatch('updraft-events', [
        { id: 'm1', timestamp: new Date(), attempts: 1, body },
        {
          id: 'm2',
          timestamp: new Date(),
          attempts: 1,
          body: { ...body, received_at: new Date().toISOString() },
        },
      ]);
      const ctx = createExecutionContext();
      await worker.queue(batch, env);
      expect((await getQueueResult(batch, ctx)).ackAll).toBe(true);
    }
    expect(await eventIds(app)).toEqual([report.id]);
    const row = await env.DB.prepare(
      `SELECT version, sessions_ok, sessions_errored, sessions_crashed, sessions_abnormal FROM events WHERE app = ?1`,
    )
      .bind(app)
      .first();
    expect(row).toEqual({
      version: '1.2.0',
      sessions_ok: 5,
      sessions_errored: 2,
      sessions_crashed: 1,
      sessions_abnormal: 1,
    });
    const rollup = await env.DB.prepare(
      `SELECT hour, count, sessions_ok, sessions_errored, sessions_crashed, sessions_abnormal, crashed_clients
       FROM event_rollups_hourly WHERE app = ?1 AND type = 'session'`,
    )
      .bind(app)
      .all();
    expect(rollup.results).toEqual([
      {
        hour: `${hour.slice(0, 13)}:00:00Z`,
        count: 1,
        sessions_ok: 5,
        sessions_errored: 2,
        sessions_crashed: 1,
        sessions_abnormal: 1,
        crashed_clients: 1,
      },
    ]);
    const client = await env.DB.prepare('SELECT version FROM clients WHERE app = ?1 AND client_id = ?2')
      .bind(app, 'c1')
      .first<{ version: string }>();
    expect(client?.version).toBe('1.2.0');
  });
});

/** What the docs print: the ```sql block after `<!-- query: name -->`, placeholders filled as an analyst would. */
function docQuery(name: string, params: Record<string, string>): string {
  const match = env.ANALYTICS_DOC.match(
    new RegExp(`<!-- query: ${name} -->\\s*\`\`\`sql\\n([\\s\\S]*?)\`\`\``),
  );
  const sql = match?.[1];
  if (sql === undefined) throw new Error(`docs/analytics.md has no query ${name}`);
  return sql.replace(/:([a-z_]+)\b/g, (_, key: string) => `'${params[key] ?? `?${key}`}'`);
}

describe('release health with sessions', () => {
  it('gives crash-free sessions and users with the Wilson intervals of the crash rates, as the SQL does', async () => {
    const app = await createApp();
    const V = '2.0.0';
    // 40 clients over three hours: 200 + 6 + 3 + 2 sessions; 5 clients crashed (one twice, in two hours).
    const reports: StoredEvent[] = [];
    for (let i = 0; i < 40; i++) {
      reports.push(await session(app, `u${i}`, V, hourAgo(3), { ok: 5 }));
    }
    for (const [i, counts] of [
      [0, { crashed: 1, errored: 2 }],
      [1, { crashed: 2, abnormal: 1 }],
      [2, { ok: 1, crashed: 1 }],
      [3, { errored: 4, abnormal: 1 }],
      [4, { crashed: 1 }],
    ] as const) {
      reports.push(await session(app, `u${i}`, V, hourAgo(2), counts));
    }
    reports.push(await session(app, 'u0', V, hourAgo(1), { crashed: 1 }));
    reports.push(await session(app, 'u39', V, hourAgo(1), { crashed: 1 }));
    // Another version's sessions and an hour outside the window are not counted.
    reports.push(await session(app, 'u0', '1.9.0', hourAgo(2), { crashed: 9 }));
    reports.push(await session(app, 'u1', V, hourAgo(30), { crashed: 9 }));
    await storeEvents(env.DB, reports);
    await storeEvents(env.DB, reports.slice(0, 10));

    const from = hourAgo(3);
    const to = new Date().toISOString();
    const { status, body } = await admin<ReleaseHealth>(
      `/apps/${app}/health?version=${V}&from=${from}&to=${to}`,
    );
    expect(status).toBe(200);
    const total = 200 + 3 + 4 + 2 + 4 + 1 + 1 + 1;
    const crashed = 1 + 2 + 1 + 1 + 1 + 1;
    expect(body.sessions).toEqual({
      total,
      crashed,
      errored: 6,
      abnormal: 2,
      clients: 40,
      crashed_clients: 5,
    });
    const turned = (s: number, n: number) => {
      const w = wilson(s, n);
      return { value: 1 - w.value, low: 1 - w.high, high: 1 - w.low };
    };
    expect(body.crash_free_sessions).toEqual(turned(crashed, total));
    expect(body.crash_free_users).toEqual(turned(5, 40));
    expect(body.crash_free_users.low).toBeLessThan(body.crash_free_users.value);
    expect(body.crash_free_users.value).toBeCloseTo(0.875, 12);

    const params = { app, channel: 'stable', version: V, from, to };
    const sums = await env.DB.prepare(docQuery('health-sessions', params)).first();
    expect(sums).toEqual({
      version: V,
      sessions: total,
      crashed,
      errored: 6,
      abnormal: 2,
      clients: 40,
      crashed_clients: 5,
    });
    const rates = await env.DB.prepare(docQuery('crash-free-rates', params)).all<{
      rate: 'crash_free_sessions' | 'crash_free_users';
      value: number;
      low: number;
      high: number;
    }>();
    expect(rates.results.map((r) => r.rate)).toEqual(['crash_free_sessions', 'crash_free_users']);
    for (const rate of rates.results) {
      for (const bound of ['value', 'low', 'high'] as const) {
        expect(rate[bound], `${rate.rate} ${bound}`).toBeCloseTo(body[rate.rate][bound], 12);
      }
    }

    // A version with no sessions: nothing known.
    const none = await admin<ReleaseHealth>(`/apps/${app}/health?version=1.9.0&from=${hourAgo(1)}&to=${to}`);
    expect(none.body.crash_free_sessions).toEqual({ value: 1, low: 0, high: 1 });
    expect(none.body.sessions.total).toBe(0);

    // The channel listing carries the same figures.
    const list = await admin<{ releases: ReleaseHealth[] }>(`/apps/${app}/health?from=${from}&to=${to}`);
    const listed = list.body.releases.find((r) => r.version === V);
    expect(listed?.sessions).toEqual(body.sessions);
    expect(listed?.crash_free_users).toEqual(body.crash_free_users);
  });
});

describe('the retention export', () => {
  it('carries the session counts', async () => {
    const app = uniqueApp('sess');
    const old = await session(app, 'c1', '1.0.0', hourAgo(41 * 24), { ok: 7, crashed: 2, abnormal: 1 });
    await storeEvents(env.DB, [old]);
    const parts = await exportExpiredEvents(env.DB, env.BUCKET, { now: new Date(), retentionDays: 30 });
    expect(parts.map((p) => [p.app, p.events])).toEqual([[app, 1]]);
    const object = await env.BUCKET.get(parts[0]?.key ?? '');
    const text = await new Response(object?.body.pipeThrough(new DecompressionStream('gzip'))).text();
    const row = JSON.parse(text.trim()) as EventRow;
    expect(row).toMatchObject({
      id: old.id,
      type: 'session',
      version: '1.0.0',
      occurred_at: old.occurred_at,
      sessions_ok: 7,
      sessions_errored: 0,
      sessions_crashed: 2,
      sessions_abnormal: 1,
    });
    expect(await eventIds(app)).toEqual([]);
  });
});
