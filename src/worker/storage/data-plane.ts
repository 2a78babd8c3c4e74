/**
 * The data plane's reads outside the channel state: keys documents and the health
 * probes. Nothing here writes.
 */
import * as z from 'zod';
import { KEYS_KEY, keysDocKey } from './projection.ts';

export const keysProjectionSchema = z.object({ version: z.number().int().min(1), jws: z.string() });

/** The newest keys document (KV `keys:current`), or null before the first one is registered. */
export async function readCurrentKeys(kv: KVNamespace): Promise<string | null> {
  const raw = await kv.get(KEYS_KEY, 'json');
  return raw === null ? null : keysProjectionSchema.parse(raw).jws;
}

/** The keys document of `version` (R2, immutable), or null. */
export async function readKeysVersion(bucket: R2Bucket, version: number): Promise<string | null> {
  const object = await bucket.get(keysDocKey(version));
  return object === null ? null : object.text();
}

/** Probes: each resolves when its binding answers and rejects otherwise. */
export const probes = {
  kv: async (kv: KVNamespace): Promise<void> => {
    await kv.get('health:probe');
  },
  r2: async (bucket: R2Bucket): Promise<void> => {
    await bucket.head('health/probe');
  },
  d1: async (db: D1Database): Promise<void> => {
    const row = await db.prepare('SELECT 1 AS one').first<{ one: number }>();
    if (row?.one !== 1) throw new Error('SELECT 1 returned no row');
  },
};

/** Where an artifact's bytes live (docs/protocol.md §1). */
export interface ArtifactPath {
  app: string;
  version: string;
  platform: string;
  arch: string;
  file: string;
}
