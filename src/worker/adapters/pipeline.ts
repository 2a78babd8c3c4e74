import { type AppConfig, chooseChannelSync } from '../../protocol/channels.ts';
import { type Decision, decideSync } from '../../protocol/decision.ts';
import type { Arch, Artifact, Platform, ReleasePayload } from '../../protocol/documents.ts';
import { expoAssetPath } from '../../protocol/expo.ts';
import type { ClientKind } from '../../protocol/telemetry.ts';
import { parseVersion } from '../../protocol/versions.ts';
import { bucketSync } from '../decision/bucket-hash.ts';
import { notFound } from '../http/errors.ts';
import { type CachedChannel, type LoadedChannel, loadApp, loadChannel } from '../storage/state-cache.ts';
import { stateTtlMs } from '../storage/state-ttl.ts';

/** What a client route knows about the client, whatever its wire format. */
export interface ClientQuery {
  app: string;
  /** The channel the client asks for (a route segment, or check's `channel`); rules may route elsewhere. */
  requested: string | undefined;
  clientId: string;
  /** Undefined when the client does not say it: docs/protocol.md §3 rule 5. */
  installed: string | undefined;
  platform: Platform;
  arch: Arch;
  osVersion?: string | undefined;
  /** The client's runtime (docs/protocol.md §3); absent: only artifacts that name none. */
  runtime?: string | undefined;
}

/** The decision for one client, with the verified channel state it was made from. */
export type Served =
  | { verified: false; channel: string }
  | { verified: true; channel: string; state: CachedChannel; decision: Decision };

/** An `update` or `rollback` decision, with its signed release manifest. */
export interface Offer {
  status: 'update' | 'rollback';
  version: string;
  mandatory: boolean;
  release: ReleasePayload;
  artifact: Artifact;
}

/**
 * Decides for `query` from the projection. Throws 404 `unknown_app` or `unknown_channel`; a channel
 * whose projection does not verify is `{verified: false}`, and is never served in part.
 */
/**
 * What deciding needs of a request: the bindings, and the raw request (for `request.cf`). Hono's
 * Context is one; the check's dispatch before the router (routes/check.ts) makes its own.
 */
export interface ServeContext {
  env: Env;
  req: { raw: Request };
}

export async function serve(c: ServeContext, query: ClientQuery): Promise<Served> {
  return decideOn(await locate(c, query), query);
}

/** The app's routing config, and the channel a query is routed to with its loaded state. */
export interface Located {
  config: AppConfig;
  channel: string;
  state: LoadedChannel;
}

/** The channel `query` is routed to and its state, without deciding (the first half of `serve`). */
export async function locate(c: ServeContext, query: ClientQuery): Promise<Located> {
  const ttlMs = stateTtlMs(c.env);
  const config = await loadApp(c.env.STATE, query.app, ttlMs);
  if (!config) throw notFound('unknown_app', `no app named ${query.app}`);
  // `request.cf` is built on first access, which costs more than the rest of a warm check: read it
  // only when a channel rule routes by country.
  const byCountry = config.rules.some((rule) => rule.match.countries !== undefined);
  const { channel, state } = await resolveChannel(
    { kv: c.env.STATE, ttlMs },
    config,
    query,
    byCountry ? countryOf(c.req.raw) : undefined,
  );
  return { config, channel, state };
}

/** Whether the app's channel rules route on the installed version (then `locate` depends on it). */
export const routesByVersion = (config: AppConfig) =>
  config.rules.some((r) => r.match.versions !== undefined);

/** The decision for `query` on a located channel (the second half of `serve`). */
export function decideOn({ channel, state }: Located, query: ClientQuery): Served {
  if (!state.verified) return { verified: false, channel };
  // The Worker's synchronous hash: no WebCrypto digest and no promise per check (worker/decision/bucket-hash.ts).
  const decision = decideSync(
    {
      snapshot: state.snapshot,
      releases: state.releases,
      yanks: state.yanks,
      index: state.index,
      client: {
        clientId: query.clientId,
        platform: query.platform,
        arch: query.arch,
        installed: query.installed,
        osVersion: query.osVersion,
        runtime: query.runtime,
      },
    },
    bucketSync,
  );
  return { verified: true, channel, state, decision };
}

/** The offer of a served decision, or undefined for `none` and unverified channels. */
export function offerOf(served: Served): Offer | undefined {
  if (!served.verified || served.decision.status === 'none') return undefined;
  const { status, version, mandatory, artifact } = served.decision;
  const release = served.state.releases.get(version);
  // The decision only offers releases the verified state holds; a miss is a bug, not bad input.
  if (!release) throw new Error(`channel state lacks the release manifest of ${version}`);
  return { status, version, mandatory, release, artifact };
}

/**
 * For a Mac that names its own arch: the decision for that arch and, since a universal build runs on
 * both, the one for `universal` (the same client id, so the same rollout buckets), and the better of
 * the two offers. `served` is the decision for the client's own arch.
 */
export async function serveMac(
  c: ServeContext,
  query: Omit<ClientQuery, 'platform'>,
): Promise<{ served: Served; offer: Offer | undefined }> {
  const served = await serve(c, { ...query, platform: 'darwin' });
  if (query.arch === 'universal' || !served.verified) return { served, offer: offerOf(served) };
  const universal = await serve(c, { ...query, platform: 'darwin', arch: 'universal' });
  return { served, offer: betterOffer(offerOf(served), offerOf(universal)) };
}

/**
 * The better of two offers for one client: an update before a rollback, a higher version before a
 * lower one, the first when they tie.
 */
export function betterOffer(first: Offer | undefined, second: Offer | undefined): Offer | undefined {
  if (!first || !second) return first ?? second;
  if (first.status !== second.status) return first.status === 'update' ? first : second;
  const a = parseVersion(first.version);
  const b = parseVersion(second.version);
  return a && b && b.compare(a) > 0 ? second : first;
}

/**
 * The immutable URL of an artifact (or of one of its sidecar files) on this Worker. With `clientId`,
 * the URL carries it, and the updater as `via`, so that the download is counted for that client
 * (docs/protocol.md §9, routes/artifacts.ts). An Expo artifact's bytes are its launch asset, stored
 * content-addressed (docs/protocol.md §10).
 */
export function artifactUrl(
  origin: string,
  app: string,
  version: string,
  artifact: Pick<Artifact, 'platform' | 'arch' | 'file' | 'sha256' | 'expo'>,
  options: { file?: string; clientId?: string; kind?: ClientKind } = {},
): string {
  if (artifact.expo !== undefined && options.file === undefined)
    return `${origin}${expoAssetPath(app, artifact.sha256)}`;
  const file = options.file ?? artifact.file;
  const path = `${origin}/v1/apps/${app}/artifacts/${version}/${artifact.platform}-${artifact.arch}/${file}`;
  if (options.clientId === undefined) return path;
  const via = options.kind === undefined ? '' : `&via=${options.kind}`;
  return `${path}?client_id=${encodeURIComponent(options.clientId)}${via}`;
}

/**
 * The channel this client polls and its state. Falls back to the default channel when the chosen one
 * has no projected state yet (a channel created a moment ago), so a client is never stranded.
 */
async function resolveChannel(
  { kv, ttlMs }: { kv: KVNamespace; ttlMs: number },
  config: AppConfig,
  query: ClientQuery,
  country: string | undefined,
): Promise<{ channel: string; state: LoadedChannel }> {
  if (config.channels.length > 0) {
    // The Worker's synchronous hash for a cohort rule, as for the decision (decideOn).
    const chosen = chooseChannelSync(
      config,
      {
        clientId: query.clientId,
        requested: query.requested,
        platform: query.platform,
        country,
        installed: query.installed,
      },
      bucketSync,
    );
    const state = await loadChannel(kv, config.app, chosen, ttlMs);
    if (state) return { channel: chosen, state };
    if (chosen !== config.default_channel) {
      const fallback = await loadChannel(kv, config.app, config.default_channel, ttlMs);
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
