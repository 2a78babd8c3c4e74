/**
 * Electron's built-in autoUpdater on macOS (Squirrel.Mac, also what update-electron-app drives),
 * docs/protocol.md §9: the feed URL is `…/v1/apps/{app}/squirrel/{channel}/darwin-{arch}/{version}`, in
 * update.electronjs.org's `{platform}-{arch}/{version}` shape, with `?client_id=` when the app adds
 * it. Squirrel.Mac reads 204 as "no update" and any 200 as an update to download and install (it
 * compares no versions, so a rollback reaches it as is): `{url, name, notes, pub_date}`, where `url`
 * must be a zip of the .app. See docs/clients/squirrel-mac.md.
 */
import { Hono } from 'hono';
import * as z from 'zod';
import { type Arch, nameSchema } from '../../protocol/documents.ts';
import { parseQuery, validate } from '../http/validate.ts';
import type { AppEnv } from '../types.ts';
import { clientIdOf } from './identity.ts';
import {
  FEED_CACHE_CONTROL,
  installedVersionSchema,
  noUpdate,
  pubDate,
  unverifiedNoUpdate,
} from './json-feeds.ts';
import { observeCheck } from './observe.ts';
import { artifactUrl, serveMac } from './pipeline.ts';

/** `${process.platform}-${process.arch}` of a Mac Electron app → Updraft's arch. */
export const SQUIRREL_TARGETS = {
  'darwin-x64': 'x64',
  'darwin-arm64': 'arm64',
} as const satisfies Record<string, Arch>;

const targetNames = Object.keys(SQUIRREL_TARGETS) as (keyof typeof SQUIRREL_TARGETS)[];

const paramsSchema = z.object({
  app: nameSchema,
  channel: nameSchema,
  target: z.enum(targetNames, {
    error: `must be one of ${targetNames.join(', ')} (Squirrel.Windows is not served)`,
  }),
  version: installedVersionSchema,
});

const querySchema = z.object({
  client_id: z.string({ error: 'must be given once' }).optional(),
});

/** The update JSON Squirrel.Mac's `SQRLUpdate` reads; only `url` is required by it. */
export interface SquirrelUpdate {
  url: string;
  name: string;
  notes: string;
  pub_date: string;
}

export const squirrel = new Hono<AppEnv>();

squirrel.get('/:app/squirrel/:channel/:target/:version', validate('param', paramsSchema), async (c) => {
  const { app, channel, target, version: installed } = c.req.valid('param');
  const arch = SQUIRREL_TARGETS[target];
  const url = new URL(c.req.url);
  const query = parseQuery(url, querySchema);
  const clientId = await clientIdOf(c.req.raw, query.client_id, c.env, 'query client_id');
  // A universal build (electron-builder's --universal) serves both Mac arches.
  const { served, offer } = await serveMac(c, { app, requested: channel, clientId, installed, arch });
  // Squirrel.Mac unzips what it downloads; any other file would fail on every poll after a full
  // download, so a release whose Mac artifact is not a zip is withheld and says why.
  const offered = offer && /\.zip$/i.test(offer.artifact.file) ? offer : undefined;
  observeCheck(c, {
    kind: 'squirrel',
    app,
    channel: served.channel,
    clientId,
    installed,
    offered: offered?.version,
    platform: 'darwin',
    arch,
  });
  if (!served.verified) return unverifiedNoUpdate(c);
  if (!offer) return noUpdate(c);
  if (!offered) return noUpdate(c, `${offer.version} has no zip for darwin-${offer.artifact.arch}`);
  const body: SquirrelUpdate = {
    url: artifactUrl(url.origin, app, offered.version, offered.artifact, { clientId, kind: 'squirrel' }),
    name: offered.version,
    notes: offered.release.notes,
    pub_date: pubDate(offered.release.published_at),
  };
  return c.json(body, 200, { 'Cache-Control': FEED_CACHE_CONTROL });
});
