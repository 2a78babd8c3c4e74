/**
 * Webhook deliveries against a real HTTP receiver (test/support/webhook-receiver.ts): what is posted
 * and signed, retries with backoff, giving up, and no double delivery when runs overlap.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { signWebhook } from '../../src/protocol/webhook.ts';
import { runScheduled } from '../../src/worker/scheduler/scheduled.ts';
import { isoSeconds } from '../../src/worker/storage/revisions.ts';
import { deliverDueWebhooks, MAX_ATTEMPTS, RETRY_DELAYS_MINUTES } from '../../src/worker/storage/webhooks.ts';
import { admin, createApp, projected, promote, publish } from './support/fixtures.ts';
import {
  appWithWebhook,
  type DeliveryRow,
  deliveries,
  enqueue,
  minutes,
  rolloutEvent,
} from './support/webhook-fixtures.ts';

const DAY = 24 * 3600 * 1000;

const only = async (app: string): Promise<DeliveryRow> => {
  const rows = await deliveries(app);
  expect(rows).toHaveLength(1);
  const [row] = rows;
  if (!row) throw new Error('no delivery');
  return row;
};

describe('webhook deliveries', () => {
  it('posts the queued event once, as JSON with a Slack text, signed over timestamp and body', async () => {
    const { app, inbox, secret } = await appWithWebhook();
    const now = new Date();
    const event = rolloutEvent(app);
    expect(await enqueue(event, now)).toBe(1);
    const queued = await only(app);
    expect(queued).toMatchObject({
      event: 'rollout.advance',
      url: inbox.url,
      attempts: 0,
      next_attempt_at: isoSeconds(now),
      delivered_at: null,
    });
    expect(JSON.parse(queued.body)).toEqual(event);

    const run = await deliverDueWebhooks(env, now);
    expect(run).toMatchObject({ attempted: 1, delivered: 1, failed: 0 });
    const [request, ...more] = await inbox.received();
    expect(more).toEqual([]);
    expect(request?.method).toBe('POST');
    expect(request?.body).toBe(queued.body);
    expect(JSON.parse(request?.body ?? '')).toMatchObject({ text: event.text, event: 'rollout.advance' });
    const headers = request?.headers ?? {};
    expect(headers).toMatchObject({
      'content-type': 'application/json',
      'user-agent': 'Updraft-Webhook/1',
      'x-updraft-event': 'rollout.advance',
      'x-updraft-delivery': String(queued.id),
    });
    const timestamp = Number(headers['x-updraft-timestamp']);
    expect(Math.abs(timestamp - Date.now() / 1000)).toBeLessThan(60);
    // What a receiver does: recompute over "<timestamp>.<raw body>" with its secret.
    expect(headers['x-updraft-signature']).toBe(await signWebhook(secret, timestamp, request?.body ?? ''));
    expect(headers['x-updraft-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(headers['x-updraft-signature']).not.toBe(
      await signWebhook(`${secret}x`, timestamp, request?.body ?? ''),
    );
    expect(headers['x-updraft-signature']).not.toBe(
      await signWebhook(secret, timestamp + 1, request?.body ?? ''),
    );

    expect(await only(app)).toMatchObject({
      attempts: 1,
      last_status: 200,
      last_error: null,
      delivered_at: isoSeconds(now),
    });
    // Delivered is done: later runs post nothing more.
    await deliverDueWebhooks(env, new Date(now.getTime() + minutes(90)));
    expect(await inbox.received()).toHaveLength(1);

    const listed = await admin<{ deliveries: Record<string, unknown>[] }>(`/apps/${app}/webhooks`);
    expect(listed.status).toBe(200);
    expect(listed.body.deliveries).toEqual([
      {
        id: queued.id,
        event: 'rollout.advance',
        url: inbox.url,
        attempts: 1,
        next_attempt_at: expect.any(String),
        last_status: 200,
        last_error: null,
        delivered_at: isoSeconds(now),
        created_at: isoSeconds(now),
      },
    ]);
  });

  it('queues nothing for an app without a webhook', async () => {
    const app = await createApp();
    expect(await enqueue(rolloutEvent(app), new Date())).toBe(0);
    expect(await deliveries(app)).toEqual([]);
  });

  it('records a 500, a dropped connection and a timeout, backs off, then delivers', async () => {
    const { app, inbox, secret } = await appWithWebhook();
    await inbox.script([{ status: 500 }, { reset: true }, { hang: true }]);
    const t0 = new Date();
    await enqueue(rolloutEvent(app, { event: 'rollout.halt' }), t0);
    const at = (m: number) => new Date(t0.getTime() + minutes(m));

    expect(await deliverDueWebhooks(env, t0)).toMatchObject({ attempted: 1, failed: 1 });
    expect(await only(app)).toMatchObject({
      attempts: 1,
      last_status: 500,
      last_error: 'HTTP 500: receiver says 500',
      next_attempt_at: isoSeconds(at(1)),
      delivered_at: null,
    });

    // Not due before its backoff has passed.
    await deliverDueWebhooks(env, at(0.5));
    expect(await inbox.received()).toHaveLength(1);

    await deliverDueWebhooks(env, at(1));
    const dropped = await only(app);
    expect(dropped).toMatchObject({ attempts: 2, last_status: null, next_attempt_at: isoSeconds(at(3)) });
    expect(dropped.last_error).toMatch(/connection|network/i);

    await deliverDueWebhooks(env, at(3), { timeoutMs: 300 });
    expect(await only(app)).toMatchObject({
      attempts: 3,
      last_status: null,
      last_error: 'timed out after 0.3 s',
      next_attempt_at: isoSeconds(at(7)),
    });

    expect(await deliverDueWebhooks(env, at(7))).toMatchObject({ delivered: 1 });
    expect(await only(app)).toMatchObject({
      attempts: 4,
      last_status: 200,
      last_error: null,
      delivered_at: isoSeconds(at(7)),
    });
    const received = await inbox.received();
    expect(received).toHaveLength(4);
    for (const request of received) {
      const { headers } = request;
      expect(headers['x-updraft-event']).toBe('rollout.halt');
      expect(headers['x-updraft-delivery']).toBe(String(dropped.id));
      const signature = await signWebhook(secret, Number(headers['x-updraft-timestamp']), request.body);
      expect(headers['x-updraft-signature']).toBe(signature);
    }
  });

  it(`gives up after ${MAX_ATTEMPTS} failed attempts, backing off 1, 2, 4 … 60 minutes`, async () => {
    const { app, inbox } = await appWithWebhook();
    await inbox.script(Array.from({ length: MAX_ATTEMPTS + 2 }, () => ({ status: 503 })));
    // Whole seconds, as D1 keeps them, so the waits come out in whole minutes.
    let now = new Date(Math.floor(Date.now() / 1000) * 1000);
    await enqueue(rolloutEvent(app), now);
    const waits: number[] = [];
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      await deliverDueWebhooks(env, now);
      const row = await only(app);
      expect(row).toMatchObject({ attempts: attempt, last_status: 503, delivered_at: null });
      const next = new Date(row.next_attempt_at);
      waits.push((next.getTime() - now.getTime()) / 60_000);
      now = next;
    }
    expect(waits).toEqual([...RETRY_DELAYS_MINUTES, 0]);
    await deliverDueWebhooks(env, new Date(now.getTime() + minutes(24 * 60)));
    expect(await inbox.received()).toHaveLength(MAX_ATTEMPTS);
    expect((await only(app)).attempts).toBe(MAX_ATTEMPTS);
  });

  it('posts each delivery once when two runs overlap', async () => {
    const { app, inbox } = await appWithWebhook();
    const now = new Date();
    for (const version of ['1.0.1', '1.0.2', '1.0.3', '1.0.4', '1.0.5']) {
      await enqueue(rolloutEvent(app, { version }), now);
    }
    const runs = await Promise.all([deliverDueWebhooks(env, now), deliverDueWebhooks(env, now)]);
    const received = await inbox.received();
    const ids = received.map((r) => r.headers['x-updraft-delivery']);
    expect(ids).toHaveLength(5);
    expect(new Set(ids).size).toBe(5);
    // Both runs saw all five due; each delivery went to whichever claimed it first.
    expect(runs.reduce((sum, run) => sum + run.attempted, 0)).toBe(5);
    expect(runs.reduce((sum, run) => sum + run.skipped, 0)).toBe(5);
    for (const row of await deliveries(app)) {
      expect(row).toMatchObject({ attempts: 1, last_status: 200, delivered_at: isoSeconds(now) });
    }
  });

  it('sends pending deliveries to the new URL when it changes, and holds them while there is none', async () => {
    const { app, inbox } = await appWithWebhook();
    await inbox.script([{ status: 404 }]);
    const t0 = new Date();
    await enqueue(rolloutEvent(app), t0);
    await deliverDueWebhooks(env, t0);
    expect(await only(app)).toMatchObject({ attempts: 1, last_status: 404 });

    const removed = await admin(`/apps/${app}/settings`, { method: 'PUT', body: { webhook_url: null } });
    expect(removed.status).toBe(200);
    await deliverDueWebhooks(env, new Date(t0.getTime() + minutes(5)));
    expect((await only(app)).attempts).toBe(1);

    const fixed = `${inbox.url}-fixed`;
    const set = await admin<{ webhook_secret?: string }>(`/apps/${app}/settings`, {
      method: 'PUT',
      body: { webhook_url: fixed },
    });
    expect(set.body.webhook_secret).toEqual(expect.any(String));
    await deliverDueWebhooks(env, new Date(t0.getTime() + minutes(5)));
    expect(await only(app)).toMatchObject({ url: fixed, attempts: 2, last_status: 200 });
    const paths = (await inbox.received()).map((r) => r.path);
    expect(paths).toEqual([new URL(inbox.url).pathname]);
  });
});

describe('webhooks in the scheduled run', () => {
  it('a failing receiver neither stops the run nor holds up re-signing or other apps', async () => {
    const failing = await appWithWebhook();
    const healthy = await appWithWebhook();
    await failing.inbox.script([{ reset: true }]);
    await publish(failing.app, '1.0.0');
    await promote(failing.app, 'stable', '1.0.0', 300);
    const now = new Date();
    await enqueue(rolloutEvent(failing.app), now);
    await enqueue(rolloutEvent(healthy.app), now);

    // Six and a half days on, the failing app's snapshot is due for re-signing too.
    const later = new Date(now.getTime() + 6.5 * DAY);
    await expect(runScheduled(env, later)).resolves.toBeUndefined();

    expect((await projected(failing.app, 'stable'))?.payload.revision).toBe(3);
    expect(await only(failing.app)).toMatchObject({ attempts: 1, last_status: null, delivered_at: null });
    expect((await only(failing.app)).last_error).toMatch(/connection|network/i);
    expect(await only(healthy.app)).toMatchObject({
      attempts: 1,
      last_status: 200,
      delivered_at: isoSeconds(later),
    });
    expect(await healthy.inbox.received()).toHaveLength(1);
  });
});
