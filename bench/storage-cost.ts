/**
 * `node bench/storage-cost.ts [events] [sessions]`: what storing telemetry costs SQLite itself, per event and per
 * statement of the consumer's batch (src/worker/storage/telemetry.ts), on node:sqlite in memory with
 * every migration applied. In `npm run bench` the same statements run in D1's SQLite on workerd's one
 * thread, beside the intake and the consumer; this is that share, measured without workerd
 * (BENCHMARKS.md, "Telemetry"). With `sessions`, one event in five is a session report, as in the
 * benchmark's telemetry load (bench/load.ts); without, the events are check, download and install only.
 */
import { randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import {
  EVENTS_PER_BATCH,
  STORE_STATEMENTS,
  type StoredEvent,
  toRow,
} from '../src/worker/storage/telemetry-sql.ts';
import { ROOT } from './servers.ts';

/** Events per client, as a flush of the SDK: check, download, download, install, repeated. */
const PER_CLIENT = 100;

function events(count: number, from: number, sessions: boolean): StoredEvent[] {
  const now = Date.now();
  const received_at = new Date(now).toISOString();
  return Array.from({ length: count }, (_, k): StoredEvent => {
    const i = from + k;
    const base = {
      id: randomUUID(),
      app: 'bench',
      client_id: `client-${Math.floor(i / PER_CLIENT)}`,
      channel: 'stable',
      platform: 'linux',
      arch: 'x64',
      os_version: '6.8',
      occurred_at: new Date(now - (count - k) * 10).toISOString(),
      received_at,
    } as const;
    if (sessions && i % 5 === 4) {
      const hour = Math.floor(now / 3_600_000 - 1 - Math.floor((i % PER_CLIENT) / 5)) * 3_600_000;
      return {
        ...base,
        type: 'session',
        from_version: '1.1.0',
        occurred_at: new Date(hour).toISOString(),
        sessions: {
          ok: 3 + (i % 4),
          errored: i % 3 === 0 ? 1 : 0,
          crashed: i % 25 === 4 ? 1 : 0,
          abnormal: 0,
        },
      };
    }
    const step = i % 4;
    if (step === 0) return { ...base, type: 'check', from_version: '0.9.0' };
    if (step === 1) return { ...base, type: 'download_started', to_version: '1.1.0' };
    if (step === 2) return { ...base, type: 'download_succeeded', to_version: '1.1.0' };
    return {
      ...base,
      type: 'install_succeeded',
      from_version: '0.9.0',
      to_version: '1.1.0',
      duration_ms: 1200,
    };
  });
}

async function main(): Promise<void> {
  const total = Number(process.argv[2] ?? 300_000);
  const sessions = process.argv[3] === 'sessions';
  const db = new DatabaseSync(':memory:');
  const dir = join(ROOT, 'migrations');
  for (const file of (await readdir(dir)).filter((name) => name.endsWith('.sql')).sort()) {
    db.exec(await readFile(join(dir, file), 'utf8'));
  }
  const stage = db.prepare(STORE_STATEMENTS.stage);
  const rest = Object.entries(STORE_STATEMENTS.rest).map(([name, sql]) => ({
    name,
    statement: db.prepare(sql),
  }));
  const spent = new Map<string, number>([
    ['encode (toRow, JSON)', 0],
    ['stage', 0],
    ...rest.map(({ name }) => [name, 0] as const),
  ]);
  const add = (name: string, since: number) =>
    spent.set(name, (spent.get(name) ?? 0) + performance.now() - since);

  const report = (stored: number) => {
    const perEvent = (ms: number) => ((ms * 1000) / stored).toFixed(1);
    const sql = [...spent]
      .filter(([name]) => !name.startsWith('encode'))
      .reduce((sum, [, ms]) => sum + ms, 0);
    console.log(
      `${stored.toLocaleString('en')} events stored: SQLite ${perEvent(sql)} µs per event ` +
        `(${[...spent].map(([name, ms]) => `${name} ${perEvent(ms)}`).join(', ')})`,
    );
  };
  for (let stored = 0; stored < total; stored += EVENTS_PER_BATCH) {
    let since = performance.now();
    const rows = JSON.stringify(events(EVENTS_PER_BATCH, stored, sessions).map(toRow));
    add('encode (toRow, JSON)', since);
    db.exec('BEGIN');
    since = performance.now();
    stage.run(rows);
    add('stage', since);
    for (const { name, statement } of rest) {
      since = performance.now();
      statement.run();
      add(name, since);
    }
    db.exec('COMMIT');
    if ((stored + EVENTS_PER_BATCH) % 100_000 === 0) report(stored + EVENTS_PER_BATCH);
  }
}

await main();
