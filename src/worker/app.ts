/**
 * The Worker's HTTP surface: one Hono app, a sub-app per resource, and the single error shape of
 * docs/protocol.md §4 for every failure, including unknown routes (404) and wrong methods (405).
 */
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { methodNotAllowed } from 'hono/method-not-allowed';
import { adapters } from './adapters/index.ts';
import { errorResponse, handleError } from './http/error-handling.ts';
import { CORS_HEADERS, PREFLIGHT_HEADERS, SECURITY_HEADERS, withHeaders } from './http/headers.ts';
import { admin } from './routes/admin/index.ts';
import { artifacts } from './routes/artifacts.ts';
import { assets } from './routes/assets.ts';
import { check } from './routes/check.ts';
import { events } from './routes/events.ts';
import { health } from './routes/health.ts';
import { keys } from './routes/keys.ts';
import type { AppEnv } from './types.ts';

export const app = new Hono<AppEnv>();

/**
 * Sets `values` on the response in place. `c.res` is assigned only when the response had to be copied
 * (immutable headers): assigning it makes Hono copy the response and every header onto the copy, which
 * was 7.5 % of an adapter check's CPU (BENCHMARKS.md) for a response that had not changed.
 */
function addHeaders(c: Context<AppEnv>, values: Record<string, string>): void {
  const response = withHeaders(c.res, values);
  if (response !== c.res) c.res = response;
}

app.use('*', async (c, next) => {
  await next();
  addHeaders(c, SECURITY_HEADERS);
});

// A path some route takes, with a method none takes there: 405 with `Allow` (HEAD wherever GET is),
// in the one error shape; a path no route takes stays 404 (notFound below).
app.use(
  '*',
  methodNotAllowed({
    app,
    onMethodNotAllowed: (c, methods) => {
      const allow = [...methods].sort().join(', ');
      return errorResponse(405, 'method_not_allowed', `${c.req.method} is not allowed here; use ${allow}`, {
        Allow: allow,
      });
    },
  }),
);

// The headers go onto the handler's response once it exists. (hono/cors sets them before the
// handler, on a placeholder response whose headers are then copied onto the real one: about a tenth
// of a warm check's CPU, BENCHMARKS.md.)
const publicCors: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (c.req.method === 'OPTIONS') return new Response(null, { status: 204, headers: PREFLIGHT_HEADERS });
  await next();
  addHeaders(c, CORS_HEADERS);
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

app.notFound(() => errorResponse(404, 'not_found', 'no such route'));

app.onError(handleError);
