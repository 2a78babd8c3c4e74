/**
 * The Worker's HTTP surface: one Hono app, a sub-app per resource, and the single error shape of
 * DESIGN §4 for every failure, including unknown routes (404) and wrong methods (405).
 */
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { adapters } from './adapters/index.ts';
import { allowedMethods } from './allowed-methods.ts';
import { errorResponse, handleError } from './error-handling.ts';
import { admin } from './routes/admin/index.ts';
import { artifacts } from './routes/artifacts.ts';
import { assets } from './routes/assets.ts';
import { check } from './routes/check.ts';
import { events } from './routes/events.ts';
import { health } from './routes/health.ts';
import { keys } from './routes/keys.ts';
import type { AppEnv } from './types.ts';

export const app = new Hono<AppEnv>();

// Nothing this Worker serves is a page: forbid everything a browser could do with a response, so
// even an artifact uploaded as text/html cannot run script on this origin.
const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy':
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'; sandbox",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Strict-Transport-Security': 'max-age=63072000; includeSubDomains',
};

app.use('*', async (c, next) => {
  await next();
  setOnResponse(c, SECURITY_HEADERS);
});

// Client endpoints are public and read-only, and the SDK runs in browsers: allow any origin, without
// credentials, and let scripts read the caching and range headers. Any OPTIONS is a preflight.
const CORS_HEADERS: Record<string, string> = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Expose-Headers': 'ETag, Content-Length, Content-Range, Accept-Ranges',
};
const PREFLIGHT_HEADERS: Record<string, string> = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'GET, HEAD, POST, OPTIONS',
  'Access-Control-Allow-Headers': 'Content-Type, If-None-Match, If-Range, Range',
  'Access-Control-Max-Age': '86400',
};

// The headers go onto the handler's response once it exists. (hono/cors sets them before the
// handler, on a placeholder response whose headers are then copied onto the real one: about a tenth
// of a warm check's CPU, BENCHMARKS.md.)
const publicCors: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (c.req.method === 'OPTIONS') return new Response(null, { status: 204, headers: PREFLIGHT_HEADERS });
  await next();
  setOnResponse(c, CORS_HEADERS);
};
app.use('/v1/apps/*', publicCors);
app.use('/v1/keys', publicCors);
app.use('/v1/keys/*', publicCors);

app.route('/v1/admin', admin);
app.route('/v1/apps', check);
app.route('/v1/apps', artifacts);
app.route('/v1/apps', assets);
app.route('/v1/apps', events);
app.route('/v1/apps', adapters);
app.route('/v1/keys', keys);
app.route('/', health);

app.notFound((c) => {
  const allowed = allowedMethods(app.routes, c.req.path);
  const method = c.req.method === 'HEAD' ? 'GET' : c.req.method;
  if (allowed.length > 0 && !allowed.includes(method)) {
    const allow = allowed.join(', ');
    return errorResponse(405, 'method_not_allowed', `${c.req.method} is not allowed here; use ${allow}`, {
      Allow: allow,
    });
  }
  return errorResponse(404, 'not_found', 'no such route');
});

app.onError(handleError);

/** Sets `values` on the response; one passed through from fetch() has immutable headers, so it is copied. */
function setOnResponse(c: Context<AppEnv>, values: Record<string, string>): void {
  try {
    setAll(c.res.headers, values);
  } catch {
    c.res = new Response(c.res.body, c.res);
    setAll(c.res.headers, values);
  }
}

function setAll(headers: Headers, values: Record<string, string>): void {
  for (const name in values) {
    const value = values[name];
    if (value !== undefined) headers.set(name, value);
  }
}
