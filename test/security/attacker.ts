/**
 * Attacker tooling for the security tests: what someone holding a capability (storage write access,
 * the online key, a network position) can do, built from the same protocol functions the project
 * uses, so an attack fails only because a defence stops it, never because the tool is clumsy.
 *
 * Every test drives the REAL Worker (`exports.default.fetch`) and the REAL SDK (`createUpdater`).
 */
import { env, exports } from 'cloudflare:workers';
import { expect } from 'vitest';
import {
  type CheckResult,
  createUpdater,
  type Updater,
  type UpdaterOptions,
  UpdraftError,
  type UpdraftErrorCode,
} from '../../src/client/index.ts';
import { MemoryStorage } from '../../src/client/memory-storage.ts';
import type { CheckResponse } from '../../src/protocol/api.ts';
import type { ChannelPayload, DocumentKind, PayloadOf } from '../../src/protocol/documents.ts';
import { sha256Hex } from '../../src/protocol/encoding.ts';
import { decodeDocument, type PrivateJwk, signDocument } from '../../src/protocol/jws.ts';
import { parsePrivateJwk, publicJwk } from '../../src/protocol/keys.ts';
import { type ChannelProjection, channelKey } from '../../src/worker/storage/projection.ts';
import { clearStateCache } from '../../src/worker/storage/state-cache.ts';
import { bootstrapKeys, createApp, ORIGIN, promote, publish, uniqueApp } from '../worker/support/fixtures.ts';

export { MemoryStorage, ORIGIN };

// ---------------------------------------------------------------------------------------------
// The network: the Worker as the SDK sees it, and a man in the middle.

/** The real Worker behind a plain `fetch`, as the SDK calls it. */
export const workerFetch: typeof fetch = (input, init) => exports.default.fetch(new Request(input, init));

/** What a man in the middle sees of one exchange. */
export interface Exchange {
  request: Request;
  url: URL;
  /** The genuine answer, fetched lazily (a replaying attacker never needs it); or the answer to `other`. */
  upstream: (other?: Request) => Promise<Response>;
}

/** Rewrites one exchange: return a response to answer with, or undefined to pass the genuine one on. */
export type Transform = (exchange: Exchange) => Promise<Response | undefined> | Response | undefined;

/**
 * A man in the middle between the SDK and `upstream`: every request goes through `transform`.
 * TLS does not help against this attacker: it is the CDN, a corporate proxy, or a compromised edge.
 */
export function mitm(upstream: typeof fetch, transform: Transform): typeof fetch {
  return async (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    let genuine: Promise<Response> | undefined;
    const exchange: Exchange = {
      request,
      url,
      upstream: (other) => {
        if (other) return upstream(other);
        genuine ??= upstream(request.clone());
        return genuine;
      },
    };
    return (await transform(exchange)) ?? exchange.upstream();
  };
}

const CHECK_PATH = /^\/v1\/apps\/[^/]+\/check$/;
const ARTIFACT_PATH = /^\/v1\/apps\/[^/]+\/artifacts\//;
const KEYS_PATH = /^\/v1\/keys(?:\/(\d+))?$/;

/** A JSON response such as the Worker would send. */
export function jsonResponse(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json', 'Cache-Control': 'private, no-cache' },
  });
}

/**
 * Rewrites the check answer (JSON) with `edit`; everything else passes. The attacker forwards the
 * check without `snapshot=` (docs/protocol.md §4), so that it always sees, and can rewrite, the whole answer.
 */
export function onCheck(
  edit: (answer: CheckResponse, exchange: Exchange) => CheckResponse | Promise<CheckResponse>,
): Transform {
  return async (exchange) => {
    if (!CHECK_PATH.test(exchange.url.pathname)) return undefined;
    const whole = new URL(exchange.url);
    whole.searchParams.delete('snapshot');
    const genuine = await exchange.upstream(new Request(whole, exchange.request));
    if (genuine.status !== 200) return genuine;
    return jsonResponse(await edit(await genuine.json<CheckResponse>(), exchange));
  };
}

/** Answers artifact downloads with `respond`; everything else passes. */
export function onArtifact(respond: (exchange: Exchange) => Response | Promise<Response>): Transform {
  return (exchange) => (ARTIFACT_PATH.test(exchange.url.pathname) ? respond(exchange) : undefined);
}

/**
 * Serves `documents` as the keys documents: `GET /v1/keys` gets the last one, `GET /v1/keys/{n}` the
 * one of version n (404 for others, as the Worker would answer).
 */
export function serveKeys(documents: readonly string[]): Transform {
  const byVersion = new Map(documents.map((jws) => [versionOfKeys(jws), jws]));
  const newest = documents.at(-1);
  return (exchange) => {
    const match = KEYS_PATH.exec(exchange.url.pathname);
    if (!match) return undefined;
    const jws = match[1] === undefined ? newest : byVersion.get(Number(match[1]));
    if (jws === undefined) {
      return jsonResponse({ error: { code: 'unknown_keys_version', message: 'no such version' } }, 404);
    }
    return jsonResponse({ keys: jws });
  };
}

/** Tries each transform in turn; the first that answers wins. */
export function chain(...transforms: Transform[]): Transform {
  return async (exchange) => {
    for (const transform of transforms) {
      const response = await transform(exchange);
      if (response) return response;
    }
    return undefined;
  };
}

/** A passive tap: keeps the body text of every check answer, so it can be replayed later. */
export function recorder(): { transform: Transform; checks: string[] } {
  const checks: string[] = [];
  return {
    checks,
    transform: async (exchange) => {
      if (!CHECK_PATH.test(exchange.url.pathname)) return undefined;
      const genuine = await exchange.upstream();
      const text = await genuine.text();
      if (genuine.status === 200) checks.push(text);
      return new Response(text, { status: genuine.status, headers: genuine.headers });
    },
  };
}

/** Answers every check with a recorded body (a replay or freeze attack). */
export function replayCheck(body: string): Transform {
  return (exchange) =>
    CHECK_PATH.test(exchange.url.pathname)
      ? new Response(body, { headers: { 'Content-Type': 'application/json' } })
      : undefined;
}

/**
 * A body that never ends (endless data), produced only as it is read, so `produced()` says exactly
 * how far the reader went. `cancelled()` tells whether the reader hung up.
 */
export function endlessBody(chunkSize = 16 * 1024): {
  body: ReadableStream<Uint8Array>;
  produced: () => number;
  cancelled: () => boolean;
} {
  let produced = 0;
  let cancelled = false;
  const chunk = new Uint8Array(chunkSize).fill(0x41);
  const body = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        produced += chunk.length;
        controller.enqueue(chunk.slice());
      },
      cancel() {
        cancelled = true;
      },
    },
    // Nothing is produced ahead of a read.
    { highWaterMark: 0 },
  );
  return { body, produced: () => produced, cancelled: () => cancelled };
}

// ---------------------------------------------------------------------------------------------
// Storage: an attacker with write access to KV and R2 (a leaked Cloudflare API token).

/** The KV projection of a channel, as the Worker reads it. */
export async function readProjection(app: string, channel = 'stable'): Promise<ChannelProjection> {
  const value = await env.STATE.get<ChannelProjection>(channelKey(app, channel), 'json');
  if (!value) throw new Error(`no projection for ${app}/${channel}`);
  return value;
}

/** Overwrites the KV projection of a channel; the Worker's isolate cache is dropped so it is read now. */
export async function writeProjection(
  app: string,
  channel: string,
  projection: ChannelProjection,
): Promise<void> {
  await env.STATE.put(channelKey(app, channel), JSON.stringify(projection));
  clearStateCache();
}

/** Overwrites an R2 object (artifacts are never overwritten by Updraft itself; an attacker may). */
export async function overwriteObject(key: string, bytes: Uint8Array): Promise<void> {
  await env.BUCKET.put(key, bytes);
}

// ---------------------------------------------------------------------------------------------
// Documents: forging, tampering and re-signing.

/** The Worker's online signing key, as an attacker who stole `UPDRAFT_ONLINE_KEY` holds it. */
export function stolenOnlineKey(): PrivateJwk {
  return parsePrivateJwk(env.UPDRAFT_ONLINE_KEY);
}

/** The unverified payload of a document (what an attacker reads to forge a variant). */
export function payloadOf<K extends DocumentKind>(_kind: K, jws: string): PayloadOf<K> {
  return decodeDocument(jws).payload as PayloadOf<K>;
}

function versionOfKeys(jws: string): number {
  return payloadOf('keys', jws).version;
}

const utf8 = new TextEncoder();

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replaceAll('+', '-')
    .replaceAll('/', '_')
    .replace(/=+$/, '');
}

/**
 * The same header and signature over an edited payload: what an attacker without the signing key
 * produces when they change a document (the signature no longer matches).
 */
export function tamperPayload<K extends DocumentKind>(
  kind: K,
  jws: string,
  edit: (payload: PayloadOf<K>) => PayloadOf<K>,
): string {
  const [header, , signature] = jws.split('.');
  const payload = base64url(utf8.encode(JSON.stringify(edit(payloadOf(kind, jws)))));
  return `${header}.${payload}.${signature}`;
}

/** Flips one bit of one byte of a document's payload, keeping it valid JSON of the same shape. */
export function flipPayloadByte(jws: string): string {
  return tamperPayload('release', jws, (payload) => {
    // A bit flip in the notes: the smallest change, in a field no schema can catch.
    const notes = payload.notes.length > 0 ? payload.notes : 'x';
    const flipped = String.fromCharCode((notes.charCodeAt(0) ^ 0x01) & 0x7f) + notes.slice(1);
    return { ...payload, notes: flipped };
  });
}

/** Signs a channel snapshot with `key` (default: the stolen online key). */
export function signSnapshot(payload: ChannelPayload, key: PrivateJwk = stolenOnlineKey()): Promise<string> {
  return signDocument('channel', payload, key);
}

/**
 * Re-signs a genuine snapshot after `edit`, one revision higher (so a client that saw the original
 * does not refuse it as a replay): what an attacker holding the online key serves.
 */
export async function resignSnapshot(
  jws: string,
  edit: (payload: ChannelPayload) => ChannelPayload | Promise<ChannelPayload>,
  key: PrivateJwk = stolenOnlineKey(),
): Promise<string> {
  const genuine = payloadOf('channel', jws);
  const edited = await edit({ ...genuine, revision: genuine.revision + 1 });
  return signSnapshot(edited, key);
}

/** A snapshot entry listing `jws` at 100 % (what the attacker adds to a forged snapshot). */
export async function listing(version: string, jws: string): Promise<ChannelPayload['releases'][number]> {
  return {
    version,
    release_sha256: await sha256Hex(jws),
    rollout: { percent_bp: 10_000, salt: '0'.repeat(32), state: 'complete' },
  };
}

/** A snapshot entry listing a yank statement `jws`. */
export async function yankListing(
  version: string,
  rollbackTo: string | null,
  jws: string,
): Promise<ChannelPayload['yanked'][number]> {
  return { version, yank_sha256: await sha256Hex(jws), rollback_to: rollbackTo };
}

// ---------------------------------------------------------------------------------------------
// The genuine state an attack starts from: everything published and promoted through the admin API.

/**
 * A fresh app (channel `stable`) with `versions` published with the release key and promoted to
 * everyone, in order. Returns the app and each version's genuine manifest.
 */
export async function genuineApp(
  versions: readonly string[],
  prefix = 'sec',
): Promise<{ app: string; manifests: Map<string, string> }> {
  const app = await createApp(uniqueApp(prefix));
  const manifests = new Map<string, string>();
  for (const version of versions) {
    manifests.set(version, await publish(app, version));
    const promoted = await promote(app, 'stable', version);
    if (promoted.status !== 200) throw new Error(`promote ${version}: ${JSON.stringify(promoted.body)}`);
  }
  clearStateCache();
  return { app, manifests };
}

/** The genuine manifest of `version`, failing the test when there is none. */
export function manifestOf(manifests: ReadonlyMap<string, string>, version: string): string {
  const jws = manifests.get(version);
  if (jws === undefined) throw new Error(`no manifest for ${version}`);
  return jws;
}

// ---------------------------------------------------------------------------------------------
// The victim: a real SDK client.

export interface VictimOptions extends Partial<UpdaterOptions> {
  app: string;
  currentVersion: string;
}

/**
 * A client pinned to the fixture's root key, on linux-x64, polling the real Worker (or whatever
 * `fetch` is given: a man in the middle wraps `workerFetch`).
 */
export async function victim(options: VictimOptions): Promise<Updater> {
  const keys = await bootstrapKeys();
  return createUpdater({
    server: ORIGIN,
    channel: 'stable',
    rootKeys: [publicJwk(keys.root)],
    storage: new MemoryStorage(),
    platform: 'linux',
    arch: 'x64',
    clientId: `victim-${uniqueApp('c')}`,
    fetch: workerFetch,
    ...options,
  });
}

/** Awaits `action` and returns the code of the UpdraftError it throws; fails if it does not throw one. */
export async function refusal(action: Promise<unknown>): Promise<UpdraftErrorCode> {
  try {
    await action;
  } catch (error) {
    if (error instanceof UpdraftError) return error.code;
    throw new Error(`expected an UpdraftError, got ${String(error)}`);
  }
  throw new Error('expected the SDK to refuse, but it accepted');
}

/** Asserts that `action` is refused with exactly `code`. */
export async function expectRefusal(action: Promise<unknown>, code: UpdraftErrorCode): Promise<void> {
  expect(await refusal(action)).toBe(code);
}

/** Narrows a check result to one that offers something, failing the test otherwise. */
export function offered(result: CheckResult): Extract<CheckResult, { status: 'update' | 'rollback' }> {
  if (result.status === 'none') throw new Error(`expected an offer, got ${JSON.stringify(result)}`);
  return result;
}
