/**
 * The admin API from the browser: same origin, the token as a Bearer header. The token lives
 * in sessionStorage only (gone when the tab closes); a 401 anywhere signs the user out.
 */
import type { ApiErrorCode } from '../protocol/api.ts';

const TOKEN_KEY = 'updraft.dashboard.token';

export function storedToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function storeToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function forgetToken(): void {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** An answer other than 2xx, with the API's error code and message when it sent them. */
export class AnswerError extends Error {
  override name = 'AnswerError';
  readonly status: number;
  /** The code the server sent (ApiErrorCode from this Worker), or `network_error` / `http_error` of ours. */
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }

  /** Whether the server answered with `code` (checked against the Worker's codes when compiled). */
  is(code: ApiErrorCode): boolean {
    return this.code === code;
  }
}

export type Query = Record<string, string | number | undefined>;

/** GET a JSON document from the admin API with `token` (default: the stored one). */
export function get<T>(path: string, query: Query = {}, token = storedToken()): Promise<T> {
  const url = new URL(path, window.location.origin);
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined) url.searchParams.set(name, String(value));
  }
  return request<T>(url, token);
}

/** POST a JSON body to the admin API with the stored token; the answer's JSON. */
export function post<T>(path: string, body: unknown): Promise<T> {
  return request<T>(new URL(path, window.location.origin), storedToken(), JSON.stringify(body));
}

/** A GET, or with `body` (JSON text) a POST. */
async function request<T>(url: URL, token: string | null, body?: string): Promise<T> {
  const headers: Record<string, string> = {
    accept: 'application/json',
    authorization: `Bearer ${token ?? ''}`,
  };
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(url, {
      method: body === undefined ? 'GET' : 'POST',
      headers,
      body,
      cache: 'no-store',
    });
  } catch {
    throw new AnswerError(0, 'network_error', 'The server could not be reached. Is it running?');
  }
  const text = await response.text();
  let answer: unknown;
  try {
    answer = text === '' ? undefined : JSON.parse(text);
  } catch {
    answer = undefined;
  }
  if (!response.ok) {
    const error = errorOf(answer);
    throw new AnswerError(
      response.status,
      error?.code ?? 'http_error',
      error?.message ?? `The server answered ${response.status} ${response.statusText}`.trim(),
    );
  }
  return answer as T;
}

/** Like `get`, but a 404 (of any kind) answers undefined: "does it exist?" */
export async function find<T>(path: string, query: Query = {}): Promise<T | undefined> {
  try {
    return await get<T>(path, query);
  } catch (error) {
    if (error instanceof AnswerError && error.status === 404) return undefined;
    throw error;
  }
}

/**
 * Like `get`, but undefined when the server has no such route (404 `not_found`): a server older
 * than the analytics API. A 404 about the resource (`unknown_release`, …) is still an error.
 */
export async function optional<T>(path: string, query: Query = {}): Promise<T | undefined> {
  try {
    return await get<T>(path, query);
  } catch (error) {
    if (error instanceof AnswerError && error.status === 404 && error.is('not_found')) return undefined;
    throw error;
  }
}

function errorOf(body: unknown): { code: string; message: string } | undefined {
  if (typeof body !== 'object' || body === null || !('error' in body)) return undefined;
  const error = body.error;
  if (typeof error !== 'object' || error === null) return undefined;
  const code = 'code' in error && typeof error.code === 'string' ? error.code : 'http_error';
  const message = 'message' in error && typeof error.message === 'string' ? error.message : code;
  return { code, message };
}

export const seg = encodeURIComponent;
