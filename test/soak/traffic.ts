/**
 * The HTTP layer under the soak's fleet and admin readers (test/soak/soak.e2e.test.ts): a fetch that
 * counts every answer by route and status, keeps the first 5xx and every failed connection, and
 * collects the ids of the events each 202 accepted: exactly the ones the SDK then drops from its
 * queue, so exactly the ones that must end up in D1.
 */
import { z } from 'zod';

export interface Traffic {
  /** `<route> <status>` → answers, routes as `routeOf` names them. */
  answers: Map<string, number>;
  /** The first few 5xx, with their bodies. */
  serverErrors: string[];
  /** Requests that got no answer at all (refused, reset). */
  networkErrors: string[];
  /** Event ids the intake accepted: answered 202 and not listed in `rejected`. */
  accepted: Set<string>;
  /** Ids a second 202 accepted again (a re-send): D1 must still hold them once. */
  acceptedAgain: number;
  /** Events a 202 listed in `rejected` (invalid, or rate limited). */
  rejected: number;
}

export function newTraffic(): Traffic {
  return {
    answers: new Map(),
    serverErrors: [],
    networkErrors: [],
    accepted: new Set(),
    acceptedAgain: 0,
    rejected: 0,
  };
}

/** `admin`, `keys`, `healthz`, `check`, `events`, `artifacts` or `other`. */
export function routeOf(path: string): string {
  if (path.startsWith('/v1/admin/')) return 'admin';
  if (path.startsWith('/v1/keys')) return 'keys';
  if (path === '/healthz') return 'healthz';
  const client = /^\/v1\/apps\/[^/]+\/(check|events|artifacts)(\/|$)/.exec(path);
  return client?.[1] ?? 'other';
}

const postedEvents = z.object({ events: z.array(z.object({ id: z.string() })) });
const intakeAnswer = z.object({ rejected: z.array(z.object({ index: z.number() })) });
const MAX_KEPT_ERRORS = 20;

/** Wraps `base`, recording into `traffic`; answers are passed on untouched. */
export function recordingFetch(base: typeof fetch, traffic: Traffic): typeof fetch {
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    const route = routeOf(url.pathname);
    let response: Response;
    try {
      response = await base(input, init);
    } catch (error) {
      traffic.networkErrors.push(`${method} ${url.pathname}: ${String(error)}`);
      throw error;
    }
    const key = `${route} ${response.status}`;
    traffic.answers.set(key, (traffic.answers.get(key) ?? 0) + 1);
    if (response.status >= 500 && traffic.serverErrors.length < MAX_KEPT_ERRORS) {
      traffic.serverErrors.push(
        `${method} ${url.pathname} ${response.status}: ${await response.clone().text()}`,
      );
    }
    if (route === 'events' && method === 'POST' && response.status === 202) {
      // The SDK posts a JSON string (src/client/flush.ts).
      const sent = postedEvents.parse(JSON.parse(String(init?.body)));
      const refused = new Set(intakeAnswer.parse(await response.clone().json()).rejected.map((r) => r.index));
      traffic.rejected += refused.size;
      sent.events.forEach((event, index) => {
        if (refused.has(index)) return;
        const id = event.id.toLowerCase();
        if (traffic.accepted.has(id)) traffic.acceptedAgain++;
        traffic.accepted.add(id);
      });
    }
    return response;
  };
}
