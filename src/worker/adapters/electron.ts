/**
 * electron-updater's generic provider (electron-builder), docs/protocol.md §9: the app's `publish` URL is
 * `…/v1/apps/{app}/electron/{channel}/`, and electron-updater fetches `<updater channel><suffix>.yml`
 * under it (Provider.getCustomChannelName): the suffix names the platform and, on Linux, the arch;
 * the updater channel is `latest` unless the app sets one. The answer is the YAML electron-builder
 * would have published, for this client's decision: `version`, `files[]` (`url`, `sha512`, `size`),
 * `path`, `sha512`, `releaseDate`, `releaseNotes`. See docs/clients/electron.md.
 */
import { type Context, Hono } from 'hono';
import * as z from 'zod';
import { pickArtifact } from '../../protocol/decision.ts';
import { type Arch, type Artifact, nameSchema, type Platform } from '../../protocol/documents.ts';
import { badRequest } from '../http/errors.ts';
import { validate } from '../http/validate.ts';
import type { AppEnv } from '../types.ts';
import { renderNoUpdate, renderUpdate } from './electron-yml.ts';
import { clientIdOf } from './identity.ts';
import { FEED_CACHE_CONTROL, installedVersionSchema } from './json-feeds.ts';
import { observeCheck } from './observe.ts';
import { artifactUrl, betterOffer, type Offer, offerOf, serve } from './pipeline.ts';

/**
 * The file-name suffixes electron-updater forms (Provider.getChannelFilePrefix) → what they ask for.
 * Windows and macOS name no arch: their file lists every arch, and electron-updater picks its own
 * (NsisUpdater's findFile prefers a URL containing `process.arch`, which Updraft's artifact URLs do
 * in `windows-<arch>`; MacUpdater keeps the `arm64` files on Apple silicon, the others on Intel).
 * Arches are listed in the order electron-updater should meet them: on Apple silicon with no arm64
 * build, the first non-arm64 file is taken, so `universal` precedes `x64`. On Linux the suffix is
 * `-linux` plus `-${process.arch}` unless x64; `-armv7l` is what electron-builder names its own files.
 */
export const ELECTRON_FILES: Readonly<Record<string, { platform: Platform; arches: readonly Arch[] }>> = {
  '': { platform: 'windows', arches: ['x64', 'arm64', 'ia32'] },
  '-mac': { platform: 'darwin', arches: ['arm64', 'universal', 'x64'] },
  '-linux': { platform: 'linux', arches: ['x64'] },
  '-linux-arm64': { platform: 'linux', arches: ['arm64'] },
  '-linux-arm': { platform: 'linux', arches: ['arm'] },
  '-linux-armv7l': { platform: 'linux', arches: ['arm'] },
  '-linux-ia32': { platform: 'linux', arches: ['ia32'] },
};

/** The updater channel that means "the channel of the URL" (electron-updater's default). */
export const DEFAULT_UPDATER_CHANNEL = 'latest';

// The longest suffix wins, as electron-updater appends it: `beta-linux-arm64.yml` is channel `beta`.
const FILE_PATTERN = /^([a-z0-9][a-z0-9-]{0,62}?)(-mac|-linux(?:-arm64|-armv7l|-arm|-ia32)?)?\.yml$/;

const paramsSchema = z.object({ app: nameSchema, channel: nameSchema, file: z.string().max(128) });

/** `x-updraft-version`: the app's version, as `autoUpdater.requestHeaders` sends `app.getVersion()`. */
const versionHeaderSchema = installedVersionSchema;

export const electron = new Hono<AppEnv>();

electron.get('/:app/electron/:channel/:file', validate('param', paramsSchema), async (c) => {
  const { app, channel, file } = c.req.valid('param');
  const { requested, platform, arches } = parseFileName(file, channel);
  const clientId = await clientIdOf(
    c.req.raw,
    c.req.header('x-user-staging-id'),
    c.env,
    'header x-user-staging-id',
  );
  const installed = installedOf(c.req.header('x-updraft-version'));

  // One decision per arch the file covers (one on Linux); they differ only where a release lacks an
  // arch's artifact, and the highest offer wins, listing every arch of that release.
  let chosen: { offer: Offer; arch: Arch } | undefined;
  let servedChannel = requested;
  for (const arch of arches) {
    const served = await serve(c, { app, requested, clientId, installed, platform, arch });
    servedChannel = served.channel;
    if (!served.verified) {
      // Nothing is served from a projection that does not verify, not even in part (docs/api.md).
      observeCheck(c, {
        kind: 'electron',
        app,
        channel: served.channel,
        clientId,
        installed,
        offered: undefined,
        platform,
        arch,
      });
      return yaml(c, renderNoUpdate(installed), 'no-store');
    }
    const offer = offerOf(served);
    if (offer && betterOffer(chosen?.offer, offer) === offer) chosen = { offer, arch };
  }
  const arch = chosen?.arch ?? arches[0] ?? 'x64';
  observeCheck(c, {
    kind: 'electron',
    app,
    channel: servedChannel,
    clientId,
    installed,
    offered: chosen?.offer.version,
    platform,
    arch,
  });
  if (!chosen) return yaml(c, renderNoUpdate(installed), FEED_CACHE_CONTROL);

  const { offer } = chosen;
  const origin = new URL(c.req.url).origin;
  const files = filesOf(offer, platform, arches).map((artifact) => ({
    artifact,
    url: artifactUrl(origin, app, offer.version, artifact, { clientId, kind: 'electron' }),
  }));
  return yaml(c, renderUpdate(offer, files), FEED_CACHE_CONTROL);
});

/**
 * The Updraft channel, platform and arches a file name asks for. `latest` is electron-updater's own
 * default channel and means the channel of the URL; any other prefix is the channel the app set
 * (`autoUpdater.channel`, or `channel` in app-update.yml) and names the Updraft channel itself.
 */
export function parseFileName(
  file: string,
  urlChannel: string,
): { requested: string; platform: Platform; arches: readonly Arch[] } {
  const match = FILE_PATTERN.exec(file);
  const target = match ? ELECTRON_FILES[match[2] ?? ''] : undefined;
  if (!match?.[1] || !target) {
    throw badRequest(
      'invalid_file',
      'file must be <channel>.yml, <channel>-mac.yml or <channel>-linux[-arm64|-arm|-armv7l|-ia32].yml, with a channel of a-z, 0-9 and -',
    );
  }
  const prefix = match[1];
  return { requested: prefix === DEFAULT_UPDATER_CHANNEL ? urlChannel : prefix, ...target };
}

function installedOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const parsed = versionHeaderSchema.safeParse(header);
  if (!parsed.success) {
    throw badRequest('invalid_version', 'header x-updraft-version must be a semantic version such as 1.2.3');
  }
  return parsed.data;
}

/**
 * The offered release's artifacts for the file's arches, each once, in the file's arch order; the
 * decision's own artifact is among them. Artifacts with an OS range are left out, as the decision
 * leaves them out: electron-updater sends no OS version.
 */
function filesOf(offer: Offer, platform: Platform, arches: readonly Arch[]): Artifact[] {
  const files: Artifact[] = [];
  for (const arch of arches) {
    const artifact = pickArtifact(offer.release, platform, arch, undefined);
    if (artifact && !files.includes(artifact)) files.push(artifact);
  }
  if (!files.includes(offer.artifact)) files.unshift(offer.artifact);
  return files;
}

function yaml(c: Context<AppEnv>, body: string, cacheControl: string): Response {
  return c.body(body, 200, { 'Content-Type': 'text/yaml; charset=utf-8', 'Cache-Control': cacheControl });
}
