import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runScheduled } from '../../src/worker/scheduler/scheduled.ts';
import { storeEvents } from '../../src/worker/storage/telemetry.ts';
import {
  type EventRow,
  exportExpiredEvents,
  exportKey,
  ORPHAN_AGE_MS,
  retentionDays,
} from '../../src/worker/storage/telemetry-export.ts';
import { uniqueApp } from './support/fixtures.ts';
import { clientRows, eventIds, releaseClients, rollups, storedEvent } from './support/telemetry-fixtures.ts';

const DAY = 86_400_000;
// The clock of each run: real time, so that R2's upload times (real) compare with it as in production.
const NOW = new Date();
/**
 * Noon UTC on the day `days` before NOW, plus `plusMs`. Noon keeps an event's day certain and its side of
 * the cutoff too, whatever time of day the run starts: a cutoff moved an hour on (the orphan test) still
 * falls at least eleven hours away from every event, so a run that crosses midnight behaves as any other.
 */
const daysAgo = (days: number, plusMs = 0) =>
  new Date(Math.floor((NOW.getTime() - days * DAY) / DAY) * DAY + 12 * 3_600_000 + plusMs).toISOString();
const dayOf = (iso: string) => iso.slice(0, 10);

async function objects(app: string): Promise<string[]> {
  const listed = await env.BUCKET.list({ prefix: `telemetry/${app}/` });
  return listed.objects.map((o) => o.key).sort();
}

async function readPart(key: string): Promise<EventRow[]> {
  const object = await env.BUCKET.get(key);
  if (!object) throw new Error(`no object ${key}`);
  const text = await new Response(object.body.pipeThrough(new DecompressionStream('gzip'))).text();
  expect(text.endsWith('\n')).toBe(true);
  return text
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as EventRow);
}

async function exportRows(app: string) {
  const { results } = await env.DB.prepare(
    'SELECT day, part, r2_key, events FROM telemetry_exports WHERE app = ?1 ORDER BY day, part',
  )
    .bind(app)
    .all<{ day: string; part: number; r2_key: string; events: number }>();
  return results;
}

afterEach(async () => {
  await env.DB.exec('DROP TRIGGER IF EXISTS steal_one_event');
  vi.restoreAllMocks();
});

describe('retention export', () => {
  it('exports expired events as gzip NDJSON partitions, then deletes them; a re-run changes nothing', async () => {
    const [a, b] = [uniqueApp('exp'), uniqueApp('exp')];
    const old = [
      storedEvent(a, { occurred_at: daysAgo(41), client_id: 'a1' }),
      storedEvent(a, { occurred_at: daysAgo(41, 1000), client_id: 'a2', os_version: '14.2' }),
      storedEvent(a, { occurred_at: daysAgo(40), client_id: 'a1', type: 'check', to_version: undefined }),
      storedEvent(b, { occurred_at: daysAgo(41, 500), client_id: 'b1' }),
    ];
    const recent = [
      storedEvent(a, { occurred_at: daysAgo(29) }),
      storedEvent(b, { occurred_at: daysAgo(1) }),
    ];
    await storeEvents(env.DB, [...old, ...recent]);
    const kept = {
      rollups: [await rollups(a), await rollups(b)],
      clients: [await clientRows(a), await clientRows(b)],
    };

    expect((await releaseClients(a)).map((row) => row.client_id)).toEqual(['a1', 'a2', 'client-1']);

    await runScheduled(env, NOW);

    const [d41, d40] = [dayOf(daysAgo(41)), dayOf(daysAgo(40))];
    const aKeys = [exportKey(a, d41, 0), exportKey(a, d40, 0)];
    expect(await objects(a)).toEqual(aKeys);
    expect(await objects(b)).toEqual([exportKey(b, d41, 0)]);
    const exportedA = (await Promise.all(aKeys.map(readPart))).flat();
    // Every column of the row, nulls included, in (occurred_at, id) order.
    expect(exportedA).toEqual(
      old.slice(0, 3).map((e) => ({
        id: e.id,
        app: a,
        type: e.type,
        client_id: e.client_id,
        channel: 'stable',
        from_version: '1.0.0',
        to_version: e.to_version ?? null,
        version: e.type === 'check' ? '1.0.0' : '1.1.0',
        platform: 'linux',
        arch: 'x64',
        os_version: e.os_version ?? null,
        error_code: null,
        error_message: null,
        duration_ms: 1200,
        occurred_at: e.occurred_at,
        received_at: e.received_at,
        kind: 'sdk',
        sessions_ok: null,
        sessions_errored: null,
        sessions_crashed: null,
        sessions_abnormal: null,
      })),
    );
    expect((await readPart(exportKey(b, d41, 0))).map((r) => r.id)).toEqual([old[3]?.id]);
    const recorded = await exportRows(a);
    expect(recorded.map((r) => r.r2_key)).toEqual(aKeys);
    expect(recorded.reduce((sum, r) => sum + r.events, 0)).toBe(3);

    // Raw events are gone from D1; recent ones, rollups and client rows stay.
    expect(await eventIds(a)).toEqual([recent[0]?.id]);
    expect(await eventIds(b)).toEqual([recent[1]?.id]);
    expect({
      rollups: [await rollups(a), await rollups(b)],
      clients: [await clientRows(a), await clientRows(b)],
    }).toEqual(kept);

    // Who ran which release goes with the events it was made from: a2 and b1 installed only in the
    // exported days; a1's install is exported too (its later check says nothing about installing).
    expect(await releaseClients(a)).toEqual([
      expect.objectContaining({ client_id: recent[0]?.client_id, installed_at: daysAgo(29) }),
    ]);
    expect(await releaseClients(b)).toEqual([
      expect.objectContaining({ client_id: recent[1]?.client_id, installed_at: daysAgo(1) }),
    ]);

    await runScheduled(env, NOW);
    expect(await objects(a)).toEqual(aKeys);
    expect(await exportRows(a)).toEqual(recorded);
    expect(await eventIds(a)).toEqual([recent[0]?.id]);
  });

  it('works in bounded chunks and picks up where the last run stopped', async () => {
    const app = uniqueApp('exp');
    const events = Array.from({ length: 25 }, (_, i) =>
      storedEvent(app, { occurred_at: daysAgo(35, i * 1000) }),
    );
    await storeEvents(env.DB, events);
    const run = () =>
      exportExpiredEvents(env.DB, env.BUCKET, {
        now: NOW,
        retentionDays: 30,
        maxEvents: 10,
        eventsPerPart: 4,
      });

    expect((await run()).map((p) => [p.part, p.events])).toEqual([
      [0, 4],
      [1, 4],
      [2, 2],
    ]);
    expect(await eventIds(app)).toHaveLength(15);
    expect((await run()).map((p) => [p.part, p.events])).toEqual([
      [3, 4],
      [4, 4],
      [5, 2],
    ]);
    expect((await run()).map((p) => [p.part, p.events])).toEqual([
      [6, 4],
      [7, 1],
    ]);
    expect(await run()).toEqual([]);

    const exported = (await Promise.all((await objects(app)).map(readPart))).flat().map((r) => r.id);
    expect(exported).toEqual(events.map((e) => e.id));
    expect(await eventIds(app)).toEqual([]);
  });

  it('never deletes events whose export was not stored', async () => {
    const app = uniqueApp('exp');
    await storeEvents(env.DB, [storedEvent(app, { occurred_at: daysAgo(31) })]);
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    const broken = new Proxy(env.BUCKET, {
      get: (bucket, name) =>
        name === 'put' ? () => Promise.reject(new Error('R2 is down')) : Reflect.get(bucket, name, bucket),
    });
    await runScheduled({ ...env, BUCKET: broken }, NOW);
    expect(logged).toHaveBeenCalledWith('scheduled: exporting expired telemetry failed', expect.any(Error));
    expect(await eventIds(app)).toHaveLength(1);
    expect(await exportRows(app)).toEqual([]);

    await runScheduled(env, NOW);
    expect(await eventIds(app)).toEqual([]);
    expect(await exportRows(app)).toHaveLength(1);
  });

  it('finishes the work of a run that died after writing R2, without overwriting its object', async () => {
    const app = uniqueApp('exp');
    const events = [0, 1, 2].map((i) => storedEvent(app, { occurred_at: daysAgo(33, i) }));
    await storeEvents(env.DB, events);
    const day = dayOf(daysAgo(33));
    // What a run that died between the R2 put and the D1 commit leaves behind.
    const orphan = exportKey(app, day, 0);
    await env.BUCKET.put(orphan, 'left by a dead run');

    // Young: its run may still be committing, so the partition waits.
    expect(await exportExpiredEvents(env.DB, env.BUCKET, { now: NOW, retentionDays: 30 })).toEqual([]);
    expect(await (await env.BUCKET.get(orphan))?.text()).toBe('left by a dead run');
    expect(await eventIds(app)).toHaveLength(3);

    // An hour after its upload, it is dead: deleted (its events are still in D1) and the export goes
    // on under part 1. (From the upload time R2 recorded, not NOW: the file's earlier tests take time.)
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    const uploaded = (await env.BUCKET.head(orphan))?.uploaded ?? NOW;
    const later = new Date(Math.max(NOW.getTime(), uploaded.getTime()) + ORPHAN_AGE_MS + 60_000);
    const parts = await exportExpiredEvents(env.DB, env.BUCKET, { now: later, retentionDays: 30 });
    expect(parts.map((p) => p.key)).toEqual([exportKey(app, day, 1)]);
    expect(await objects(app)).toEqual([exportKey(app, day, 1)]);
    expect((await readPart(exportKey(app, day, 1))).map((r) => r.id)).toEqual(events.map((e) => e.id));
    expect(await eventIds(app)).toEqual([]);
  });

  it('lets only one of two overlapping runs export an event, and the loser removes its object', async () => {
    const app = uniqueApp('exp');
    const events = [0, 1].map((i) => storedEvent(app, { occurred_at: daysAgo(32, i) }));
    await storeEvents(env.DB, events);
    // Another run deletes one of these events between our read and our commit.
    await env.DB.exec(
      `CREATE TRIGGER steal_one_event AFTER INSERT ON telemetry_exports BEGIN DELETE FROM events WHERE id = '${events[1]?.id}'; END`,
    );
    await expect(exportExpiredEvents(env.DB, env.BUCKET, { now: NOW, retentionDays: 30 })).rejects.toThrow(
      /revision_guard_failed/,
    );
    expect(await objects(app)).toEqual([]);
    expect(await exportRows(app)).toEqual([]);
    expect(await eventIds(app)).toHaveLength(2);
  });

  it('reads the retention from TELEMETRY_RETENTION_DAYS, 30 by default', () => {
    expect(retentionDays('7')).toBe(7);
    expect(retentionDays(undefined)).toBe(30);
    expect(retentionDays('0')).toBe(30);
    expect(retentionDays('soon')).toBe(30);
    expect(retentionDays(env.TELEMETRY_RETENTION_DAYS)).toBe(30);
  });
});
