/**
 * Which keys this install trusts (docs/protocol.md §2): the newest keys document that chains to the pinned
 * roots. The verified document is kept in storage and reused while it knows every key a check
 * needs, is fresh and is not near expiry, so most checks fetch no keys at all. A refresh walks only
 * the versions published since, verifying each link as it arrives (one link in memory at a time,
 * each capped at MAX_KEYS_BODY) and stopping at the first that does not chain.
 */
import * as z from 'zod';
import type { KeysPayload, PublicJwk } from '../protocol/documents.ts';
import { DocumentError, decodeDocument, verifyDocument } from '../protocol/jws.ts';
import { verifyKeysLink } from '../protocol/keys.ts';
import { messageOf, UpdraftError } from './errors.ts';
import { getJson, type Http, MAX_KEYS_BODY } from './http.ts';
import { readJson, storageKeys, type TrustedKeys, trustedKeysSchema, writeJson } from './store.ts';
import type { StorageAdapter } from './types.ts';

/** The most keys versions one refresh walks: rotations are rare; a claimed version 10^9 is not fetched. */
export const MAX_CHAIN_STEPS = 256;
/**
 * How long verified keys are used without asking the server again. It bounds how long a key that a
 * newer keys document dropped (a stolen release or online key) stays trusted by a client that
 * meets no document naming an unknown key.
 */
export const KEYS_MAX_AGE_MS = 24 * 3600 * 1000;
/** Keys are refreshed this long before the trusted document expires, so a renewal is met in time. */
export const KEYS_REFRESH_BEFORE_EXPIRY_MS = 30 * 24 * 3600 * 1000;

const keysAnswerSchema = z.object({ keys: z.string() });

export interface KeysContext {
  http: Http;
  base: string;
  app: string;
  storage: StorageAdapter;
  rootKeys: readonly PublicJwk[];
  now: Date;
  signal: AbortSignal;
}

/** The keys a check's documents are signed by: kids read (unverified) from their headers. */
export interface NeededKeys {
  online: readonly string[];
  release: readonly string[];
}

/**
 * The trusted keys payload: the stored one when it serves `needed` and is fresh (unless `refresh`),
 * otherwise the server's newest, verified link by link from what storage trusts (or from the pinned
 * roots). `fetched` says which.
 */
export async function trustedKeys(
  ctx: KeysContext,
  needed: NeededKeys,
  { refresh = false }: { refresh?: boolean } = {},
): Promise<{ payload: KeysPayload; fetched: boolean }> {
  const pins = pinsOf(ctx.rootKeys);
  const key = storageKeys(ctx.app).keys;
  const stored = await readJson(ctx.storage, key, trustedKeysSchema);
  const trusted = stored?.pins === pins ? stored : undefined;
  if (trusted && !refresh && usable(trusted, needed, ctx.now))
    return { payload: trusted.payload, fetched: false };

  const current = await fetchKeys(ctx, `${ctx.base}/v1/keys`);
  const newest = claimedVersion(current);
  const payload =
    trusted && newest <= trusted.version
      ? stillTrusted(trusted, current, newest, ctx.now)
      : await walk(ctx, trusted, current, newest);
  const next: TrustedKeys = {
    pins,
    version: payload.version,
    jws: payload === trusted?.payload ? trusted.jws : current,
    payload,
    checked_at: ctx.now.toISOString(),
  };
  await writeJson(ctx.storage, key, next);
  return { payload, fetched: true };
}

/** Stored keys serve a check without a fetch: every needed kid known in its role, fresh, not near expiry. */
function usable(trusted: TrustedKeys, needed: NeededKeys, now: Date): boolean {
  const checked = trusted.checked_at === undefined ? Number.NaN : Date.parse(trusted.checked_at);
  const age = now.getTime() - checked;
  // A checked_at in the future (a clock set back) is no proof of freshness either.
  if (!(age >= 0 && age < KEYS_MAX_AGE_MS)) return false;
  if (Date.parse(trusted.payload.expires) - now.getTime() < KEYS_REFRESH_BEFORE_EXPIRY_MS) return false;
  const has = (keys: readonly PublicJwk[], kid: string) => keys.some((k) => k.kid === kid);
  return (
    needed.online.every((kid) => has(trusted.payload.online, kid)) &&
    needed.release.every((kid) => has(trusted.payload.release, kid))
  );
}

/**
 * Verifies the server's newest document `current` (version `newest`). A document a pinned root signs
 * is trusted as it is (a build pinning a new root, or a first run). Otherwise the chain is walked
 * from the version after the trusted one, or on a first run from version 1, where links before the
 * first one a pinned root signs are skipped without being kept (an app built after a root rotation
 * pins a root that only signs later versions).
 */
async function walk(
  ctx: KeysContext,
  trusted: TrustedKeys | undefined,
  current: string,
  newest: number,
): Promise<KeysPayload> {
  const pinned = await verifiedOrUndefined(ctx.rootKeys, current, ctx.now);
  if (pinned) return pinned;

  const from = trusted ? trusted.version + 1 : 1;
  if (newest - from + 1 > MAX_CHAIN_STEPS) {
    throw new UpdraftError(
      'keys_untrusted',
      `keys chain from version ${from} to ${newest} is longer than ${MAX_CHAIN_STEPS} steps`,
    );
  }
  let previous = trusted?.payload;
  for (let version = from; version < newest; version++) {
    const jws = await fetchKeys(ctx, `${ctx.base}/v1/keys/${version}`);
    if (claimedVersion(jws) !== version) {
      throw new UpdraftError(
        'keys_untrusted',
        `the server's keys document ${version} claims another version`,
      );
    }
    previous = previous
      ? await link(previous, jws, version, { checkExpiry: false })
      : await verifiedOrUndefined(ctx.rootKeys, jws, undefined);
  }
  if (!previous) {
    throw new UpdraftError(
      'keys_untrusted',
      `keys document version ${newest} does not chain to the pinned root keys: no keys document is signed by a pinned root key`,
    );
  }
  return link(previous, current, newest, { now: ctx.now });
}

/** One link that must chain from `previous`; the first that does not ends the walk. */
async function link(
  previous: KeysPayload,
  jws: string,
  version: number,
  options: { now?: Date; checkExpiry?: boolean },
): Promise<KeysPayload> {
  try {
    return await verifyKeysLink(previous, jws, options);
  } catch (error) {
    if (!(error instanceof DocumentError)) throw error;
    throw new UpdraftError(
      'keys_untrusted',
      `keys document version ${version} does not chain to the trusted version ${previous.version}: ${error.message}`,
    );
  }
}

/**
 * `jws` verified against the pinned roots, or undefined when no pinned root signed it. Any other
 * fault of a document that names a pinned root (a bad signature, an expired newest) is a refusal.
 */
async function verifiedOrUndefined(
  roots: readonly PublicJwk[],
  jws: string,
  now: Date | undefined,
): Promise<KeysPayload | undefined> {
  try {
    return await verifyDocument('keys', jws, roots, now ? { now } : { checkExpiry: false });
  } catch (error) {
    if (!(error instanceof DocumentError)) throw error;
    if (error.code === 'unknown_key') return undefined;
    throw new UpdraftError(
      'keys_untrusted',
      `keys document signed by a pinned root refused: ${error.message}`,
    );
  }
}

/** The server's newest is not newer than what storage trusts: keep that, if it is still valid. */
function stillTrusted(trusted: TrustedKeys, current: string, newest: number, now: Date): KeysPayload {
  // Same version, other bytes: the server shows two different documents for one version.
  if (newest === trusted.version && current !== trusted.jws) {
    throw new UpdraftError(
      'keys_untrusted',
      `the server's keys document version ${newest} differs from the one this client verified`,
    );
  }
  // An older one (a cache that has not seen a rotation yet) changes nothing: the newer stays trusted.
  if (Date.parse(trusted.payload.expires) <= now.getTime()) {
    throw new UpdraftError(
      'keys_untrusted',
      `trusted keys document version ${trusted.version} expired at ${trusted.payload.expires}`,
    );
  }
  return trusted.payload;
}

async function fetchKeys(ctx: KeysContext, url: string): Promise<string> {
  const answer = await getJson(ctx.http, 'keys', url, { signal: ctx.signal, max: MAX_KEYS_BODY });
  const parsed = keysAnswerSchema.safeParse(answer);
  if (!parsed.success)
    throw new UpdraftError('server_error', `keys: ${url} did not answer {"keys": "<jws>"}`);
  return parsed.data.keys;
}

/** The version a keys document claims, read before verification only to know which links to fetch. */
function claimedVersion(jws: string): number {
  let payload: unknown;
  try {
    payload = decodeDocument(jws).payload;
  } catch (error) {
    throw new UpdraftError('keys_untrusted', `keys document is malformed: ${messageOf(error)}`);
  }
  const version = typeof payload === 'object' && payload !== null && 'version' in payload && payload.version;
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) {
    throw new UpdraftError('keys_untrusted', 'keys document has no valid version');
  }
  return version;
}

/** The kid in a document's header, unverified: it only says which keys to have at hand. */
export function kidOf(jws: string | undefined): string[] {
  if (jws === undefined) return [];
  try {
    return [decodeDocument(jws).header.kid];
  } catch {
    // Verification refuses it with the proper code later.
    return [];
  }
}

/** The pinned roots as stored alongside trust: the sorted kids. */
export function pinsOf(rootKeys: readonly PublicJwk[]): string {
  return rootKeys
    .map((k) => k.kid)
    .sort()
    .join(',');
}
