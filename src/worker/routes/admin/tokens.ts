/**
 * Identity and API tokens (docs/api.md § Identity, § Tokens). A token is shown once, at creation;
 * D1 keeps only its SHA-256, so a leaked database leaks no usable token.
 */
import { Hono } from 'hono';
import * as z from 'zod';
import { nameSchema, timestampSchema } from '../../../protocol/documents.ts';
import { randomHex, sha256Hex } from '../../../protocol/encoding.ts';
import { ROLES } from '../../../protocol/roles.ts';
import { requireRole } from '../../auth/authenticate.ts';
import { badRequest, notFound } from '../../http/errors.ts';
import { validate } from '../../http/validate.ts';
import { getApp } from '../../storage/apps.ts';
import { isoSeconds } from '../../storage/revisions.ts';
import { getToken, insertToken, listTokens, revokeToken, type TokenRecord } from '../../storage/tokens.ts';
import type { AppEnv } from '../../types.ts';
import { audit, jsonLimit } from './common.ts';

/** More apps than this is a deployment-wide token in all but name. */
const MAX_TOKEN_APPS = 100;

const createBody = z.object({
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9 ._@:-]{0,63}$/, 'must be 1-64 of letters, digits, space . _ @ : -'),
  role: z.enum(ROLES),
  /** The apps the token is limited to (docs/protocol.md §4); left out, every app and the deployment. */
  apps: z
    .array(nameSchema)
    .min(1, 'must name at least one app (leave apps out for a token for every app)')
    .max(MAX_TOKEN_APPS)
    .optional(),
  expires_at: timestampSchema.optional(),
});
const idParams = z.object({ id: z.string().regex(/^[0-9a-f]{16}$/, 'must be a token id (16 hex digits)') });

/** `updr_` and 32 random bytes in base64url (43 characters, no padding). */
function newToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const base64 = btoa(String.fromCharCode(...bytes));
  return `updr_${base64.replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')}`;
}

/** The apps of a new token, sorted and once each; 404 `unknown_app` for an app that does not exist. */
async function tokenApps(db: D1Database, named: readonly string[] | undefined): Promise<string[] | null> {
  if (named === undefined) return null;
  const apps = [...new Set(named)].sort();
  const found = await Promise.all(apps.map((app) => getApp(db, app)));
  const missing = apps.filter((_, i) => found[i] === null);
  if (missing.length > 0) throw notFound('unknown_app', `apps: no app named ${missing.join(', ')}`);
  return apps;
}

export const tokens = new Hono<AppEnv>();

// Who is calling is the caller's own business, whatever its apps.
tokens.get('/whoami', requireRole('analyst', 'own'), (c) => {
  const { name, role, apps } = c.get('actor');
  return c.json({ actor: name, role, apps });
});

tokens.post('/tokens', requireRole('admin'), jsonLimit, validate('json', createBody), async (c) => {
  const body = c.req.valid('json');
  const now = new Date();
  if (body.expires_at !== undefined && Date.parse(body.expires_at) <= now.getTime()) {
    throw badRequest('invalid_json', 'expires_at: must be in the future');
  }
  const apps = await tokenApps(c.env.DB, body.apps);
  const token = newToken();
  const record: TokenRecord = {
    id: randomHex(8),
    name: body.name,
    role: body.role,
    apps,
    created_at: isoSeconds(now),
    created_by: c.get('actor').name,
    expires_at: body.expires_at ?? null,
    revoked_at: null,
  };
  const { revoked_at: _, created_by: __, ...shown } = record;
  await c.env.DB.batch([
    insertToken(c.env.DB, record, await sha256Hex(token)),
    audit(c, now, { action: 'token.create', app: null, target: record.id, before: null, after: shown }),
  ]);
  return c.json({ ...shown, token }, 201);
});

tokens.get('/tokens', requireRole('admin'), async (c) => {
  return c.json({ tokens: await listTokens(c.env.DB) });
});

tokens.delete('/tokens/:id', requireRole('admin'), validate('param', idParams), async (c) => {
  const { id } = c.req.valid('param');
  const before = await getToken(c.env.DB, id);
  if (!before) throw notFound('unknown_token', `no token with id ${id}`);
  if (before.revoked_at !== null) return c.json({ id, revoked_at: before.revoked_at });
  const now = new Date();
  const revoked_at = isoSeconds(now);
  await c.env.DB.batch([
    revokeToken(c.env.DB, id, revoked_at),
    audit(c, now, {
      action: 'token.revoke',
      app: null,
      target: id,
      before,
      after: { ...before, revoked_at },
    }),
  ]);
  return c.json({ id, revoked_at });
});
