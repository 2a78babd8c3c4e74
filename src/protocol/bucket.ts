/** Rollout bucketing (docs/protocol.md §3), verifiable by any client. */
import { randomHex } from './encoding.ts';

const utf8 = new TextEncoder();

/** Number of buckets; also the basis-point value that means "everyone". */
export const BUCKETS = 10_000;

/**
 * `bucket` computed synchronously, with a SHA-256 the caller has without awaiting (the Worker's
 * `bucketSync`). It must equal `bucket` for every input.
 */
export type SyncBucket = (salt: string, clientId: string) => number;

/** First 4 bytes of SHA-256(UTF-8 `salt + ":" + clientId`), big-endian uint32, modulo 10000. */
export async function bucket(salt: string, clientId: string): Promise<number> {
  const digest = await crypto.subtle.digest('SHA-256', utf8.encode(`${salt}:${clientId}`));
  return bucketOfDigest(new Uint8Array(digest));
}

/** The bucket of the SHA-256 of UTF-8 `salt + ":" + clientId`: its first 4 bytes, big-endian uint32, modulo 10000. */
export function bucketOfDigest(digest: Uint8Array): number {
  if (digest.byteLength < 4) throw new RangeError('bucketOfDigest: a digest has at least 4 bytes');
  return new DataView(digest.buffer, digest.byteOffset, 4).getUint32(0, false) % BUCKETS;
}

/** Whether a client in `clientBucket` is inside a rollout at `percentBp` basis points. */
export function inRollout(percentBp: number, clientBucket: number): boolean {
  return percentBp >= BUCKETS || clientBucket < percentBp;
}

/**
 * Whether every client (true) or none (false) is inside a rollout of `percentBp` whatever its bucket;
 * undefined when the answer depends on the bucket. 0 and 10000 bp are the common case on the hot path.
 */
export function insideWithoutBucket(percentBp: number): boolean | undefined {
  if (percentBp >= BUCKETS) return true;
  if (percentBp <= 0) return false;
  return undefined;
}

/**
 * Whether `clientId` is inside a rollout of `percentBp` with `salt`. Skips the hash when the answer
 * does not depend on it (0 and 10000 bp), which is the common case on the hot path.
 */
export async function isInside(percentBp: number, salt: string, clientId: string): Promise<boolean> {
  return insideWithoutBucket(percentBp) ?? inRollout(percentBp, await bucket(salt, clientId));
}

/** `isInside` with a synchronous `bucket` (the same answer for every input). */
export function isInsideSync(
  percentBp: number,
  salt: string,
  clientId: string,
  syncBucket: SyncBucket,
): boolean {
  return insideWithoutBucket(percentBp) ?? inRollout(percentBp, syncBucket(salt, clientId));
}

/** A fresh random 128-bit salt as 32 lowercase hex digits. */
export function newSalt(): string {
  return randomHex(16);
}
