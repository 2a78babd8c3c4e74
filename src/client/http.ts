/**
 * HTTP for the SDK. A hostile or broken server must not be able to exhaust a client's memory or
 * time, nor send it elsewhere: every request goes to the configured server's origin only, follows
 * redirects only within it, runs under a deadline, and reads JSON bodies with a size cap.
 */
import { MAX_DOCUMENT_LENGTH } from '../protocol/jws.ts';
import { messageOf, UpdraftError } from './errors.ts';

/** A check answer carries a snapshot, a release and a yank; each is capped at MAX_DOCUMENT_LENGTH. */
export const MAX_JSON_BODY = 3 * MAX_DOCUMENT_LENGTH + 64 * 1024;
/**
 * A keys answer (`{"keys": "<jws>"}`). A real keys document lists a few public keys of about 130
 * bytes each and stays under 4 KiB; 64 KiB leaves room for dozens while bounding every link of a chain.
 */
export const MAX_KEYS_BODY = 64 * 1024;
const MAX_ERROR_BODY = 16 * 1024;
/** Same-origin redirects followed per request; the Worker itself never redirects. */
const MAX_REDIRECTS = 3;

/** Where requests may go and how: the injected `fetch` and the configured server's origin. */
export interface Http {
  fetch: typeof fetch;
  origin: string;
}

/**
 * `fetch` to the server's origin. A thrown error (DNS, TLS, reset, CORS) becomes
 * `UpdraftError('network')`; a redirect is followed only to the same origin (`redirect_refused`
 * otherwise); an aborted `init.signal` rejects with its reason, which for the SDK's own deadlines is
 * an `UpdraftError('timeout')`.
 */
export async function send(http: Http, what: string, url: string, init: RequestInit = {}): Promise<Response> {
  let target = sameOrigin(http, what, url);
  for (let hops = 0; ; hops++) {
    let response: Response;
    try {
      response = await http.fetch(target.href, { ...init, redirect: 'manual' });
    } catch (error) {
      // A caller's abort or the deadline is not a network failure: let its reason through.
      if (init.signal?.aborted) throw init.signal.reason ?? error;
      throw new UpdraftError('network', `${what}: request to ${target.href} failed: ${messageOf(error)}`);
    }
    // A browser hides a manual redirect's Location ("opaqueredirect"): it cannot be checked, so it is not followed.
    // (Typed loosely: not every runtime's Response type lists it.)
    if (String(response.type) === 'opaqueredirect') {
      throw new UpdraftError(
        'redirect_refused',
        `${what}: ${target.href} redirects; the SDK follows no redirect it cannot see`,
      );
    }
    // A fetch that ignores `redirect: 'manual'` (React Native's) has followed already: its final URL says where to.
    const landed = response.url === '' ? http.origin : originOf(response.url);
    if (landed !== http.origin) {
      await response.body?.cancel().catch(() => undefined);
      throw new UpdraftError(
        'redirect_refused',
        `${what}: ${target.href} was redirected off the server to ${response.url}`,
      );
    }
    const location = isRedirect(response.status) ? response.headers.get('Location') : null;
    if (location === null) return response;
    await response.body?.cancel().catch(() => undefined);
    const method = (init.method ?? 'GET').toUpperCase();
    if (hops >= MAX_REDIRECTS || (method !== 'GET' && method !== 'HEAD')) {
      throw new UpdraftError('redirect_refused', `${what}: too many or unsafe redirects from ${url}`);
    }
    target = sameOrigin(http, what, new URL(location, target).href);
  }
}

/** GETs `url` and returns its JSON body (at most `max` bytes); a non-2xx answer is `server_error` naming the server's code. */
export async function getJson(
  http: Http,
  what: string,
  url: string,
  { signal, max = MAX_JSON_BODY }: { signal?: AbortSignal; max?: number } = {},
): Promise<unknown> {
  const response = await send(http, what, url, { headers: { Accept: 'application/json' }, signal });
  if (!response.ok) throw await serverError(what, response, signal);
  return parseJson(what, await readText(response, max, what, signal));
}

/** The `server_error` for a non-2xx answer, with the `{"error": {code, message}}` body when there is one. */
export async function serverError(
  what: string,
  response: Response,
  signal?: AbortSignal,
): Promise<UpdraftError> {
  let detail = '';
  try {
    const body = parseJson(what, await readText(response, MAX_ERROR_BODY, what, signal));
    const error = typeof body === 'object' && body !== null && 'error' in body ? body.error : undefined;
    if (typeof error === 'object' && error !== null && 'code' in error && 'message' in error) {
      detail = `: ${String(error.code)}: ${String(error.message).slice(0, 300)}`;
    }
  } catch (error) {
    if (signal?.aborted) throw signal.reason ?? error;
    // The status alone says enough.
  }
  return new UpdraftError('server_error', `${what}: server answered ${response.status}${detail}`);
}

/** The body as UTF-8 text, refusing more than `max` bytes whatever Content-Length says. */
export async function readText(
  response: Response,
  max: number,
  what: string,
  signal?: AbortSignal,
): Promise<string> {
  const declared = Number(response.headers.get('Content-Length') ?? 0);
  if (declared > max) {
    await response.body?.cancel().catch(() => undefined);
    throw new UpdraftError('server_error', `${what}: answer of ${declared} bytes is over the ${max} limit`);
  }
  // No stream (React Native's fetch): only the Content-Length check above bounds the read.
  if (!response.body) return response.text();
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > max) throw new UpdraftError('server_error', `${what}: answer is over the ${max} byte limit`);
      chunks.push(value);
    }
  } catch (error) {
    await reader.cancel().catch(() => undefined);
    if (error instanceof UpdraftError) throw error;
    if (signal?.aborted) throw signal.reason ?? error;
    throw new UpdraftError('network', `${what}: reading the answer failed: ${messageOf(error)}`);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}

/**
 * A signal that aborts when `outer` does (with its reason) or after `ms` (with
 * `UpdraftError('timeout')`). `done()` clears the timer; call it when the work ends.
 */
export function deadline(
  what: string,
  ms: number,
  outer?: AbortSignal,
): { signal: AbortSignal; done: () => void } {
  const controller = new AbortController();
  const onAbort = () => controller.abort(outer?.reason);
  if (outer?.aborted) onAbort();
  else outer?.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(
    () => controller.abort(new UpdraftError('timeout', `${what}: no answer within ${ms} ms`)),
    ms,
  );
  return {
    signal: controller.signal,
    done: () => {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onAbort);
    },
  };
}

/** `url` as a URL of the configured server: http(s) and its exact origin, or `redirect_refused`. */
function sameOrigin(http: Http, what: string, url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UpdraftError('redirect_refused', `${what}: ${url} is not a URL`);
  }
  const web = parsed.protocol === 'https:' || parsed.protocol === 'http:';
  if (!web || parsed.origin !== http.origin || parsed.username !== '' || parsed.password !== '') {
    throw new UpdraftError(
      'redirect_refused',
      `${what}: ${parsed.protocol}//${parsed.host} is not the configured server ${http.origin}`,
    );
  }
  return parsed;
}

function originOf(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

function parseJson(what: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new UpdraftError('server_error', `${what}: answer is not JSON`);
  }
}
