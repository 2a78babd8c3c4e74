/**
 * Fault: the telemetry consumer failing on some batches (docs/protocol.md §5, §8; docs/telemetry.md). The
 * platform's side is played out here as the queue does it: a retried message comes back with one
 * more attempt, a message that failed its last attempt (`max_retries`) goes to the dead-letter queue,
 * and an acked batch may still be delivered again. D1 fails for real: a trigger aborts the insert of
 * chosen events while a delivery runs. Afterwards every accepted event is in D1 exactly once or in
 * the dead-letter queue, and once the cause is fixed and the DLQ replayed, the counts in `events`,
 * the rollups and `clients` equal those of one clean delivery of the same events.
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import worker from '../../src/worker/index.ts';
import type { StoredEvent } from '../../src/worker/storage/telemetry-sql.ts';
import { uniqueApp } from './support/fixtures.ts';
import { clientRows, eventIds, rollups, storedEvent } from './support/telemetry-fixtures.ts';

/** wrangler.toml `[[queues.consumers]] max_retries`: a message is delivered at most 1 + 5 times. */
const MAX_RETRIES = 5;

interface QueuedMessage {
  id: string;
  body: unknown;
  attempts: number;
}

interface Delivery {
  label: string;
  messages: QueuedMessage[];
}

interface Outcome {
  retried: QueuedMessage[];
  delaySeconds: number | undefined;
}

/** One delivery through the Worker's queue handler: which messages it asked to have retried. */
async function deliver(messages: QueuedMessage[]): Promise<Outcome> {
  const batch = createMessageBatch(
    'updraft-events',
    messages.map((m) => ({ id: m.id, timestamp: new Date(), attempts: m.attempts, body: m.body })),
  );
  const retryAll = vi.spyOn(batch, 'retryAll');
  const ctx = createExecutionContext();
  await worker.queue(batch, env);
  const result = await getQueueResult(batch, ctx);
  // An explicit ack or retry of a message wins over the batch-wide call, as on the platform.
  const retriedIds = result.retryBatch.retry
    ? messages.map((m) => m.id).filter((id) => !result.explicitAcks.includes(id))
    : result.retryMessages.map((r) => r.msgId);
  return {
    retried: messages.filter((m) => retriedIds.includes(m.id)),
    delaySeconds: retryAll.mock.calls[0]?.[0]?.delaySeconds ?? result.retryMessages[0]?.delaySeconds,
  };
}

/** D1 aborts the insert of any event whose id is in `fault_events` (filled per delivery). */
async function injectFaults(): Promise<void> {
  await env.DB.batch([
    env.DB.prepare('CREATE TABLE IF NOT EXISTS fault_events (id TEXT PRIMARY KEY)'),
    env.DB.prepare(
      `CREATE TRIGGER IF NOT EXISTS fault_event_insert BEFORE INSERT ON events
       WHEN NEW.id IN (SELECT id FROM fault_events)
       BEGIN SELECT RAISE(ABORT, 'injected fault: D1 is failing'); END`,
    ),
  ]);
}

async function failOn(ids: readonly string[]): Promise<void> {
  await env.DB.batch([
    env.DB.prepare('DELETE FROM fault_events'),
    ...ids.map((id) => env.DB.prepare('INSERT INTO fault_events (id) VALUES (?1)').bind(id)),
  ]);
}

/**
 * The platform: runs deliveries in order until none is left. `faultsFor` names the events D1 fails
 * on during a delivery; `redeliverAcked` lists batches whose ack is lost once (delivered again).
 */
async function runQueue(
  initial: Delivery[],
  faultsFor: (label: string, attempts: number) => string[],
  redeliverAcked: ReadonlySet<string> = new Set(),
) {
  const pending = [...initial];
  const deadLetters: QueuedMessage[] = [];
  const log: { label: string; attempts: number; retried: number; delaySeconds: number | undefined }[] = [];
  const redelivered = new Set<string>();
  for (let delivery = pending.shift(); delivery; delivery = pending.shift()) {
    const attempts = Math.max(...delivery.messages.map((m) => m.attempts));
    await failOn(faultsFor(delivery.label, attempts));
    const { retried, delaySeconds } = await deliver(delivery.messages);
    log.push({ label: delivery.label, attempts, retried: retried.length, delaySeconds });

    const back = retried
      .filter((m) => m.attempts <= MAX_RETRIES)
      .map((m) => ({ ...m, attempts: m.attempts + 1 }));
    deadLetters.push(...retried.filter((m) => m.attempts > MAX_RETRIES));
    if (back.length > 0) pending.push({ label: delivery.label, messages: back });
    if (retried.length === 0 && redeliverAcked.has(delivery.label) && !redelivered.has(delivery.label)) {
      redelivered.add(delivery.label);
      pending.push({
        label: delivery.label,
        messages: delivery.messages.map((m) => ({ ...m, attempts: m.attempts + 1 })),
      });
    }
  }
  await failOn([]);
  return { deadLetters, log };
}

const messages = (label: string, bodies: unknown[]): Delivery => ({
  label,
  messages: bodies.map((body, i) => ({ id: `${label}-msg-${i}`, body, attempts: 1 })),
});

/** `count` events of 8 clients, each with its own time (so "the newest event" is never a tie). */
function events(app: string, from: number, count: number): StoredEvent[] {
  const base = Date.now() - 6 * 3600_000;
  return Array.from({ length: count }, (_, k) => {
    const i = from + k;
    const type = (['install_succeeded', 'install_failed', 'rollback', 'check'] as const)[i % 4];
    return storedEvent(app, {
      type,
      client_id: `client-${i % 8}`,
      from_version: '1.0.0',
      to_version: i % 3 === 0 ? '1.2.0' : '1.1.0',
      error_code: type === 'install_failed' ? 'E_DISK' : undefined,
      occurred_at: new Date(base + i * 61_000).toISOString(),
    });
  });
}

beforeEach(async () => {
  vi.spyOn(console, 'error').mockImplementation(() => {});
  await injectFaults();
});

afterEach(async () => {
  await env.DB.exec('DROP TRIGGER IF EXISTS fault_event_insert');
  await env.DB.exec('DROP TABLE IF EXISTS fault_events');
  vi.restoreAllMocks();
});

describe('the queue consumer under D1 failures, retries and redeliveries', () => {
  it('stores every accepted event exactly once or dead-letters it; a replay of the DLQ completes the counts', async () => {
    const app = uniqueApp('faultq');
    const b1 = events(app, 0, 20);
    const b2 = events(app, 20, 20);
    const b3 = events(app, 40, 20);
    const b4 = events(app, 60, 20);
    const b5 = events(app, 80, 20);
    const fresh6 = events(app, 100, 10);
    // b6 repeats events of b1 and b3 (an SDK retrying after a lost 202) and of b5, which D1 keeps failing.
    const b6 = [...fresh6, ...b1.slice(0, 4), ...b3.slice(10, 14), ...b5.slice(0, 2)];
    const malformed = { ...storedEvent(app), type: 'exploded' };
    const poison = b5[19]?.id ?? '';
    const valid = [...b1, ...b2, ...b3, ...b4, ...b5, ...fresh6];

    const failing: Record<string, (attempts: number) => string[]> = {
      // A transient failure half-way through the batch, twice.
      b2: (attempts) => (attempts <= 2 ? [b2[9]?.id ?? ''] : []),
      // Fails once, and carries a message the consumer cannot validate.
      b4: (attempts) => (attempts === 1 ? [b4[0]?.id ?? ''] : []),
      // Fails on every attempt: a poison event while D1 refuses it (the cause an operator fixes).
      b5: () => [poison],
      b6: (attempts) => (attempts === 1 ? [fresh6[5]?.id ?? ''] : []),
    };
    const { deadLetters, log } = await runQueue(
      [
        messages('b1', b1),
        messages('b2', b2),
        messages('b3', b3),
        messages('b4', [...b4, malformed]),
        messages('b5', b5),
        messages('b6', b6),
      ],
      (label, attempts) => failing[label]?.(attempts) ?? [],
      new Set(['b1', 'b3']),
    );

    // Retried with the consumer's backoff; b5 delivered 1 + max_retries times, then dead-lettered.
    expect(log.filter((l) => l.label === 'b5').map((l) => [l.attempts, l.retried, l.delaySeconds])).toEqual([
      [1, 20, 10],
      [2, 20, 20],
      [3, 20, 40],
      [4, 20, 80],
      [5, 20, 160],
      [6, 20, 320],
    ]);
    expect(log.filter((l) => l.label === 'b2').map((l) => l.retried)).toEqual([20, 20, 0]);
    expect(log.filter((l) => l.label === 'b4').map((l) => l.retried)).toEqual([21, 1, 1, 1, 1, 1]);
    // The DLQ holds the bodies unchanged: b5 whole (its two events repeated in b6 are stored anyway) and the malformed one.
    expect(deadLetters.map((m) => m.body)).toEqual([malformed, ...b5]);

    // Nothing lost, nothing twice: each valid event is in D1 once, or only in the DLQ.
    const stored = await eventIds(app);
    expect(new Set(stored).size).toBe(stored.length);
    const inDlqOnly = b5.slice(2).map((e) => e.id);
    expect([...stored, ...inDlqOnly].sort()).toEqual(valid.map((e) => e.id).sort());

    // The operator fixes the cause and replays the DLQ to updraft-events, twice by mistake.
    for (const replay of ['replay-1', 'replay-2']) {
      const again = await runQueue(
        [
          messages(
            replay,
            deadLetters.map((m) => m.body),
          ),
        ],
        () => [],
      );
      expect(again.deadLetters.map((m) => m.body)).toEqual([malformed]);
    }

    // Exactly the counts one clean delivery of the distinct events gives (another app, fresh ids).
    const reference = uniqueApp('faultq-ref');
    const clean = valid.map((e) => ({ ...e, app: reference, id: crypto.randomUUID() }));
    expect((await runQueue([messages('clean', clean)], () => [])).deadLetters).toEqual([]);
    expect((await eventIds(app)).sort()).toEqual(valid.map((e) => e.id).sort());
    expect(await rollups(app)).toEqual(await rollups(reference));
    expect((await rollups(app)).reduce((sum, r) => sum + r.count, 0)).toBe(valid.length);
    expect(await clientRows(app)).toEqual(await clientRows(reference));
    expect(await clientRows(app)).toHaveLength(8);
  });
});
