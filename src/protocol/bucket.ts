/** Rollout bucketing (DESIGN §3), verifiable by any client. */
import { randomHex } from './encoding.ts';

const utf8 = new TextEncoder();

/** Number of buckets; also the basis-point value that means "everyone". */
export const BUCKETS = 10_000;

/** First 4 bytes of SHA-256(UTF-8 `salt + ":" + clientId`), big-endian uint32, modulo 10000. */
export async function bucket(salt: string, clientId: string): Promise<number> {
  const digest = await crypto.subtle.digest('SHA-256', utf8.encode(`${salt}:${clientId}`));
  return new DataView(digest).getUint32(0, false) % BUCKETS;
}

/** Whether a client in `clientBucket` is inside a rollout at `percentBp` basis points. */
export function inRollout(percentBp: number, clientBucket: number): boolean {
  return percentBp >= BUCKETS || clientBucket < percentBp;
}

/**
 * Whether `clientId` is inside a rollout of `percentBp` with `salt`. Skips the hash when the answer
 * does not depend on it (0 and 10000 bp), which is the common case on the hot path.
 */
export async function isInside(percentBp: number, salt: string, clientId: string): Promise<boolean> {
  if (percentBp >= BUCKETS) return true;
  if (percentBp <= 0) return false;
  return inRollout(percentBp, await bucket(salt, clientId));
}

/** A fresh random 128-bit salt as 32 lowercase hex digits. */
export function newSalt(): string {
  return randomHex(16);
}
