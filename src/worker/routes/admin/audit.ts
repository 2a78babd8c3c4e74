/** The audit log (docs/api.md § Status and audit): newest first, paged by an id cursor. */
import { Hono } from 'hono';
import * as z from 'zod';
import { nameSchema } from '../../../protocol/documents.ts';
import { requireRole } from '../../auth/authenticate.ts';
import { validate, wholeNumber } from '../../http/validate.ts';
import { listAudit } from '../../storage/audit.ts';
import type { AppEnv } from '../../types.ts';

const auditQuery = z.object({
  app: nameSchema.optional(),
  limit: wholeNumber(1, 500).default(50),
  before: wholeNumber(1).optional(),
});

export const auditLog = new Hono<AppEnv>();

// A token limited to apps reads the history of one of them (?app=), never the deployment's.
auditLog.get('/audit', requireRole('analyst', 'query'), validate('query', auditQuery), async (c) => {
  return c.json(await listAudit(c.env.DB, c.req.valid('query')));
});
