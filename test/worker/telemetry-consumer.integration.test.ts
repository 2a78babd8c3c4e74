import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { EventsMessage } from '../../src/protocol/telemetry.ts';
import worker from '../../src/worker/index.ts';
import type { StoredEvent } from '../../src/worker/storage/telemetry-sql.ts';
import { retryDelaySeconds } from '../../src/worker/telemetry/queue.ts';
import { uniqueApp } from './support/fixtures.ts';
import { clientRows, eventCount, eventIds, rollups, storedEvent } from './support/telemetry-fixtures.ts';

/**
 * One delivery of `bodies` as the queue would make it, run through the Worker's queue handler.
 * `retryAllWith` holds the options of a retryAll() call, which getQueueResult() does not report.
 */
async function deliver(bodies: unknown[], attempts = 1) {
  const batch = createMessageBatch(
    'updraft-events',
    bodies.map((body, i) => ({ id: `msg-${i}`, timestamp: new Date(), attempts, body })),
  );
  const retryAll = vi.spyOn(batch, 'retryAll');
  const ctx = createExecutionContext();
  await worker.queue(batch, env);
  const result = await getQueueResult(batch, ctx);
  return { ...result, retryAllWith: retryAll.mock.calls.map(([options]) => options) };
}

/**
 * When the Worker accepted the fixed history below: fixed too, since the consumer refuses events
 * more than 400 days older than their acceptance, and a real clock would one day cross that.
 */
const RECEIVED_AT = '2026-11-21T19:00:00.000Z';

/** 100 events of 10 clients over two hours, about two releases. */
function hundredEvents(app: string): StoredEvent[] {
  return Array.from({ length: 100 }, (_, i) =>
    storedEvent(app, {
      received_at: RECEIVED_AT,
      client_id: `client-${i % 10}`,
      type: i % 4 === 0 ? 'install_failed' : 'install_succeeded',
      to_version: i % 2 === 0 ? '1.1.0' : '1.2.0',
      error_code: i % 4 === 0 ? 'E_DISK' : undefined,
      occurred_at: new Date(Date.UTC(2026, 10, 21, 17, 0, 0) + i * 72_000).toISOString(),
    }),
  );
}

interface Snapshot {
  ids: string[];
  rollups: Awaited<ReturnType<typeof rollups>>;
  clients: Awaited<ReturnType<typeof clientRows>>;
}

async function snapshot(app: string): Promise<Snapshot> {
  return { ids: await eventIds(app), rollups: await rollups(app), clients: await clientRows(app) };
}

afterEach(async () => {
  await env.DB.exec('DROP TRIGGER IF EXISTS fail_one_event');
  vi.restoreAllMocks();
});

describe('queue consumer', () => {
  it('stores a delivery in one go and acks it', async () => {
    const app = uniqueApp('cons');
    const events = hundredEvents(app);
    const result = await deliver(events);
    expect(result.ackAll).toBe(true);
    expect(result.retryBatch.retry).toBe(false);
    expect(result.retryMessages).toEqual([]);

    const stored = await snapshot(app);
    expect(stored.ids).toEqual(events.map((e) => e.id).sort());
    expect(stored.rollups.reduce((sum, r) => sum + r.count, 0)).toBe(100);
    // 25 failures, all on 1.1.0 (even i); hour 17 holds i < 50.
    expect(stored.rollups.filter((r) => r.type === 'install_failed')).toEqual([
      expect.objectContaining({
        version: '1.1.0',
        error_code: 'E_DISK',
        hour: '2026-11-21T17:00:00Z',
        count: 13,
      }),
      expect.objectContaining({
        version: '1.1.0',
        error_code: 'E_DISK',
        hour: '2026-11-21T18:00:00Z',
        count: 12,
      }),
    ]);
    expect(stored.clients).toHaveLength(10);
    // Each client's row follows its newest event: client-9's last is i = 99, install_succeeded of 1.2.0.
    expect(stored.clients.find((c) => c.client_id === 'client-9')).toMatchObject({
      version: '1.2.0',
      last_seen: events[99]?.occurred_at,
    });
  });

  it('counts duplicates within a delivery and redelivered batches once', async () => {
    const app = uniqueApp('cons');
    const events = hundredEvents(app).slice(0, 50);
    const withRepeats = [...events, ...events.slice(0, 20)];
    expect((await deliver(withRepeats)).ackAll).toBe(true);
    const once = await snapshot(app);
    expect(once.ids).toHaveLength(50);
    expect(once.rollups.reduce((sum, r) => sum + r.count, 0)).toBe(50);

    // The platform redelivers (the ack was lost), then again in another order.
    expect((await deliver(events, 2)).ackAll).toBe(true);
    expect((await deliver([...events].reverse(), 3)).ackAll).toBe(true);
    expect(await snapshot(app)).toEqual(once);
  });

  it('loses nothing when D1 fails in the middle of a delivery, and retries it with backoff', async () => {
    const app = uniqueApp('cons');
    const events = hundredEvents(app);
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    // A real D1 failure at the 50th event, after 49 events of the same transaction were written.
    await env.DB.exec(
      `CREATE TRIGGER fail_one_event BEFORE INSERT ON events WHEN NEW.id = '${events[49]?.id}' BEGIN SELECT RAISE(ABORT, 'injected failure'); END`,
    );

    const failed = await deliver(events);
    expect(failed.ackAll).toBe(false);
    expect(failed.explicitAcks).toEqual([]);
    expect(failed.retryBatch.retry).toBe(true);
    expect(failed.retryAllWith).toEqual([{ delaySeconds: 10 }]);
    expect(await eventCount(app)).toBe(0);
    expect(await rollups(app)).toEqual([]);
    expect(await clientRows(app)).toEqual([]);
    expect((await deliver(events, 3)).retryAllWith).toEqual([{ delaySeconds: 40 }]);
    expect(logged).toHaveBeenCalledTimes(2);

    await env.DB.exec('DROP TRIGGER fail_one_event');
    const retried = await deliver(events, 4);
    expect(retried.ackAll).toBe(true);
    expect(await eventIds(app)).toEqual(events.map((e) => e.id).sort());
    expect((await rollups(app)).reduce((sum, r) => sum + r.count, 0)).toBe(100);
    expect(await clientRows(app)).toHaveLength(10);
  });

  it('stores the valid messages and sends a malformed one towards the dead-letter queue', async () => {
    const app = uniqueApp('cons');
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    const good = storedEvent(app);
    const { to_version: _, ...withoutVersion } = storedEvent(app);
    const result = await deliver([
      good,
      'garbage',
      withoutVersion,
      { ...storedEvent(app), app: 'Not An App' },
    ]);
    expect(result.ackAll).toBe(false);
    expect(result.explicitAcks).toEqual(['msg-0']);
    expect(result.retryMessages.map((m) => m.msgId)).toEqual(['msg-1', 'msg-2', 'msg-3']);
    expect(await eventIds(app)).toEqual([good.id]);
    expect(logged).toHaveBeenCalledTimes(3);
  });

  it('judges time bounds at received_at, as intake did', async () => {
    const app = uniqueApp('cons');
    // Accepted 23 h ahead of the clock at intake; delivered a day later it is in the past anyway.
    const received = new Date(Date.now() - 2 * 86_400_000);
    const event = storedEvent(app, {
      occurred_at: new Date(received.getTime() + 23 * 3600_000).toISOString(),
      received_at: received.toISOString(),
    });
    expect((await deliver([event])).ackAll).toBe(true);
    expect(await eventIds(app)).toEqual([event.id]);
  });

  it('stores messages that carry the events of a whole intake request', async () => {
    const app = uniqueApp('cons');
    const received_at = RECEIVED_AT;
    const message = (events: StoredEvent[]): EventsMessage => ({
      app,
      received_at,
      events: events.map(({ app: _, received_at: __, ...event }) => event),
    });
    const events = hundredEvents(app);
    const result = await deliver([message(events.slice(0, 60)), message(events.slice(60))]);
    expect(result.ackAll).toBe(true);
    expect(await eventIds(app)).toEqual(events.map((e) => e.id).sort());
    expect((await rollups(app)).reduce((sum, r) => sum + r.count, 0)).toBe(100);
    expect(await clientRows(app)).toHaveLength(10);
  });

  it('sends a message with an invalid event towards the dead-letter queue whole', async () => {
    const app = uniqueApp('cons');
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    const [good, other] = [storedEvent(app), storedEvent(app)];
    const { to_version: _, ...withoutVersion } = storedEvent(app);
    const result = await deliver([
      { app, received_at: good.received_at, events: [good] },
      { app, received_at: other.received_at, events: [other, withoutVersion] },
    ]);
    expect(result.explicitAcks).toEqual(['msg-0']);
    expect(result.retryMessages.map((m) => m.msgId)).toEqual(['msg-1']);
    expect(await eventIds(app)).toEqual([good.id]);
    expect(logged.mock.calls[0]?.[0]).toContain('events[1]: to_version');
  });

  it('backs off 10 s, 20 s, 40 s… up to 10 minutes', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 20].map(retryDelaySeconds)).toEqual([10, 20, 40, 80, 160, 320, 600, 600]);
  });
});
