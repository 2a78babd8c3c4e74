import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it, vi } from 'vitest';
import type { IntakeAnswer } from '../../src/protocol/telemetry.ts';
import worker from '../../src/worker/index.ts';
import { withinOneRateWindow } from './support/rate-window.ts';
import { errorOf, fetchWorker, ORIGIN, seedApp, uniqueApp } from './support/seed-projection.ts';
import { clientRows, eventCount, eventIds, rollups, telemetryEvent } from './support/telemetry-fixtures.ts';

/** The real queue consumer runs after max_batch_timeout (1 s): wait for D1 to show the result. */
const QUEUE_WAIT = { timeout: 15_000, interval: 250 };

function post(app: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetchWorker(`/v1/apps/${app}/events`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

async function newApp(): Promise<string> {
  const app = uniqueApp('ev');
  await seedApp(app);
  return app;
}

describe('POST /v1/apps/{app}/events', () => {
  it('judges 100 mixed events one by one and queues exactly the valid ones', {
    timeout: 30_000,
  }, async () => {
    const app = await newApp();
    const now = Date.now();
    const expectedRejections: { index: number; code: string; message: string }[] = [];
    const events: unknown[] = [];
    const validIds: string[] = [];
    for (let i = 0; i < 100; i++) {
      const event = telemetryEvent({
        client_id: `client-${i % 7}`,
        occurred_at: new Date(now - i * 1000).toISOString(),
      });
      switch (i % 10) {
        case 3:
          events.push({ ...event, to_version: undefined });
          expectedRejections.push({
            index: i,
            code: 'invalid_event',
            message: 'to_version: is required for install_succeeded',
          });
          break;
        case 7:
          events.push({ ...event, occurred_at: new Date(now + 2 * 86_400_000).toISOString() });
          expectedRejections.push({
            index: i,
            code: 'invalid_event',
            message: 'occurred_at: is more than 24 h in the future',
          });
          break;
        case 9:
          events.push(i === 99 ? 'not an event' : { ...event, platform: 'beos' });
          expectedRejections.push({
            index: i,
            code: 'invalid_event',
            message:
              i === 99
                ? 'Invalid input: expected object, received string'
                : expect.stringMatching(/^platform: /),
          });
          break;
        default:
          events.push(event);
          validIds.push(event.id);
      }
    }
    const response = await post(app, { events });
    expect(response.status).toBe(202);
    expect(response.headers.get('Cache-Control')).toBe('no-store');
    const body: IntakeAnswer = await response.json();
    expect(body).toEqual({ accepted: 70, duplicates: 0, rejected: expectedRejections });

    await vi.waitFor(async () => expect(await eventCount(app)).toBe(70), QUEUE_WAIT);
    expect(await eventIds(app)).toEqual(validIds.sort());
    expect((await rollups(app)).reduce((sum, r) => sum + r.count, 0)).toBe(70);
    expect((await clientRows(app)).map((c) => c.client_id)).toEqual(
      [0, 1, 2, 3, 4, 5, 6].map((n) => `client-${n}`),
    );
  });

  it('counts a repeated id once, within a request and across retried requests', {
    timeout: 30_000,
  }, async () => {
    const app = await newApp();
    const event = telemetryEvent();
    // At the same moment, so that both fall in one hourly rollup whatever the clock says.
    const other = telemetryEvent({ client_id: 'client-2', occurred_at: event.occurred_at });
    // The same UUID in upper case is the same event.
    const first: IntakeAnswer = await (
      await post(app, { events: [event, event, other, { ...event, id: event.id.toUpperCase() }] })
    ).json();
    expect(first).toEqual({ accepted: 2, duplicates: 2, rejected: [] });
    // The client did not see the 202 and sends again: accepted again, stored once.
    expect(await (await post(app, { events: [event] })).json()).toEqual({
      accepted: 1,
      duplicates: 0,
      rejected: [],
    });

    await vi.waitFor(async () => expect(await eventCount(app)).toBe(2), QUEUE_WAIT);
    // Give the second delivery time to land too, then check nothing was counted twice.
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    expect(await eventCount(app)).toBe(2);
    expect((await rollups(app)).map((r) => r.count)).toEqual([2]);
    expect(await clientRows(app)).toHaveLength(2);
  });

  it('answers an empty list with nothing accepted', async () => {
    const app = await newApp();
    expect(await (await post(app, { events: [] })).json()).toEqual({
      accepted: 0,
      duplicates: 0,
      rejected: [],
    });
  });

  it('refuses a body over 64 KiB with 413, by Content-Length or by the bytes read', async () => {
    const app = await newApp();
    // 100 events of the largest allowed fields stay under 64 KiB; unknown fields make a body larger.
    const big = JSON.stringify({
      events: Array.from({ length: 100 }, () => ({ ...telemetryEvent(), note: 'x'.repeat(512) })),
    });
    expect(big.length).toBeGreaterThan(64 * 1024);
    const declared = await post(app, big);
    expect(declared.status).toBe(413);
    expect(await errorOf(declared)).toMatchObject({ code: 'too_large' });

    // No Content-Length at all: a streamed body is cut off once it passes the limit.
    const bytes = new TextEncoder().encode(big);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 4096) controller.enqueue(bytes.slice(i, i + 4096));
        controller.close();
      },
    });
    const streamed = await fetchWorker(`/v1/apps/${app}/events`, { method: 'POST', body: stream });
    expect(streamed.status).toBe(413);
    expect(await errorOf(streamed)).toMatchObject({ code: 'too_large' });
  });

  it('refuses more than 100 events with 413', async () => {
    const app = await newApp();
    const response = await post(app, { events: Array.from({ length: 101 }, () => ({})) });
    expect(response.status).toBe(413);
    expect(await errorOf(response)).toEqual({
      code: 'too_large',
      message: 'at most 64 KiB and 100 events per request',
    });
  });

  it('answers 400 for malformed JSON or a body that is not {"events": [...]}', async () => {
    const app = await newApp();
    const malformed = await post(app, '{"events": [');
    expect(malformed.status).toBe(400);
    expect(await errorOf(malformed)).toMatchObject({ code: 'malformed_json' });
    for (const body of ['[]', '{}', '{"events": {}}', '"events"', 'null']) {
      const response = await post(app, body);
      expect(response.status).toBe(400);
      expect(await errorOf(response)).toMatchObject({ code: 'invalid_json' });
    }
  });

  it('answers 404 for an unknown app and 400 for a bad app name', async () => {
    const unknown = await post(uniqueApp('nope'), { events: [telemetryEvent()] });
    expect(unknown.status).toBe(404);
    expect(await errorOf(unknown)).toMatchObject({ code: 'unknown_app' });
    const bad = await post('Bad_Name', { events: [] });
    expect(bad.status).toBe(400);
    expect(await errorOf(bad)).toMatchObject({ code: 'invalid_param' });
  });

  it('allows browsers to post from any origin', async () => {
    const app = await newApp();
    const preflight = await fetchWorker(`/v1/apps/${app}/events`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://example.com', 'Access-Control-Request-Method': 'POST' },
    });
    expect(preflight.headers.get('Access-Control-Allow-Origin')).toBe('*');
    expect(preflight.headers.get('Access-Control-Allow-Methods')).toContain('POST');
  });

  it('refuses the events of a client over its rate, and only those', { timeout: 30_000 }, async () => {
    const app = await newApp();
    const greedy = (n: number) =>
      telemetryEvent({ client_id: 'greedy', occurred_at: new Date(Date.now() - n).toISOString() });
    // The limit is 60 requests per client per minute (wrangler.toml), counted per request, not per event.
    await withinOneRateWindow(5_000);
    for (let i = 0; i < 60; i++) {
      const response = await post(app, { events: [greedy(i)] });
      expect(response.status).toBe(202);
    }
    const calm = [telemetryEvent({ client_id: 'calm-1' }), telemetryEvent({ client_id: 'calm-2' })];
    const mixed = await post(app, { events: [calm[0], greedy(1000), calm[1]] });
    expect(mixed.status).toBe(202);
    expect(await mixed.json()).toEqual({
      accepted: 2,
      duplicates: 0,
      rejected: [{ index: 1, code: 'rate_limited', message: 'client greedy sends too often' }],
    });

    const alone = await post(app, { events: [greedy(2000)] });
    expect(alone.status).toBe(429);
    expect(alone.headers.get('Retry-After')).toBe('60');
    expect(await errorOf(alone)).toMatchObject({ code: 'rate_limited' });

    await vi.waitFor(async () => expect(await eventCount(app)).toBe(62), QUEUE_WAIT);
    const stored = await env.DB.prepare(
      'SELECT client_id, count(*) AS n FROM events WHERE app = ?1 GROUP BY client_id ORDER BY client_id',
    )
      .bind(app)
      .all<{ client_id: string; n: number }>();
    expect(stored.results).toEqual([
      { client_id: 'calm-1', n: 1 },
      { client_id: 'calm-2', n: 1 },
      { client_id: 'greedy', n: 60 },
    ]);
  });

  it('answers 503, never 202, when the queue refuses the batch', async () => {
    const app = await newApp();
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    const failing: Queue = {
      send: () => Promise.reject(new Error('queue down')),
      sendBatch: () => Promise.reject(new Error('queue down')),
      metrics: () => Promise.reject(new Error('queue down')),
    };
    const ctx = createExecutionContext();
    const response = await worker.fetch(
      new Request(`${ORIGIN}/v1/apps/${app}/events`, {
        method: 'POST',
        body: JSON.stringify({ events: [telemetryEvent()] }),
      }),
      { ...env, EVENTS: failing },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(response.status).toBe(503);
    expect(response.headers.get('Retry-After')).toBe('10');
    expect(await errorOf(response)).toMatchObject({ code: 'unavailable' });
    expect(logged).toHaveBeenCalledOnce();
    logged.mockRestore();
  });
});
