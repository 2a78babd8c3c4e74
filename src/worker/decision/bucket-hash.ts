/**
 * The rollout bucket (docs/protocol.md §3) computed synchronously, so that a check decides without awaiting a
 * WebCrypto digest for each rollout it looks at. The hash is plain JS (sha256-first-word.ts): in
 * workerd, `node:crypto`'s createHash (there under `nodejs_compat`) cost more than the WebCrypto
 * digest it would replace (BENCHMARKS.md, warm check). The protocol's `bucket` stays the definition,
 * on WebCrypto for the SDK; test/worker/bucket-hash.property.test.ts holds the two equal.
 */
import { BUCKETS, type SyncBucket } from '../../protocol/bucket.ts';
import { sha256FirstWord } from './sha256-first-word.ts';

/** `bucket(salt, clientId)`, computed synchronously. */
export const bucketSync: SyncBucket = (salt, clientId) => sha256FirstWord(`${salt}:${clientId}`) % BUCKETS;
