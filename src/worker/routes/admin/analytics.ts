/**
 * Telemetry analytics (docs/api.md § Analytics) for analysts: release health, adoption over time,
 * errors, install durations, active clients, and a release against its baseline. The metrics
 * themselves live in storage/analytics.ts (the comparison in storage/comparison.ts).
 */
import { Hono } from 'hono';
import * as z from 'zod';
import type { TimeWindow } from '../../../protocol/admin-api.ts';
import { nameSchema, versionSchema } from '../../../protocol/documents.ts';
import { requireRole } from '../../auth/authenticate.ts';
import { badRequest, notFound } from '../../http/errors.ts';
import { validate, wholeNumber } from '../../http/validate.ts';
import {
  activeClients,
  adoptionSeries,
  channelHealth,
  durations,
  type Interval,
  releaseHealth,
  type Scope,
  topErrors,
} from '../../storage/analytics.ts';
import { compareWithBaseline } from '../../storage/comparison.ts';
import { type AnalyticsDbs, analyticsDbs } from '../../storage/telemetry-dbs.ts';
import type { AppEnv } from '../../types.ts';
import { appParams, requireApp, requireChannel } from './common.ts';

const DAY_MS = 86_400_000;
/** The default window: the last 7 days. */
const DEFAULT_WINDOW_MS = 7 * DAY_MS;
/** The longest window a query may span (raw events are kept for far less; see docs/analytics.md). */
export const MAX_WINDOW_DAYS = 400;
/** Hourly adoption points cover at most 31 days (744 points). */
export const MAX_HOURLY_DAYS = 31;

const windowFields = {
  channel: nameSchema.optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
};
const healthQuery = z.object({ ...windowFields, version: versionSchema.optional() });
const compareQuery = z.object({ ...windowFields, version: versionSchema });
const adoptionQuery = z.object({ ...windowFields, interval: z.enum(['hour', 'day']).default('day') });
const errorsQuery = z.object({
  ...windowFields,
  version: versionSchema.optional(),
  limit: wholeNumber(1, 100).default(10),
});
const clientsQuery = z.object({ channel: nameSchema.optional() });

/** The stored form of a time, `2026-11-21T18:00:00.000Z`, so text comparison in SQL is time order. */
const stored = (ms: number) => new Date(ms).toISOString();

/**
 * [from, to) from the query: defaults to the 7 days before now; from < to; at most 400 days, and
 * at most 31 days of hourly points.
 */
function resolveWindow(query: WindowQuery, now: number): TimeWindow {
  const to = query.to === undefined ? now : Date.parse(query.to);
  const from = query.from === undefined ? to - DEFAULT_WINDOW_MS : Date.parse(query.from);
  if (from >= to) {
    throw badRequest(
      'invalid_query',
      `from: must be before to (${stored(from)} is not before ${stored(to)})`,
    );
  }
  if (to - from > MAX_WINDOW_DAYS * DAY_MS) {
    throw badRequest('invalid_query', `to: the window from..to is at most ${MAX_WINDOW_DAYS} days`);
  }
  if (query.interval === 'hour' && to - from > MAX_HOURLY_DAYS * DAY_MS) {
    throw badRequest(
      'invalid_query',
      `interval: hourly points need a window of at most ${MAX_HOURLY_DAYS} days`,
    );
  }
  return { from: stored(from), to: stored(to) };
}

interface WindowQuery {
  channel?: string;
  from?: string;
  to?: string;
  interval?: Interval;
}

/**
 * The window (400 invalid_query), the app (404 unknown_app) and its channel: the default unless
 * named (404 unknown_channel); and the databases to read, the app's telemetry one among them.
 */
async function scopeOf(
  env: Env,
  app: string,
  query: WindowQuery,
): Promise<{ scope: Scope; dbs: AnalyticsDbs }> {
  const window = resolveWindow(query, Date.now());
  const record = await requireApp(env.DB, app);
  const channel = query.channel ?? record.default_channel;
  requireChannel(record, channel);
  return { scope: { app, channel, window }, dbs: await analyticsDbs(env, app) };
}

const unknownRelease = (app: string, version: string) =>
  notFound('unknown_release', `app ${app} has no release ${version} and no telemetry about it`);

export const analytics = new Hono<AppEnv>();

const analyst = requireRole('analyst');

analytics.get(
  '/apps/:app/health',
  analyst,
  validate('param', appParams),
  validate('query', healthQuery),
  async (c) => {
    const { app } = c.req.valid('param');
    const query = c.req.valid('query');
    const { scope, dbs } = await scopeOf(c.env, app, query);
    if (query.version === undefined) {
      const releases = await channelHealth(dbs, scope);
      return c.json({ app, channel: scope.channel, window: scope.window, releases });
    }
    const health = await releaseHealth(dbs, scope, query.version);
    if (!health) throw unknownRelease(app, query.version);
    return c.json(health);
  },
);

analytics.get(
  '/apps/:app/compare',
  analyst,
  validate('param', appParams),
  validate('query', compareQuery),
  async (c) => {
    const { app } = c.req.valid('param');
    const query = c.req.valid('query');
    const { scope, dbs } = await scopeOf(c.env, app, query);
    const comparison = await compareWithBaseline(dbs, scope, query.version);
    if (!comparison) throw unknownRelease(app, query.version);
    return c.json(comparison);
  },
);

analytics.get(
  '/apps/:app/adoption',
  analyst,
  validate('param', appParams),
  validate('query', adoptionQuery),
  async (c) => {
    const { app } = c.req.valid('param');
    const query = c.req.valid('query');
    const { scope, dbs } = await scopeOf(c.env, app, query);
    const points = await adoptionSeries(dbs.telemetry, scope, query.interval);
    return c.json({ app, channel: scope.channel, interval: query.interval, window: scope.window, points });
  },
);

analytics.get(
  '/apps/:app/errors',
  analyst,
  validate('param', appParams),
  validate('query', errorsQuery),
  async (c) => {
    const { app } = c.req.valid('param');
    const { version, limit, ...query } = c.req.valid('query');
    const { scope, dbs } = await scopeOf(c.env, app, query);
    const errors = await topErrors(dbs, scope, version, limit);
    if (!errors) throw unknownRelease(app, version ?? '');
    return c.json({
      app,
      channel: scope.channel,
      ...(version && { version }),
      window: scope.window,
      top_errors: errors,
    });
  },
);

analytics.get(
  '/apps/:app/durations',
  analyst,
  validate('param', appParams),
  validate('query', healthQuery),
  async (c) => {
    const { app } = c.req.valid('param');
    const { version, ...query } = c.req.valid('query');
    const { scope, dbs } = await scopeOf(c.env, app, query);
    const result = await durations(dbs, scope, version);
    if (!result) throw unknownRelease(app, version ?? '');
    return c.json({
      app,
      channel: scope.channel,
      ...(version && { version }),
      window: scope.window,
      ...result,
    });
  },
);

analytics.get(
  '/apps/:app/clients',
  analyst,
  validate('param', appParams),
  validate('query', clientsQuery),
  async (c) => {
    const { app } = c.req.valid('param');
    const { scope, dbs } = await scopeOf(c.env, app, c.req.valid('query'));
    const { channel } = scope;
    const clients = await activeClients(dbs.telemetry, { app, channel, to: stored(Date.now()) });
    return c.json({ app, channel, ...clients });
  },
);
