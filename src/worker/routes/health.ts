/**
 * `GET /healthz`: 200 when every binding answers and the online key parses, else 503 naming the
 * failing checks. Each probe is the cheapest call its binding has and is bounded in time, so a hung
 * dependency shows up as a failure instead of a hung health check.
 */
import { Hono } from 'hono';
import { parsePrivateJwk } from '../../protocol/keys.ts';
import { probes } from '../storage/data-plane.ts';
import type { AppEnv } from '../types.ts';

const PROBE_TIMEOUT_MS = 3_000;

export const health = new Hono<AppEnv>();

health.get('/healthz', async (c) => {
  const env = c.env;
  const results = await Promise.all([
    probe('kv', () => probes.kv(env.STATE)),
    probe('r2', () => probes.r2(env.BUCKET)),
    probe('d1', () => probes.d1(env.DB)),
    probe('online_key', async () => {
      parsePrivateJwk(env.UPDRAFT_ONLINE_KEY);
    }),
  ]);
  const checks = Object.fromEntries(results);
  const ok = results.every(([, result]) => result === 'ok');
  return c.json({ ok, checks }, ok ? 200 : 503, { 'Cache-Control': 'no-store' });
});

async function probe(name: string, run: () => Promise<void>): Promise<[string, 'ok' | 'fail']> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${PROBE_TIMEOUT_MS} ms`)), PROBE_TIMEOUT_MS);
  });
  try {
    await Promise.race([run(), timeout]);
    return [name, 'ok'];
  } catch (err) {
    // The reason goes to the logs only: a public endpoint must not describe the internals.
    console.error(`healthz: ${name} failed:`, err);
    return [name, 'fail'];
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}
