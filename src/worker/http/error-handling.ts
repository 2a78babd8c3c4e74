/**
 * docs/protocol.md §4's single error shape for every failure: `ApiError` as thrown, a lost revision race
 * (RevisionConflict) as 409, Hono's own exceptions mapped to stable codes, and anything else logged
 * and answered with a generic 500.
 */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ApiErrorCode } from '../../protocol/api.ts';
import { RevisionConflict } from '../storage/revisions.ts';
import { ApiError, errorBody } from './errors.ts';

/** A JSON error response. Errors are never cached: the next request may well succeed. */
export function errorResponse(
  status: ContentfulStatusCode,
  code: ApiErrorCode,
  message: string,
  headers: Record<string, string> = {},
): Response {
  return Response.json(errorBody(code, message), {
    status,
    headers: { ...headers, 'Cache-Control': 'no-store' },
  });
}

/** `app.onError`. */
export function handleError(err: Error, c: Context): Response {
  return errorFor(err, c.req.raw, c.env);
}

/** The error response to `err`, thrown while answering `request` (handleError without Hono). */
export function errorFor(err: unknown, request: Request, env: Partial<Env> | undefined): Response {
  if (err instanceof ApiError) return errorResponse(err.status, err.code, err.message);
  if (err instanceof RevisionConflict) {
    return errorResponse(409, err.stale ? 'stale_revision' : 'conflict', err.message);
  }
  if (err instanceof HTTPException && err.status < 500) {
    const { code, message } = describeHttpException(err);
    return errorResponse(err.status, code, message, passThroughHeaders(err.res));
  }
  // The stack goes to the logs, never to the caller.
  const error = err instanceof Error ? err : new Error(String(err));
  logFailure(request, env, error);
  const status = err instanceof HTTPException ? err.status : 500;
  return errorResponse(status, 'internal_error', 'internal error');
}

/**
 * Logs an unexpected failure: method, path (never the query string) and the error's name, message
 * and stack as text, with anything that looks like a credential redacted. Never the request, its
 * headers or the error object itself, whose fields a library may have filled with either.
 */
function logFailure(request: Request, env: Partial<Env> | undefined, err: Error): void {
  const secrets = [env?.UPDRAFT_ADMIN_TOKEN, env?.UPDRAFT_ONLINE_KEY];
  const text = err.stack?.includes(err.message)
    ? err.stack
    : `${err.name}: ${err.message}\n${err.stack ?? ''}`;
  console.error(`${request.method} ${new URL(request.url).pathname} failed: ${redact(text, secrets)}`);
}

const CREDENTIALS: [RegExp, string][] = [
  [/\b(Bearer|Basic)\s+[^\s"',;]+/gi, '$1 [redacted]'],
  [/\bupdr_[A-Za-z0-9_-]+/g, 'updr_[redacted]'],
];

/** `text` with bearer credentials, issued tokens and the given secrets' values replaced. */
export function redact(text: string, secrets: readonly unknown[] = []): string {
  let out = text;
  for (const secret of secrets) {
    // Short values would redact ordinary words; real secrets are long.
    if (typeof secret === 'string' && secret.length >= 8) out = out.replaceAll(secret, '[redacted]');
  }
  for (const [pattern, replacement] of CREDENTIALS) out = out.replace(pattern, replacement);
  return out;
}

const HTTP_CODES: Partial<Record<number, [code: ApiErrorCode, message: string]>> = {
  400: ['bad_request', 'bad request'],
  401: ['unauthorized', 'authentication required'],
  403: ['forbidden', 'not allowed'],
  404: ['not_found', 'not found'],
  405: ['method_not_allowed', 'method not allowed'],
  411: ['length_required', 'Content-Length is required'],
  413: ['too_large', 'request body is too large'],
  415: ['unsupported_media_type', 'unsupported content type'],
  416: ['range_not_satisfiable', 'range not satisfiable'],
  429: ['too_many_requests', 'too many requests'],
};

/** Hono's own exceptions (validators, body limits, auth helpers) in the protocol's error shape (docs/protocol.md §4). */
function describeHttpException(err: HTTPException): { code: ApiErrorCode; message: string } {
  // Hono's JSON validator throws exactly this when the body does not parse.
  if (err.status === 400 && err.message.startsWith('Malformed JSON')) {
    return { code: 'malformed_json', message: 'request body is not valid JSON' };
  }
  const [code, fallback]: [ApiErrorCode, string] = HTTP_CODES[err.status] ?? [
    `http_${err.status}`,
    'request failed',
  ];
  // Hono's messages are safe to show; bodyLimit's "Payload Too Large" lives in its response, not here.
  return { code, message: err.message || fallback };
}

/** Headers an exception's own response carries that still matter to the caller. */
function passThroughHeaders(res: Response | undefined): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const name of ['WWW-Authenticate', 'Retry-After', 'Allow']) {
    const value = res?.headers.get(name);
    if (value) kept[name] = value;
  }
  return kept;
}
