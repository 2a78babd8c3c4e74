/**
 * The rate limits (wrangler.toml, `simple = { period = 60 }`) count in windows of the wall-clock
 * minute: Miniflare's limiter keys its count on `floor(Date.now() / 60 000)`, as Cloudflare's does
 * on its own period. A test that fills a limit and then expects a refusal must not see the minute
 * turn in between, or the count starts again and the refusal never comes.
 */
const PERIOD_MS = 60_000;

/** Waits, if need be, for a fresh minute, so that at least `needMs` of the current one are left. */
export async function withinOneRateWindow(needMs: number): Promise<void> {
  const left = PERIOD_MS - (Date.now() % PERIOD_MS);
  if (left < needMs) await new Promise((resolve) => setTimeout(resolve, left + 50));
}
