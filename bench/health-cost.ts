/**
 * `node bench/health-cost.ts [events] [database]`: what each statement of a release's health costs
 * SQLite itself. Seeds the benchmark's week of telemetry (bench/seed-events.ts, 1,000,000 events by
 * default) into node:sqlite with every migration applied, then times each statement of
 * `releaseHealth`'s batch (src/worker/storage/analytics-sql.ts) for the busiest release over the
 * week, its session reports included: the median of seven runs. The baseline comparison runs the
 * same batch once more, for the baseline. Give a database file (on /dev/shm, say) to keep the seeded history
 * for the next run. In `npm run bench` the same statements run in D1's SQLite inside workerd; this is
 * that share without workerd (BENCHMARKS.md, "Release health").
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DatabaseSync, type SQLInputValue } from 'node:sqlite';
import {
  ACTIVE_VERSIONS_SQL,
  countsSql,
  durationsSql,
  HEALTH_TOP_ERRORS,
  KNOWN_VERSION_SQL,
  positional,
  rollbacksSql,
  type SqlParams,
  sessionsSql,
  topErrorsSql,
} from '../src/worker/storage/analytics-sql.ts';
import { type SeedDb, type SeedStatement, seedEvents } from './seed-events.ts';
import { ROOT } from './servers.ts';

const APP = 'health';
const CHANNEL = 'stable';
const VERSIONS = ['1.0.0', '1.1.0', '1.2.0', '1.3.0', '1.4.0'];
const NOW = Date.parse('2026-11-21T12:00:00.000Z');
const RUNS = 7;

/** D1's prepare/bind/all/batch over node:sqlite, enough for seedEvents. */
function d1Over(db: DatabaseSync): SeedDb {
  const statement = (sql: string, values: SQLInputValue[] = []): SeedStatement => ({
    bind: (...next) => statement(sql, next as SQLInputValue[]),
    all: async <T>() => ({ results: db.prepare(sql).all(...values) as T[] }),
  });
  return {
    prepare: (sql) => statement(sql),
    batch: async (statements) => Promise.all(statements.map((s) => s.all())),
  };
}

/** Times SQL written with `:name` placeholders (as docs/analytics.md prints it), bound to `params`. */
function timed(db: DatabaseSync, sql: string, params: SqlParams) {
  const { text, values } = positional(sql, params);
  const statement = db.prepare(text);
  const times: number[] = [];
  let rows: unknown[] = [];
  for (let run = 0; run < RUNS; run++) {
    const since = performance.now();
    rows = statement.all(...values);
    times.push(performance.now() - since);
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(RUNS / 2)] ?? 0, rows };
}

async function main(): Promise<void> {
  const events = Number(process.argv[2] ?? 1_000_000);
  const db = new DatabaseSync(process.argv[3] ?? ':memory:');
  const seeded = db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'events'").get() !== undefined;
  if (!seeded) {
    const dir = join(ROOT, 'migrations');
    for (const file of (await readdir(dir)).filter((name) => name.endsWith('.sql')).sort()) {
      db.exec(await readFile(join(dir, file), 'utf8'));
    }
    const since = performance.now();
    await seedEvents(d1Over(db), { app: APP, channel: CHANNEL, events, versions: VERSIONS, now: NOW });
    console.log(
      `${events.toLocaleString('en')} events seeded in ${((performance.now() - since) / 1000).toFixed(1)} s`,
    );
  }
  const params = {
    app: APP,
    channel: CHANNEL,
    version: VERSIONS[VERSIONS.length - 1] ?? '',
    from: new Date(NOW - 7 * 24 * 3600_000).toISOString(),
    to: new Date(NOW).toISOString(),
    limit: HEALTH_TOP_ERRORS,
  };
  const statements: [string, string][] = [
    ['installs and failures', countsSql('one')],
    ['rollbacks and exposure', rollbacksSql('one')],
    ['install durations', durationsSql('one')],
    ['top errors', topErrorsSql('one')],
    ['sessions and crash-free', sessionsSql('one')],
    ['active clients by version', ACTIVE_VERSIONS_SQL],
    ['known version', KNOWN_VERSION_SQL],
  ];
  let total = 0;
  for (const [name, sql] of statements) {
    const { ms, rows } = timed(db, sql, params);
    total += ms;
    console.log(`${name.padEnd(28)} ${ms.toFixed(1).padStart(6)} ms  ${JSON.stringify(rows).slice(0, 90)}`);
  }
  console.log(`${'release health, SQL alone'.padEnd(28)} ${total.toFixed(1).padStart(6)} ms`);
}

await main();
