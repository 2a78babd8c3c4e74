/**
 * Which keys this install trusts (DESIGN §2): the newest keys document that chains to the pinned
 * roots. The verified document is kept in storage, so a later check only walks the versions
 * published since, each signed by a root of the one before it.
 */
import * as z from 'zod';
import type { KeysPayload, PublicJwk } from '../protocol/documents.ts';
import { DocumentError, decodeDocument, verifyDocument } from '../protocol/jws.ts';
import { verifyKeysChain } from '../protocol/keys.ts';
import { messageOf, UpdraftError } from './errors.ts';
import { getJson } from './http.ts';
import type { StorageAdapter } from './index.ts';
import { readJson, storageKeys, type TrustedKeys, trustedKeysSchema, writeJson } from './store.ts';

/** The most keys versions one check walks: rotations are rare; a claimed version 10^9 is not fetched. */
export const MAX_CHAIN_STEPS = 256;

const keysAnswerSchema = z.object({ keys: z.string() });

export interface KeysContext {
  fetch: typeof fetch;
  base: string;
  app: string;
  storage: StorageAdapter;
  rootKeys: readonly PublicJwk[];
  now: Date;
}

/** The trusted keys payload, walking and verifying the chain from what storage trusts to the server's newest. */
export async function trustedKeys(ctx: KeysContext): Promise<KeysPayload> {
  const current = await fetchKeys(ctx, `${ctx.base}/v1/keys`);
  const newest = claimedVersion(current);
  const pins = pinsOf(ctx.rootKeys);
  const key = storageKeys(ctx.app).keys;
  const stored = await readJson(ctx.storage, key, trustedKeysSchema);
  const trusted = stored?.pins === pins ? stored : undefined;

  if (trusted && newest <= trusted.version) return stillTrusted(trusted, current, newest, ctx.now);

  const from = trusted ? trusted.version + 1 : 1;
  if (newest - from + 1 > MAX_CHAIN_STEPS) {
    throw new UpdraftError(
      'keys_untrusted',
      `keys chain from version ${from} to ${newest} is longer than ${MAX_CHAIN_STEPS} steps`,
    );
  }
  const chain: string[] = [];
  for (let version = from; version < newest; version++) {
    const jws = await fetchKeys(ctx, `${ctx.base}/v1/keys/${version}`);
    if (claimedVersion(jws) !== version) {
      throw new UpdraftError(
        'keys_untrusted',
        `the server's keys document ${version} claims another version`,
      );
    }
    chain.push(jws);
  }
  chain.push(current);

  let payload: KeysPayload;
  try {
    const roots = trusted ? trusted.payload.root : ctx.rootKeys;
    const start = trusted ? 0 : await firstPinned(chain, ctx.rootKeys);
    payload = await verifyKeysChain(roots, chain.slice(start), { now: ctx.now });
  } catch (error) {
    if (!(error instanceof DocumentError)) throw error;
    throw new UpdraftError(
      'keys_untrusted',
      `keys document version ${newest} does not chain to the ${trusted ? `trusted version ${trusted.version}` : 'pinned root keys'}: ${error.message}`,
    );
  }
  const next: TrustedKeys = { pins, version: payload.version, jws: current, payload };
  await writeJson(ctx.storage, key, next);
  return payload;
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

/**
 * On a first run, where the chain starts: version 1, or, for an app built after a root rotation
 * that pins the new root, the oldest document that root signed. Every later link is still checked.
 */
async function firstPinned(chain: readonly string[], pinned: readonly PublicJwk[]): Promise<number> {
  for (const [index, jws] of chain.entries()) {
    try {
      await verifyDocument('keys', jws, pinned, { checkExpiry: false });
      return index;
    } catch (error) {
      if (!(error instanceof DocumentError)) throw error;
    }
  }
  throw new DocumentError('unknown_key', 'no keys document is signed by a pinned root key');
}

async function fetchKeys(ctx: KeysContext, url: string): Promise<string> {
  const parsed = keysAnswerSchema.safeParse(await getJson(ctx.fetch, 'keys', url));
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

/** The pinned roots as stored alongside trust: the sorted kids. */
export function pinsOf(rootKeys: readonly PublicJwk[]): string {
  return rootKeys
    .map((k) => k.kid)
    .sort()
    .join(',');
}
