import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { EventsMessage } from '../../src/protocol/telemetry.ts';
import worker from '../../src/worker/index.ts';
import type { StoredEvent } from '../../src/worker/storage/telemetry-sql.ts';
import { uniqueApp } from './support/fixtures.ts';
import { eventIds, storedEvent } from './support/telemetry-fixtures.ts';

const DAY_MS = 86_400_000;

// The consumer builds its event schema once and sets the schema's clock to each message's
// `received_at` before judging that message's events (src/worker/telemetry/queue.ts). Each event below is
// valid at its own message's clock only: a clock left over from the other message would reject it.
describe('the consumer judges each message at its own received_at', () => {
  it('stores both messages of a delivery whose clocks are three days apart', async () => {
    const app = uniqueApp('clock');
    const later = new Date('2026-11-21T19:00:00.000Z');
    const earlier = new Date(later.getTime() - 2 * DAY_MS);
    // 23 h ahead of `later`: more than 24 h ahead of `earlier`.
    const ahead = storedEvent(app, {
      occurred_at: new Date(later.getTime() + 23 * 3600_000).toISOString(),
      received_at: later.toISOString(),
    });
    // 399 days before `earlier`: more than 400 days before `later`.
    const old = storedEvent(app, {
      occurred_at: new Date(earlier.getTime() - 399 * DAY_MS).toISOString(),
      received_at: earlier.toISOString(),
    });
    const message = ({ app: _, received_at, ...event }: StoredEvent): EventsMessage => ({
      app,
      received_at,
      events: [event],
    });

    const batch = createMessageBatch('updraft-events', [
      { id: 'msg-0', timestamp: new Date(), attempts: 1, body: message(ahead) },
      { id: 'msg-1', timestamp: new Date(), attempts: 1, body: message(old) },
      { id: 'msg-2', timestamp: new Date(), attempts: 1, body: message(ahead) },
    ]);
    await worker.queue(batch, env);
    const result = await getQueueResult(batch, createExecutionContext());

    expect(result.ackAll).toBe(true);
    expect(result.retryMessages).toEqual([]);
    expect(await eventIds(app)).toEqual([ahead.id, old.id].sort());
  });
});
