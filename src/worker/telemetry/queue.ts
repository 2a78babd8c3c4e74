/**
 * The telemetry consumer (docs/protocol.md §5, docs/telemetry.md): a delivery of up to 100 messages, each the
 * events of one intake request, is stored in D1 transactions of up to 1,000 events, in the database
 * of each event's app (docs/protocol.md §11, storage/telemetry-dbs.ts). Success acks the
 * batch; a failure retries it whole with a growing delay, and after `max_retries` (wrangler.toml) the
 * platform moves it to the dead-letter queue. Storing is idempotent (keyed by event id), so a retried
 * or redelivered batch never counts an event twice.
 */
import * as z from 'zod';
import { nameSchema } from '../../protocol/documents.ts';
import { CLIENT_KINDS, eventSchema, MAX_EVENTS } from '../../protocol/telemetry.ts';
import { describeIssue } from '../http/validate.ts';
import { storeEvents } from '../storage/telemetry.ts';
import { telemetryDb, UnboundTelemetryDb } from '../storage/telemetry-dbs.ts';
import type { StoredEvent } from '../storage/telemetry-sql.ts';

/** Retry delay: 10 s, 20 s, 40 s… capped at 10 minutes. */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(600, 10 * 2 ** Math.max(0, attempts - 1));
}

const envelopeSchema = z.object({ app: nameSchema, received_at: z.iso.datetime() }).loose();
const messageSchema = z.object({
  app: nameSchema,
  received_at: z.iso.datetime(),
  kind: z.enum(CLIENT_KINDS).optional(),
  events: z.array(z.unknown()).max(MAX_EVENTS),
});

/**
 * The consumer's event schema, built once per isolate: building one costs more than judging an event
 * with it, and a delivery's messages each carry their own `received_at`, so a schema per clock was
 * one per message (bench/profile.ts telemetry). Its clock is the `received_at` of the message being
 * judged, set right before the synchronous parse, so no other message's clock can leak in.
 */
let judgedAt = new Date(0);
const consumerEventSchema = eventSchema(() => judgedAt);

function schemaAt(receivedAt: string) {
  judgedAt = new Date(receivedAt);
  return consumerEventSchema;
}

type Parsed = { events: StoredEvent[] } | { error: string };

/**
 * A message body as the intake wrote it, checked again: the queue is an API boundary too. Time bounds
 * are judged at `received_at`, as intake judged them, so a late retry does not reject what was
 * accepted. One invalid event makes the whole message invalid: intake never writes one.
 */
export function parseMessage(body: unknown): Parsed {
  if (typeof body !== 'object' || body === null || !('events' in body)) {
    return parseStoredEvent(body);
  }
  const message = messageSchema.safeParse(body);
  if (!message.success) return { error: describeIssue(message.error) };
  const { app, received_at, kind, events } = message.data;
  const schema = schemaAt(received_at);
  const receivedAt = judgedAt.toISOString();
  const stored: StoredEvent[] = [];
  for (const [index, item] of events.entries()) {
    const event = schema.safeParse(item);
    if (!event.success) return { error: `events[${index}]: ${describeIssue(event.error)}` };
    stored.push(
      kind === undefined
        ? { ...event.data, app, received_at: receivedAt }
        : { ...event.data, app, received_at: receivedAt, kind },
    );
  }
  return { events: stored };
}

/** A message of one event, as intake wrote them before it sent one message per request. */
function parseStoredEvent(body: unknown): Parsed {
  const envelope = envelopeSchema.safeParse(body);
  if (!envelope.success) return { error: describeIssue(envelope.error) };
  const { app, received_at } = envelope.data;
  const event = schemaAt(received_at).safeParse(body);
  if (!event.success) return { error: describeIssue(event.error) };
  return { events: [{ ...event.data, app, received_at: new Date(received_at).toISOString() }] };
}

/** A message's events, all of one app, and where they go. */
interface Routed {
  message: Message<unknown>;
  events: StoredEvent[];
}

/**
 * The events of `routed` grouped by the D1 database that holds their app's telemetry, and the
 * messages whose app names a database that is not bound (they wait, retried on their own).
 */
async function byDatabase(env: Env, routed: Routed[]) {
  const dbs = new Map<string, D1Database | UnboundTelemetryDb>();
  for (const { events } of routed) {
    const app = events[0]?.app;
    if (app === undefined || dbs.has(app)) continue;
    try {
      dbs.set(app, await telemetryDb(env, app));
    } catch (error) {
      if (!(error instanceof UnboundTelemetryDb)) throw error;
      dbs.set(app, error);
    }
  }
  const groups = new Map<D1Database, StoredEvent[]>();
  const unbound: Message<unknown>[] = [];
  for (const { message, events } of routed) {
    const db = dbs.get(events[0]?.app ?? '') ?? env.DB;
    if (db instanceof UnboundTelemetryDb) {
      console.error(`queue: message ${message.id}: ${db.message}; retrying`);
      unbound.push(message);
      continue;
    }
    const group = groups.get(db);
    if (group) group.push(...events);
    else groups.set(db, [...events]);
  }
  return { groups, unbound };
}

export async function consumeEvents(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const routed: Routed[] = [];
  // Messages retried on their own while the rest is acked: malformed ones, and those of an unbound database.
  const retryAlone: Message<unknown>[] = [];
  for (const message of batch.messages) {
    const parsed = parseMessage(message.body);
    if ('events' in parsed) {
      routed.push({ message, events: parsed.events });
    } else {
      // Not something intake writes: a bug or a hand-sent message. Retrying will not fix it, but it
      // ends up in the dead-letter queue for an operator instead of vanishing.
      console.error(`queue: message ${message.id} is not a stored event: ${parsed.error}`);
      retryAlone.push(message);
    }
  }

  const attempts = Math.max(1, ...batch.messages.map((m) => m.attempts));
  const count = routed.reduce((sum, r) => sum + r.events.length, 0);
  try {
    // Each app's events go to its own database (docs/protocol.md §11), one storeEvents per database. Each is
    // idempotent, so when one database fails and the whole delivery is retried, the events another
    // database already stored are found there by id and counted once. A message of an app whose
    // database is not bound (a binding removed by mistake) waits, like a retryAlone one, and ends up
    // in the dead-letter queue unless the binding comes back: the others are stored meanwhile.
    const { groups, unbound } = await byDatabase(env, routed);
    for (const [db, events] of groups) await storeEvents(db, events);
    retryAlone.push(...unbound);
  } catch (error) {
    console.error(`queue: storing ${count} events failed (attempt ${attempts}); retrying`, error);
    batch.retryAll({ delaySeconds: retryDelaySeconds(attempts) });
    return;
  }

  if (retryAlone.length === 0) {
    batch.ackAll();
    return;
  }
  for (const message of batch.messages) {
    if (retryAlone.includes(message)) message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
    else message.ack();
  }
}
