/**
 * `download()`: the artifact's signed size is a hard cap on what is read and its signed SHA-256 is
 * checked over exactly those bytes, hashed as they stream in. The bytes are returned only then.
 * An interrupted transfer (a reset, a stall) continues with `Range` from the bytes already hashed;
 * the whole download runs under a deadline that grows with the signed size.
 */
import { toHex } from '../protocol/encoding.ts';
import { Sha256 } from '../protocol/sha256.ts';
import { messageOf, UpdraftError } from './errors.ts';
import { deadline, type Http, send, serverError } from './http.ts';
import type { CheckResult, DownloadOptions } from './types.ts';

type Accepted = Extract<CheckResult, { status: 'update' | 'rollback' }>;

/** No byte for this long is a stalled transfer: it is cut and resumed. */
export const DOWNLOAD_IDLE_TIMEOUT_MS = 30_000;
/** Resumptions of one download after a reset or a stall. */
export const DOWNLOAD_RESUMES = 3;
/** The default deadline: a minute, plus the signed size at this slowest average rate. */
const MIN_RATE_BYTES_PER_MS = 32; // 32 kB/s

/** The default deadline of a download of `size` bytes. */
export const downloadTimeoutMs = (size: number) => 60_000 + Math.ceil(size / MIN_RATE_BYTES_PER_MS);

/** Where the bytes go as they arrive: a buffer of the signed size and the running hash. */
interface Sink {
  what: string;
  size: number;
  bytes: Uint8Array;
  hasher: Sha256;
  received: number;
  onProgress: DownloadOptions['onProgress'];
}

/** A transfer that broke off (connection lost, stalled): worth resuming from what arrived. */
class Interrupted extends Error {}

/** Fetches and verifies `result.artifact`; throws `UpdraftError` or, when `signal` aborts, its reason. */
export async function downloadArtifact(
  http: Http,
  result: Accepted,
  options: DownloadOptions = {},
): Promise<Uint8Array> {
  const { size, sha256 } = result.artifact;
  const what = `download of ${result.version}`;
  const total = deadline(what, options.timeoutMs ?? downloadTimeoutMs(size), options.signal);
  // Preallocated to the signed size: whatever the server sends, memory use is bounded by the signature.
  const sink: Sink = {
    what,
    size,
    bytes: new Uint8Array(size),
    hasher: new Sha256(),
    received: 0,
    onProgress: options.onProgress,
  };
  const resumes = options.resumes ?? DOWNLOAD_RESUMES;
  const idleMs = options.idleTimeoutMs ?? DOWNLOAD_IDLE_TIMEOUT_MS;
  try {
    let etag: string | null = null;
    for (let attempt = 0; ; attempt++) {
      try {
        etag = await transfer(http, result.artifact.url, sink, { etag, signal: total.signal, idleMs });
        break;
      } catch (error) {
        if (!(error instanceof Interrupted)) throw error;
        if (attempt >= resumes) {
          throw new UpdraftError('network', `${what}: ${error.message} (after ${attempt} resumptions)`);
        }
      }
    }
  } finally {
    total.done();
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

/**
 * One request: the whole file, or, when bytes already arrived, the rest of it by `Range`. Returns the
 * response's ETag; throws `Interrupted` when the connection fails or stalls.
 */
async function transfer(
  http: Http,
  url: string,
  sink: Sink,
  { etag, signal, idleMs }: { etag: string | null; signal: AbortSignal; idleMs: number },
): Promise<string | null> {
  if (signal.aborted) throw signal.reason;
  const from = sink.received;
  const headers: Record<string, string> = {};
  if (from > 0) {
    headers.Range = `bytes=${from}-`;
    // A strong validator only (RFC 9110 §13.1.5): if the file changed, the server sends all of it.
    if (etag !== null && !etag.startsWith('W/')) headers['If-Range'] = etag;
  }
  const attempt = new AbortController();
  const onAbort = () => attempt.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  let idle: ReturnType<typeof setTimeout> | undefined;
  const stall = () => {
    if (idle !== undefined) clearTimeout(idle);
    idle = setTimeout(() => attempt.abort(new Interrupted(`no byte for ${idleMs} ms`)), idleMs);
  };
  try {
    stall();
    const response = await send(http, sink.what, url, { headers, signal: attempt.signal }).catch((error) => {
      throw interruption(error, signal);
    });
    startAt(sink, from, response);
    if (response.status !== 200 && response.status !== 206) {
      throw await serverError(sink.what, response, attempt.signal);
    }
    checkLength(sink, response);
    if (response.body) {
      await readStream(response.body, sink, signal, stall);
    } else {
      // A fetch without streams (React Native's): the whole body is read first, then held to the same rules.
      take(sink, new Uint8Array(await response.arrayBuffer()));
    }
    return response.headers.get('ETag') ?? etag;
  } finally {
    if (idle !== undefined) clearTimeout(idle);
    signal.removeEventListener('abort', onAbort);
  }
}

/**
 * Where this response's bytes start: 0 for a 200 (a server that ignores `Range` sends the whole file
 * again, so the hash starts over), `from` for a 206 whose `Content-Range` says exactly that.
 */
function startAt(sink: Sink, from: number, response: Response): void {
  if (response.status === 200 && from > 0) {
    sink.received = 0;
    sink.hasher = new Sha256();
    return;
  }
  if (response.status !== 206) return;
  const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(response.headers.get('Content-Range') ?? '');
  // The SDK asks for the rest of the file and verifies nothing less: a 206 to a plain GET is refused too.
  if (from === 0 || !range || Number(range[1]) !== from || Number(range[2]) !== sink.size - 1) {
    throw new UpdraftError(
      'server_error',
      `${sink.what}: asked for bytes ${from}-${sink.size - 1}, the server sent ${response.headers.get('Content-Range') ?? 'a partial answer without Content-Range'}`,
    );
  }
}

function checkLength(sink: Sink, response: Response): void {
  // A compressed body's length says nothing about the decoded size; the cap on the stream still holds.
  const encoded = (response.headers.get('Content-Encoding') ?? 'identity') !== 'identity';
  const declared = encoded ? null : response.headers.get('Content-Length');
  if (declared !== null && sink.received + Number(declared) > sink.size) {
    response.body?.cancel().catch(() => undefined);
    throw new UpdraftError(
      'artifact_too_large',
      `${sink.what}: the server sends ${sink.received + Number(declared)} bytes, the signed size is ${sink.size}`,
    );
  }
}

async function readStream(
  body: ReadableStream<Uint8Array>,
  sink: Sink,
  signal: AbortSignal,
  stall: () => void,
): Promise<void> {
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      stall();
      take(sink, value);
    }
  } catch (error) {
    // Stop the transfer: an endless body must not keep the connection busy after we refused it.
    await reader.cancel().catch(() => undefined);
    if (error instanceof UpdraftError) throw error;
    throw interruption(error, signal);
  } finally {
    reader.releaseLock();
  }
}

/** A failed request or read: the caller's abort or the deadline as they are, anything else resumable. */
function interruption(error: unknown, signal: AbortSignal): unknown {
  if (signal.aborted) return signal.reason ?? error;
  if (error instanceof Interrupted) return error;
  if (error instanceof UpdraftError && error.code !== 'network') return error;
  return new Interrupted(`the transfer broke off: ${messageOf(error)}`);
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
