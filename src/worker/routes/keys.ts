/**
 * `GET /v1/keys` and `GET /v1/keys/{version}`: the keys documents clients verify against their
 * pinned root (docs/protocol.md §2). Older versions stay available so a client that missed a rotation can
 * walk the chain one version at a time.
 */
import { Hono } from 'hono';
import * as z from 'zod';
import { notFound } from '../http/errors.ts';
import { validate } from '../http/validate.ts';
import { readCurrentKeys, readKeysVersion } from '../storage/data-plane.ts';
import type { AppEnv } from '../types.ts';

export const keys = new Hono<AppEnv>();

// The newest document changes on rotation only; a minute of staleness is below KV's own bound.
keys.get('/', async (c) => {
  const jws = await readCurrentKeys(c.env.STATE);
  if (jws === null) throw notFound('no_keys', 'no keys document has been registered yet');
  return c.json({ keys: jws }, 200, { 'Cache-Control': 'public, max-age=60' });
});

const versionParams = z.object({
  version: z
    .string()
    .regex(/^[1-9][0-9]{0,8}$/, 'must be a positive integer')
    .transform(Number),
});

// A numbered keys document is immutable.
keys.get('/:version', validate('param', versionParams), async (c) => {
  const { version } = c.req.valid('param');
  const jws = await readKeysVersion(c.env.BUCKET, version);
  if (jws === null) throw notFound('unknown_keys_version', `no keys document of version ${version}`);
  return c.json({ keys: jws }, 200, { 'Cache-Control': 'public, max-age=31536000, immutable' });
});
