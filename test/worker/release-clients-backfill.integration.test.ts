/**
 * migrations/0015 fills `release_clients` from the events a deployment already holds; from then on
 * the consumer keeps it. Both must give the same rows, or exposure would jump at the upgrade: the
 * migration's own statement (as wrangler applies it) is run over events the consumer stored, and
 * must rebuild exactly the consumer's rows.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { storeEvents } from '../../src/worker/storage/telemetry.ts';
import { uniqueApp } from './support/fixtures.ts';
import { storedEvent } from './support/telemetry-fixtures.ts';

/** The migration's backfill, as wrangler runs it. */
function backfillStatement(): string {
  const migration = env.TEST_MIGRATIONS.find((m) => m.name.startsWith('0015_'));
  const statement = migration?.queries.find((q) => q.trim().startsWith('INSERT INTO release_clients'));
  if (!statement) throw new Error('migrations/0015 has no INSERT INTO release_clients');
  return statement;
}

async function rows(db: D1Database) {
  const { results } = await db
    .prepare(
      'SELECT app, channel, version, client_id, installed_at, last_at FROM release_clients ORDER BY 1, 2, 3, 4',
    )
    .all();
  return results;
}

describe('migrations/0015 release_clients', () => {
  it('rebuilds from stored events exactly the rows the consumer keeps', async () => {
    // A database of its own: the backfill fills the whole table.
    const db = env.TELEMETRY_2;
    const app = uniqueApp('backfill');
    const at = (minute: number) => new Date(Date.UTC(2026, 10, 21, 18, minute)).toISOString();
    const events = [
      storedEvent(app, { client_id: 'a', to_version: '1.2.0', occurred_at: at(10) }),
      storedEvent(app, { client_id: 'a', to_version: '1.2.0', occurred_at: at(5) }),
      storedEvent(app, {
        client_id: 'a',
        type: 'rollback',
        from_version: '1.2.0',
        to_version: '1.1.0',
        occurred_at: at(40),
      }),
      storedEvent(app, {
        client_id: 'b',
        type: 'rollback',
        from_version: '1.2.0',
        to_version: '1.1.0',
        occurred_at: at(20),
      }),
      storedEvent(app, { client_id: 'b', to_version: '1.1.0', occurred_at: at(25) }),
      storedEvent(app, { client_id: 'c', to_version: '1.2.0', channel: 'beta', occurred_at: at(30) }),
      storedEvent(app, { client_id: 'd', type: 'install_failed', to_version: '1.2.0', occurred_at: at(1) }),
      storedEvent(app, { client_id: 'd', type: 'check', to_version: undefined, occurred_at: at(2) }),
    ];
    // In three deliveries, the earlier install of `a` after the later one.
    await storeEvents(db, events.slice(0, 1));
    await storeEvents(db, events.slice(1, 4));
    await storeEvents(db, events.slice(4));
    const kept = await rows(db);
    expect(kept.map((row) => [row.channel, row.version, row.client_id])).toEqual([
      ['beta', '1.2.0', 'c'],
      ['stable', '1.1.0', 'b'],
      ['stable', '1.2.0', 'a'],
      ['stable', '1.2.0', 'b'],
    ]);

    await db.prepare('DELETE FROM release_clients').run();
    await db.prepare(backfillStatement()).run();
    expect(await rows(db)).toEqual(kept);
  });
});
