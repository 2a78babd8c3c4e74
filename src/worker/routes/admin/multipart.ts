/**
 * Multipart uploads for artifacts over 95 MiB (docs/api.md § Uploads). R2 cannot check a whole-object
 * SHA-256 across parts, so `complete` streams the finished object back through a digest and deletes it
 * on a mismatch; release registration re-hashes multipart objects too (releases.ts), so the moment
 * between completion and that check can never be exploited. A declared SHA-512 is checked in the same
 * read-back (and again by registration, which trusts no multipart metadata).
 */
import { Hono } from 'hono';
import * as z from 'zod';
import { sha256HexSchema, sha512Base64Schema } from '../../../protocol/documents.ts';
import { requireRole } from '../../auth/authenticate.ts';
import { type ApiError, badRequest, notFound } from '../../http/errors.ts';
import { validate, wholeNumber } from '../../http/validate.ts';
import { hashObject, isLengthMismatch } from '../../storage/objects.ts';
import type { AppEnv } from '../../types.ts';
import {
  artifactContentType,
  artifactParams,
  audit,
  contentLength,
  jsonLimit,
  MAX_SINGLE_PUT,
  requireApp,
} from './common.ts';
import { artifactExists, keyOf, lengthMismatch, sameOrConflict } from './uploads.ts';

const MAX_PARTS = 10_000;
const createBody = z.object({
  sha256: sha256HexSchema,
  size: z
    .number()
    .int()
    .min(1)
    .max(MAX_PARTS * MAX_SINGLE_PUT),
  content_type: z.string().max(128).optional(),
  /** Checked at `complete`, in the same read-back as the SHA-256. */
  sha512: sha512Base64Schema.optional(),
});
const uploadQuery = z.object({ upload_id: z.string().min(1).max(1024) });
const partQuery = uploadQuery.extend({ part: wholeNumber(1, MAX_PARTS) });
const completeBody = z.object({
  parts: z
    .array(z.object({ part: z.number().int().min(1).max(MAX_PARTS), etag: z.string().min(1).max(256) }))
    .min(1)
    .max(MAX_PARTS)
    // R2 answers a repeated part number with an internal error: refuse it here, naming it.
    .refine(
      (parts) => new Set(parts.map((p) => p.part)).size === parts.length,
      'part numbers must be unique',
    ),
});

/** An R2 error message pattern and the API error the caller gets for it. */
type Refusal = [pattern: RegExp, error: () => ApiError];

const unknownUpload = () =>
  notFound('unknown_upload', 'no multipart upload with that upload_id for this path');
/** R2 answers a finished or unknown upload id with error 10024 (NoSuchUpload). */
const NO_SUCH_UPLOAD: Refusal = [/\(10024\)|NoSuchUpload|upload does not exist/i, unknownUpload];
/**
 * `complete()` and `abort()` answer an id R2 never issued for this key (another path's, or junk)
 * with its internal error 10001 instead, as Miniflare models R2 (found by the route property tests).
 * Without a record of the uploads it started the Worker cannot tell that from a real R2 fault; a 404
 * costs a retried upload at worst, where a 500 for a caller's typo breaks docs/protocol.md §8.
 */
const NOT_ISSUED: Refusal = [/\(10001\)/, unknownUpload];
/** R2's refusals of a parts list (R2 error codes 10025, 10011, 10048): the caller's list is wrong. */
const BAD_PARTS: Refusal[] = [
  [
    /\(10025\)/,
    () => badRequest('invalid_part', 'parts: a part number or etag is not one this upload received'),
  ],
  [
    /\((10011|10048)\)/,
    () =>
      badRequest(
        'invalid_part_sizes',
        'parts: all but the last must be of one size (at least 5 MiB), the last no larger',
      ),
  ],
];

/** Runs an R2 multipart call, answering the caller's mistakes as 4xx instead of 500. */
async function onUpload<T>(work: () => Promise<T>, refusals: Refusal[] = [NO_SUCH_UPLOAD]): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const refusal =
      error instanceof Error ? refusals.find(([pattern]) => pattern.test(error.message)) : undefined;
    if (refusal) throw refusal[1]();
    if (isLengthMismatch(error)) throw lengthMismatch();
    throw error;
  }
}

const PATH = '/apps/:app/multipart/:version/:target/:file';

export const multipart = new Hono<AppEnv>();

multipart.post(
  PATH,
  requireRole('publisher'),
  jsonLimit,
  validate('param', artifactParams),
  validate('json', createBody),
  async (c) => {
    const params = c.req.valid('param');
    const { sha256, size, content_type, sha512 } = c.req.valid('json');
    await requireApp(c.env.DB, params.app);
    const key = keyOf(params);
    const existing = await c.env.BUCKET.head(key);
    if (existing) return c.json(await sameOrConflict(c.env, params, existing, { sha256, size, sha512 }), 200);
    const upload = await c.env.BUCKET.createMultipartUpload(key, {
      httpMetadata: { contentType: artifactContentType(content_type) },
      customMetadata: { sha256, size: String(size), multipart: '1', ...(sha512 ? { sha512 } : {}) },
    });
    return c.json({ upload_id: upload.uploadId, key }, 201);
  },
);

multipart.put(
  PATH,
  requireRole('publisher'),
  validate('param', artifactParams),
  validate('query', partQuery),
  async (c) => {
    const params = c.req.valid('param');
    const { upload_id, part } = c.req.valid('query');
    const size = contentLength(c.req.header('Content-Length'), MAX_SINGLE_PUT);
    const body = c.req.raw.body;
    if (!body || size === 0) throw badRequest('empty_part', 'a part must not be empty');
    const upload = c.env.BUCKET.resumeMultipartUpload(keyOf(params), upload_id);
    const uploaded = await onUpload(() =>
      upload.uploadPart(part, body.pipeThrough(new FixedLengthStream(size))),
    );
    return c.json({ part: uploaded.partNumber, etag: uploaded.etag });
  },
);

multipart.post(
  `${PATH}/complete`,
  requireRole('publisher'),
  jsonLimit,
  validate('param', artifactParams),
  validate('query', uploadQuery),
  validate('json', completeBody),
  async (c) => {
    const params = c.req.valid('param');
    const { upload_id } = c.req.valid('query');
    const { parts } = c.req.valid('json');
    const key = keyOf(params);
    const existing = await c.env.BUCKET.head(key);
    if (existing) throw await artifactExists(c.env, params, existing);
    const upload = c.env.BUCKET.resumeMultipartUpload(key, upload_id);
    const object = await onUpload(
      () => upload.complete(parts.map((p) => ({ partNumber: p.part, etag: p.etag }))),
      [NO_SUCH_UPLOAD, NOT_ISSUED, ...BAD_PARTS],
    );
    const claimed = object.customMetadata;
    const actual = await hashObject(c.env.BUCKET, key, { sha512: claimed?.sha512 !== undefined });
    if (!actual || actual.sha256 !== claimed?.sha256 || String(actual.size) !== claimed.size) {
      await c.env.BUCKET.delete(key);
      throw badRequest(
        'sha256_mismatch',
        'the assembled object does not have the declared SHA-256 and size; deleted',
      );
    }
    if (actual.sha512 !== claimed.sha512) {
      await c.env.BUCKET.delete(key);
      throw badRequest(
        'sha512_mismatch',
        `the assembled object hashes to SHA-512 ${actual.sha512}, not the declared ${claimed.sha512}; deleted`,
      );
    }
    const result = actual.sha512
      ? { key, size: actual.size, sha256: actual.sha256, sha512: actual.sha512 }
      : { key, size: actual.size, sha256: actual.sha256 };
    await audit(c, new Date(), {
      action: 'artifact.upload',
      app: params.app,
      target: key,
      before: null,
      after: { ...result, multipart: true },
    }).run();
    return c.json(result, 201);
  },
);

multipart.delete(
  PATH,
  requireRole('publisher'),
  validate('param', artifactParams),
  validate('query', uploadQuery),
  async (c) => {
    const { upload_id } = c.req.valid('query');
    const upload = c.env.BUCKET.resumeMultipartUpload(keyOf(c.req.valid('param')), upload_id);
    await onUpload(() => upload.abort(), [NO_SUCH_UPLOAD, NOT_ISSUED]);
    return c.json({ upload_id, aborted: true });
  },
);
