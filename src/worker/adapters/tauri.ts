/**
 * Tauri v2's updater (tauri-plugin-updater), docs/protocol.md §9: the app's endpoint is
 * `…/v1/apps/{app}/tauri/{channel}/{{target}}/{{arch}}/{{current_version}}`, and the plugin fills in
 * `{{target}}` (`linux`, `windows`, `darwin`), `{{arch}}` (`x86_64`, `aarch64`, `i686`, `armv7`) and
 * `{{current_version}}`. The answer is the plugin's "dynamic server" format: 204 when there is no
 * update, else 200 `{version, notes, pub_date, url, signature}`, where `signature` is the artifact's
 * `.sig` file as `tauri build` wrote it (the signed manifest's `minisign` field), which the plugin
 * verifies over the downloaded bytes with the public key compiled into the app. See
 * docs/clients/tauri.md.
 */
import { Hono } from 'hono';
import * as z from 'zod';
import type { Arch, Platform } from '../../protocol/documents.ts';
import { nameSchema } from '../../protocol/documents.ts';
import { validate } from '../http/validate.ts';
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
import { artifactUrl, offerOf, serve, serveMac } from './pipeline.ts';

/** Tauri's `{{target}}` (the plugin's `get_updater_target`) → Updraft's platform. */
export const TAURI_TARGETS = {
  linux: 'linux',
  windows: 'windows',
  darwin: 'darwin',
} as const satisfies Record<string, Platform>;

/** Tauri's `{{arch}}` (the plugin's `get_updater_arch`) → Updraft's arch. */
export const TAURI_ARCHES = {
  x86_64: 'x64',
  aarch64: 'arm64',
  i686: 'ia32',
  armv7: 'arm',
} as const satisfies Record<string, Arch>;

const targetNames = Object.keys(TAURI_TARGETS) as (keyof typeof TAURI_TARGETS)[];
const archNames = Object.keys(TAURI_ARCHES) as (keyof typeof TAURI_ARCHES)[];

const paramsSchema = z.object({
  app: nameSchema,
  channel: nameSchema,
  target: z.enum(targetNames, { error: `must be one of ${targetNames.join(', ')}` }),
  arch: z.enum(archNames, { error: `must be one of ${archNames.join(', ')}` }),
  current_version: installedVersionSchema,
});

/** The dynamic-server answer the plugin deserializes into its `RemoteRelease`. */
export interface TauriUpdate {
  version: string;
  notes: string;
  pub_date: string;
  url: string;
  signature: string;
}

export const tauri = new Hono<AppEnv>();

tauri.get(
  '/:app/tauri/:channel/:target/:arch/:current_version',
  validate('param', paramsSchema),
  async (c) => {
    const { app, channel, target, arch: tauriArch, current_version: installed } = c.req.valid('param');
    const platform = TAURI_TARGETS[target];
    const arch = TAURI_ARCHES[tauriArch];
    const clientId = await clientIdOf(
      c.req.raw,
      c.req.header('x-updraft-client-id'),
      c.env,
      'header x-updraft-client-id',
    );
    const query = { app, requested: channel, clientId, installed, arch };
    // A universal macOS bundle serves both Mac arches (tauri-action lists it under both).
    const { served, offer } =
      platform === 'darwin'
        ? await serveMac(c, query)
        : await serve(c, { ...query, platform }).then((s) => ({ served: s, offer: offerOf(s) }));
    // The plugin verifies every download against the app's minisign key and cannot skip it: an
    // artifact published without its .sig can never be installed, so offering it would only turn
    // every poll into a failed download. Such a release is withheld (no update) and says why.
    const offered = offer?.artifact.minisign === undefined ? undefined : offer;
    observeCheck(c, {
      kind: 'tauri',
      app,
      channel: served.channel,
      clientId,
      installed,
      offered: offered?.version,
      platform,
      arch,
    });
    if (!served.verified) return unverifiedNoUpdate(c);
    if (!offer) return noUpdate(c);
    if (!offered?.artifact.minisign) {
      return noUpdate(c, `${offer.version} has no minisign signature for ${platform}-${offer.artifact.arch}`);
    }
    const body: TauriUpdate = {
      version: offered.version,
      notes: offered.release.notes,
      pub_date: pubDate(offered.release.published_at),
      url: artifactUrl(new URL(c.req.url).origin, app, offered.version, offered.artifact, {
        clientId,
        kind: 'tauri',
      }),
      signature: offered.artifact.minisign,
    };
    return c.json(body, 200, { 'Cache-Control': FEED_CACHE_CONTROL });
  },
);
