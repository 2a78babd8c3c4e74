/**
 * Sparkle 2 (macOS), docs/protocol.md §9: the app's `SUFeedURL` is `…/v1/apps/{app}/sparkle/{channel}/appcast.xml`,
 * and its updater delegate may add `client_id`, `version`, `arch` and `os_version` to the query
 * (docs/clients/sparkle.md). The answer is an appcast whose only item is the decision, or one with
 * no item when nothing is offered; Sparkle verifies the download against the `sparkle:edSignature`
 * recorded in the signed release manifest, with the public key (`SUPublicEDKey`) in the app.
 */
import { Hono } from 'hono';
import * as z from 'zod';
import type { Arch } from '../../protocol/documents.ts';
import { nameSchema } from '../../protocol/documents.ts';
import { parseQuery, validate } from '../http/validate.ts';
import type { AppEnv } from '../types.ts';
import { clientIdOf } from './identity.ts';
import { FEED_CACHE_CONTROL, installedVersionSchema } from './json-feeds.ts';
import { observeCheck } from './observe.ts';
import { artifactUrl, serveMac } from './pipeline.ts';
import { renderAppcast } from './sparkle-appcast.ts';

/** The Mac architectures a Sparkle app may name; without one it is served its universal build. */
export const SPARKLE_ARCHES = ['universal', 'arm64', 'x64'] as const satisfies readonly Arch[];

const once = { error: 'must be given once' };
const osVersion = z
  .string(once)
  .regex(/^[0-9][0-9A-Za-z.+_-]{0,31}$/, 'must be an OS version such as 14.2, at most 32 characters');

const querySchema = z.object({
  // Checked by clientIdOf, which names the parameter in its 400.
  client_id: z.string(once).optional(),
  version: z.string(once).pipe(installedVersionSchema).optional(),
  arch: z.enum(SPARKLE_ARCHES, { error: `must be one of ${SPARKLE_ARCHES.join(', ')}` }).optional(),
  os_version: osVersion.optional(),
  // Sparkle's own system profile (SUEnableSystemProfiling) sends the OS version under this name.
  osVersion: osVersion.optional(),
});

const CONTENT_TYPE = 'application/rss+xml; charset=utf-8';

export const sparkle = new Hono<AppEnv>();

sparkle.get(
  '/:app/sparkle/:channel/appcast.xml',
  validate('param', z.object({ app: nameSchema, channel: nameSchema })),
  async (c) => {
    const { app, channel } = c.req.valid('param');
    const url = new URL(c.req.url);
    const query = parseQuery(url, querySchema);
    const clientId = await clientIdOf(c.req.raw, query.client_id, c.env, 'query client_id');
    const arch = query.arch ?? 'universal';
    // A universal build runs on both architectures: a Mac that names its own may get either, and
    // gets the better of the two decisions (the same client id, so the same rollout buckets).
    const { served, offer } = await serveMac(c, {
      app,
      requested: channel,
      clientId,
      installed: query.version,
      arch,
      osVersion: query.os_version ?? query.osVersion,
    });
    // Sparkle refuses an update without a valid EdDSA signature when the app pins SUPublicEDKey,
    // which every Sparkle 2 app must: offering one would fail every download. It is withheld.
    const offered = offer?.artifact.ed_signature === undefined ? undefined : offer;
    observeCheck(c, {
      kind: 'sparkle',
      app,
      channel: served.channel,
      clientId,
      installed: query.version,
      offered: offered?.version,
      platform: 'darwin',
      arch,
    });

    const link = `${url.origin}${url.pathname}`;
    const headers: Record<string, string> = {
      'Content-Type': CONTENT_TYPE,
      'Cache-Control': served.verified ? FEED_CACHE_CONTROL : 'no-store',
    };
    if (offer && !offered) {
      headers['Updraft-Withheld'] = `${offer.version} has no ed_signature for darwin-${offer.artifact.arch}`;
    }
    const item = offered && {
      app,
      version: offered.version,
      publishedAt: offered.release.published_at,
      notes: offered.release.notes,
      mandatory: offered.mandatory,
      os: offered.artifact.os,
      url: artifactUrl(url.origin, app, offered.version, offered.artifact, { clientId, kind: 'sparkle' }),
      length: offered.artifact.size,
      edSignature: offered.artifact.ed_signature ?? '',
    };
    return c.body(renderAppcast({ app, link, item }), 200, headers);
  },
);
