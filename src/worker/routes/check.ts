/**
 * `GET /v1/apps/{app}/check`: what one client should run (docs/protocol.md §3, docs/api.md). The hot path:
 * three KV reads on a cold isolate (app, channel, keys), none on a warm one; no D1, no R2, and no
 * parsing or verifying of documents, which happens once per cache fill (storage/state-cache.ts).
 */
import { Hono } from 'hono';
import * as z from 'zod';
import type { CheckResponse, ElidedCheckResponse, UnverifiedCheckResponse } from '../../protocol/api.ts';
import type { Decision } from '../../protocol/decision.ts';
import { NAME_PATTERN, nameSchema } from '../../protocol/documents.ts';
import { sha256Hex } from '../../protocol/encoding.ts';
import { artifactUrl, type ServeContext, serve } from '../adapters/pipeline.ts';
import { etagMatches } from '../http/caching.ts';
import { errorFor } from '../http/error-handling.ts';
import { PUBLIC_HEADERS, withHeaders } from '../http/headers.ts';
import { validate } from '../http/validate.ts';
import type { EncodedAnswer } from '../storage/answer-memo.ts';
import type { CachedChannel } from '../storage/state-cache.ts';
import type { AppEnv } from '../types.ts';
import { parseCheckQuery } from './check-query.ts';

const CACHE_CONTROL = 'private, no-cache';

export const check = new Hono<AppEnv>();

check.get('/:app/check', validate('param', z.object({ app: nameSchema })), (c) =>
  answerCheck(c, c.req.valid('param').app),
);

/** The check's path with an app segment nameSchema admits as it stands (nothing to decode or refuse). */
const CHECK_PATH = new RegExp(`^/v1/apps/(${NAME_PATTERN.source.slice(1, -1)})/check$`);

/**
 * The check, dispatched before the router (src/worker/index.ts): the most frequent request, and a
 * fixed path, so it skips Hono's matching and middleware chain (a sixth of a warm check's CPU,
 * BENCHMARKS.md). Undefined for every other request, and for a check path the pattern does not take
 * whole (an app name to decode or refuse): the router answers those, as before. The answer is the
 * router's byte for byte, headers included (test/worker/check-dispatch.integration.test.ts).
 */
export function dispatchCheck(request: Request, env: Env): Promise<Response> | undefined {
  // Every other request passes through here first: leave it to the router without parsing its URL
  // (3 % of an adapter's check) when the text cannot hold a check's path.
  if (request.method !== 'GET' || !request.url.includes('/check')) return undefined;
  const url = new URL(request.url);
  const app = CHECK_PATH.exec(url.pathname)?.[1];
  if (app === undefined) return undefined;
  return answerCheck({ env, req: { raw: request } }, app, url).then(
    (response) => withHeaders(response, PUBLIC_HEADERS),
    (error: unknown) => withHeaders(errorFor(error, request, env), PUBLIC_HEADERS),
  );
}

/** The answer to a check of `app` (its name already valid); throws ApiError for bad input. */
async function answerCheck(c: ServeContext, app: string, url = new URL(c.req.raw.url)): Promise<Response> {
  const query = parseCheckQuery(url);
  const served = await serve(c, {
    app,
    requested: query.channel,
    clientId: query.client_id,
    installed: query.version,
    platform: query.platform,
    arch: query.arch,
    osVersion: query.os_version,
    runtime: query.runtime,
  });
  // A projection that does not verify is never served, not even in part (docs/api.md).
  if (!served.verified) {
    return Response.json(unverifiedAnswer(served.channel), { headers: { 'Cache-Control': 'no-store' } });
  }
  const { channel, state, decision } = served;

  const answer = toAnswer(decision, {
    origin: url.origin,
    app,
    channel,
    state,
    installed: query.version,
  });
  // Elided only when the client holds exactly this snapshot (docs/protocol.md §4); any other hash, the whole answer.
  const { body, etag } =
    query.snapshot === state.snapshotSha256
      ? await encodeElided(elide(answer, state.snapshotSha256), state)
      : await encodeAnswer(answer, state);
  if (etagMatches(c.req.raw.headers.get('If-None-Match') ?? undefined, etag)) {
    return new Response(null, { status: 304, headers: { ETag: etag, 'Cache-Control': CACHE_CONTROL } });
  }
  return new Response(body, {
    headers: { 'Content-Type': 'application/json', ETag: etag, 'Cache-Control': CACHE_CONTROL },
  });
}

/**
 * The body, exactly `JSON.stringify(answer)` in UTF-8, and its ETag. The snapshot lists the channel's
 * live releases (pruned, but still 250 bytes each, and a projection written before pruning lists its
 * whole history, about 250 KB with 1,000 releases), so its encoded JSON and its SHA-256 are kept with
 * the cached state, and so is each distinct answer once encoded: the clients of one channel get a
 * handful of different answers (the same update, `none`…), and encoding and hashing one costs more
 * than the rest of a check. `signed` is the answer's last key, and the ETag hashes the body with the
 * snapshot's hash in place of the snapshot, which changes exactly when the body does.
 */
export async function encodeAnswer(
  answer: CheckResponse,
  state: Pick<CachedChannel, 'snapshotJws' | 'snapshotJsonBytes' | 'snapshotSha256' | 'answers'>,
): Promise<EncodedAnswer> {
  const { signed, ...rest } = answer;
  if (signed.snapshot !== state.snapshotJws) throw new Error('the answer carries another snapshot');
  const prefix = `${JSON.stringify(rest).slice(0, -1)},"signed":{"snapshot":`;
  const release = signed.release === undefined ? '' : `,"release":${JSON.stringify(signed.release)}`;
  const yank = signed.yank === undefined ? '' : `,"yank":${JSON.stringify(signed.yank)}`;
  const suffix = `${release}${yank}}}`;
  // JSON text never holds a raw NUL, so the key tells every (prefix, suffix) pair apart.
  const key = `${prefix}\u0000${suffix}`;
  const known = state.answers.get(key);
  if (known) return known;

  const digest = await sha256Hex(`${prefix}${JSON.stringify(state.snapshotSha256)}${suffix}`);
  const encoder = new TextEncoder();
  const head = encoder.encode(prefix);
  const tail = encoder.encode(suffix);
  const body = new Uint8Array(head.byteLength + state.snapshotJsonBytes.byteLength + tail.byteLength);
  body.set(head, 0);
  body.set(state.snapshotJsonBytes, head.byteLength);
  body.set(tail, head.byteLength + state.snapshotJsonBytes.byteLength);
  const encoded = { body, etag: `"${digest.slice(0, 32)}"` };
  state.answers.set(key, encoded);
  return encoded;
}

/** The answer with its snapshot replaced by the snapshot's SHA-256, for a client that holds it. */
function elide(answer: CheckResponse, snapshotSha256: string): ElidedCheckResponse {
  const { snapshot: _held, ...documents } = answer.signed;
  return { ...answer, signed: { snapshot_sha256: snapshotSha256, ...documents } };
}

/**
 * The body and ETag of an elided answer: a few hundred bytes, hashed whole. Its ETag differs from the
 * full answer's, whose tag hashes a text with `"snapshot":` in it, which no elided body contains.
 */
export async function encodeElided(
  answer: ElidedCheckResponse,
  state: Pick<CachedChannel, 'snapshotSha256' | 'answers'>,
): Promise<EncodedAnswer> {
  if (answer.signed.snapshot_sha256 !== state.snapshotSha256)
    throw new Error('the answer names another snapshot');
  // No NUL in JSON text: these keys never meet the full answers' `prefix\u0000suffix` keys.
  const text = JSON.stringify(answer);
  const known = state.answers.get(text);
  if (known) return known;
  const encoded = { body: new TextEncoder().encode(text), etag: `"${(await sha256Hex(text)).slice(0, 32)}"` };
  state.answers.set(text, encoded);
  return encoded;
}

/** The response body: the decision with the signed documents a client needs to verify it. */
function toAnswer(
  decision: Decision,
  at: { origin: string; app: string; channel: string; state: CachedChannel; installed: string },
): CheckResponse {
  const { origin, app, channel, state } = at;
  if (decision.status === 'none') {
    const yank = state.yankJws.get(at.installed);
    const signed = yank ? { snapshot: state.snapshotJws, yank } : { snapshot: state.snapshotJws };
    return { status: 'none', channel, yanked: decision.yanked, signed };
  }
  const { version, artifact } = decision;
  const release = documentFor(state.releaseJws, version, 'release');
  return {
    status: decision.status,
    channel,
    version,
    mandatory: decision.mandatory,
    artifact: {
      url: artifactUrl(origin, app, version, artifact),
      sha256: artifact.sha256,
      size: artifact.size,
    },
    signed:
      decision.status === 'rollback'
        ? { snapshot: state.snapshotJws, release, yank: documentFor(state.yankJws, at.installed, 'yank') }
        : { snapshot: state.snapshotJws, release },
  };
}

/**
 * The answer while the chosen channel's projection does not verify (storage/state-cache.ts): `none`
 * with nothing signed, since the Worker holds nothing it can vouch for. A client cannot verify it
 * and so changes nothing (the SDK refuses it as `unverifiable`) until the projection is repaired.
 */
function unverifiedAnswer(channel: string): UnverifiedCheckResponse {
  return { status: 'none', channel, yanked: false, signed: {} };
}

/** The signed document the decision points at; its absence means the projection is inconsistent. */
function documentFor(byVersion: ReadonlyMap<string, string>, version: string, kind: string): string {
  const jws = byVersion.get(version);
  if (jws === undefined) throw new Error(`channel projection lacks the ${kind} document of ${version}`);
  return jws;
}
