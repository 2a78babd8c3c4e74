import { Hono } from 'hono';
import type { AppEnv } from '../../types.ts';
import { analytics } from './analytics.ts';
import { apps } from './apps.ts';
import { assets } from './assets.ts';
import { auditLog } from './audit.ts';
import { backup } from './backup.ts';
import { keys } from './keys.ts';
import { multipart } from './multipart.ts';
import { releases } from './releases.ts';
import { rollouts } from './rollouts.ts';
import { settings } from './settings.ts';
import { status } from './status.ts';
import { tokens } from './tokens.ts';
import { uploads } from './uploads.ts';
import { yanks } from './yanks.ts';

/**
 * The admin API (docs/api.md), mounted at /v1/admin. Every route authenticates with a bearer token
 * and names the role it needs; every change writes an audit row in the same D1 batch.
 */
export const admin = new Hono<AppEnv>();

for (const sub of [
  tokens,
  keys,
  apps,
  uploads,
  assets,
  multipart,
  releases,
  rollouts,
  yanks,
  status,
  auditLog,
  analytics,
  settings,
  backup,
]) {
  admin.route('/', sub);
}
