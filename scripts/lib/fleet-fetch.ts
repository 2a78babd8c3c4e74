/**
 * The fetch a simulated fleet hands its SDK updaters: it counts the telemetry on the way (events
 * sent, and what the intake's 202 answers say it accepted), because the SDK's `flush()` reports
 * nothing back; and each client may get a private HTTP cache, as a browser or Electron app has.
 */
import { z } from 'zod';

export interface EventCounts {
  /** Events in every POST …/events body, retries included. */
  sent: number;
  accepted: number;
  duplicates: number;
  /** Listed in `rejected` by a 202 (invalid, or rate limited). */
  rejected: number;
  /** POSTs answered with anything but 202 (the SDK keeps those events and retries). */
  failed_requests: number;
}

const sentBody = z.object({ events: z.array(z.unknown()) });
const intakeAnswer = z.object({
  accepted: z.number(),
  duplicates: z.number().optional(),
  rejected: z.array(z.unknown()),
});

/** Wraps `base`; counts into `counts` the event posts to URLs under `serverPrefix`. */
export function countingFetch(base: typeof fetch, serverPrefix: string, counts: EventCounts): typeof fetch {
  return async (input, init) => {
    const request = input instanceof Request ? input : undefined;
    const url = request ? request.url : String(input);
    const method = (init?.method ?? request?.method ?? 'GET').toUpperCase();
    if (method !== 'POST' || !url.startsWith(serverPrefix) || !/\/events(\?|$)/.test(url)) {
      return base(input, init);
    }
    // Read before adding: `counts.sent += await …` would add to a value read before the await.
    const sent = eventsIn(await bodyText(request, init));
    counts.sent += sent;
    const response = await base(input, init);
    if (response.status !== 202) {
      counts.failed_requests++;
      return response;
    }
    const answer = intakeAnswer.safeParse(
      await response
        .clone()
        .json()
        .catch(() => undefined),
    );
    if (answer.success) {
      counts.accepted += answer.data.accepted;
      counts.duplicates += answer.data.duplicates ?? 0;
      counts.rejected += answer.data.rejected.length;
    }
    return response;
  };
}

/** The body as text without consuming it (a stream body is not read: it could be sent only once). */
async function bodyText(request: Request | undefined, init: RequestInit | undefined): Promise<string> {
  const body = init?.body ?? undefined;
  if (body === undefined || body === null) return request ? request.clone().text() : '';
  if (typeof body === 'string') return body;
  if (body instanceof ReadableStream) return '';
  return new Response(body).text();
}

function eventsIn(text: string): number {
  try {
    const parsed = sentBody.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data.events.length : 0;
  } catch {
    return 0;
  }
}

/** Bodies up to this size are kept by the private cache; larger ones always go to the server. */
export const MAX_CACHED_BYTES = 64 * 1024;

interface CacheEntry {
  expires: number;
  headers: Headers;
  body: Uint8Array;
}

/**
 * One client's private HTTP cache, as a browser's: a 200 answer to a GET whose Cache-Control has a
 * `max-age` (and neither `no-store` nor `no-cache`) is reused until it is stale. So `/v1/keys`
 * (`max-age=60`) is asked once a minute per client, while checks (`private, no-cache`) always go
 * to the server. Node's fetch has no cache; without this a fleet asks for the keys on every check.
 */
export function privateCache(base: typeof fetch, now: () => number = Date.now): typeof fetch {
  const entries = new Map<string, CacheEntry>();
  return async (input, init) => {
    const request = input instanceof Request ? input : undefined;
    const method = (init?.method ?? request?.method ?? 'GET').toUpperCase();
    if (method !== 'GET') return base(input, init);
    const url = request ? request.url : String(input);
    const hit = entries.get(url);
    if (hit && hit.expires > now())
      return new Response(hit.body.slice(), { status: 200, headers: hit.headers });
    entries.delete(url);

    const response = await base(input, init);
    const maxAge = freshFor(response.headers.get('Cache-Control'));
    const length = Number(response.headers.get('Content-Length') ?? 0);
    if (response.status !== 200 || maxAge === 0 || length > MAX_CACHED_BYTES) return response;
    const body = new Uint8Array(await response.arrayBuffer());
    if (body.byteLength <= MAX_CACHED_BYTES) {
      entries.set(url, { expires: now() + maxAge * 1000, headers: response.headers, body });
    }
    return new Response(body.slice(), { status: 200, headers: response.headers });
  };
}

/** Seconds a response may be reused by a private cache: its `max-age`, or 0. */
export function freshFor(cacheControl: string | null): number {
  const directives = (cacheControl ?? '')
    .toLowerCase()
    .split(',')
    .map((d) => d.trim());
  if (directives.includes('no-store') || directives.includes('no-cache')) return 0;
  const maxAge = directives.map((d) => /^max-age=(\d{1,10})$/.exec(d)?.[1]).find((v) => v !== undefined);
  return maxAge === undefined ? 0 : Number(maxAge);
}
