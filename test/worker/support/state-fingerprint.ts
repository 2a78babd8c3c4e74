/**
 * A cheap fingerprint of everything a request could change: every control-plane table of D1 (row
 * count and a checksum of the rows), every KV key and value, every R2 object. Two fingerprints are
 * equal exactly when nothing changed, and `toEqual` on them names what did.
 *
 * Telemetry tables are left out: the queue consumer writes them in the background, at its own pace.
 */
import { env } from 'cloudflare:workers';
import { sha256Hex } from '../../../src/protocol/encoding.ts';

const TELEMETRY_TABLES = new Set([
  'events',
  'event_rollups_hourly',
  'clients',
  'release_clients',
  'telemetry_exports',
]);

export interface Fingerprint {
  d1: Record<string, { rows: number; sha256: string }>;
  kv: Record<string, string>;
  r2: Record<string, string>;
}

let tables: string[] | undefined;

async function controlPlaneTables(): Promise<string[]> {
  if (!tables) {
    const { results } = await env.DB.prepare(
      `SELECT name FROM sqlite_master WHERE type = 'table'
       AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name NOT LIKE 'd1_%' ORDER BY name`,
    ).all<{ name: string }>();
    tables = results.map((r) => r.name).filter((name) => !TELEMETRY_TABLES.has(name));
  }
  return tables;
}

async function d1(): Promise<Fingerprint['d1']> {
  const names = await controlPlaneTables();
  const results = await env.DB.batch(names.map((name) => env.DB.prepare(`SELECT * FROM "${name}"`)));
  const out: Fingerprint['d1'] = {};
  for (const [i, name] of names.entries()) {
    // Row order is not part of the state: sort the rows' texts.
    const rows = (results[i]?.results ?? []).map((row) => JSON.stringify(row)).sort();
    out[name] = { rows: rows.length, sha256: await sha256Hex(rows.join('\n')) };
  }
  return out;
}

async function kv(): Promise<Fingerprint['kv']> {
  const out: Fingerprint['kv'] = {};
  let cursor: string | undefined;
  do {
    const page = await env.STATE.list(cursor === undefined ? {} : { cursor });
    for (const { name } of page.keys) out[name] = await sha256Hex((await env.STATE.get(name)) ?? '');
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor !== undefined);
  return out;
}

async function r2(): Promise<Fingerprint['r2']> {
  const out: Fingerprint['r2'] = {};
  let cursor: string | undefined;
  do {
    const page = await env.BUCKET.list({ cursor, include: ['customMetadata', 'httpMetadata'] });
    for (const o of page.objects) {
      out[o.key] = `${o.etag} ${o.size} ${JSON.stringify(o.customMetadata)} ${o.httpMetadata?.contentType}`;
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor !== undefined);
  return out;
}

/** The state of D1's control plane, KV and R2, now. */
export async function fingerprint(): Promise<Fingerprint> {
  const [tablesNow, kvNow, r2Now] = await Promise.all([d1(), kv(), r2()]);
  return { d1: tablesNow, kv: kvNow, r2: r2Now };
}
