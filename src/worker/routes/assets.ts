/**
 * `GET|HEAD /v1/apps/{app}/assets/{sha256}`: a content-addressed asset (docs/protocol.md §10), the URL every
 * Expo manifest lists. The path names the bytes, so they never change: served immutable, with byte
 * ranges, like an artifact.
 */
import { Hono } from 'hono';
import * as z from 'zod';
import { nameSchema, sha256HexSchema } from '../../protocol/documents.ts';
import { notFound } from '../http/errors.ts';
import { validate } from '../http/validate.ts';
import { assetKey } from '../storage/projection.ts';
import type { AppEnv } from '../types.ts';
import { serveObject } from './artifacts.ts';

const paramsSchema = z.object({ app: nameSchema, sha256: sha256HexSchema });

export const assets = new Hono<AppEnv>();

assets.get('/:app/assets/:sha256', validate('param', paramsSchema), (c) => {
  const { app, sha256 } = c.req.valid('param');
  return serveObject(c, {
    key: assetKey(app, sha256),
    file: sha256,
    missing: () => notFound('asset_missing', `${app} has no asset with SHA-256 ${sha256}`),
  });
});
