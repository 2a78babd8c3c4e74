/**
 * Admin authentication (docs/protocol.md §4): `Authorization: Bearer <token>`. The bootstrap token is the
 * Worker secret UPDRAFT_ADMIN_TOKEN, compared in constant time; every other token is looked up by
 * its SHA-256 in D1 and must be neither revoked nor expired. `requireRole` is also the one place
 * that holds a token limited to apps to them (every admin route calls it; the route table of
 * test/worker/token-scope.integration.test.ts fails for a route that is not listed there).
 */
import type { Context, MiddlewareHandler } from 'hono';
import { sha256, sha256Hex } from '../../protocol/encoding.ts';
import { type Role, roleAllows } from '../../protocol/roles.ts';
import { ApiError } from '../http/errors.ts';
import { findTokenByHash } from '../storage/tokens.ts';
import type { Actor, AppEnv } from '../types.ts';
import { clientIp, countFailure, refuseIfBlocked } from './limit.ts';
import { type RouteScope, scopeAllows } from './scopes.ts';

/** Issued tokens: `updr_` and 32 random bytes in base64url. */
export const TOKEN_PATTERN = /^updr_[A-Za-z0-9_-]{43}$/;
const BEARER = /^Bearer ([\x21-\x7e]{1,512})$/;

/** Equal strings, in time independent of where they differ: both sides are hashed to 32 bytes first. */
async function constantTimeEqual(a: string, b: string): Promise<boolean> {
  const [ha, hb] = await Promise.all([sha256(a), sha256(b)]);
  return crypto.subtle.timingSafeEqual(ha, hb);
}

/** The caller behind a bearer token, or an ApiError 401. */
export async function authenticate(env: Env, header: string | undefined, now: Date): Promise<Actor> {
  const token = header?.trim().match(BEARER)?.[1];
  if (!token) throw new ApiError(401, 'missing_token', 'send Authorization: Bearer <token>');
  const bootstrap = env.UPDRAFT_ADMIN_TOKEN;
  if (bootstrap && (await constantTimeEqual(token, bootstrap)))
    return { name: 'bootstrap', role: 'admin', apps: null };
  if (TOKEN_PATTERN.test(token)) {
    const record = await findTokenByHash(env.DB, await sha256Hex(token));
    const live =
      record !== null &&
      record.revoked_at === null &&
      (record.expires_at === null || Date.parse(record.expires_at) > now.getTime());
    if (live) return { name: `token:${record.id}:${record.name}`, role: record.role, apps: record.apps };
  }
  throw new ApiError(401, 'invalid_token', 'the token is unknown, revoked or expired');
}

const listed = (apps: readonly string[]) => apps.join(', ');

/**
 * Refuses a token limited to apps a route outside them (403): `app_forbidden` for another app,
 * `scope_forbidden` for the deployment as a whole. A route with `:app` acts on that app; any other
 * route is deployment-wide unless it declares `scope` (auth-roles.ts), so a new route without
 * `:app` is closed to limited tokens until someone decides otherwise.
 */
function refuseOutOfScope(c: Context<AppEnv>, actor: Actor, scope: RouteScope): void {
  const apps = actor.apps;
  if (apps === null) return;
  const forbidden = (app: string) =>
    new ApiError(403, 'app_forbidden', `this token is limited to ${listed(apps)}; it cannot act on ${app}`);
  const app = c.req.param('app');
  if (app !== undefined) {
    if (!scopeAllows(apps, app)) throw forbidden(app);
    return;
  }
  if (scope === 'own') return;
  if (scope === 'query') {
    const named = c.req.queries('app') ?? [];
    if (named.length === 0) {
      throw new ApiError(
        403,
        'scope_forbidden',
        `this token is limited to ${listed(apps)}: name one of them with ?app=`,
      );
    }
    const other = named.find((name) => !scopeAllows(apps, name));
    if (other !== undefined) throw forbidden(other);
    return;
  }
  throw new ApiError(
    403,
    'scope_forbidden',
    `this route acts on the whole deployment; the token is limited to ${listed(apps)}`,
  );
}

/**
 * Middleware: the caller must hold `role` (or a role that includes it), and a token limited to apps
 * must be within them for this route (`scope`, see refuseOutOfScope); sets `actor`. Failed
 * authentications are rate-limited per IP (auth-limit.ts); a blocked IP is answered 429 before its
 * token is looked at.
 */
export function requireRole(role: Role, scope: RouteScope = 'deployment'): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    // Admin answers are per-caller and may carry secrets: never cache them, errors included.
    c.header('Cache-Control', 'no-store');
    const now = new Date();
    const ip = clientIp(c.req.header('CF-Connecting-IP'));
    const blocked = refuseIfBlocked(ip, now.getTime());
    if (blocked) return blocked;
    let actor: Actor;
    try {
      actor = await authenticate(c.env, c.req.header('Authorization'), now);
    } catch (error) {
      if (error instanceof ApiError && error.code === 'invalid_token') {
        const limited = await countFailure(c.env.AUTH_RATE_LIMIT, ip, now.getTime());
        if (limited) return limited;
      }
      throw error;
    }
    if (!roleAllows(actor.role, role)) {
      throw new ApiError(403, 'forbidden', `this route needs the ${role} role; the token has ${actor.role}`);
    }
    refuseOutOfScope(c, actor, scope);
    c.set('actor', actor);
    await next();
  };
}
