/**
 * The rollout bucket (DESIGN §3) on `node:crypto`, which the Worker has under `nodejs_compat`: a
 * synchronous SHA-256, so a check decides without awaiting a WebCrypto digest for each rollout it
 * looks at (BENCHMARKS.md, warm check). The protocol's `bucket` stays the definition, on WebCrypto
 * for the SDK; test/worker/bucket-hash.property.test.ts holds the two equal.
 */
import { createHash } from 'node:crypto';
import { bucketOfDigest, type SyncBucket } from '../protocol/bucket.ts';

/**
 * `bucket(salt, clientId)`, computed synchronously. The string goes to the hash as it is: its UTF-8
 * encoding there is TextEncoder's (a lone surrogate becomes U+FFFD in both), without the copy of
 * bytes that `update(Uint8Array)` makes in workerd.
 */
export const bucketSync: SyncBucket = (salt, clientId) =>
  bucketOfDigest(createHash('sha256').update(`${salt}:${clientId}`, 'utf8').digest());
