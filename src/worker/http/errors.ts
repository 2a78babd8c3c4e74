import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ApiErrorCode } from '../../protocol/api.ts';

/**
 * An error a client caused or may act on. `app.onError` turns it into docs/protocol.md §4's shape:
 * `{"error": {"code": "snake_case", "message": "…"}}` with `status`.
 */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: ApiErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const badRequest = (code: ApiErrorCode, message: string) => new ApiError(400, code, message);
export const notFound = (code: ApiErrorCode, message: string) => new ApiError(404, code, message);
export const conflict = (code: ApiErrorCode, message: string) => new ApiError(409, code, message);

export function errorBody(
  code: ApiErrorCode,
  message: string,
): { error: { code: ApiErrorCode; message: string } } {
  return { error: { code, message } };
}
