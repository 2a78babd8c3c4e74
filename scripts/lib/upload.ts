/**
 * Hashing and uploading artifact files, streamed from disk (never read whole into memory).
 * Files up to 95 MiB go in one PUT; larger ones through the multipart routes in 64 MiB parts.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { RemovedUpload, UploadResult } from '../../src/protocol/admin-api.ts';
import { type ApiClient, ServerError, seg } from './api.ts';
import type { Reporter } from './progress.ts';
import { formatBytes } from './table.ts';

export const SINGLE_UPLOAD_LIMIT = 95 * 1024 * 1024;
export const PART_SIZE = 64 * 1024 * 1024;

export interface UploadTarget {
  app: string;
  version: string;
  platform: string;
  arch: string;
  file: string;
}

export interface LocalFile {
  path: string;
  size: number;
  sha256: string;
  /** SHA-512 in base64 (electron-builder's form): the server checks it as the bytes stream in. */
  sha512?: string;
  contentType: string;
}

export interface FileDigests {
  /** Hex. */
  sha256: string;
  /** Standard base64, as electron-builder writes it into latest.yml. */
  sha512: string;
}

/** SHA-256 (hex) of a file, streamed, reporting progress as it reads. */
export async function hashFile(
  path: string,
  size: number,
  reporter: Reporter,
  label: string,
): Promise<string> {
  return (await hashFileDigests(path, size, reporter, label)).sha256;
}

/** SHA-256 (hex) and SHA-512 (base64) of a file in one streamed read, reporting progress. */
export async function hashFileDigests(
  path: string,
  size: number,
  reporter: Reporter,
  label: string,
): Promise<FileDigests> {
  const progress = reporter.progress(`hashing ${label}`, size);
  const h256 = createHash('sha256');
  const h512 = createHash('sha512');
  for await (const chunk of createReadStream(path)) {
    const bytes = chunk instanceof Buffer ? chunk : Buffer.from(String(chunk));
    h256.update(bytes);
    h512.update(bytes);
    progress.advance(bytes.byteLength);
  }
  const sha256 = h256.digest('hex');
  progress.done(`hashed ${label}: ${formatBytes(size)}, sha256 ${sha256.slice(0, 16)}…`);
  return { sha256, sha512: h512.digest('base64') };
}

export interface UploadLimits {
  /** Largest file sent in one PUT. */
  single: number;
  /** Part size of a multipart upload (the last part may be smaller). */
  part: number;
}

export async function uploadFile(
  client: ApiClient,
  target: UploadTarget,
  file: LocalFile,
  reporter: Reporter,
  limits: UploadLimits = { single: SINGLE_UPLOAD_LIMIT, part: PART_SIZE },
): Promise<UploadResult> {
  const label = `${target.platform}-${target.arch}/${target.file}`;
  const progress = reporter.progress(`uploading ${label}`, file.size);
  const path = uploadPath(target);
  let result: UploadResult;
  if (file.size <= limits.single) {
    result = await client.request<UploadResult>('PUT', path, {
      body: fileStream(file.path, 0, file.size, (n) => progress.advance(n)),
      headers: {
        'content-length': String(file.size),
        'content-type': file.contentType,
        'x-updraft-sha256': file.sha256,
        ...(file.sha512 ? { 'x-updraft-sha512': file.sha512 } : {}),
      },
    });
  } else {
    const multipartPath = uploadPath(target, 'multipart');
    result = await uploadMultipart(client, multipartPath, file, limits.part, (n) => progress.advance(n));
  }
  progress.done(`uploaded ${label} (${formatBytes(file.size)})`);
  return result;
}

async function uploadMultipart(
  client: ApiClient,
  base: string,
  file: LocalFile,
  partSize: number,
  advance: (bytes: number) => void,
): Promise<UploadResult> {
  const created = await client.post<{ upload_id: string; key: string }>(base, {
    sha256: file.sha256,
    size: file.size,
    ...(file.sha512 ? { sha512: file.sha512 } : {}),
  });
  const query = { upload_id: created.upload_id };
  try {
    const parts: { part: number; etag: string }[] = [];
    for (let start = 0, part = 1; start < file.size; start += partSize, part++) {
      const length = Math.min(partSize, file.size - start);
      const answer = await client.request<{ part: number; etag: string }>('PUT', base, {
        query: { ...query, part },
        body: fileStream(file.path, start, length, advance),
        headers: { 'content-length': String(length) },
      });
      parts.push({ part, etag: answer.etag });
    }
    return await client.post<UploadResult>(`${base}/complete`, { parts }, { query });
  } catch (error) {
    // Best effort: an abandoned upload is also cleaned up by R2's own expiry.
    await client.request('DELETE', base, { query }).catch(() => undefined);
    throw error;
  }
}

/** The admin API path of the artifact upload at `target` (single or multipart). */
function uploadPath(target: UploadTarget, kind: 'uploads' | 'multipart' = 'uploads'): string {
  const where = `${seg(target.version)}/${seg(`${target.platform}-${target.arch}`)}/${seg(target.file)}`;
  return `/v1/admin/apps/${seg(target.app)}/${kind}/${where}`;
}

/**
 * Removes the upload at `target`, which no registered release may list (the server answers 409
 * artifact_registered for one that does, 404 artifact_missing when nothing is there).
 */
export function removeUpload(client: ApiClient, target: UploadTarget): Promise<RemovedUpload> {
  return client.request<RemovedUpload>('DELETE', uploadPath(target));
}

/** Whether `error` is the server refusing an upload because other bytes already hold its path. */
export function isArtifactExists(error: unknown): boolean {
  return error instanceof ServerError && error.status === 409 && error.is('artifact_exists');
}

/** `length` bytes of a file from `start`, as a web stream for fetch, reporting each chunk. */
function fileStream(
  path: string,
  start: number,
  length: number,
  advance: (bytes: number) => void,
): ReadableStream<Uint8Array> {
  if (length === 0) return new ReadableStream<Uint8Array>({ start: (controller) => controller.close() });
  const source = createReadStream(path, { start, end: start + length - 1 }); // `end` is inclusive
  const chunks = source[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await chunks.next();
      if (next.done) return controller.close();
      const bytes = new Uint8Array(next.value);
      advance(bytes.byteLength);
      controller.enqueue(bytes);
    },
    async cancel() {
      source.destroy();
    },
  });
}

const CONTENT_TYPES: readonly [RegExp, string][] = [
  [/\.(tar\.gz|tgz)$/i, 'application/gzip'],
  [/\.gz$/i, 'application/gzip'],
  [/\.(tar\.xz|txz|xz)$/i, 'application/x-xz'],
  [/\.(tar\.zst|zst)$/i, 'application/zstd'],
  [/\.(tar\.bz2|bz2)$/i, 'application/x-bzip2'],
  [/\.tar$/i, 'application/x-tar'],
  [/\.zip$/i, 'application/zip'],
  [/\.dmg$/i, 'application/x-apple-diskimage'],
  [/\.pkg$/i, 'application/vnd.apple.installer+xml'],
  [/\.(exe|dll)$/i, 'application/vnd.microsoft.portable-executable'],
  [/\.msi$/i, 'application/x-msi'],
  [/\.msix$/i, 'application/msix'],
  [/\.deb$/i, 'application/vnd.debian.binary-package'],
  [/\.rpm$/i, 'application/x-rpm'],
  [/\.apk$/i, 'application/vnd.android.package-archive'],
  [/\.aab$/i, 'application/octet-stream'],
  [/\.ipa$/i, 'application/octet-stream'],
  [/\.(js|mjs)$/i, 'text/javascript'],
  [/\.json$/i, 'application/json'],
  [/\.wasm$/i, 'application/wasm'],
];

/** A Content-Type guessed from the file name; application/octet-stream when unknown. */
export function guessContentType(file: string): string {
  return CONTENT_TYPES.find(([pattern]) => pattern.test(file))?.[1] ?? 'application/octet-stream';
}
