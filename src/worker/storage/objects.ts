/**
 * R2 writes. Nothing in R2 is ever overwritten (docs/protocol.md §1): every put is conditional on the key being
 * free (`If-None-Match: *`), and a key already taken is reported, never replaced.
 */
import { toHex } from '../../protocol/encoding.ts';

const IF_ABSENT: R2Conditional = { etagDoesNotMatch: '*' };

/** The claimed SHA-256 of an artifact, kept in its custom metadata by the upload routes. */
export function storedSha256(object: R2Object): string | undefined {
  return object.customMetadata?.sha256;
}

/**
 * The SHA-512 (base64) of an artifact uploaded in one PUT that declared it: checked against the bytes
 * as they streamed in (`putArtifact`), so it can be trusted. A multipart object's is not (R2 cannot
 * check it across parts), nor is any object's that declared none: those are hashed (`hashObject`).
 */
export function trustedSha512(object: R2Object): string | undefined {
  return object.customMetadata?.multipart === '1' ? undefined : object.customMetadata?.sha512;
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
  | { kind: 'sha512_mismatch'; sha512: string }
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
 * not match `sha256`, so a corrupted upload never exists, not even briefly. With `sha512` (base64) the
 * bytes are also hashed with SHA-512 on their way through, and the put fails unless they match it: the
 * digest is kept in the object's custom metadata, where release registration trusts it.
 */
export async function putArtifact(
  bucket: R2Bucket,
  key: string,
  body: ReadableStream<Uint8Array> | null,
  meta: { size: number; sha256: string; sha512?: string | undefined; contentType: string },
): Promise<ArtifactPut> {
  // An empty body has nothing to hold back: its digest is known before the put.
  if (meta.sha512 !== undefined && meta.size === 0 && (await emptySha512()) !== meta.sha512)
    return { kind: 'sha512_mismatch', sha512: await emptySha512() };
  const check = meta.sha512 === undefined ? undefined : sha512Check(meta.sha512);
  const source = body && check ? body.pipeThrough(check.stream) : body;
  const value = source ? source.pipeThrough(new FixedLengthStream(meta.size)) : '';
  try {
    const object = await bucket.put(key, value, {
      sha256: meta.sha256,
      onlyIf: IF_ABSENT,
      httpMetadata: { contentType: meta.contentType },
      customMetadata: meta.sha512 ? { sha256: meta.sha256, sha512: meta.sha512 } : { sha256: meta.sha256 },
    });
    return object ? { kind: 'stored', object } : { kind: 'taken' };
  } catch (error) {
    const actual = check?.mismatch();
    if (actual !== undefined) return { kind: 'sha512_mismatch', sha512: actual };
    // R2 error 10037: "The SHA-256 checksum you specified did not match what we received."
    if (error instanceof Error && /\(10037\)|SHA-256 checksum/.test(error.message))
      return { kind: 'sha256_mismatch' };
    if (isLengthMismatch(error)) return { kind: 'length_mismatch' };
    throw error;
  }
}

/**
 * A pass-through stream that hashes with SHA-512 and fails at the end unless the digest is `expected`.
 * It holds back the latest (non-empty) chunk until the digest is known, so R2 never receives all the
 * bytes of a mismatching upload, whenever it considers a known-length body complete.
 */
function sha512Check(expected: string): {
  stream: TransformStream<Uint8Array, Uint8Array>;
  mismatch: () => string | undefined;
} {
  const digest = new crypto.DigestStream('SHA-512');
  const writer = digest.getWriter();
  let held: Uint8Array | undefined;
  let actual: string | undefined;
  const stream = new TransformStream<Uint8Array, Uint8Array>({
    async transform(chunk, controller) {
      if (chunk.byteLength === 0) return;
      // The digest gets a copy: a write may take over the buffer the chunk is read from.
      await writer.write(chunk.slice());
      if (held) controller.enqueue(held);
      held = chunk;
    },
    async flush(controller) {
      await writer.close();
      const sha512 = toBase64(new Uint8Array(await digest.digest));
      if (sha512 !== expected) {
        actual = sha512;
        throw new Error(`SHA-512 mismatch: the body hashes to ${sha512}`);
      }
      if (held) controller.enqueue(held);
    },
  });
  return { stream, mismatch: () => actual };
}

let empty: string | undefined;
async function emptySha512(): Promise<string> {
  empty ??= toBase64(new Uint8Array(await crypto.subtle.digest('SHA-512', new Uint8Array())));
  return empty;
}

/** Standard base64 with padding, as electron-builder writes a SHA-512. */
export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

export interface ObjectDigest {
  sha256: string;
  /** Only when asked for: SHA-512 costs as much CPU again on a large object. */
  sha512?: string;
  size: number;
}

/**
 * SHA-256 (hex), optionally SHA-512 (base64), and length of a stored object, in one streamed read:
 * large artifacts are never held in memory.
 */
export async function hashObject(
  bucket: R2Bucket,
  key: string,
  options: { sha512?: boolean } = {},
): Promise<ObjectDigest | null> {
  const object = await bucket.get(key);
  if (!object) return null;
  const d256 = new crypto.DigestStream('SHA-256');
  if (!options.sha512) {
    await object.body.pipeTo(d256);
    return { sha256: toHex(new Uint8Array(await d256.digest)), size: Number(d256.bytesWritten) };
  }
  const d512 = new crypto.DigestStream('SHA-512');
  const [a, b] = object.body.tee();
  await Promise.all([a.pipeTo(d256), b.pipeTo(d512)]);
  return {
    sha256: toHex(new Uint8Array(await d256.digest)),
    sha512: toBase64(new Uint8Array(await d512.digest)),
    size: Number(d256.bytesWritten),
  };
}
