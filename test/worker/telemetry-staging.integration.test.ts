/**
 * How the consumer stages a batch (src/worker/storage/telemetry-sql.ts): rows read with
 * `jsonb_each`, and, on a D1 whose SQLite refuses it, the same statement over `json_each`, learned
 * once per isolate. D1 is real; only the refusal of `jsonb_each` is played, at the binding's edge, as
 * a D1 without the function would answer.
 */
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it } from 'vitest';
import { staging, storeEvents } from '../../src/worker/storage/telemetry.ts';
import { uniqueApp } from './support/fixtures.ts';
import { clientRows, eventIds, rollups, storedEvent } from './support/telemetry-fixtures.ts';

/** env.DB, except that a batch with a statement using `jsonb_each` fails as an older SQLite fails it. */
function withoutJsonb(db: D1Database): { db: D1Database; refused: () => number } {
  const jsonb = new WeakSet<D1PreparedStatement>();
  let refused = 0;
  const mark = (statement: D1PreparedStatement, uses: boolean): D1PreparedStatement => {
    if (!uses) return statement;
    const marked = new Proxy(statement, {
      get(target, prop) {
        if (prop === 'bind') return (...values: unknown[]) => mark(target.bind(...values), true);
        const value = Reflect.get(target, prop, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    jsonb.add(marked);
    return marked;
  };
  const wrapped = new Proxy(db, {
    get(target, prop) {
      if (prop === 'prepare') return (sql: string) => mark(target.prepare(sql), sql.includes('jsonb_each'));
      if (prop === 'batch') {
        return async (statements: D1PreparedStatement[]) => {
          if (statements.some((s) => jsonb.has(s))) {
            refused++;
            throw new Error('D1_ERROR: no such function: jsonb_each: SQLITE_ERROR');
          }
          return target.batch(statements);
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { db: wrapped, refused: () => refused };
}

const events = (app: string, count: number) =>
  Array.from({ length: count }, (_, i) =>
    storedEvent(app, {
      client_id: `client-${i % 3}`,
      occurred_at: new Date(Date.UTC(2026, 10, 21, 12, i)).toISOString(),
    }),
  );

afterEach(() => {
  staging.jsonb = true;
});

describe('staging a batch', () => {
  it('reads the rows with jsonb_each on this D1, storing each event once', async () => {
    const app = uniqueApp('stage');
    const batch = events(app, 5);
    expect(await storeEvents(env.DB, batch)).toEqual({ inserted: 5 });
    expect(await storeEvents(env.DB, batch)).toEqual({ inserted: 0 });
    expect(staging.jsonb).toBe(true);
    expect(await eventIds(app)).toEqual(batch.map((e) => e.id).sort());
  });

  it('falls back to json_each once on a D1 that refuses jsonb_each, and stores the same rows', async () => {
    const app = uniqueApp('stage-text');
    const reference = uniqueApp('stage-ref');
    const { db, refused } = withoutJsonb(env.DB);
    const batch = events(app, 7);
    expect(await storeEvents(db, batch)).toEqual({ inserted: 7 });
    expect(staging.jsonb).toBe(false);
    // The next batch of this isolate goes straight to json_each: one refusal in all.
    expect(await storeEvents(db, [...batch, ...events(app, 2)])).toEqual({ inserted: 2 });
    expect(refused()).toBe(1);
    expect(await eventIds(app)).toHaveLength(9);

    // Rollups and client rows are those jsonb staging writes for the same events.
    staging.jsonb = true;
    const same = batch.map((e) => ({ ...e, app: reference, id: crypto.randomUUID() }));
    await storeEvents(env.DB, same);
    const strip = <T extends object>(rows: T[]) => rows.map((row) => ({ ...row }));
    const textRollups = strip(await rollups(app));
    const jsonbRollups = strip(await rollups(reference));
    expect(textRollups.reduce((n, r) => n + r.count, 0)).toBe(9);
    expect(jsonbRollups.reduce((n, r) => n + r.count, 0)).toBe(7);
    expect(strip(await clientRows(reference)).map((c) => c.client_id)).toEqual(
      strip(await clientRows(app)).map((c) => c.client_id),
    );
  });

  it('does not mistake another failure for a missing function', async () => {
    const app = uniqueApp('stage-fail');
    const failing = new Proxy(env.DB, {
      get(target, prop) {
        if (prop === 'batch') return async () => Promise.reject(new Error('D1_ERROR: database is locked'));
        const value = Reflect.get(target, prop, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    await expect(storeEvents(failing, events(app, 2))).rejects.toThrow(/database is locked/);
    expect(staging.jsonb).toBe(true);
    expect(await eventIds(app)).toEqual([]);
  });
});
