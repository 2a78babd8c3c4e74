import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { storeEvents } from '../../src/worker/storage/telemetry.ts';
import { EVENTS_PER_BATCH, hourOf } from '../../src/worker/storage/telemetry-sql.ts';
import { uniqueApp } from './support/fixtures.ts';
import {
  clientRows,
  eventCount,
  releaseClients,
  rollups,
  storedEvent,
} from './support/telemetry-fixtures.ts';

describe('storeEvents', () => {
  it('writes events, hourly rollups and client rows', async () => {
    const app = uniqueApp('tel');
    const events = [
      storedEvent(app, { client_id: 'a', occurred_at: '2026-11-21T18:05:00.000Z' }),
      storedEvent(app, { client_id: 'b', occurred_at: '2026-11-21T18:45:00.000Z' }),
      storedEvent(app, {
        client_id: 'a',
        type: 'install_failed',
        to_version: '1.2.0',
        from_version: '1.1.0',
        error_code: 'E_DISK',
        occurred_at: '2026-11-21T19:01:00.000Z',
      }),
    ];
    expect(await storeEvents(env.DB, events)).toEqual({ inserted: 3 });
    expect(await eventCount(app)).toBe(3);
    expect(await rollups(app)).toEqual([
      {
        channel: 'stable',
        version: '1.1.0',
        type: 'install_succeeded',
        platform: 'linux',
        error_code: '',
        hour: '2026-11-21T18:00:00Z',
        count: 2,
      },
      {
        channel: 'stable',
        version: '1.2.0',
        type: 'install_failed',
        platform: 'linux',
        error_code: 'E_DISK',
        hour: '2026-11-21T19:00:00Z',
        count: 1,
      },
    ]);
    expect(await clientRows(app)).toEqual([
      // install_failed reports the installed version (from_version), not the target.
      {
        client_id: 'a',
        channel: 'stable',
        version: '1.1.0',
        platform: 'linux',
        arch: 'x64',
        last_seen: '2026-11-21T19:01:00.000Z',
      },
      {
        client_id: 'b',
        channel: 'stable',
        version: '1.1.0',
        platform: 'linux',
        arch: 'x64',
        last_seen: '2026-11-21T18:45:00.000Z',
      },
    ]);
  });

  it('counts a stored event once however often it is written', async () => {
    const app = uniqueApp('tel');
    const event = storedEvent(app, { occurred_at: '2026-11-21T18:05:00.000Z' });
    expect(await storeEvents(env.DB, [event, event])).toEqual({ inserted: 1 });
    expect(await storeEvents(env.DB, [event])).toEqual({ inserted: 0 });
    expect(await eventCount(app)).toBe(1);
    expect((await rollups(app)).map((r) => r.count)).toEqual([1]);
    expect(await clientRows(app)).toHaveLength(1);
  });

  it('moves a client row only forward in time', async () => {
    const app = uniqueApp('tel');
    const newer = storedEvent(app, { to_version: '1.2.0', occurred_at: '2026-11-21T18:10:00.000Z' });
    const older = storedEvent(app, { to_version: '1.1.0', occurred_at: '2026-11-21T18:00:00.000Z' });
    await storeEvents(env.DB, [newer]);
    await storeEvents(env.DB, [older]);
    expect((await clientRows(app)).map((r) => [r.version, r.last_seen])).toEqual([
      ['1.2.0', '2026-11-21T18:10:00.000Z'],
    ]);
    // A rollback moves the client to its target version.
    await storeEvents(env.DB, [
      storedEvent(app, {
        type: 'rollback',
        from_version: '1.2.0',
        to_version: '1.0.0',
        occurred_at: '2026-11-21T18:20:00.000Z',
      }),
    ]);
    expect((await clientRows(app)).map((r) => r.version)).toEqual(['1.0.0']);
  });

  it('keeps one row per client and release it ran: the earliest install, the newest event, whatever the order', async () => {
    const app = uniqueApp('tel');
    const install = (client_id: string, occurred_at: string) =>
      storedEvent(app, { client_id, to_version: '1.2.0', occurred_at });
    const rollback = (client_id: string, occurred_at: string) =>
      storedEvent(app, {
        client_id,
        type: 'rollback',
        from_version: '1.2.0',
        to_version: '1.1.0',
        occurred_at,
      });
    const late = install('a', '2026-11-21T18:00:00.000Z');
    await storeEvents(env.DB, [
      install('a', '2026-11-21T18:10:00.000Z'),
      rollback('b', '2026-11-21T18:30:00.000Z'),
    ]);
    // An earlier install arriving late moves installed_at back; a rollback moves last_at on; a
    // rollback alone makes a row without an install; a duplicate changes nothing.
    await storeEvents(env.DB, [late, rollback('a', '2026-11-21T19:00:00.000Z'), late]);
    await storeEvents(env.DB, [late]);
    // Events that say nothing about running a release make no row.
    await storeEvents(env.DB, [
      storedEvent(app, { client_id: 'c', type: 'install_failed', to_version: '1.2.0', error_code: 'E' }),
      storedEvent(app, { client_id: 'c', type: 'check', to_version: undefined }),
    ]);
    expect(await releaseClients(app)).toEqual([
      {
        version: '1.2.0',
        client_id: 'a',
        installed_at: '2026-11-21T18:00:00.000Z',
        last_at: '2026-11-21T19:00:00.000Z',
      },
      { version: '1.2.0', client_id: 'b', installed_at: null, last_at: '2026-11-21T18:30:00.000Z' },
    ]);
    // b installs after all: its row gains the install and keeps its newest event.
    await storeEvents(env.DB, [install('b', '2026-11-21T18:20:00.000Z')]);
    expect((await releaseClients(app))[1]).toMatchObject({
      installed_at: '2026-11-21T18:20:00.000Z',
      last_at: '2026-11-21T18:30:00.000Z',
    });
  });

  it('marks a client seen without changing its version when an event does not say it', async () => {
    const app = uniqueApp('tel');
    const download = (occurred_at: string) => {
      const { from_version: _, ...event } = storedEvent(app, {
        type: 'download_started',
        to_version: '2.0.0',
        occurred_at,
      });
      return event;
    };
    // Never seen with a version: no row rather than a guess.
    await storeEvents(env.DB, [download('2026-11-21T18:00:00.000Z')]);
    expect(await clientRows(app)).toEqual([]);
    await storeEvents(env.DB, [storedEvent(app, { occurred_at: '2026-11-21T18:01:00.000Z' })]);
    const touch = download('2026-11-21T18:30:00.000Z');
    await storeEvents(env.DB, [touch]);
    expect((await clientRows(app)).map((r) => [r.version, r.last_seen])).toEqual([
      ['1.1.0', '2026-11-21T18:30:00.000Z'],
    ]);
    // A redelivered event without a version is ignored like any other duplicate.
    expect(await storeEvents(env.DB, [touch])).toEqual({ inserted: 0 });
    expect((await rollups(app)).map((r) => [r.type, r.count])).toEqual([
      ['install_succeeded', 1],
      ['download_started', 2],
    ]);
  });

  it('takes the newest event of each client in one batch, whatever the order they arrive in', async () => {
    const app = uniqueApp('tel');
    const { from_version: _, ...touch } = storedEvent(app, {
      type: 'download_started',
      to_version: '1.3.0',
      platform: 'darwin',
      occurred_at: '2026-11-21T18:20:00.000Z',
    });
    await storeEvents(env.DB, [
      storedEvent(app, { to_version: '1.2.0', occurred_at: '2026-11-21T18:10:00.000Z' }),
      touch,
      storedEvent(app, { to_version: '1.1.0', occurred_at: '2026-11-21T18:00:00.000Z' }),
    ]);
    expect((await clientRows(app)).map((r) => [r.version, r.platform, r.last_seen])).toEqual([
      ['1.2.0', 'darwin', '2026-11-21T18:20:00.000Z'],
    ]);
  });

  it('splits more than one batch worth of events into several batches', async () => {
    const app = uniqueApp('tel');
    const count = EVENTS_PER_BATCH * 2 + 50;
    const events = Array.from({ length: count }, (_, i) => storedEvent(app, { client_id: `c${i}` }));
    expect(await storeEvents(env.DB, events)).toEqual({ inserted: count });
    expect(await eventCount(app)).toBe(count);
    expect((await rollups(app)).reduce((sum, r) => sum + r.count, 0)).toBe(count);
    expect(await clientRows(app)).toHaveLength(count);
  });

  it('buckets by the hour of occurred_at', () => {
    expect(hourOf('2026-11-21T18:59:59.999Z')).toBe('2026-11-21T18:00:00Z');
  });
});
