/**
 * Artifact uploads in one request (docs/api.md § Uploads): the body streams into R2, which checks
 * the SHA-256 before the object exists. Retrying an upload is safe; overwriting is impossible. An
 * upload no registered release lists can be removed (and expires: storage/uploads.ts), so wrong bytes
 * never block a version's real publish for ever; a registered artifact is never removed.
 */
import { Hono } from 'hono';
import { sha256HexSchema, sha512Base64Schema } from '../../../protocol/documents.ts';
import { requireRole } from '../../auth/authenticate.ts';
import { type ApiError, badRequest, conflict, notFound } from '../../http/errors.ts';
import { validate } from '../../http/validate.ts';
import { putArtifact, storedSha256, trustedSha512 } from '../../storage/objects.ts';
import { artifactKey } from '../../storage/projection.ts';
import { isoSeconds } from '../../storage/revisions.ts';
import { isRegistered, removeUpload, uploadTtlHours } from '../../storage/uploads.ts';
import type { AppEnv } from '../../types.ts';
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

/** The SHA-512 a client may declare for its bytes (`X-Updraft-Sha512`, base64), checked as they stream in. */
export function declaredSha512(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const parsed = sha512Base64Schema.safeParse(header.trim());
  if (!parsed.success)
    throw badRequest('invalid_header', 'X-Updraft-Sha512 must be the SHA-512 of the body in base64');
  return parsed.data;
}

/** 400 `sha512_mismatch`: the bytes do not hash to the declared SHA-512. */
export const sha512Mismatch = (what: string, actual: string | undefined) =>
  badRequest(
    'sha512_mismatch',
    `${what}: SHA-512 ${actual ?? 'unknown'}, not the declared one; nothing was stored`,
  );

export const lengthMismatch = () =>
  badRequest('length_mismatch', 'the body is not Content-Length bytes long; nothing was stored');

/**
 * What an existing object at `key` means for an upload of (`sha256`, `size`, `sha512`): a safe retry,
 * or a conflict whose message says what the caller can do about it. The same bytes with another
 * declared SHA-512 than the one they were checked against are the caller's mistake (400).
 */
export async function sameOrConflict(
  env: Env,
  params: ArtifactParams,
  object: R2Object,
  declared: { sha256: string; size: number; sha512?: string | undefined },
) {
  const { sha256, size, sha512 } = declared;
  if (storedSha256(object) === sha256 && object.size === size) {
    const known = trustedSha512(object);
    if (sha512 !== undefined && known !== undefined && known !== sha512)
      throw sha512Mismatch(`the bytes already at ${object.key} (the same SHA-256)`, known);
    return { key: object.key, size, sha256 };
  }
  throw await artifactExists(env, params, object);
}

/** 409 `artifact_exists` for the object at `params`, saying whether it can go away and how. */
export async function artifactExists(env: Env, params: ArtifactParams, object: R2Object): Promise<ApiError> {
  if (await isRegistered(env.DB, params)) {
    return conflict(
      'artifact_exists',
      `${object.key} belongs to registered release ${params.app} ${params.version}, whose bytes never change: publish a new version`,
    );
  }
  const expires = new Date(
    object.uploaded.getTime() + uploadTtlHours(env.UNREGISTERED_UPLOAD_TTL_HOURS) * 3600_000,
  );
  const held = `${object.size} bytes, SHA-256 ${storedSha256(object) ?? 'unknown'}, uploaded ${isoSeconds(object.uploaded)}`;
  return conflict(
    'artifact_exists',
    `${object.key} already holds an upload (${held}) that no registered release lists; nothing in R2 is overwritten: remove that upload (DELETE ${uploadPath(params)}, or \`updraft publish --replace-unregistered\`) or wait: it expires at ${isoSeconds(expires)} and the scheduler removes it soon after`,
  );
}

/** The admin API path of the upload at `params`. */
const uploadPath = (p: ArtifactParams) =>
  `/v1/admin/apps/${p.app}/uploads/${p.version}/${p.platform}-${p.arch}/${p.file}`;

export const uploads = new Hono<AppEnv>();

uploads.put(
  '/apps/:app/uploads/:version/:target/:file',
  requireRole('publisher'),
  validate('param', artifactParams),
  async (c) => {
    const params = c.req.valid('param');
    const size = contentLength(c.req.header('Content-Length'), MAX_SINGLE_PUT);
    const sha256 = declaredSha256(c.req.header('X-Updraft-Sha256'));
    const sha512 = declaredSha512(c.req.header('X-Updraft-Sha512'));
    await requireApp(c.env.DB, params.app);
    const key = keyOf(params);
    const declared = { sha256, size, sha512 };
    const existing = await c.env.BUCKET.head(key);
    if (existing) return c.json(await sameOrConflict(c.env, params, existing, declared), 200);

    const contentType = artifactContentType(c.req.header('Content-Type'));
    const put = await putArtifact(c.env.BUCKET, key, c.req.raw.body, { ...declared, contentType });
    if (put.kind === 'sha256_mismatch') {
      throw badRequest('sha256_mismatch', 'the body does not hash to X-Updraft-Sha256; nothing was stored');
    }
    if (put.kind === 'sha512_mismatch') throw sha512Mismatch('the body', put.sha512);
    if (put.kind === 'length_mismatch') throw lengthMismatch();
    if (put.kind === 'taken') {
      // A concurrent upload to the same path won the race.
      const winner = await c.env.BUCKET.head(key);
      if (!winner) throw conflict('artifact_exists', `${key} is being written by another upload; retry`);
      return c.json(await sameOrConflict(c.env, params, winner, declared), 200);
    }
    const now = new Date();
    const result = sha512 ? { key, size, sha256, sha512 } : { key, size, sha256 };
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

uploads.delete(
  '/apps/:app/uploads/:version/:target/:file',
  requireRole('publisher'),
  validate('param', artifactParams),
  async (c) => {
    const params = c.req.valid('param');
    await requireApp(c.env.DB, params.app);
    const key = keyOf(params);
    const removal = await removeUpload(c.env.DB, c.env.BUCKET, params, key, {
      reason: 'removed',
      actor: c.get('actor').name,
      now: new Date(),
    });
    switch (removal.kind) {
      case 'removed':
        return c.json(removal.upload, 200);
      case 'missing':
        throw notFound('artifact_missing', `nothing is stored at ${key}`);
      case 'registered':
        throw conflict(
          'artifact_registered',
          `${key} belongs to registered release ${params.app} ${params.version}; registered artifacts are never removed`,
        );
      case 'busy':
      case 'young':
        throw conflict(
          'removal_in_progress',
          `${key} is being removed or replaced by another request; retry`,
        );
    }
  },
);
