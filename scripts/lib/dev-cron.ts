/**
 * The cron of wrangler.toml (`* * * * *`) for `npm run dev`: `wrangler dev` never fires it, so at the
 * start of every minute, as production does, dev.ts asks wrangler's scheduled route to run the
 * Worker's `scheduled` handler (staged plans, automatic halts, webhook retries, re-signing,
 * retention) and waits for it to finish.
 */

export const DEV_CRON = '* * * * *';

export interface DevCronOptions {
  /** The dev server's base URL; undefined while it restarts (that minute is skipped). */
  server: () => string | undefined;
  log: (line: string) => void;
}

/** The URL that runs the scheduled handler once, as the cron does at `at` (wrangler dev's route). */
export function scheduledUrl(server: string, at: Date): string {
  const query = new URLSearchParams({ cron: DEV_CRON, time: String(at.getTime()) });
  return `${server}/cdn-cgi/handler/scheduled?${query}`;
}

/** Runs the scheduled handler at the start of every minute until stop(). */
export function startDevCron(opts: DevCronOptions): { stop(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running = false;
  let failing = false;
  const next = () => {
    const now = Date.now();
    const at = Math.floor(now / 60_000) * 60_000 + 60_000;
    timer = setTimeout(() => void fire(new Date(at)), at - now);
  };
  const fire = async (at: Date) => {
    next();
    const server = opts.server();
    // A run still going (a slow minute) is not doubled, as Cloudflare does not overlap them either.
    if (running || server === undefined) return;
    running = true;
    try {
      const response = await fetch(scheduledUrl(server, at));
      if (!response.ok) throw new Error(`${response.status} ${(await response.text()).slice(0, 200)}`);
      if (failing) opts.log('cron: the scheduled handler runs again');
      failing = false;
    } catch (error) {
      // One line per failing streak, not one a minute.
      if (!failing)
        opts.log(
          `cron: the scheduled handler failed (${error instanceof Error ? error.message : String(error)})`,
        );
      failing = true;
    } finally {
      running = false;
    }
  };
  next();
  return {
    stop: () => {
      if (timer !== undefined) clearTimeout(timer);
    },
  };
}
