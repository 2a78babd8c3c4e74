/**
 * The data plane's view of the KV projection, parsed once and kept in the isolate for a few seconds
 * (docs/protocol.md §1): a warm isolate answers checks from memory, with no KV read and no re-parsing.
 *
 * KV is not the source of truth, so a channel is served only once its snapshot verifies against an
 * online key of `keys:current` and every document served with it matches the snapshot's hashes
 * (projection-verify.ts). That costs a signature check per cache fill, never per request. A channel
 * that does not verify is kept as `{verified: false}` for the same TTL (a tampered value must not
 * cost a KV read and a verification on every request), answered with nothing signed (routes/check.ts)
 * and reported by `/healthz` (refusals.ts). KV errors are thrown, as before, and never cached.
 */
import * as z from 'zod';
import { type AppConfig, channelInfoSchema, channelRuleSchema } from '../../protocol/channels.ts';
import { type ChannelIndex, indexChannel } from '../../protocol/decision.ts';
import {
  type ChannelPayload,
  type DocumentKind,
  type KeysPayload,
  nameSchema,
  PAYLOAD_SCHEMAS,
  type PayloadOf,
  type ReleasePayload,
  TYP,
  type YankPayload,
} from '../../protocol/documents.ts';
import { sha256Hex } from '../../protocol/encoding.ts';
import { decodeDocument } from '../../protocol/jws.ts';
import { AnswerMemo } from './answer-memo.ts';
import { keysProjectionSchema } from './data-plane.ts';
import { appKey, type ChannelProjection, channelKey, KEYS_KEY } from './projection.ts';
import { UnverifiedProjectionError, verifyChannelProjection } from './projection-verify.ts';
import { clearRefusal, type RefusedChannel, recordRefusal, refusedChannels } from './refusals.ts';
import { STATE_TTL_MS } from './state-ttl.ts';
import { TtlCache } from './ttl-cache.ts';

const MAX_ENTRIES = 1_000;

/** One channel's signed state, verified and decoded, with the documents indexed by version. */
export interface CachedChannel {
  verified: true;
  snapshotJws: string;
  /** `snapshotJws` as a JSON string literal in UTF-8, and its SHA-256 (hex): every check answer embeds and tags it. */
  snapshotJsonBytes: Uint8Array;
  snapshotSha256: string;
  snapshot: ChannelPayload;
  /** The decision's per-snapshot work, done once per cache fill rather than for every client. */
  index: ChannelIndex;
  releases: ReadonlyMap<string, ReleasePayload>;
  releaseJws: ReadonlyMap<string, string>;
  yanks: ReadonlyMap<string, YankPayload>;
  yankJws: ReadonlyMap<string, string>;
  /** The `expo-signature` of a yank's rollBackToEmbedded directive, by version (docs/protocol.md §10). */
  expoDirectives: ReadonlyMap<string, string>;
  /**
   * Every version with a rollout in the channel, listed in the (pruned) snapshot or not: the
   * projection's unsigned `history`, for what only the Worker reads (projection.ts).
   */
  channelVersions: ReadonlySet<string>;
  /** Check answers already encoded from this state (routes/check.ts), by their text outside the snapshot. */
  answers: AnswerMemo;
}

/** A channel whose projection did not verify: nothing of it may be served. `reason` is for logs. */
export interface UnverifiedChannel {
  verified: false;
  reason: string;
}

export type LoadedChannel = CachedChannel | UnverifiedChannel;

/** `keys:current` as the data plane sees it: the keys snapshots are verified against. */
export type CurrentKeys =
  | { status: 'ok'; keys: KeysPayload }
  | { status: 'absent' }
  | { status: 'malformed'; reason: string };

const appProjectionSchema = z.object({
  app: nameSchema,
  default_channel: nameSchema,
  channels: z.array(channelInfoSchema),
  rules: z.array(channelRuleSchema),
});

const channelProjectionSchema = z.object({
  snapshot: z.string(),
  releases: z.record(z.string(), z.string()),
  yanks: z.record(z.string(), z.string()),
  expo_directives: z.record(z.string(), z.string()).optional(),
  history: z.array(z.string().max(64)).optional(),
});

const apps = new TtlCache<AppConfig | null>({ ttlMs: STATE_TTL_MS, maxEntries: MAX_ENTRIES });
const channels = new TtlCache<LoadedChannel | null>({ ttlMs: STATE_TTL_MS, maxEntries: MAX_ENTRIES });
const keys = new TtlCache<CurrentKeys>({ ttlMs: STATE_TTL_MS, maxEntries: 1 });

/** The routing config of `app` (KV `app:<app>`), or null when there is no such app. */
export function loadApp(kv: KVNamespace, app: string, ttlMs = STATE_TTL_MS): Promise<AppConfig | null> {
  const key = appKey(app);
  return apps.get(
    key,
    async () => {
      const raw = await kv.get(key, 'json');
      return raw === null ? null : appProjectionSchema.parse(raw);
    },
    ttlMs,
  );
}

/** The decoded state of one channel (KV `channel:<app>:<channel>`), or null when it is not projected. */
export function loadChannel(
  kv: KVNamespace,
  app: string,
  channel: string,
  ttlMs = STATE_TTL_MS,
): Promise<LoadedChannel | null> {
  return channels.get(channelKey(app, channel), () => loadVerifiedChannel(kv, app, channel, ttlMs), ttlMs);
}

/** The current keys document (KV `keys:current`), decoded; cached like the channels it verifies. */
export function loadKeys(kv: KVNamespace, ttlMs = STATE_TTL_MS): Promise<CurrentKeys> {
  return keys.get(
    KEYS_KEY,
    async () => {
      const text = await kv.get(KEYS_KEY, 'text');
      if (text === null) return { status: 'absent' };
      try {
        // Not chain-verified here: the admin API verified it against the previous version before
        // projecting it, and clients verify the chain to their pinned root themselves.
        return { status: 'ok', keys: decodeAs('keys', keysProjectionSchema.parse(JSON.parse(text)).jws) };
      } catch (error) {
        return { status: 'malformed', reason: messageOf(error) };
      }
    },
    ttlMs,
  );
}

/**
 * The channels this isolate currently refuses to serve, each loaded again through the cache first
 * so that one fixed (or removed) since drops out: `/healthz` reports what is still broken.
 */
export async function unverifiedChannels(kv: KVNamespace, ttlMs = STATE_TTL_MS): Promise<RefusedChannel[]> {
  await Promise.all(refusedChannels().map(({ app, channel }) => loadChannel(kv, app, channel, ttlMs)));
  return refusedChannels();
}

/**
 * Forgets the cached value of one KV key of the projection: the projection writer calls it after each
 * write, so the isolate that made a change reads it back at once (a `promote` followed by a check
 * through the same isolate, as under `wrangler dev`, sees the promotion). Other isolates see it when
 * their entry expires, as they see KV's own propagation.
 */
export function forgetProjection(key: string): void {
  keys.delete(key);
  apps.delete(key);
  channels.delete(key);
}

/** Forgets every cached projection (tests change KV between requests). */
export function clearStateCache(): void {
  apps.clear();
  channels.clear();
  keys.clear();
}

async function loadVerifiedChannel(
  kv: KVNamespace,
  app: string,
  channel: string,
  ttlMs: number,
): Promise<LoadedChannel | null> {
  // KV failures throw from here, outside the try: an outage is a 5xx, not a refusal to cache.
  const text = await kv.get(channelKey(app, channel), 'text');
  if (text === null) {
    clearRefusal(app, channel);
    return null;
  }
  const first = await verifyProjection(text, await loadKeys(kv, ttlMs), app, channel);
  // The cached keys document may be older than the projection (a first `keys register`, or a rotation,
  // within the last few seconds): before refusing, look at keys:current once more, uncached.
  const result = first.verified
    ? first
    : await verifyProjection(text, await reloadKeys(kv, ttlMs), app, channel);
  if (result.verified) clearRefusal(app, channel);
  else recordRefusal(app, channel, result.reason);
  return result;
}

/** Drops the cached keys document and loads it again. */
function reloadKeys(kv: KVNamespace, ttlMs: number): Promise<CurrentKeys> {
  keys.clear();
  return loadKeys(kv, ttlMs);
}

async function verifyProjection(
  text: string,
  current: CurrentKeys,
  app: string,
  channel: string,
): Promise<LoadedChannel> {
  try {
    if (current.status !== 'ok') {
      throw new UnverifiedProjectionError(
        current.status === 'absent'
          ? 'there is no keys document (keys:current) to verify it against'
          : `keys:current is unusable: ${current.reason}`,
      );
    }
    const projection: ChannelProjection = channelProjectionSchema.parse(JSON.parse(text));
    await verifyChannelProjection(projection, current.keys, { app, channel, now: new Date() });
    return parseChannel(projection, await sha256Hex(projection.snapshot));
  } catch (error) {
    return { verified: false, reason: messageOf(error) };
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function parseChannel(
  projection: z.infer<typeof channelProjectionSchema>,
  snapshotSha256: string,
): CachedChannel {
  const snapshot = decodeAs('channel', projection.snapshot);
  const releases = decodeAll('release', projection.releases);
  return {
    verified: true,
    snapshotJws: projection.snapshot,
    snapshotJsonBytes: new TextEncoder().encode(JSON.stringify(projection.snapshot)),
    snapshotSha256,
    snapshot,
    index: indexChannel(snapshot, releases),
    releases,
    releaseJws: new Map(Object.entries(projection.releases)),
    yanks: decodeAll('yank', projection.yanks),
    yankJws: new Map(Object.entries(projection.yanks)),
    expoDirectives: new Map(Object.entries(projection.expo_directives ?? {})),
    channelVersions: new Set(projection.history ?? snapshot.releases.map((r) => r.version)),
    answers: new AnswerMemo(),
  };
}

function decodeAll<K extends 'release' | 'yank'>(
  kind: K,
  byVersion: Record<string, string>,
): Map<string, PayloadOf<K>> {
  const decoded = new Map<string, PayloadOf<K>>();
  for (const [version, jws] of Object.entries(byVersion)) {
    const payload = decodeAs(kind, jws);
    if (payload.version !== version)
      throw new Error(`projected ${kind} under ${version} is for ${payload.version}`);
    decoded.set(version, payload);
  }
  return decoded;
}

function decodeAs<K extends DocumentKind>(kind: K, jws: string): PayloadOf<K> {
  const { header, payload } = decodeDocument(jws);
  if (header.typ !== TYP[kind])
    throw new Error(`projected document has typ ${header.typ}, expected ${TYP[kind]}`);
  return PAYLOAD_SCHEMAS[kind].parse(payload) as PayloadOf<K>;
}
