/**
 * HTTP for the SDK: fetch with failures mapped to `network`/`server_error`, and JSON bodies read
 * with a size cap, because a hostile or broken server must not be able to exhaust a client's memory.
 */
import { MAX_DOCUMENT_LENGTH } from '../protocol/jws.ts';
import { messageOf, UpdraftError } from './errors.ts';

/** A check answer carries a snapshot, a release and a yank; each is capped at MAX_DOCUMENT_LENGTH. */
export const MAX_JSON_BODY = 3 * MAX_DOCUMENT_LENGTH + 64 * 1024;
const MAX_ERROR_BODY = 16 * 1024;

/** `fetch`, with a thrown error (DNS, TLS, reset, CORS) turned into `UpdraftError('network')`. */
export async function send(fetchFn: typeof fetch, what: string, url: string, init?: RequestInit) {
  try {
    return await fetchFn(url, init);
  } catch (error) {
    // A caller's abort is not a network failure: let it through as the AbortError it is.
    if (init?.signal?.aborted) throw error;
    throw new UpdraftError('network', `${what}: request to ${url} failed: ${messageOf(error)}`);
  }
}

/** GETs `url` and returns its JSON body; a non-2xx answer is `server_error` naming the server's code. */
export async function getJson(fetchFn: typeof fetch, what: string, url: string): Promise<unknown> {
  const response = await send(fetchFn, what, url, { headers: { Accept: 'application/json' } });
  if (!response.ok) throw await serverError(what, response);
  return parseJson(what, await readText(response, MAX_JSON_BODY, what));
}

/** The `server_error` for a non-2xx answer, with the `{"error": {code, message}}` body when there is one. */
export async function serverError(what: string, response: Response): Promise<UpdraftError> {
  let detail = '';
  try {
    const body = parseJson(what, await readText(response, MAX_ERROR_BODY, what));
    const error = typeof body === 'object' && body !== null && 'error' in body ? body.error : undefined;
    if (typeof error === 'object' && error !== null && 'code' in error && 'message' in error) {
      detail = `: ${String(error.code)}: ${String(error.message).slice(0, 300)}`;
    }
  } catch {
    // The status alone says enough.
  }
  return new UpdraftError('server_error', `${what}: server answered ${response.status}${detail}`);
}

/** The body as UTF-8 text, refusing more than `max` bytes whatever Content-Length says. */
export async function readText(response: Response, max: number, what: string): Promise<string> {
  const declared = Number(response.headers.get('Content-Length') ?? 0);
  if (declared > max) {
    await response.body?.cancel();
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
      if (size > max) {
        await reader.cancel();
        throw new UpdraftError('server_error', `${what}: answer is over the ${max} byte limit`);
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof UpdraftError) throw error;
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

function parseJson(what: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new UpdraftError('server_error', `${what}: answer is not JSON`);
  }
}
