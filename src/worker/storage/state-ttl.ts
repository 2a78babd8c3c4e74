/**
 * How long the data plane serves a parsed projection from memory (state-cache.ts), and the
 * `STATE_CACHE_TTL_MS` var (wrangler.toml) that sets it.
 */

/** How long a parsed projection is served from memory. KV's own ~60 s propagation dominates anyway. */
export const STATE_TTL_MS = 5_000;
/** The longest TTL `STATE_CACHE_TTL_MS` may set: past KV's own propagation it would only delay a yank. */
export const MAX_STATE_TTL_MS = 60_000;

/**
 * The cache TTL from the `STATE_CACHE_TTL_MS` var (wrangler.toml): whole milliseconds up to
 * MAX_STATE_TTL_MS, `0` turning the cache off (every request reads and parses KV; the benchmark's
 * cold-isolate figure); unset or anything else means STATE_TTL_MS.
 */
export function stateTtlMs(env: { STATE_CACHE_TTL_MS?: string }): number {
  // Read on every request with the same env: parse the var once per value, not per check.
  const raw = env.STATE_CACHE_TTL_MS;
  if (lastRead !== undefined && lastRead.raw === raw) return lastRead.ms;
  const ms = parseTtl(raw);
  lastRead = { raw, ms };
  return ms;
}

let lastRead: { raw: string | undefined; ms: number } | undefined;

function parseTtl(raw: string | undefined): number {
  const text = raw?.trim();
  if (text === undefined || !/^\d{1,6}$/.test(text)) return STATE_TTL_MS;
  const ms = Number(text);
  return ms <= MAX_STATE_TTL_MS ? ms : STATE_TTL_MS;
}
