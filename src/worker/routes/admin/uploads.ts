/**
 * Artifact uploads in one request (docs/api.md § Uploads): the body streams into R2, which checks
 * the SHA-256 before the object exists. Retrying an upload is safe; overwriting is impossible.
 */
import { Hono } from 'hono';
import { sha256HexSchema } from '../../../protocol/documents.ts';
import { requireRole } from '../../auth.ts';
import { badRequest, conflict } from '../../errors.ts';
import { putArtifact, storedSha256 } from '../../storage/objects.ts';
import { artifactKey } from '../../storage/projection.ts';
import type { AppEnv } from '../../types.ts';
import { validate } from '../../validate.ts';
import {
  type ArtifactParams,
  artifactContentType,
  artifactParams,
  audit,
  contentLength,
  MAX_SINGLE_PUT,
  requireApp,
} from './common.ts';

export const keyOf = (p: ArtifactParams) => artifactKey(p.app, p.version, p.platform, p.arch, p.file);

/** The SHA-256 a client declares for its bytes (`X-Updraft-Sha256`), lowercased. */
export function declaredSha256(header: string | undefined): string {
  const parsed = sha256HexSchema.safeParse(header?.trim().toLowerCase());
  if (!parsed.success)
    throw badRequest('invalid_header', 'X-Updraft-Sha256 must be the SHA-256 of the body in hex');
  return parsed.data;
}

export const lengthMismatch = () =>
  badRequest('length_mismatch', 'the body is not Content-Length bytes long; nothing was stored');

/** What an existing object at `key` means for an upload of (`sha256`, `size`): a safe retry, or a conflict. */
export function sameOrConflict(object: R2Object, sha256: string, size: number) {
  if (storedSha256(object) === sha256 && object.size === size) return { key: object.key, size, sha256 };
  throw conflict(
    'artifact_exists',
    `${object.key} already holds different bytes; nothing in R2 is overwritten`,
  );
}

export const uploads = new Hono<AppEnv>();

uploads.put(
  '/apps/:app/uploads/:version/:target/:file',
  requireRole('publisher'),
  validate('param', artifactParams),
  async (c) => {
    const params = c.req.valid('param');
    const size = contentLength(c.req.header('Content-Length'), MAX_SINGLE_PUT);
    const sha256 = declaredSha256(c.req.header('X-Updraft-Sha256'));
    await requireApp(c.env.DB, params.app);
    const key = keyOf(params);
    const existing = await c.env.BUCKET.head(key);
    if (existing) return c.json(sameOrConflict(existing, sha256, size), 200);

    const contentType = artifactContentType(c.req.header('Content-Type'));
    const put = await putArtifact(c.env.BUCKET, key, c.req.raw.body, { size, sha256, contentType });
    if (put.kind === 'sha256_mismatch') {
      throw badRequest('sha256_mismatch', 'the body does not hash to X-Updraft-Sha256; nothing was stored');
    }
    if (put.kind === 'length_mismatch') throw lengthMismatch();
    if (put.kind === 'taken') {
      // A concurrent upload to the same path won the race.
      const winner = await c.env.BUCKET.head(key);
      if (!winner) throw conflict('artifact_exists', `${key} is being written by another upload; retry`);
      return c.json(sameOrConflict(winner, sha256, size), 200);
    }
    const now = new Date();
    const result = { key, size, sha256 };
    await audit(c, now, {
      action: 'artifact.upload',
      app: params.app,
      target: key,
      before: null,
      after: result,
    }).run();
    return c.json(result, 201);
  },
);
