/**
 * The Workers under test, served straight from workerd through Miniflare's Node API (no `wrangler dev`
 * proxy in between): the real bundle with local KV, R2, D1 (migrations applied) and the telemetry
 * Queue consumed by the same Worker, configured from wrangler.toml; and a hello-world Worker served
 * the same way as the baseline every throughput figure is divided by.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { convertV4MiniflareOptions, Log, LogLevel, Miniflare, type V4MiniflareOptions } from 'miniflare';
import { unstable_readConfig, unstable_splitSqlQuery } from 'wrangler';

export const ROOT = join(import.meta.dirname, '..');

const HELLO_WORKER = `export default {
  fetch() {
    return new Response('Hello World!', { headers: { 'Content-Type': 'text/plain' } });
  },
};`;

/**
 * A fresh working directory for one run, in memory (/dev/shm) where the machine has it. workerd runs
 * the Worker, D1's SQLite and the queue broker on one thread, and a disk-backed database makes that
 * thread wait for every commit's fsync: a cost of the local simulator, which the Worker does not pay
 * in production (D1 commits elsewhere), so it is kept out of the figures (BENCHMARKS.md).
 */
export async function workDir(prefix: string): Promise<string> {
  const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  return mkdtemp(join(base, prefix));
}

export interface Secrets {
  adminToken: string;
  /** The online private key as JWK JSON (UPDRAFT_ONLINE_KEY). */
  onlineKey: string;
}

/** Fresh secrets for one run: nothing from .dev.vars or the caller's environment. */
export function freshSecrets(): Secrets {
  const { privateKey } = generateKeyPairSync('ed25519');
  return {
    adminToken: `updr_bench_${randomBytes(24).toString('base64url')}`,
    onlineKey: JSON.stringify(privateKey.export({ format: 'jwk' })),
  };
}

export interface Served {
  mf: Miniflare;
  url: URL;
}

const quietLog = () => new Log(LogLevel.WARN);

/** The hello-world baseline, served exactly like the product: its own workerd, loopback, port 0. */
export function startHello(compatibilityDate: string): Promise<Served> {
  return startScript(HELLO_WORKER, compatibilityDate);
}

/** A Worker of one module's source (no bindings), served like the baseline. */
export async function startScript(script: string, compatibilityDate: string): Promise<Served> {
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      modules: true,
      script,
      compatibilityDate,
      cf: false,
      host: '127.0.0.1',
      port: 0,
      log: quietLog(),
    }),
  );
  return { mf, url: await mf.ready };
}

export interface UpdraftServerOptions {
  /** The bundled Worker (`wrangler deploy --dry-run --outdir`). */
  scriptPath: string;
  /** Where KV, R2, D1 and the Queue keep their data, so a restart with other vars keeps it. */
  persistDir: string;
  secrets: Secrets;
  /** `[vars]` overrides, e.g. `STATE_CACHE_TTL_MS: '0'`. */
  vars?: Record<string, string>;
  /** Opens workerd's V8 inspector here (bench/profile.ts attaches to it). */
  inspectorPort?: number;
}

/**
 * The parts of wrangler.toml the benchmark serves the Worker with (wrangler's own Config type does
 * not resolve outside wrangler's bundle, so this names what is read).
 */
export interface WranglerConfig {
  compatibility_date: string;
  compatibility_flags: string[];
  vars: Record<string, unknown>;
  kv_namespaces: { binding: string; id?: string }[];
  r2_buckets: { binding: string; bucket_name?: string }[];
  d1_databases: { binding: string; database_id?: string }[];
  queues: {
    producers?: { binding: string; queue: string }[];
    consumers?: {
      queue: string;
      max_batch_size?: number;
      max_batch_timeout?: number;
      max_retries?: number;
      dead_letter_queue?: string;
    }[];
  };
  ratelimits: { name: string; namespace_id: string; simple: { limit: number; period: 10 | 60 } }[];
}

/** The project's wrangler.toml, as wrangler itself reads and validates it. */
export function wranglerConfig(): WranglerConfig {
  return unstable_readConfig({ config: join(ROOT, 'wrangler.toml') }, { hideWarnings: true });
}

/** Miniflare options for the product Worker, every binding taken from wrangler.toml. */
export function updraftOptions(options: UpdraftServerOptions): V4MiniflareOptions {
  const config = wranglerConfig();
  const vars: Record<string, string> = {};
  for (const [name, value] of Object.entries(config.vars)) vars[name] = String(value);
  return {
    modules: true,
    scriptPath: options.scriptPath,
    modulesRoot: dirname(options.scriptPath),
    compatibilityDate: config.compatibility_date,
    compatibilityFlags: config.compatibility_flags,
    kvNamespaces: Object.fromEntries(config.kv_namespaces.map((kv) => [kv.binding, kv.id ?? kv.binding])),
    r2Buckets: Object.fromEntries(config.r2_buckets.map((r2) => [r2.binding, r2.bucket_name ?? r2.binding])),
    d1Databases: Object.fromEntries(
      config.d1_databases.map((d1) => [d1.binding, d1.database_id ?? d1.binding]),
    ),
    queueProducers: Object.fromEntries(
      (config.queues.producers ?? []).map((q) => [q.binding, { queueName: q.queue }]),
    ),
    queueConsumers: Object.fromEntries(
      (config.queues.consumers ?? []).map((q) => [
        q.queue,
        {
          maxBatchSize: q.max_batch_size,
          maxBatchTimeout: q.max_batch_timeout,
          maxRetries: q.max_retries,
          deadLetterQueue: q.dead_letter_queue,
        },
      ]),
    ),
    ratelimits: Object.fromEntries(
      config.ratelimits.map((rl) => [rl.name, { namespace_id: rl.namespace_id, simple: rl.simple }]),
    ),
    bindings: {
      ...vars,
      ...options.vars,
      UPDRAFT_ADMIN_TOKEN: options.secrets.adminToken,
      UPDRAFT_ONLINE_KEY: options.secrets.onlineKey,
    },
    resourcePersistencePath: options.persistDir,
    ...(options.inspectorPort !== undefined && { inspectorPort: options.inspectorPort }),
    // No request.cf from the network: loopback only, and the country rule is not what is measured.
    cf: false,
    host: '127.0.0.1',
    port: 0,
    log: quietLog(),
  };
}

/** Starts the product Worker and applies migrations/*.sql to its D1 database. */
export async function startUpdraft(options: UpdraftServerOptions): Promise<Served> {
  const mf = new Miniflare(convertV4MiniflareOptions(updraftOptions(options)));
  const url = await mf.ready;
  await applyMigrations(mf);
  return { mf, url };
}

/** Restarts the same Worker and storage with other `[vars]` (the cold-cache run sets the TTL to 0). */
export async function restartUpdraft(served: Served, options: UpdraftServerOptions): Promise<Served> {
  await served.mf.setOptions(convertV4MiniflareOptions(updraftOptions(options)));
  return { mf: served.mf, url: await served.mf.ready };
}

/** Every migration in order, statement by statement, as `wrangler d1 migrations apply` would. */
async function applyMigrations(mf: Miniflare): Promise<void> {
  const db = await mf.getD1Database('DB');
  const dir = join(ROOT, 'migrations');
  const files = (await readdir(dir)).filter((name) => name.endsWith('.sql')).sort();
  for (const file of files) {
    const statements = unstable_splitSqlQuery(await readFile(join(dir, file), 'utf8'));
    await db.batch(statements.map((sql) => db.prepare(sql)));
  }
}
