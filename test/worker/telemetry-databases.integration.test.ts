/**
 * Telemetry across D1 databases (docs/protocol.md §11): vitest.config.ts binds a second database, TELEMETRY_2,
 * beside DB. An app that names it at creation keeps every event there, and everything that reads or
 * writes telemetry (the consumer, analytics, the scheduler's gates, retention) goes to the app's own
 * database, while releases and rollouts stay in DB. Each check queries both databases, or plants
 * different events for the same app in the wrong one, so that reading the wrong database shows.
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AppView, SentReleaseHealth as ReleaseHealth } from '../../src/protocol/admin-api.ts';
import { type AppExport, BACKUP_FORMAT_VERSION, type ImportBody } from '../../src/protocol/backup.ts';
import { randomHex } from '../../src/protocol/encoding.ts';
import type { EventsMessage } from '../../src/protocol/telemetry.ts';
import worker from '../../src/worker/index.ts';
import { runScheduled } from '../../src/worker/scheduler/scheduled.ts';
import { storeEvents } from '../../src/worker/storage/telemetry.ts';
import { chooseTelemetryDb } from '../../src/worker/storage/telemetry-dbs.ts';
import type { StoredEvent } from '../../src/worker/storage/telemetry-sql.ts';
import {
  admin,
  auditCount,
  bootstrapKeys,
  type ErrorBody,
  promote,
  publish,
  uniqueApp,
} from './support/fixtures.ts';
import { HOUR, MINUTE, plan, rollout, schedulerAudit, VERSION } from './support/scheduler-fixtures.ts';
import { storedEvent } from './support/telemetry-fixtures.ts';

type Db = 'DB' | 'TELEMETRY_2';
const database = (name: Db): D1Database => (name === 'DB' ? env.DB : env.TELEMETRY_2);

/** Creates an app through the API on `telemetry_db` (`undefined`: the request names none). */
async function createOn(telemetry_db: Db | undefined, name = uniqueApp('tdb')): Promise<AppView> {
  await bootstrapKeys();
  const { status, body } = await admin<AppView>('/apps', {
    method: 'POST',
    body: { name, default_channel: 'stable', ...(telemetry_db && { telemetry_db }) },
  });
  if (status !== 201) throw new Error(`create app failed: ${status} ${JSON.stringify(body)}`);
  return body;
}

/** How many events, rollup counts and client rows `app` has in one database. */
async function stored(db: Db, app: string) {
  const d = database(db);
  const [events, rollups, clients] = await d.batch<{ n: number }>([
    d.prepare('SELECT count(*) AS n FROM events WHERE app = ?1').bind(app),
    d.prepare('SELECT coalesce(sum(count), 0) AS n FROM event_rollups_hourly WHERE app = ?1').bind(app),
    d.prepare('SELECT count(*) AS n FROM clients WHERE app = ?1').bind(app),
  ]);
  const n = (r: D1Result<{ n: number }> | undefined) => r?.results[0]?.n ?? -1;
  return { events: n(events), rollups: n(rollups), clients: n(clients) };
}

/** One queue delivery of `messages` through the Worker's queue handler. */
async function deliver(messages: EventsMessage[]) {
  const batch = createMessageBatch(
    'updraft-events',
    messages.map((body, i) => ({ id: `msg-${i}`, timestamp: new Date(), attempts: 1, body })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, env);
  return getQueueResult(batch, ctx);
}

const message = (app: string, events: StoredEvent[]): EventsMessage => ({
  app,
  received_at: new Date().toISOString(),
  events: events.map(({ app: _, received_at: __, ...event }) => event),
});

/** `installs` install_succeeded and `failures` install_failed events of VERSION, from fresh clients. */
function installs(app: string, count: { installs: number; failures?: number }, from: number, to: number) {
  const total = count.installs + (count.failures ?? 0);
  return Array.from({ length: total }, (_, i) => {
    const failed = i < (count.failures ?? 0);
    return storedEvent(app, {
      type: failed ? 'install_failed' : 'install_succeeded',
      client_id: `c-${randomHex(8)}`,
      from_version: '1.0.0',
      to_version: VERSION,
      occurred_at: new Date(from + ((i + 0.5) * (to - from)) / total).toISOString(),
      ...(failed && { error_code: 'E_DISK' }),
    });
  });
}

afterEach(async () => {
  await env.TELEMETRY_2.exec('DROP TRIGGER IF EXISTS fail_events_2');
  vi.restoreAllMocks();
});

// First, while this file's deployment has no app: an import restores into an empty deployment only.
describe('a backup import', () => {
  it('refuses an app on a database not bound here, and keeps one that is', async () => {
    const keys = await bootstrapKeys();
    const body = (name: string, telemetry_db: string | undefined): ImportBody => ({
      format_version: BACKUP_FORMAT_VERSION,
      exported_at: '2026-11-21T12:00:00Z',
      source: 'https://old.example.com',
      scope: 'app',
      keys: [{ version: 1, created_at: '2026-11-20T09:00:00Z', jws: keys.jws }],
      tokens: [],
      audit: { rows: 0, min_id: null, max_id: null },
      apps: [
        {
          app: {
            name,
            default_channel: 'stable',
            revision: 1,
            rules: [],
            webhook_url: null,
            webhook_secret: null,
            default_plan: null,
            ...(telemetry_db && { telemetry_db }),
            created_at: '2026-11-20T09:00:00Z',
            updated_at: '2026-11-20T09:00:00Z',
          },
          channels: [
            {
              name: 'stable',
              public: true,
              revision: 1,
              issued_at: '2026-11-20T09:00:00Z',
              expires: '2026-11-27T09:00:00Z',
              created_at: '2026-11-20T09:00:00Z',
            },
          ],
          releases: [],
          rollouts: [],
          yanks: [],
        },
      ],
    });
    const refused = await admin<ErrorBody>('/import', {
      method: 'POST',
      body: body('restored', 'TELEMETRY_9'),
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toEqual({
      code: 'unknown_telemetry_db',
      message: 'apps.restored.telemetry_db: TELEMETRY_9 is not bound here (DB, TELEMETRY_2)',
    });
    expect((await admin('/apps/restored')).status).toBe(404);

    const restored = await admin('/import', { method: 'POST', body: body('restored', 'TELEMETRY_2') });
    expect(restored.status).toBe(201);
    expect((await admin<AppView>('/apps/restored')).body.telemetry_db).toBe('TELEMETRY_2');
    const { body: exported } = await admin<AppExport>('/export/apps/restored');
    expect(exported.app.telemetry_db).toBe('TELEMETRY_2');
  });
});

describe('an app’s telemetry database', () => {
  it('is recorded at creation, shown in the app view, and never chosen from an unknown binding', async () => {
    const onDb = await createOn(undefined);
    const onSecond = await createOn('TELEMETRY_2');
    expect(onDb.telemetry_db).toBe('DB');
    expect(onSecond.telemetry_db).toBe('TELEMETRY_2');
    expect((await admin<AppView>(`/apps/${onSecond.name}`)).body.telemetry_db).toBe('TELEMETRY_2');

    const audits = await auditCount();
    for (const telemetry_db of ['TELEMETRY_9', 'TELEMETRY_RETENTION_DAYS', 'telemetry_2', 'STATE', '']) {
      const name = uniqueApp('refused');
      const { status, body } = await admin<ErrorBody>('/apps', {
        method: 'POST',
        body: { name, default_channel: 'stable', telemetry_db },
      });
      expect(status, telemetry_db).toBe(400);
      expect(body.error.code).toBe(telemetry_db === '' ? 'invalid_json' : 'unknown_telemetry_db');
      expect((await admin(`/apps/${name}`)).status).toBe(404);
    }
    expect(await auditCount()).toBe(audits);
  });

  it('without a name: the bound telemetry database with the fewest apps, or the one pinned', async () => {
    // vitest.config.ts pins new apps to DB; unpinned, TELEMETRY_2 (the only one bound) takes them.
    expect(await chooseTelemetryDb(env)).toBe('DB');
    expect(await chooseTelemetryDb({ ...env, NEW_APP_TELEMETRY_DB: 'auto' })).toBe('TELEMETRY_2');
    expect(await chooseTelemetryDb({ ...env, NEW_APP_TELEMETRY_DB: 'TELEMETRY_2' })).toBe('TELEMETRY_2');
    const { TELEMETRY_2: _, ...withoutSecond } = env;
    expect(await chooseTelemetryDb({ ...withoutSecond, NEW_APP_TELEMETRY_DB: 'auto' })).toBe('DB');
  });
});

describe('the consumer', () => {
  it('stores each app’s events only in its own database, a duplicate once', async () => {
    const [a, b] = [(await createOn('DB')).name, (await createOn('TELEMETRY_2')).name];
    const eventsA = Array.from({ length: 5 }, (_, i) => storedEvent(a, { client_id: `a-${i}` }));
    const eventsB = Array.from({ length: 7 }, (_, i) => storedEvent(b, { client_id: `b-${i}` }));
    const [firstB] = eventsB;
    if (!firstB) throw new Error('no events');
    // One delivery with both apps' messages and one of B's events twice.
    const result = await deliver([message(a, eventsA), message(b, eventsB), message(b, [firstB])]);
    expect(result.ackAll).toBe(true);

    expect(await stored('DB', a)).toEqual({ events: 5, rollups: 5, clients: 5 });
    expect(await stored('TELEMETRY_2', a)).toEqual({ events: 0, rollups: 0, clients: 0 });
    expect(await stored('TELEMETRY_2', b)).toEqual({ events: 7, rollups: 7, clients: 7 });
    expect(await stored('DB', b)).toEqual({ events: 0, rollups: 0, clients: 0 });

    // The whole delivery again (a lost ack): nothing is counted twice in either database.
    await deliver([message(a, eventsA), message(b, eventsB)]);
    expect(await stored('DB', a)).toEqual({ events: 5, rollups: 5, clients: 5 });
    expect(await stored('TELEMETRY_2', b)).toEqual({ events: 7, rollups: 7, clients: 7 });
  });

  it('retries the delivery when one database fails, and the retry counts each event once', async () => {
    const [a, b] = [(await createOn('DB')).name, (await createOn('TELEMETRY_2')).name];
    const eventsA = Array.from({ length: 4 }, (_, i) => storedEvent(a, { client_id: `a-${i}` }));
    const eventsB = Array.from({ length: 3 }, (_, i) => storedEvent(b, { client_id: `b-${i}` }));
    await env.TELEMETRY_2.exec(
      "CREATE TRIGGER fail_events_2 BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'D1 is down'); END",
    );
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const failed = await deliver([message(a, eventsA), message(b, eventsB)]);
    expect(failed.retryBatch.retry).toBe(true);
    expect(await stored('TELEMETRY_2', b)).toEqual({ events: 0, rollups: 0, clients: 0 });

    await env.TELEMETRY_2.exec('DROP TRIGGER fail_events_2');
    const retried = await deliver([message(a, eventsA), message(b, eventsB)]);
    expect(retried.ackAll).toBe(true);
    expect(await stored('DB', a)).toEqual({ events: 4, rollups: 4, clients: 4 });
    expect(await stored('TELEMETRY_2', b)).toEqual({ events: 3, rollups: 3, clients: 3 });
  });

  it('keeps the messages of an app whose database is not bound, and stores the others', async () => {
    const [a, b] = [(await createOn('DB')).name, (await createOn('TELEMETRY_2')).name];
    const eventsA = [storedEvent(a)];
    const eventsB = [storedEvent(b), storedEvent(b, { client_id: 'client-2' })];
    // The same Worker after TELEMETRY_2's binding was removed from wrangler.toml by mistake.
    const { TELEMETRY_2: _, ...unbound } = env;
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const batch = createMessageBatch('updraft-events', [
      { id: 'msg-a', timestamp: new Date(), attempts: 1, body: message(a, eventsA) },
      { id: 'msg-b', timestamp: new Date(), attempts: 1, body: message(b, eventsB) },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, unbound);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toEqual(['msg-a']);
    expect(result.retryMessages.map((m) => m.msgId)).toEqual(['msg-b']);
    expect((await stored('DB', a)).events).toBe(1);
    expect((await stored('DB', b)).events).toBe(0);
    expect((await stored('TELEMETRY_2', b)).events).toBe(0);

    // The binding is back: the retried message lands in the app's database.
    expect((await deliver([message(b, eventsB)])).ackAll).toBe(true);
    expect(await stored('TELEMETRY_2', b)).toEqual({ events: 2, rollups: 2, clients: 2 });
  });
});

describe('analytics', () => {
  let app: string;
  const now = Date.now();
  const window = { from: new Date(now - 2 * HOUR).toISOString(), to: new Date(now).toISOString() };
  const query = `from=${window.from}&to=${window.to}`;

  beforeAll(async () => {
    app = (await createOn('TELEMETRY_2')).name;
    await publish(app, '1.0.0');
    await publish(app, VERSION);
    expect((await promote(app, 'stable', '1.0.0')).status).toBe(200);
    // Complete: the baseline of 1.1.0 (docs/protocol.md §6).
    expect(
      (await admin(`/apps/${app}/channels/stable/rollouts/1.0.0/complete`, { method: 'POST' })).status,
    ).toBe(200);
    // The real history, in the app's database: 1.0.0 installed by 10, 1.1.0 by 20 with 5 failures.
    const base = installs(app, { installs: 10 }, now - 2 * HOUR, now - HOUR).map((e) => ({
      ...e,
      from_version: '0.9.0',
      to_version: '1.0.0',
    }));
    await storeEvents(env.TELEMETRY_2, [
      ...base,
      ...installs(app, { installs: 20, failures: 5 }, now - HOUR, now),
    ]);
    // A decoy in DB: what a read of the wrong database would count.
    await storeEvents(env.DB, [
      ...installs(app, { installs: 300, failures: 100 }, now - HOUR, now),
      storedEvent(app, { to_version: '7.0.0', occurred_at: new Date(now - HOUR).toISOString() }),
    ]);
  });

  it('gives release health and the channel listing from the app’s database', async () => {
    const one = await admin<ReleaseHealth>(`/apps/${app}/health?version=${VERSION}&${query}`);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ installs: 20, failures: 5, top_errors: [{ code: 'E_DISK', count: 5 }] });

    // Known from its release alone (a DB row), with no events about it in the window: zeros, not 404.
    const early = `from=${new Date(now - 10 * HOUR).toISOString()}&to=${new Date(now - 9 * HOUR).toISOString()}`;
    expect((await admin<ReleaseHealth>(`/apps/${app}/health?version=1.0.0&${early}`)).body).toMatchObject({
      installs: 0,
    });
    // 7.0.0 exists only in the decoy (DB): unknown for this app.
    const decoy = await admin<ErrorBody>(`/apps/${app}/health?version=7.0.0&${query}`);
    expect(decoy.status).toBe(404);
    expect(decoy.body.error.code).toBe('unknown_release');

    const list = await admin<{ releases: ReleaseHealth[] }>(`/apps/${app}/health?${query}`);
    expect(list.body.releases.map((r) => [r.version, r.installs, r.failures])).toEqual([
      [VERSION, 20, 5],
      ['1.0.0', 10, 0],
    ]);
  });

  it('compares against the baseline, and gives adoption, errors and clients from the app’s database', async () => {
    const compare = await admin<{ canary: ReleaseHealth; baseline: ReleaseHealth | null }>(
      `/apps/${app}/compare?version=${VERSION}&${query}`,
    );
    expect(compare.status).toBe(200);
    expect(compare.body.canary).toMatchObject({ installs: 20, failures: 5 });
    expect(compare.body.baseline).toMatchObject({ version: '1.0.0', installs: 10, failures: 0 });

    const adoption = await admin<{ points: { clients: number }[] }>(
      `/apps/${app}/adoption?interval=hour&${query}`,
    );
    // Every event is a fresh client's, and each says which version it runs: 10 + 20 + 5.
    expect(adoption.body.points.reduce((sum, p) => sum + p.clients, 0)).toBe(35);

    const errors = await admin<{ top_errors: unknown[] }>(`/apps/${app}/errors?${query}`);
    expect(errors.body.top_errors).toEqual([{ code: 'E_DISK', count: 5 }]);

    const clients = await admin<{ active_24h: number }>(`/apps/${app}/clients`);
    expect(clients.body.active_24h).toBe(35);
  });
});

describe('the scheduler', () => {
  it('judges a rollout’s gates on the telemetry in its app’s database', async () => {
    const app = (await createOn('TELEMETRY_2')).name;
    await publish(app, '1.0.0');
    await publish(app, VERSION);
    const res = await promote(app, 'stable', VERSION, undefined, {
      percent_bp: undefined,
      plan: plan({ gates: { min_installs: 50 } }),
    });
    expect(res.status).toBe(200);
    const started = (await rollout(app)).step_started_at;
    if (!started) throw new Error('no step_started_at');
    const start = Date.parse(started);
    // Failing in the app's database (30 failures in 130); a healthy decoy in DB.
    await storeEvents(
      env.TELEMETRY_2,
      installs(app, { installs: 100, failures: 30 }, start, start + 10 * MINUTE),
    );
    await storeEvents(env.DB, installs(app, { installs: 500 }, start, start + 10 * MINUTE));

    await runScheduled(env, new Date(start + 10 * MINUTE));
    expect((await rollout(app)).state).toBe('halted');
    const [halt] = await schedulerAudit(app);
    expect(halt?.action).toBe('rollout.halt');
    expect(halt?.after.figures).toMatchObject({ installs: 100, failures: 30 });
  });
});

describe('retention', () => {
  it('exports and deletes expired events of each database, each app under its own prefix', async () => {
    const [a, b] = [(await createOn('DB')).name, (await createOn('TELEMETRY_2')).name];
    const old = new Date(Date.now() - 40 * 24 * HOUR).toISOString();
    await storeEvents(env.DB, [storedEvent(a, { occurred_at: old }), storedEvent(a, { occurred_at: old })]);
    await storeEvents(env.TELEMETRY_2, [storedEvent(b, { occurred_at: old })]);

    await runScheduled(env, new Date());

    const exported = async (db: Db, app: string) =>
      (
        await database(db)
          .prepare('SELECT r2_key, events FROM telemetry_exports WHERE app = ?1')
          .bind(app)
          .all<{ r2_key: string; events: number }>()
      ).results;
    const [rowA] = await exported('DB', a);
    const [rowB] = await exported('TELEMETRY_2', b);
    expect(rowA?.events).toBe(2);
    expect(rowB?.events).toBe(1);
    expect(await exported('TELEMETRY_2', a)).toEqual([]);
    expect(await exported('DB', b)).toEqual([]);
    expect(rowB?.r2_key.startsWith(`telemetry/${b}/dt=${old.slice(0, 10)}/`)).toBe(true);
    expect(await env.BUCKET.head(rowA?.r2_key ?? '')).not.toBeNull();
    expect(await env.BUCKET.head(rowB?.r2_key ?? '')).not.toBeNull();
    expect((await stored('DB', a)).events).toBe(0);
    expect((await stored('TELEMETRY_2', b)).events).toBe(0);
    // Rollups and client rows stay where they were written.
    expect(await stored('TELEMETRY_2', b)).toMatchObject({ rollups: 1, clients: 1 });
  });
});
