/**
 * Rate limit on failed admin authentication (docs/hardening.md): each 401 `invalid_token` counts
 * against the caller's IP in `AUTH_RATE_LIMIT` (wrangler.toml: 10 per 60 s). Past the limit, the IP
 * is refused with 429 for the rest of the period *before* its token is looked at: no constant-time
 * compare, no D1 lookup, so guessing tokens costs the guesser, not the database. Successful requests
 * never count. A missing Authorization header does not count either: it guesses nothing.
 *
 * The binding only counts; the block itself is remembered in the isolate, so an IP spread over many
 * isolates gets at most one more lookup in each (the binding is per Cloudflare location anyway, as
 * its documentation says: a brake, not an exact quota).
 */
import { errorResponse } from '../http/error-handling.ts';

/** The period of AUTH_RATE_LIMIT in wrangler.toml, which is also how long a limited IP stays blocked. */
export const AUTH_LIMIT_PERIOD_S = 60;
/** More distinct blocked IPs than this at once is an attack from everywhere; forget the oldest. */
const MAX_BLOCKED = 10_000;

const blockedUntil = new Map<string, number>();

/** The key of a caller: its IP as Cloudflare saw it (clients cannot set this header through Cloudflare). */
export function clientIp(header: string | undefined): string {
  return header?.trim() || 'unknown';
}

/** A 429 when `ip` is blocked at `now` (ms), else null. */
export function refuseIfBlocked(ip: string, now: number): Response | null {
  const until = blockedUntil.get(ip);
  if (until === undefined) return null;
  if (until <= now) {
    blockedUntil.delete(ip);
    return null;
  }
  return tooMany(Math.ceil((until - now) / 1000));
}

/**
 * Counts one failed authentication of `ip`; returns the 429 to answer instead of the 401 when this
 * failure went over the limit. A failing limiter is logged and lets the 401 through: the token check
 * itself still stands, and locking every admin out over a limiter outage would be worse.
 */
export async function countFailure(limiter: RateLimit, ip: string, now: number): Promise<Response | null> {
  let success: boolean;
  try {
    ({ success } = await limiter.limit({ key: `auth:${ip}` }));
  } catch (error) {
    console.error('auth: rate limiter failed; not limiting', error);
    return null;
  }
  if (success) return null;
  blockedUntil.delete(ip);
  blockedUntil.set(ip, now + AUTH_LIMIT_PERIOD_S * 1000);
  for (const oldest of blockedUntil.keys()) {
    if (blockedUntil.size <= MAX_BLOCKED) break;
    blockedUntil.delete(oldest);
  }
  return tooMany(AUTH_LIMIT_PERIOD_S);
}

function tooMany(seconds: number): Response {
  return errorResponse(
    429,
    'rate_limited',
    `too many failed authentications from this address; retry in ${seconds} s`,
    { 'Retry-After': String(seconds) },
  );
}
