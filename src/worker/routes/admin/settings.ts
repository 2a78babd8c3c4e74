/** App settings and webhook deliveries (docs/rollouts.md § HTTP API and § Webhooks). */
import { Hono } from 'hono';
import { base64url } from 'jose';
import * as z from 'zod';
import { planSchema } from '../../../protocol/plan.ts';
import { requireRole } from '../../auth/authenticate.ts';
import { badRequest, notFound } from '../../http/errors.ts';
import { validate, wholeNumber } from '../../http/validate.ts';
import { type AppSettings, getAppSettings, setAppSettings } from '../../storage/app-settings.ts';
import { bumpApp, checkExpected, commit } from '../../storage/revisions.ts';
import { listDeliveries, retargetPendingDeliveries } from '../../storage/webhooks.ts';
import type { AppEnv } from '../../types.ts';
import { appParams, audit, expectedRevision, jsonLimit } from './common.ts';

const putSettings = z.object({
  webhook_url: z.string().max(2048).nullable().optional(),
  default_plan: planSchema.nullable().optional(),
  rotate_webhook_secret: z.boolean().optional(),
  expected_revision: expectedRevision,
});

const webhooksQuery = z.object({ limit: wholeNumber(1, 100).default(20) });

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Why `text` cannot be a webhook URL, or null when it can. */
export function webhookUrlProblem(text: string): string | null {
  const url = URL.parse(text);
  if (!url) return 'is not a URL';
  if (url.username || url.password) return 'must not carry credentials';
  if (url.protocol === 'https:') return null;
  // Deliveries sign their body but do not hide it: plain http only where it never leaves the machine.
  if (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)) return null;
  return 'must be https:, or http: on 127.0.0.1, localhost or [::1] for local development';
}

/** 32 random bytes in base64url (43 characters): the HMAC key of the app's webhook signatures. */
function newWebhookSecret(): string {
  return base64url.encode(crypto.getRandomValues(new Uint8Array(32)));
}

async function requireSettings(db: D1Database, app: string): Promise<AppSettings> {
  const settings = await getAppSettings(db, app);
  if (!settings) throw notFound('unknown_app', `no app named ${app}`);
  return settings;
}

const settingsView = (s: Pick<AppSettings, 'webhook_url' | 'default_plan'>) => ({
  webhook_url: s.webhook_url,
  default_plan: s.default_plan,
});

export const settings = new Hono<AppEnv>();

settings.get('/apps/:app/settings', requireRole('admin'), validate('param', appParams), async (c) => {
  return c.json(settingsView(await requireSettings(c.env.DB, c.req.valid('param').app)));
});

settings.put(
  '/apps/:app/settings',
  requireRole('admin'),
  jsonLimit,
  validate('param', appParams),
  validate('json', putSettings),
  async (c) => {
    const { app } = c.req.valid('param');
    const body = c.req.valid('json');
    const current = await requireSettings(c.env.DB, app);
    checkExpected(body.expected_revision, current.revision, 'app');
    const problem = typeof body.webhook_url === 'string' ? webhookUrlProblem(body.webhook_url) : null;
    if (problem) throw badRequest('invalid_webhook_url', `webhook_url ${problem}`);
    const next = settingsView({
      webhook_url: body.webhook_url === undefined ? current.webhook_url : body.webhook_url,
      default_plan: body.default_plan === undefined ? current.default_plan : body.default_plan,
    });
    if (body.rotate_webhook_secret && next.webhook_url === null) {
      throw badRequest('no_webhook_url', 'rotate_webhook_secret needs a webhook_url');
    }
    // A secret comes with the first URL or on request, and goes with the URL: setting a URL again
    // later makes a new one, shown once, rather than reviving one whose holder may be long gone.
    let secret: string | null | undefined;
    if (next.webhook_url === null) secret = current.has_webhook_secret ? null : undefined;
    else if (body.rotate_webhook_secret || !current.has_webhook_secret) secret = newWebhookSecret();
    const changed =
      secret !== undefined ||
      next.webhook_url !== current.webhook_url ||
      JSON.stringify(next.default_plan) !== JSON.stringify(current.default_plan);
    if (!changed) return c.json(next);

    const now = new Date();
    // Pending deliveries follow the URL (a fixed typo reaches the right receiver); see webhooks.ts.
    const retargetTo = next.webhook_url !== current.webhook_url ? next.webhook_url : null;
    await commit(
      c.env.DB,
      [
        // Nothing clients see changes, but the app revision serializes settings changes: of two
        // racing first-time URLs only one commits, so the secret shown is the one stored.
        ...bumpApp(c.env.DB, app, current.revision, now),
        setAppSettings(c.env.DB, app, { ...next, webhook_secret: secret }),
        ...(retargetTo ? [retargetPendingDeliveries(c.env.DB, app, retargetTo)] : []),
        audit(c, now, {
          action: 'settings.update',
          app,
          target: null,
          before: settingsView(current),
          after: typeof secret === 'string' ? { ...next, webhook_secret: '(rotated)' } : next,
        }),
      ],
      body.expected_revision !== undefined,
    );
    return c.json(typeof secret === 'string' ? { ...next, webhook_secret: secret } : next);
  },
);

settings.get(
  '/apps/:app/webhooks',
  requireRole('admin'),
  validate('param', appParams),
  validate('query', webhooksQuery),
  async (c) => {
    const { app } = c.req.valid('param');
    await requireSettings(c.env.DB, app);
    return c.json({ deliveries: await listDeliveries(c.env.DB, app, c.req.valid('query').limit) });
  },
);
