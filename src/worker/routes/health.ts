/**
 * `GET /healthz`: 200 when every binding answers, the online key parses and the data plane serves
 * what it can verify; else 503 naming the failing checks. Each probe is the cheapest call its binding
 * has and is bounded in time, so a hung dependency shows up as a failure instead of a hung health check.
 */
import { Hono } from 'hono';
import { parsePrivateJwk } from '../../protocol/keys.ts';
import { probes } from '../storage/data-plane.ts';
import type { RefusedChannel } from '../storage/refusals.ts';
import { loadKeys, unverifiedChannels } from '../storage/state-cache.ts';
import { telemetryDatabases } from '../storage/telemetry-dbs.ts';
import type { AppEnv } from '../types.ts';

const PROBE_TIMEOUT_MS = 3_000;

export const health = new Hono<AppEnv>();

health.get('/healthz', async (c) => {
  const env = c.env;
  let unverified: RefusedChannel[] = [];
  const results = await Promise.all([
    probe('kv', () => probes.kv(env.STATE)),
    probe('r2', () => probes.r2(env.BUCKET)),
    // DB and every bound telemetry database (docs/protocol.md §11): intake of their apps stalls without them.
    probe('d1', async () => {
      await Promise.all(
        telemetryDatabases(env).map(({ name, db }) =>
          probes.d1(db).catch((error: unknown) => {
            throw new Error(`${name}: ${String(error)}`);
          }),
        ),
      );
    }),
    probe('online_key', async () => {
      parsePrivateJwk(env.UPDRAFT_ONLINE_KEY);
    }),
    probe('projection', async () => {
      unverified = await unverifiedChannels(env.STATE);
      await checkCurrentKeys(env);
      if (unverified.length > 0) {
        throw new Error(`refusing to serve ${unverified.map((u) => `${u.app}/${u.channel}`).join(', ')}`);
      }
    }),
  ]);
  const checks = Object.fromEntries(results);
  const ok = results.every(([, result]) => result === 'ok');
  // App and channel names are public (they are in every check URL); why they fail is only logged.
  const body = unverified.length > 0 ? { ok, checks, unverified } : { ok, checks };
  return c.json(body, ok ? 200 : 503, { 'Cache-Control': 'no-store' });
});

/**
 * The active half of the projection check: `keys:current` must decode and list the Worker's online
 * key, or every snapshot signed from now on would be refused. Its absence is fine: a fresh deployment
 * has served nothing yet (`updraft keys init` registers the first), and any channel projected before
 * then is refused, and so reported, on its first check.
 */
async function checkCurrentKeys(env: Env): Promise<void> {
  const current = await loadKeys(env.STATE);
  if (current.status === 'malformed') throw new Error(`keys:current is unusable: ${current.reason}`);
  if (current.status === 'absent') return;
  // A broken online key is the online_key probe's failure; here it only means there is nothing to compare.
  let kid: string;
  try {
    kid = parsePrivateJwk(env.UPDRAFT_ONLINE_KEY).kid;
  } catch {
    return;
  }
  if (!current.keys.online.some((key) => key.kid === kid)) {
    throw new Error(`keys:current v${current.keys.version} does not list the online key ${kid}`);
  }
}

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
