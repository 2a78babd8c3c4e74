/**
 * The measurements run.ts combines: a load run in its own process (load.ts), the end-to-end
 * telemetry drain into D1, and the release-health query timed through the admin API.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Miniflare } from 'miniflare';
import type { LoadResult, LoadSpec } from './types.ts';

/** Runs autocannon in a child Node process and returns what it printed. */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [join(import.meta.dirname, 'load.ts'), JSON.stringify(spec)],
    { maxBuffer: 1024 * 1024 },
  );
  const result = JSON.parse(stdout) as LoadResult;
  if (typeof result.rps !== 'number') throw new Error(`load.ts printed no result: ${stdout}`);
  // Throughput that includes failures would flatter the Worker: a run with any is no measurement.
  if (result.errors > 0 || result.non2xx > 0) {
    throw new Error(`load run failed: ${result.errors} connection errors, ${result.non2xx} non-2xx answers`);
  }
  return result;
}

/**
 * Of rounds of runs measured back to back, the round whose `ratio` (between its own runs) is the
 * median: a ratio then always divides runs seconds apart, and drift across rounds cancels out.
 */
export const medianRound = (rounds: readonly LoadResult[][], ratio: (round: LoadResult[]) => number) => {
  const sorted = [...rounds].sort((a, b) => ratio(a) - ratio(b));
  const round = sorted[Math.floor(sorted.length / 2)];
  if (!round) throw new Error('no rounds');
  return round;
};
export const rpsOf = (run: LoadResult | undefined) => run?.rps ?? 0;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls D1 until `app` has `expected` events (every event accepted with 202 is stored: docs/protocol.md §5)
 * and returns the epoch milliseconds when it first saw them all.
 */
export async function drainedAt(mf: Miniflare, app: string, expected: number, timeoutMs: number) {
  const db = await mf.getD1Database('DB');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const row = await db
      .prepare('SELECT count(*) AS n FROM events WHERE app = ?1')
      .bind(app)
      .first<{ n: number }>();
    const stored = row?.n ?? 0;
    if (stored >= expected) return Date.now();
    if (Date.now() > deadline) throw new Error(`only ${stored} of ${expected} events reached D1 in time`);
    await sleep(50);
  }
}

export const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};

/**
 * GET /v1/admin/apps/{app}/health?version=… (a release's health) or …/compare?version=… (the
 * release and its baseline) `runs` times after one warm-up call (which loads the pages into SQLite's
 * cache, as a steady dashboard would), milliseconds from request to full body.
 */
export async function adminQueryMs(
  origin: string,
  token: string,
  query: { app: string; version: string; query: 'health' | 'compare'; runs: number },
): Promise<{ timings: number[]; answer: unknown }> {
  const url = `${origin}/v1/admin/apps/${query.app}/${query.query}?version=${query.version}`;
  const headers = { authorization: `Bearer ${token}` };
  const timings: number[] = [];
  let answer: unknown;
  for (let i = 0; i <= query.runs; i++) {
    const started = performance.now();
    const response = await fetch(url, { headers });
    const body = await response.text();
    if (!response.ok) throw new Error(`health query answered ${response.status}: ${body}`);
    if (i > 0) timings.push(performance.now() - started);
    answer = JSON.parse(body);
  }
  return { timings, answer };
}
