/**
 * `download()`: the artifact's signed size is a hard cap on what is read and its signed SHA-256 is
 * checked over exactly those bytes, hashed as they stream in. The bytes are returned only then.
 */
import { toHex } from '../protocol/encoding.ts';
import { Sha256 } from '../protocol/sha256.ts';
import { messageOf, UpdraftError } from './errors.ts';
import { send, serverError } from './http.ts';
import type { CheckResult, DownloadOptions } from './index.ts';

type Accepted = Extract<CheckResult, { status: 'update' | 'rollback' }>;

/** Where the bytes go as they arrive: a buffer of the signed size and the running hash. */
interface Sink {
  what: string;
  size: number;
  bytes: Uint8Array;
  hasher: Sha256;
  received: number;
  onProgress: DownloadOptions['onProgress'];
}

/** Fetches and verifies `result.artifact`; throws `UpdraftError` or, when `signal` aborts, its reason. */
export async function downloadArtifact(
  fetchFn: typeof fetch,
  result: Accepted,
  options: DownloadOptions = {},
): Promise<Uint8Array> {
  const { url, size, sha256 } = result.artifact;
  const what = `download of ${result.version}`;
  const response = await send(fetchFn, what, url, { signal: options.signal });
  // 206 included: the SDK asked for the whole file and verifies nothing less.
  if (response.status !== 200) throw await serverError(what, response);
  // A compressed body's length says nothing about the decoded size; the cap on the stream still holds.
  const encoded = (response.headers.get('Content-Encoding') ?? 'identity') !== 'identity';
  const declared = encoded ? null : response.headers.get('Content-Length');
  if (declared !== null && Number(declared) > size) {
    await response.body?.cancel();
    throw new UpdraftError(
      'artifact_too_large',
      `${what}: the server sends ${declared} bytes, the signed size is ${size}`,
    );
  }

  // Preallocated to the signed size: whatever the server sends, memory use is bounded by the signature.
  const sink: Sink = {
    what,
    size,
    bytes: new Uint8Array(size),
    hasher: new Sha256(),
    received: 0,
    onProgress: options.onProgress,
  };
  if (response.body) {
    await readStream(response.body, sink, options.signal);
  } else {
    // A fetch without streams (React Native's): the whole body is read first, then held to the same rules.
    take(sink, new Uint8Array(await response.arrayBuffer()));
  }
  if (sink.received !== size) {
    throw new UpdraftError(
      'artifact_size',
      `${what}: ${sink.received} bytes arrived, the signed size is ${size}`,
    );
  }
  const actual = toHex(sink.hasher.digest());
  if (actual !== sha256) {
    throw new UpdraftError('artifact_hash', `${what}: sha256 ${actual} is not the signed ${sha256}`);
  }
  return sink.bytes;
}

async function readStream(body: ReadableStream<Uint8Array>, sink: Sink, signal: AbortSignal | undefined) {
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      take(sink, value);
    }
  } catch (error) {
    // Stop the transfer: an endless body must not keep the connection busy after we refused it.
    await reader.cancel().catch(() => undefined);
    if (error instanceof UpdraftError || signal?.aborted) throw error;
    throw new UpdraftError(
      'network',
      `${sink.what}: reading failed after ${sink.received} bytes: ${messageOf(error)}`,
    );
  } finally {
    reader.releaseLock();
  }
}

/** Adds one chunk, refusing it before copying when it would pass the signed size. */
function take(sink: Sink, chunk: Uint8Array): void {
  if (sink.received + chunk.byteLength > sink.size) {
    throw new UpdraftError(
      'artifact_too_large',
      `${sink.what}: more than the signed ${sink.size} bytes arrived; stopped reading`,
    );
  }
  sink.bytes.set(chunk, sink.received);
  sink.hasher.update(chunk);
  sink.received += chunk.byteLength;
  sink.onProgress?.(sink.received, sink.size);
}
