import { Hono } from 'hono';
import type { AppEnv } from '../../types.ts';

/** The admin API (docs/api.md), mounted at /v1/admin. Owned by the control plane. */
export const admin = new Hono<AppEnv>();
