/**
 * The data plane's view of the KV projection, parsed once and kept in the isolate for a few seconds
 * (DESIGN §1): a warm isolate answers checks from memory, with no KV read and no re-parsing.
 *
 * The Worker trusts these documents without verifying signatures: it signed the snapshots itself and
 * verified every release and yank before projecting them. It still checks their shape and `typ`, so a
 * corrupt projection fails loudly instead of producing a wrong answer.
 */
import { z } from 'zod';
import { type AppConfig, channelInfoSchema, channelRuleSchema } from '../../protocol/channels.ts';
import {
  type ChannelPayload,
  type DocumentKind,
  nameSchema,
  PAYLOAD_SCHEMAS,
  type PayloadOf,
  type ReleasePayload,
  TYP,
  type YankPayload,
} from '../../protocol/documents.ts';
import { decodeDocument } from '../../protocol/jws.ts';
import { appKey, channelKey } from './projection.ts';

/** How long a parsed projection is served from memory. KV's own ~60 s propagation dominates anyway. */
export const STATE_TTL_MS = 5_000;
const MAX_ENTRIES = 1_000;

/** One channel's signed state, decoded, with the documents indexed by version. */
export interface CachedChannel {
  snapshotJws: string;
  snapshot: ChannelPayload;
  releases: ReadonlyMap<string, ReleasePayload>;
  releaseJws: ReadonlyMap<string, string>;
  yanks: ReadonlyMap<string, YankPayload>;
  yankJws: ReadonlyMap<string, string>;
}

export interface TtlCacheOptions {
  ttlMs: number;
  maxEntries: number;
  /** Clock in milliseconds; injectable for tests. */
  now?: () => number;
}

interface Entry<T> {
  expiresAt: number;
  value: Promise<T>;
}

/**
 * Values live `ttlMs`; concurrent misses for one key share one load; a failed load is not kept; the
 * number of keys is bounded so that requests for random names cannot grow memory without limit.
 */
export class TtlCache<T> {
  readonly #entries = new Map<string, Entry<T>>();
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;

  constructor(options: TtlCacheOptions) {
    this.#ttlMs = options.ttlMs;
    this.#maxEntries = options.maxEntries;
    this.#now = options.now ?? Date.now;
  }

  get(key: string, load: () => Promise<T>): Promise<T> {
    const now = this.#now();
    const hit = this.#entries.get(key);
    if (hit && hit.expiresAt > now) return hit.value;

    const entry: Entry<T> = { expiresAt: now + this.#ttlMs, value: load() };
    // Delete then set keeps the Map ordered oldest-first, so eviction drops the stalest keys.
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    this.#evict(now);
    entry.value.catch(() => {
      if (this.#entries.get(key) === entry) this.#entries.delete(key);
    });
    return entry.value;
  }

  clear(): void {
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }

  #evict(now: number): void {
    if (this.#entries.size <= this.#maxEntries) return;
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt <= now) this.#entries.delete(key);
    }
    for (const key of this.#entries.keys()) {
      if (this.#entries.size <= this.#maxEntries) break;
      this.#entries.delete(key);
    }
  }
}

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
});

const apps = new TtlCache<AppConfig | null>({ ttlMs: STATE_TTL_MS, maxEntries: MAX_ENTRIES });
const channels = new TtlCache<CachedChannel | null>({ ttlMs: STATE_TTL_MS, maxEntries: MAX_ENTRIES });

/** The routing config of `app` (KV `app:<app>`), or null when there is no such app. */
export function loadApp(kv: KVNamespace, app: string): Promise<AppConfig | null> {
  const key = appKey(app);
  return apps.get(key, async () => {
    const raw = await kv.get(key, 'json');
    return raw === null ? null : appProjectionSchema.parse(raw);
  });
}

/** The decoded state of one channel (KV `channel:<app>:<channel>`), or null when it is not projected. */
export function loadChannel(kv: KVNamespace, app: string, channel: string): Promise<CachedChannel | null> {
  const key = channelKey(app, channel);
  return channels.get(key, async () => {
    const raw = await kv.get(key, 'json');
    return raw === null ? null : parseChannel(channelProjectionSchema.parse(raw));
  });
}

/** Forgets every cached projection (tests change KV between requests). */
export function clearStateCache(): void {
  apps.clear();
  channels.clear();
}

function parseChannel(projection: z.infer<typeof channelProjectionSchema>): CachedChannel {
  return {
    snapshotJws: projection.snapshot,
    snapshot: decodeAs('channel', projection.snapshot),
    releases: decodeAll('release', projection.releases),
    releaseJws: new Map(Object.entries(projection.releases)),
    yanks: decodeAll('yank', projection.yanks),
    yankJws: new Map(Object.entries(projection.yanks)),
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
