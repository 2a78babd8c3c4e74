/**
 * The telemetry consumer (DESIGN §5, docs/telemetry.md): one queue delivery is one D1 transaction.
 * Success acks the batch; a failure retries it whole with a growing delay, and after `max_retries`
 * (wrangler.toml) the platform moves it to the dead-letter queue. Storing is idempotent (keyed by
 * event id), so a retried or redelivered batch never counts an event twice.
 */
import { z } from 'zod';
import { nameSchema } from '../protocol/documents.ts';
import { eventSchema } from '../protocol/telemetry.ts';
import { type StoredEvent, storeEvents } from './storage/telemetry.ts';
import { describeIssue } from './validate.ts';

/** Retry delay: 10 s, 20 s, 40 s… capped at 10 minutes. */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(600, 10 * 2 ** Math.max(0, attempts - 1));
}

const envelopeSchema = z.object({ app: nameSchema, received_at: z.iso.datetime() }).loose();

/**
 * A message body as the intake wrote it, checked again: the queue is an API boundary too. Time bounds
 * are judged at `received_at`, as intake judged them, so a late retry does not reject what was accepted.
 */
export function parseStoredEvent(body: unknown): { event: StoredEvent } | { error: string } {
  const envelope = envelopeSchema.safeParse(body);
  if (!envelope.success) return { error: describeIssue(envelope.error) };
  const { app, received_at } = envelope.data;
  const event = eventSchema(() => new Date(received_at)).safeParse(body);
  if (!event.success) return { error: describeIssue(event.error) };
  return { event: { ...event.data, app, received_at: new Date(received_at).toISOString() } };
}

export async function consumeEvents(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const events: StoredEvent[] = [];
  const malformed: Message<unknown>[] = [];
  for (const message of batch.messages) {
    const parsed = parseStoredEvent(message.body);
    if ('event' in parsed) {
      events.push(parsed.event);
    } else {
      // Not something intake writes: a bug or a hand-sent message. Retrying will not fix it, but it
      // ends up in the dead-letter queue for an operator instead of vanishing.
      console.error(`queue: message ${message.id} is not a stored event: ${parsed.error}`);
      malformed.push(message);
    }
  }

  const attempts = Math.max(1, ...batch.messages.map((m) => m.attempts));
  try {
    await storeEvents(env.DB, events);
  } catch (error) {
    console.error(`queue: storing ${events.length} events failed (attempt ${attempts}); retrying`, error);
    batch.retryAll({ delaySeconds: retryDelaySeconds(attempts) });
    return;
  }

  if (malformed.length === 0) {
    batch.ackAll();
    return;
  }
  for (const message of batch.messages) {
    if (malformed.includes(message)) message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
    else message.ack();
  }
}
