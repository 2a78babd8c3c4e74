/**
 * The admin API client (docs/api.md). Every failure becomes one UserError line: the server's
 * `{"error": {"code", "message"}}`, an unreachable server, or a body that is not the API's.
 */
import type { ApiErrorCode } from '../../src/protocol/api.ts';
import type { Config } from './config.ts';
import { UserError } from './errors.ts';

export interface RequestOptions {
  /** JSON body; sent with Content-Type: application/json. */
  json?: unknown;
  /** A raw body (bytes or a stream); streams need `duplex: 'half'`, which the client sets. */
  body?: BodyInit;
  headers?: Record<string, string>;
  /** Query parameters; undefined values are left out. */
  query?: Record<string, string | number | undefined>;
  /** Admin routes send the bearer token; public ones (`/v1/keys`, `/healthz`) do not. */
  auth?: boolean;
  /** Statuses answered with `undefined` instead of an error (e.g. 404 when checking existence). */
  allow?: readonly number[];
  /** Cancels the request (Ctrl-C in `watch`); the promise then rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** A 4xx/5xx answer from the server; a UserError so the CLI prints it as one line. */
export class ServerError extends UserError {
  override name = 'ServerError';
  readonly status: number;
  /** The code the server sent: one of ApiErrorCode from this Worker, anything from another. */
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

/** The server could not be reached at all (refused, unknown host, reset): worth retrying in `watch`. */
export class NetworkError extends UserError {
  override name = 'NetworkError';
}

export class ApiClient {
  readonly server: string;
  readonly token: string | undefined;
  private readonly tokenSource: Config['tokenSource'];

  constructor(config: Pick<Config, 'server' | 'token'> & Partial<Pick<Config, 'tokenSource'>>) {
    this.server = config.server.replace(/\/+$/, '');
    this.token = config.token;
    this.tokenSource = config.tokenSource ?? (config.token ? 'flag' : 'none');
  }

  get<T>(path: string, options: RequestOptions = {}): Promise<T> {
    return this.request<T>('GET', path, options);
  }

  post<T>(path: string, json: unknown, options: RequestOptions = {}): Promise<T> {
    return this.request<T>('POST', path, { ...options, json });
  }

  /** Like `get`, but a 404 answers undefined: for "does it exist yet?" checks. */
  async find<T>(path: string, options: RequestOptions = {}): Promise<T | undefined> {
    return this.request<T | undefined>('GET', path, { ...options, allow: [404] });
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const url = new URL(`${this.server}${path}`);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    if (options.auth !== false) headers.authorization = `Bearer ${this.requireToken()}`;
    let body = options.body;
    if (options.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.json);
    }
    const init: RequestInit & { duplex?: 'half' } = { method, headers, body, signal: options.signal };
    if (body instanceof ReadableStream) init.duplex = 'half';

    let response: Response;
    try {
      response = await fetch(url, init);
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      throw new NetworkError(`cannot reach ${this.server}: ${networkReason(error)}`);
    }
    if (options.allow?.includes(response.status)) {
      await response.body?.cancel();
      return undefined as T;
    }
    const text = await response.text();
    if (!response.ok) throw this.toError(response, method, url.pathname, text);
    if (text === '') return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new UserError(
        `${method} ${url.pathname}: the server answered ${response.status} with a body that is not JSON`,
      );
    }
  }

  private requireToken(): string {
    if (this.token) return this.token;
    throw new UserError(
      'no admin token: pass --token, set UPDRAFT_TOKEN, or run `npm run dev` in the Updraft repository (it writes .dev.vars)',
    );
  }

  private toError(response: Response, method: string, path: string, text: string): UserError {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const error = isErrorBody(parsed) ? parsed.error : undefined;
    if (!error) {
      return new ServerError(
        response.status,
        'http_error',
        `${method} ${path}: the server answered ${response.status} ${response.statusText}`.trim(),
      );
    }
    let message = oneLine(error.message);
    if (response.status === 401 && this.tokenSource === 'dev-vars') {
      message += ' (the token came from .dev.vars; pass --token or set UPDRAFT_TOKEN for another server)';
    }
    return new ServerError(response.status, error.code, `${message} (${response.status} ${error.code})`);
  }
}

function isErrorBody(value: unknown): value is { error: { code: string; message: string } } {
  if (typeof value !== 'object' || value === null || !('error' in value)) return false;
  const error = value.error;
  return (
    typeof error === 'object' &&
    error !== null &&
    'code' in error &&
    typeof error.code === 'string' &&
    'message' in error &&
    typeof error.message === 'string'
  );
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** Undici wraps the socket error in `cause`; name the useful part. */
function networkReason(error: unknown): string {
  const cause = error instanceof Error ? error.cause : undefined;
  if (typeof cause === 'object' && cause !== null && 'code' in cause && typeof cause.code === 'string') {
    if (cause.code === 'ECONNREFUSED')
      return 'connection refused (is the server running? `npm run dev` in the Updraft repository starts one)';
    if (cause.code === 'ENOTFOUND') return 'unknown host';
    return cause instanceof Error ? `${cause.code}: ${cause.message}` : cause.code;
  }
  if (cause instanceof Error) return cause.message;
  return error instanceof Error ? error.message : String(error);
}

/** Path segment encoding for names, versions and file names in URLs. */
export function seg(value: string): string {
  return encodeURIComponent(value);
}
