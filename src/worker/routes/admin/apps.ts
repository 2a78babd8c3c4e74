/** Apps, their channels and channel rules (docs/api.md § Apps, channels, rules). */
import { Hono } from 'hono';
import * as z from 'zod';
import { newSalt } from '../../../protocol/bucket.ts';
import { channelInfoSchema, channelRuleSchema } from '../../../protocol/channels.ts';
import { nameSchema } from '../../../protocol/documents.ts';
import { requireRole } from '../../auth/authenticate.ts';
import { scopeAllows } from '../../auth/scopes.ts';
import { badRequest, conflict } from '../../http/errors.ts';
import { validate } from '../../http/validate.ts';
import {
  getApp,
  insertApp,
  insertChannel,
  listApps,
  setChannelPublic,
  setDefaultChannel,
  setRules,
} from '../../storage/apps.ts';
import { assertCanSign, projectApp, projectChannels } from '../../storage/projection-writer.ts';
import { bumpApp, checkExpected, commit, isUniqueViolation } from '../../storage/revisions.ts';
import { bindingOf, CONTROL_DB, chooseTelemetryDb, telemetryBindings } from '../../storage/telemetry-dbs.ts';
import type { AppEnv } from '../../types.ts';
import { appParams, audit, channelParams, expectedRevision, jsonLimit, requireApp } from './common.ts';
import { appView } from './views.ts';

const createApp = z
  .object({
    name: nameSchema,
    default_channel: nameSchema,
    channels: z.array(channelInfoSchema).min(1).max(100).optional(),
    // A D1 binding of this Worker (docs/protocol.md §11): checked against env in the handler.
    telemetry_db: z.string().min(1).max(64).optional(),
  })
  .transform((body) => ({
    ...body,
    channels: body.channels ?? [{ name: body.default_channel, public: true }],
  }))
  .refine((body) => body.channels.some((ch) => ch.name === body.default_channel), {
    message: 'must contain the default channel',
    path: ['channels'],
  })
  .refine((body) => new Set(body.channels.map((ch) => ch.name)).size === body.channels.length, {
    message: 'channel names must be unique',
    path: ['channels'],
  });

// `public` is what a channel is created with; on an existing one either field alone changes only
// itself. `default` can only be set: an app always has a default channel, so another one replaces it.
const putChannel = z
  .object({
    public: z.boolean().optional(),
    default: z
      .literal(true, { error: 'can only be true (make another channel the default instead)' })
      .optional(),
    expected_revision: expectedRevision,
  })
  .refine((body) => body.public !== undefined || body.default !== undefined, {
    message: 'give public, default or both',
    path: ['public'],
  });
const putRules = z.object({
  rules: z.array(channelRuleSchema).max(100),
  expected_revision: expectedRevision,
});

/**
 * The telemetry database of a new app: the one named, which must be DB or a bound `TELEMETRY_*` D1
 * database (400 unknown_telemetry_db otherwise), or the rule of chooseTelemetryDb.
 */
async function telemetryDbOf(env: Env, named: string | undefined): Promise<string> {
  if (named === undefined) return chooseTelemetryDb(env);
  if (bindingOf(env, named)) return named;
  const bound = [CONTROL_DB, ...telemetryBindings(env)].join(', ');
  throw badRequest(
    'unknown_telemetry_db',
    `telemetry_db: ${named} is not a telemetry database here (${bound})`,
  );
}

export const apps = new Hono<AppEnv>();

apps.post('/apps', requireRole('admin'), jsonLimit, validate('json', createApp), async (c) => {
  const body = c.req.valid('json');
  assertCanSign(c.env);
  const now = new Date();
  const appExists = () => conflict('app_exists', `an app named ${body.name} already exists`);
  if (await getApp(c.env.DB, body.name)) throw appExists();
  const created = { ...body, telemetry_db: await telemetryDbOf(c.env, body.telemetry_db) };
  try {
    await c.env.DB.batch([
      ...insertApp(c.env.DB, created, now),
      audit(c, now, { action: 'app.create', app: body.name, target: null, before: null, after: created }),
    ]);
  } catch (error) {
    throw isUniqueViolation(error) ? appExists() : error;
  }
  await projectChannels(c.env, body.name);
  await projectApp(c.env, body.name);
  return c.json(appView(await requireApp(c.env.DB, body.name)), 201);
});

// A token limited to apps lists only them (docs/protocol.md §4): the dashboard and CLI start from this list.
apps.get('/apps', requireRole('analyst', 'own'), async (c) => {
  const { apps: limitedTo } = c.get('actor');
  const listed = (await listApps(c.env.DB)).filter((app) => scopeAllows(limitedTo, app.name));
  return c.json({ apps: listed.map(appView) });
});

apps.get('/apps/:app', requireRole('analyst'), validate('param', appParams), async (c) => {
  return c.json(appView(await requireApp(c.env.DB, c.req.valid('param').app)));
});

apps.put(
  '/apps/:app/channels/:channel',
  requireRole('admin'),
  jsonLimit,
  validate('param', channelParams),
  validate('json', putChannel),
  async (c) => {
    const { app, channel } = c.req.valid('param');
    const body = c.req.valid('json');
    const record = await requireApp(c.env.DB, app);
    checkExpected(body.expected_revision, record.revision, 'app');
    const existing = record.channels.find((ch) => ch.name === channel);
    if (!existing && body.public === undefined) {
      throw badRequest('invalid_json', `public: is required to create channel ${channel}`);
    }
    const isPublic = body.public ?? existing?.public ?? true;
    const wasDefault = record.default_channel === channel;
    const makeDefault = body.default === true && !wasDefault;
    if (existing?.public === isPublic && !makeDefault) return c.json(appView(record), 200);
    assertCanSign(c.env);
    const now = new Date();
    // The audit row says `default` only when the request was about it, so visibility rows keep their shape.
    const withDefault = <T extends object>(state: T, isDefault: boolean) =>
      body.default === undefined ? state : { ...state, default: isDefault };
    const after = withDefault({ name: channel, public: isPublic }, wasDefault || makeDefault);
    await commit(
      c.env.DB,
      [
        ...bumpApp(c.env.DB, app, record.revision, now),
        existing
          ? setChannelPublic(c.env.DB, app, channel, isPublic)
          : insertChannel(c.env.DB, app, { name: channel, public: isPublic }, now),
        ...(makeDefault ? [setDefaultChannel(c.env.DB, app, channel)] : []),
        audit(c, now, {
          action: existing ? 'channel.update' : 'channel.create',
          app,
          target: channel,
          before: existing ? withDefault({ name: channel, public: existing.public }, wasDefault) : null,
          after,
        }),
      ],
      body.expected_revision !== undefined,
    );
    if (!existing) await projectChannels(c.env, app, [channel]);
    await projectApp(c.env, app);
    return c.json(appView(await requireApp(c.env.DB, app)), existing ? 200 : 201);
  },
);

apps.put(
  '/apps/:app/rules',
  requireRole('admin'),
  jsonLimit,
  validate('param', appParams),
  validate('json', putRules),
  async (c) => {
    const { app } = c.req.valid('param');
    const body = c.req.valid('json');
    const record = await requireApp(c.env.DB, app);
    checkExpected(body.expected_revision, record.revision, 'app');
    const names = new Set(record.channels.map((ch) => ch.name));
    const rules = body.rules.map((rule, i) => {
      if (!names.has(rule.channel)) {
        throw badRequest(
          'unknown_channel',
          `rules.${i}.channel: app ${app} has no channel named ${rule.channel}`,
        );
      }
      // A cohort needs a salt; a fresh one samples a new set of clients, like a rollout does.
      const needsSalt = rule.match.percent_bp !== undefined && rule.match.salt === undefined;
      return needsSalt ? { ...rule, match: { ...rule.match, salt: newSalt() } } : rule;
    });
    const now = new Date();
    await commit(
      c.env.DB,
      [
        ...bumpApp(c.env.DB, app, record.revision, now),
        setRules(c.env.DB, app, rules),
        audit(c, now, { action: 'rules.update', app, target: null, before: record.rules, after: rules }),
      ],
      body.expected_revision !== undefined,
    );
    await projectApp(c.env, app);
    return c.json(appView(await requireApp(c.env.DB, app)));
  },
);
