/**
 * R2 writes. Nothing in R2 is ever overwritten (DESIGN §1): every put is conditional on the key being
 * free (`If-None-Match: *`), and a key already taken is reported, never replaced.
 */
import { toHex } from '../../protocol/encoding.ts';

const IF_ABSENT: R2Conditional = { etagDoesNotMatch: '*' };

/** The claimed SHA-256 of an artifact, kept in its custom metadata by the upload routes. */
export function storedSha256(object: R2Object): string | undefined {
  return object.customMetadata?.sha256;
}

/**
 * Stores a small immutable document (a signed JWS). Idempotent: the same text already there is fine.
 * @returns false when the key holds different text (a conflict the caller reports).
 */
export async function putDocument(bucket: R2Bucket, key: string, text: string): Promise<boolean> {
  const put = await bucket.put(key, text, {
    onlyIf: IF_ABSENT,
    httpMetadata: { contentType: 'application/jose' },
  });
  if (put) return true;
  const existing = await bucket.get(key);
  return existing !== null && (await existing.text()) === text;
}

export type ArtifactPut =
  | { kind: 'stored'; object: R2Object }
  | { kind: 'taken' }
  | { kind: 'sha256_mismatch' }
  | { kind: 'length_mismatch' };

/**
 * Whether `error` is workerd's FixedLengthStream refusing a body longer or shorter than the length
 * it was promised (a Content-Length that lies, or a client gone half-way): the caller's fault, and
 * nothing was stored.
 */
export function isLengthMismatch(error: unknown): boolean {
  return error instanceof Error && /FixedLengthStream/.test(error.message);
}

/**
 * Streams `body` (exactly `size` bytes) into R2. R2 hashes the bytes and refuses the put when they do
 * not match `sha256`, so a corrupted upload never exists, not even briefly.
 */
export async function putArtifact(
  bucket: R2Bucket,
  key: string,
  body: ReadableStream<Uint8Array> | null,
  meta: { size: number; sha256: string; contentType: string },
): Promise<ArtifactPut> {
  const value = body ? body.pipeThrough(new FixedLengthStream(meta.size)) : '';
  try {
    const object = await bucket.put(key, value, {
      sha256: meta.sha256,
      onlyIf: IF_ABSENT,
      httpMetadata: { contentType: meta.contentType },
      customMetadata: { sha256: meta.sha256 },
    });
    return object ? { kind: 'stored', object } : { kind: 'taken' };
  } catch (error) {
    // R2 error 10037: "The SHA-256 checksum you specified did not match what we received."
    if (error instanceof Error && /\(10037\)|SHA-256 checksum/.test(error.message))
      return { kind: 'sha256_mismatch' };
    if (isLengthMismatch(error)) return { kind: 'length_mismatch' };
    throw error;
  }
}

/** SHA-256 (hex) and length of a stored object, streamed: large artifacts are never held in memory. */
export async function hashObject(
  bucket: R2Bucket,
  key: string,
): Promise<{ sha256: string; size: number } | null> {
  const object = await bucket.get(key);
  if (!object) return null;
  const digest = new crypto.DigestStream('SHA-256');
  await object.body.pipeTo(digest);
  return { sha256: toHex(new Uint8Array(await digest.digest)), size: Number(digest.bytesWritten) };
}
