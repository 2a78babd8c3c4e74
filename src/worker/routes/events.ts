/**
 * `POST /v1/apps/{app}/events`: telemetry intake (docs/protocol.md §5, docs/telemetry.md). Bounded (64 KiB,
 * 100 events), each event judged on its own, a per-client rate limit, and one Queue message for
 * everything accepted. No D1 on this path: the app is looked up in the KV projection.
 */
import { Hono } from 'hono';
import * as z from 'zod';
import { nameSchema } from '../../protocol/documents.ts';
import {
  type EventsMessage,
  eventSchema,
  type IntakeAnswer,
  MAX_EVENTS,
  type Rejection,
  type TelemetryEvent,
} from '../../protocol/telemetry.ts';
import { errorResponse } from '../http/error-handling.ts';
import { ApiError, badRequest, notFound } from '../http/errors.ts';
import { describeIssue, validate } from '../http/validate.ts';
import { loadApp } from '../storage/state-cache.ts';
import { stateTtlMs } from '../storage/state-ttl.ts';
import type { AppEnv } from '../types.ts';

export const MAX_EVENTS_BODY = 64 * 1024;
/** The limiter's period (wrangler.toml `[[ratelimits]]`): when a refused client may try again. */
const RATE_LIMIT_PERIOD_S = 60;

const envelopeSchema = z.object({ events: z.array(z.unknown()) });
/** Built once: building the schema costs more than judging an event with it. Time bounds use the clock. */
const intakeEventSchema = eventSchema();

export const events = new Hono<AppEnv>();

events.post('/:app/events', validate('param', z.object({ app: nameSchema })), async (c) => {
  const { app } = c.req.valid('param');
  const declared = c.req.header('Content-Length');
  if (declared !== undefined && Number(declared) > MAX_EVENTS_BODY) throw tooLarge();
  if (!(await loadApp(c.env.STATE, app, stateTtlMs(c.env))))
    throw notFound('unknown_app', `no app named ${app}`);

  const list = parseEnvelope(await readBody(c.req.raw, MAX_EVENTS_BODY));
  const now = new Date();
  const { valid, duplicates, rejected } = judge(list);

  const limited = await limitedClients(c.env.EVENTS_RATE_LIMIT, app, valid);
  const accepted: TelemetryEvent[] = [];
  for (const { index, event } of valid) {
    if (limited.has(event.client_id)) {
      rejected.push({ index, code: 'rate_limited', message: `client ${event.client_id} sends too often` });
    } else {
      accepted.push(event);
    }
  }
  rejected.sort((a, b) => a.index - b.index);

  // Everything refused for the rate alone: a plain 429 tells any HTTP client to back off.
  if (accepted.length === 0 && limited.size > 0 && rejected.every((r) => r.code === 'rate_limited')) {
    return errorResponse(429, 'rate_limited', 'this client sends events too often; retry later', {
      'Retry-After': String(RATE_LIMIT_PERIOD_S),
    });
  }

  if (accepted.length > 0) {
    // One message for the whole request (at most 100 events in 64 KiB, inside a message's 128 KB):
    // a message per event would cost the queue and the consumer a hundred times the work.
    const message: EventsMessage = { app, received_at: now.toISOString(), events: accepted };
    try {
      await c.env.EVENTS.send(message, { contentType: 'json' });
    } catch (error) {
      // Never 202 for events that were not queued: the client keeps them and retries.
      console.error(`events: queueing ${accepted.length} events for ${app} failed`, error);
      return errorResponse(503, 'unavailable', 'events could not be queued; retry later', {
        'Retry-After': '10',
      });
    }
  }
  const answer: IntakeAnswer = { accepted: accepted.length, duplicates, rejected };
  return c.json(answer, 202, { 'Cache-Control': 'no-store' });
});

const tooLarge = () =>
  new ApiError(
    413,
    'too_large',
    `at most ${MAX_EVENTS_BODY / 1024} KiB and ${MAX_EVENTS} events per request`,
  );

/**
 * The body as text, refusing more than `max` bytes whatever Content-Length said (a chunked body has
 * none, and a lying one is cut off as soon as it passes the limit).
 */
async function readBody(request: Request, max: number): Promise<string> {
  if (!request.body) return '';
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw badRequest('malformed_json', 'request body is not valid UTF-8 JSON');
  }
}

/** `{"events": [...]}` with at most MAX_EVENTS items; anything else is the request's fault as a whole. */
function parseEnvelope(text: string): unknown[] {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw badRequest('malformed_json', 'request body is not valid JSON');
  }
  const envelope = envelopeSchema.safeParse(body);
  if (!envelope.success)
    throw badRequest('invalid_json', `body must be {"events": [...]}: ${describeIssue(envelope.error)}`);
  if (envelope.data.events.length > MAX_EVENTS) throw tooLarge();
  return envelope.data.events;
}

interface Judged {
  valid: { index: number; event: TelemetryEvent }[];
  duplicates: number;
  rejected: Rejection[];
}

/** Validates each event on its own; a repeat of an id already valid in this request is a duplicate. */
function judge(list: unknown[]): Judged {
  const seen = new Set<string>();
  const judged: Judged = { valid: [], duplicates: 0, rejected: [] };
  list.forEach((item, index) => {
    const parsed = intakeEventSchema.safeParse(item);
    if (!parsed.success) {
      judged.rejected.push({ index, code: 'invalid_event', message: describeIssue(parsed.error) });
    } else if (seen.has(parsed.data.id)) {
      judged.duplicates += 1;
    } else {
      seen.add(parsed.data.id);
      judged.valid.push({ index, event: parsed.data });
    }
  });
  return judged;
}

/**
 * The clients among `valid` the limiter refuses now: one limiter call per distinct client and request,
 * so the limit counts requests, not events. A limiter failure lets the events through: losing
 * telemetry to an outage of the limiter would be worse than a burst.
 */
async function limitedClients(limiter: RateLimit, app: string, valid: Judged['valid']): Promise<Set<string>> {
  const clients = [...new Set(valid.map((v) => v.event.client_id))];
  const outcomes = await Promise.all(
    clients.map(async (client) => {
      try {
        return (await limiter.limit({ key: `${app}:${client}` })).success;
      } catch (error) {
        console.error('events: rate limiter failed; letting the events through', error);
        return true;
      }
    }),
  );
  return new Set(clients.filter((_, i) => !outcomes[i]));
}
