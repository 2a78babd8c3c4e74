/**
 * expo-updates (docs/protocol.md §10, protocol v1): the app's `updates.url` is `…/v1/apps/{app}/expo/manifest`.
 * The request headers (expo-request.ts) become a `ClientQuery` for the shared pipeline: the platform,
 * the runtime version as the artifact `runtime`, `expo-channel-name` as the requested channel,
 * `eas-client-id` as the client id, and the running update's id, turned back into the release it
 * belongs to, as the installed version. The answer is `multipart/mixed`: the offered release's
 * manifest as stored at publish time, a `rollBackToEmbedded` directive when the update the client
 * runs is yanked, or a `noUpdateAvailable` directive. Nothing is signed here: signatures are the
 * ones the CLI made with the app's Expo key. See docs/clients/expo.md.
 */
import { type Context, Hono } from 'hono';
import * as z from 'zod';
import { nameSchema } from '../../protocol/documents.ts';
import { randomHex } from '../../protocol/encoding.ts';
import {
  type ExpoPlatform,
  expoUpdateId,
  NO_UPDATE_DIRECTIVE,
  rollBackToEmbeddedDirective,
} from '../../protocol/expo.ts';
import { validate } from '../http/validate.ts';
import type { CachedChannel } from '../storage/state-cache.ts';
import type { AppEnv } from '../types.ts';
import { type ExpoRequest, parseExpoRequest } from './expo-request.ts';
import { clientIdOf } from './identity.ts';
import { observeCheck, observeFailures } from './observe.ts';
import { type ClientQuery, decideOn, locate, offerOf, routesByVersion } from './pipeline.ts';

/** What expo-updates records for an update that crashed before it rendered. */
export const EXPO_LAUNCH_FAILED = 'expo_launch_failed';

export const expo = new Hono<AppEnv>();

expo.get('/:app/expo/manifest', validate('param', z.object({ app: nameSchema })), async (c) => {
  const { app } = c.req.valid('param');
  const request = parseExpoRequest(c.req.raw.headers);
  const clientId = await clientIdOf(c.req.raw, request.clientId, c.env, 'header eas-client-id');
  const { platform, runtime } = request;
  const query: ClientQuery = {
    app,
    requested: request.channel,
    clientId,
    installed: undefined,
    platform,
    arch: 'any',
    runtime,
  };
  // Which release the client runs is known from the channel state's update ids; the channel itself
  // depends on it only when a rule routes by installed version (then it is located again).
  let located = await locate(c, query);
  if (!located.state.verified) return noUpdate(c, request, 'no-store');
  const versions = await updateVersions(located.state, app, platform, runtime);
  const installed = runningVersion(request, versions);
  if (installed !== undefined && routesByVersion(located.config))
    located = await locate(c, { ...query, installed });
  const served = decideOn(located, { ...query, installed });
  if (!served.verified) return noUpdate(c, request, 'no-store');

  const failed = request.failedUpdateIds.flatMap((id) => versions.get(id) ?? []);
  observeFailures(c, {
    kind: 'expo',
    app,
    channel: served.channel,
    clientId,
    versions: failed,
    installed,
    errorCode: EXPO_LAUNCH_FAILED,
    platform,
    arch: 'any',
  });

  const offer = offerOf(served);
  const yanked = installed !== undefined && served.state.yanks.has(installed);
  const answer =
    offer?.status === 'update'
      ? manifestPart(request, offer.artifact.expo, failed.includes(offer.version), offer.version)
      : yanked
        ? rollBackPart(request, served.state, installed)
        : undefined;
  observeCheck(c, {
    kind: 'expo',
    app,
    channel: served.channel,
    clientId,
    installed,
    offered:
      answer !== undefined && 'kind' in answer && answer.kind === 'manifest' ? offer?.version : undefined,
    platform,
    arch: 'any',
  });
  if (answer === undefined) return noUpdate(c, request);
  if ('withheld' in answer) return noUpdate(c, request, undefined, answer.withheld);
  return multipart(c, answer);
});

/** One part of a multipart answer: a manifest or a directive, and its signature when it has one. */
interface Part {
  kind: 'manifest' | 'directive';
  body: string;
  signature: string | undefined;
}

type Answer = Part | { withheld: string };

/**
 * The offered release's manifest, unless this client cannot take it: it is not an Expo release, the
 * client verifies signatures and it has none, or the client reported that it failed to launch.
 */
function manifestPart(
  request: ExpoRequest,
  expo: { manifest: string; signature?: string | undefined } | undefined,
  failedThere: boolean,
  version: string,
): Answer {
  if (!expo) return { withheld: `${version} has no Expo manifest for ${request.platform}` };
  if (failedThere) return { withheld: `${version} failed to launch on this client` };
  if (request.expectsSignature && expo.signature === undefined)
    return { withheld: `${version} is not code-signed and the app expects a signature` };
  return { kind: 'manifest', body: expo.manifest, signature: expo.signature };
}

/**
 * The client runs a yanked update and nothing newer is offered: back to the build's embedded update.
 * expo-updates only ever moves to a newer update (it compares `createdAt`), so an older release
 * cannot be served in its place; once on its embedded update the client is offered what it is in the
 * rollout of again (docs/clients/expo.md).
 */
function rollBackPart(request: ExpoRequest, state: CachedChannel, version: string): Answer | undefined {
  const yank = state.yanks.get(version);
  if (!yank) return undefined;
  const signature = state.expoDirectives.get(version);
  if (request.expectsSignature && signature === undefined)
    return { withheld: `the yank of ${version} has no signed rollBackToEmbedded directive` };
  return { kind: 'directive', body: rollBackToEmbeddedDirective(yank.yanked_at), signature };
}

/** The protocol's response headers; `max-age=0`: every launch asks again. */
function expoHeaders(c: Context<AppEnv>, cacheControl = 'private, max-age=0'): void {
  c.header('expo-protocol-version', '1');
  c.header('expo-sfv-version', '0');
  c.header('Cache-Control', cacheControl);
}

/**
 * No update: the `noUpdateAvailable` directive, or, for a client that verifies signatures, an empty
 * answer (204, "no parts"), which needs none. `withheld` says why an offer was not served.
 */
function noUpdate(
  c: Context<AppEnv>,
  request: ExpoRequest,
  cacheControl?: string,
  withheld?: string,
): Response {
  expoHeaders(c, cacheControl);
  if (withheld !== undefined) c.header('Updraft-Withheld', withheld);
  if (request.expectsSignature) return c.body(null, 204);
  return multipart(c, { kind: 'directive', body: NO_UPDATE_DIRECTIVE, signature: undefined });
}

function multipart(c: Context<AppEnv>, part: Part): Response {
  expoHeaders(c);
  const boundary = `updraft-${randomHex(12)}`;
  const signature = part.signature === undefined ? '' : `expo-signature: ${part.signature}\r\n`;
  const body =
    `--${boundary}\r\n` +
    `content-disposition: inline; name="${part.kind}"\r\n` +
    'content-type: application/json; charset=utf-8\r\n' +
    signature +
    `\r\n${part.body}\r\n--${boundary}--\r\n`;
  return c.body(body, 200, { 'Content-Type': `multipart/mixed; boundary=${boundary}` });
}

/** The release a client runs, from its current update id; undefined on its embedded update or an unknown one. */
function runningVersion(request: ExpoRequest, versions: ReadonlyMap<string, string>): string | undefined {
  const current = request.currentUpdateId;
  if (current === undefined || current === request.embeddedUpdateId) return undefined;
  return versions.get(current);
}

/**
 * Update id → version for every release and yank a channel state holds, for one platform and runtime.
 * Ids are derived (protocol/expo.ts `expoUpdateId`), so a yanked release is recognised without its
 * manifest. Computed once per cached state.
 */
const idIndexes = new WeakMap<CachedChannel, Map<string, Promise<Map<string, string>>>>();

function updateVersions(
  state: CachedChannel,
  app: string,
  platform: ExpoPlatform,
  runtime: string,
): Promise<Map<string, string>> {
  let byTarget = idIndexes.get(state);
  if (!byTarget) {
    byTarget = new Map();
    idIndexes.set(state, byTarget);
  }
  const key = `${platform}\u0000${runtime}`;
  let index = byTarget.get(key);
  if (!index) {
    // The channel's whole history: a client may run a release the pruned snapshot no longer lists.
    const versions = new Set([...state.channelVersions, ...state.releases.keys(), ...state.yanks.keys()]);
    index = Promise.all(
      [...versions].map(async (v) => [await expoUpdateId(app, v, platform, runtime), v] as const),
    ).then((pairs) => new Map(pairs));
    byTarget.set(key, index);
  }
  return index;
}
