/**
 * `GET /v1/apps/{app}/check`: what one client should run (DESIGN §3, docs/api.md). The hot path:
 * two KV reads on a cold isolate, none on a warm one; no D1, no R2, no parsing of documents.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import type { CheckResponse } from '../../protocol/api.ts';
import { type AppConfig, chooseChannel } from '../../protocol/channels.ts';
import { type Decision, decide } from '../../protocol/decision.ts';
import {
  archSchema,
  clientIdSchema,
  nameSchema,
  platformSchema,
  versionSchema,
} from '../../protocol/documents.ts';
import { sha256Hex } from '../../protocol/encoding.ts';
import { notFound } from '../errors.ts';
import { etagMatches } from '../http-caching.ts';
import { type CachedChannel, loadApp, loadChannel } from '../storage/state-cache.ts';
import type { AppEnv } from '../types.ts';
import { validate } from '../validate.ts';

/** A query parameter that must be present: a missing one reads "is required", not a type error. */
const required = <T extends z.ZodType<unknown, string>>(schema: T) =>
  z.string({ error: 'is required' }).pipe(schema);

const checkQuerySchema = z.object({
  client_id: required(clientIdSchema),
  version: required(versionSchema),
  platform: required(platformSchema),
  arch: required(archSchema),
  channel: z.string({ error: 'must be given once' }).pipe(nameSchema).optional(),
  // Loose on purpose (`14`, `14.2`, `10.0.19045`): the decision coerces it; it only has to start with a number.
  os_version: z
    .string({ error: 'must be given once' })
    .regex(/^[0-9][0-9A-Za-z.+_-]{0,31}$/, 'must be an OS version such as 14.2, at most 32 characters')
    .optional(),
});
type CheckQuery = z.infer<typeof checkQuerySchema>;

const CACHE_CONTROL = 'private, no-cache';

export const check = new Hono<AppEnv>();

check.get(
  '/:app/check',
  validate('param', z.object({ app: nameSchema })),
  validate('query', checkQuerySchema),
  async (c) => {
    const { app } = c.req.valid('param');
    const query = c.req.valid('query');

    const config = await loadApp(c.env.STATE, app);
    if (!config) throw notFound('unknown_app', `no app named ${app}`);
    const { channel, state } = await resolveChannel(c.env.STATE, config, query, countryOf(c.req.raw));

    const decision = await decide({
      snapshot: state.snapshot,
      releases: state.releases,
      yanks: state.yanks,
      client: {
        clientId: query.client_id,
        platform: query.platform,
        arch: query.arch,
        installed: query.version,
        osVersion: query.os_version,
      },
    });

    const answer = toAnswer(decision, {
      origin: new URL(c.req.url).origin,
      app,
      channel,
      state,
      installed: query.version,
    });
    const body = JSON.stringify(answer);
    const etag = `"${(await sha256Hex(body)).slice(0, 32)}"`;
    if (etagMatches(c.req.header('If-None-Match'), etag)) {
      return c.body(null, 304, { ETag: etag, 'Cache-Control': CACHE_CONTROL });
    }
    return c.body(body, 200, {
      'Content-Type': 'application/json',
      ETag: etag,
      'Cache-Control': CACHE_CONTROL,
    });
  },
);

/** The response body: the decision with the signed documents a client needs to verify it. */
function toAnswer(
  decision: Decision,
  at: { origin: string; app: string; channel: string; state: CachedChannel; installed: string },
): CheckResponse {
  const { origin, app, channel, state } = at;
  if (decision.status === 'none') {
    const yank = state.yankJws.get(at.installed);
    const signed = yank ? { snapshot: state.snapshotJws, yank } : { snapshot: state.snapshotJws };
    return { status: 'none', channel, yanked: decision.yanked, signed };
  }
  const { version, artifact } = decision;
  const release = documentFor(state.releaseJws, version, 'release');
  return {
    status: decision.status,
    channel,
    version,
    mandatory: decision.mandatory,
    artifact: {
      url: `${origin}/v1/apps/${app}/artifacts/${version}/${artifact.platform}-${artifact.arch}/${artifact.file}`,
      sha256: artifact.sha256,
      size: artifact.size,
    },
    signed:
      decision.status === 'rollback'
        ? { snapshot: state.snapshotJws, release, yank: documentFor(state.yankJws, at.installed, 'yank') }
        : { snapshot: state.snapshotJws, release },
  };
}

/**
 * The channel this client polls and its state. Falls back to the default channel when the chosen one
 * has no projected state yet (a channel created a moment ago), so a client is never stranded.
 */
async function resolveChannel(
  kv: KVNamespace,
  config: AppConfig,
  query: CheckQuery,
  country: string | undefined,
): Promise<{ channel: string; state: CachedChannel }> {
  if (config.channels.length > 0) {
    const chosen = await chooseChannel(config, {
      clientId: query.client_id,
      requested: query.channel,
      platform: query.platform,
      country,
      installed: query.version,
    });
    const state = await loadChannel(kv, config.app, chosen);
    if (state) return { channel: chosen, state };
    if (chosen !== config.default_channel) {
      const fallback = await loadChannel(kv, config.app, config.default_channel);
      if (fallback) return { channel: config.default_channel, state: fallback };
    }
  }
  throw notFound('unknown_channel', `app ${config.app} has no published channel`);
}

/** Two-letter country Cloudflare derived from the client's IP, when known. */
function countryOf(request: Request): string | undefined {
  const country: unknown = request.cf?.country;
  return typeof country === 'string' ? country : undefined;
}

/** The signed document the decision points at; its absence means the projection is inconsistent. */
function documentFor(byVersion: ReadonlyMap<string, string>, version: string, kind: string): string {
  const jws = byVersion.get(version);
  if (jws === undefined) throw new Error(`channel projection lacks the ${kind} document of ${version}`);
  return jws;
}
