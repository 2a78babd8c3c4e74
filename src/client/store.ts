/**
 * What the SDK keeps in the app's `StorageAdapter`, under keys namespaced by app so that one storage
 * can serve several apps. Every value is read back through a schema: a corrupt or foreign value is
 * treated as absent, which is always the safe direction (trust is re-established from the pinned
 * roots, an empty queue loses telemetry, never correctness).
 */
import * as z from 'zod';
import { keysPayloadSchema } from '../protocol/documents.ts';
import type { StorageAdapter } from './types.ts';

export const storageKeys = (app: string) => ({
  clientId: `updraft:${app}:client_id`,
  keys: `updraft:${app}:keys`,
  revision: (channel: string) => `updraft:${app}:revision:${channel}`,
  channel: `updraft:${app}:channel`,
  /** The last snapshot JWS that verified: its hash goes with each check, and an elided answer is verified against it. */
  snapshot: `updraft:${app}:snapshot`,
  events: `updraft:${app}:events`,
  sessions: `updraft:${app}:sessions`,
});

/** The newest keys document this install has verified, and the pinned roots it was chained from. */
export const trustedKeysSchema = z.object({
  /** Kids of the pinned roots, sorted: new pins in an app release discard trust built on old ones. */
  pins: z.string(),
  version: z.number().int().min(1),
  jws: z.string(),
  payload: keysPayloadSchema,
  /** When the server was last asked for its newest keys document (absent in older stored values: ask now). */
  checked_at: z.string().optional(),
});
export type TrustedKeys = z.infer<typeof trustedKeysSchema>;

/** A JSON value from storage, or undefined when absent or not of `schema`'s shape. */
export async function readJson<T>(
  storage: StorageAdapter,
  key: string,
  schema: z.ZodType<T>,
): Promise<T | undefined> {
  const text = await storage.get(key);
  if (text === null) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const result = schema.safeParse(value);
  return result.success ? result.data : undefined;
}

export function writeJson(storage: StorageAdapter, key: string, value: unknown): Promise<void> {
  return storage.set(key, JSON.stringify(value));
}

/**
 * Runs read-modify-write sections one at a time: `report()` and `flush()` may overlap, and each
 * rewrites the queue. (Two Updaters on one storage are not coordinated; use one per app.)
 */
export function serial(): <T>(section: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(section: () => Promise<T>): Promise<T> => {
    const run = tail.then(section, section);
    tail = run.catch(() => undefined);
    return run;
  };
}
