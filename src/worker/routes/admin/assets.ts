/**
 * Content-addressed assets (docs/protocol.md §10, docs/api.md § Assets): an Expo update's launch asset and
 * assets, stored once per app under their SHA-256 and shared by every release that lists them. The
 * CLI asks which of a release's assets are missing and uploads only those; R2 checks each body
 * against its hash before the object exists, and nothing is ever overwritten.
 */
import { Hono } from 'hono';
import * as z from 'zod';
import { nameSchema, sha256HexSchema } from '../../../protocol/documents.ts';
import { MAX_ASSET_QUERY } from '../../../protocol/expo.ts';
import { requireRole } from '../../auth/authenticate.ts';
import { badRequest } from '../../http/errors.ts';
import { validate } from '../../http/validate.ts';
import { putArtifact } from '../../storage/objects.ts';
import { assetKey } from '../../storage/projection.ts';
import type { AppEnv } from '../../types.ts';
import {
  appParams,
  artifactContentType,
  audit,
  contentLength,
  jsonLimit,
  MAX_SINGLE_PUT,
  requireApp,
} from './common.ts';
import { lengthMismatch } from './uploads.ts';

const missingBody = z.object({
  sha256: z
    .array(sha256HexSchema)
    .min(1)
    .max(MAX_ASSET_QUERY, `at most ${MAX_ASSET_QUERY} hashes per request`),
});
const assetParams = z.object({ app: nameSchema, sha256: sha256HexSchema });

/** R2 lookups in flight at once while answering `missing`. */
const LOOKUPS_IN_FLIGHT = 32;

export const assets = new Hono<AppEnv>();

assets.post(
  '/apps/:app/assets/missing',
  requireRole('publisher'),
  jsonLimit,
  validate('param', appParams),
  validate('json', missingBody),
  async (c) => {
    const { app } = c.req.valid('param');
    const wanted = [...new Set(c.req.valid('json').sha256)];
    await requireApp(c.env.DB, app);
    const missing: string[] = [];
    for (let i = 0; i < wanted.length; i += LOOKUPS_IN_FLIGHT) {
      const batch = wanted.slice(i, i + LOOKUPS_IN_FLIGHT);
      const found = await Promise.all(batch.map((sha256) => c.env.BUCKET.head(assetKey(app, sha256))));
      batch.forEach((sha256, j) => {
        if (!found[j]) missing.push(sha256);
      });
    }
    return c.json({ missing });
  },
);

assets.put(
  '/apps/:app/assets/:sha256',
  requireRole('publisher'),
  validate('param', assetParams),
  async (c) => {
    const { app, sha256 } = c.req.valid('param');
    const size = contentLength(c.req.header('Content-Length'), MAX_SINGLE_PUT);
    await requireApp(c.env.DB, app);
    const key = assetKey(app, sha256);
    // The path names the bytes: what is stored there is already exactly them.
    const existing = await c.env.BUCKET.head(key);
    if (existing) return c.json({ sha256, size: existing.size }, 200);

    const contentType = artifactContentType(c.req.header('Content-Type'));
    const put = await putArtifact(c.env.BUCKET, key, c.req.raw.body, { size, sha256, contentType });
    if (put.kind === 'sha256_mismatch')
      throw badRequest('sha256_mismatch', `the body does not hash to ${sha256}; nothing was stored`);
    if (put.kind === 'length_mismatch') throw lengthMismatch();
    if (put.kind === 'sha512_mismatch') throw new Error('an asset upload declares no SHA-512');
    // `taken`: a concurrent upload of the same bytes won the race, which is as good.
    if (put.kind === 'taken') return c.json({ sha256, size }, 200);
    const now = new Date();
    await audit(c, now, {
      action: 'asset.upload',
      app,
      target: key,
      before: null,
      after: { sha256, size, content_type: contentType },
    }).run();
    return c.json({ sha256, size }, 201);
  },
);
