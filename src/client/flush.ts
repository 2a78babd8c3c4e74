/**
 * `flush()`: sends queued events in batches the intake accepts (≤ 100 events, under its 64 KiB
 * limit). A 202 removes the batch except events refused only for the rate limit; the others it
 * refused can never be accepted and go to `onRejected`. 408, 429, 5xx and network failures keep
 * everything and retry with exponential backoff, a bounded number of times per call; a 404 (an app
 * the edge does not know yet) keeps everything for the next call.
 */
import * as z from 'zod';
import type { TelemetryEvent } from '../protocol/telemetry.ts';
import { deadline, type Http, readText, send } from './http.ts';
import { loadQueue, saveQueue } from './telemetry.ts';
import type { RejectedEvent, StorageAdapter } from './types.ts';

export const MAX_BATCH_EVENTS = 100;
/** Below the intake's 64 KiB, leaving room for the envelope. */
export const MAX_BATCH_BYTES = 60 * 1024;
/** Sending attempts that fail in a row before a flush gives up for now. */
export const MAX_FLUSH_ATTEMPTS = 5;
const BASE_DELAY_MS = 1000;
const MAX_ANSWER_BYTES = 1024 * 1024;
const utf8 = new TextEncoder();
const MAX_DELAY_MS = 30_000;

/** Deadline of one POST, answer included; past it, the batch is kept and retried. */
const POST_TIMEOUT_MS = 30_000;

export interface FlushContext {
  http: Http;
  base: string;
  app: string;
  storage: StorageAdapter;
  now: () => Date;
  sleep: (ms: number) => Promise<void>;
  onRejected: (rejected: RejectedEvent[]) => void;
  /** Runs a read-modify-write of the queue alone (shared with `report()`). */
  lock: <T>(section: () => Promise<T>) => Promise<T>;
}

const intakeAnswerSchema = z.object({
  rejected: z.array(z.object({ index: z.number().int(), code: z.string(), message: z.string() })).default([]),
});

type Outcome =
  | { kind: 'answered'; keep: Set<string>; rejected: RejectedEvent[] }
  | { kind: 'retry'; after: number | undefined }
  | { kind: 'later' };

/** Sends the queue; resolves when it is empty, when the server asks to slow down, or after the retries. */
export async function flushQueue(ctx: FlushContext): Promise<void> {
  let failures = 0;
  for (;;) {
    const batch = nextBatch(await ctx.lock(() => loadQueue(ctx.storage, ctx.app, ctx.now)));
    if (batch.length === 0) return;
    const outcome = await post(ctx, batch);
    if (outcome.kind === 'answered') {
      failures = 0;
      const sent = new Set(batch.filter((e) => !outcome.keep.has(e.id)).map((e) => e.id));
      await ctx.lock(async () => {
        const queue = await loadQueue(ctx.storage, ctx.app, ctx.now);
        await saveQueue(
          ctx.storage,
          ctx.app,
          queue.filter((e) => !sent.has(e.id)),
        );
      });
      if (outcome.rejected.length > 0) ctx.onRejected(outcome.rejected);
      // Events held back by the rate limit wait for the next flush rather than hammer the server.
      if (outcome.keep.size > 0) return;
      continue;
    }
    if (outcome.kind === 'later') return;
    failures += 1;
    const delay = Math.max(outcome.after ?? 0, BASE_DELAY_MS * 2 ** (failures - 1));
    if (failures >= MAX_FLUSH_ATTEMPTS || delay > MAX_DELAY_MS) return;
    await ctx.sleep(delay);
  }
}

/** The oldest events that fit one request. */
function nextBatch(queue: readonly TelemetryEvent[]): TelemetryEvent[] {
  const batch: TelemetryEvent[] = [];
  let bytes = 0;
  for (const event of queue) {
    const size = utf8.encode(JSON.stringify(event)).length + 1;
    if (batch.length === MAX_BATCH_EVENTS || (batch.length > 0 && bytes + size > MAX_BATCH_BYTES)) break;
    batch.push(event);
    bytes += size;
  }
  return batch;
}

async function post(ctx: FlushContext, batch: TelemetryEvent[]): Promise<Outcome> {
  const limit = deadline('events', POST_TIMEOUT_MS);
  let response: Response;
  let body: unknown;
  try {
    response = await send(ctx.http, 'events', `${ctx.base}/v1/apps/${ctx.app}/events`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ events: batch }),
      signal: limit.signal,
    });
    body = await readText(response, MAX_ANSWER_BYTES, 'events', limit.signal).then(
      (text): unknown => JSON.parse(text),
      (): unknown => undefined,
    );
  } catch {
    // Unreachable, redirected elsewhere or too slow: the events stay queued.
    return { kind: 'retry', after: undefined };
  } finally {
    limit.done();
  }
  if (response.status === 202) {
    const parsed = intakeAnswerSchema.safeParse(body);
    const answer = parsed.success ? parsed.data : { rejected: [] };
    const keep = new Set<string>();
    const rejected: RejectedEvent[] = [];
    for (const { index, code, message } of answer.rejected) {
      const event = batch[index];
      if (!event) continue;
      if (code === 'rate_limited') keep.add(event.id);
      else rejected.push({ event, code, message });
    }
    return { kind: 'answered', keep, rejected };
  }
  // An app the server does not know (yet: KV takes a minute to propagate) is not worth a retry now.
  if (response.status === 404) return { kind: 'later' };
  if (response.status === 408 || response.status === 429 || response.status >= 500) {
    const seconds = Number(response.headers.get('Retry-After'));
    return { kind: 'retry', after: Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : undefined };
  }
  // Any other 4xx refuses the batch as it is: sending it again would be refused again.
  const error = z.object({ error: z.object({ code: z.string(), message: z.string() }) }).safeParse(body);
  const code = error.success ? error.data.error.code : `http_${response.status}`;
  const message = error.success ? error.data.error.message : `server answered ${response.status}`;
  return { kind: 'answered', keep: new Set(), rejected: batch.map((event) => ({ event, code, message })) };
}
