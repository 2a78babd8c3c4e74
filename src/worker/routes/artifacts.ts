/**
 * `GET|HEAD /v1/apps/{app}/artifacts/{version}/{platform}-{arch}/{file}`: artifact bytes from R2,
 * with validators and byte ranges so interrupted downloads resume (docs/api.md).
 */
import { type Context, Hono } from 'hono';
import * as z from 'zod';
import {
  ARCHES,
  type Arch,
  CLIENT_ID_PATTERN,
  fileNameSchema,
  nameSchema,
  PLATFORMS,
  type Platform,
  versionSchema,
} from '../../protocol/documents.ts';
import { randomHex } from '../../protocol/encoding.ts';
import { CLIENT_KINDS, type ClientKind } from '../../protocol/telemetry.ts';
import { observeDownload } from '../adapters/observe.ts';
import { multipartByteranges } from '../http/byteranges.ts';
import { etagMatches, parseRange, resolveRange, resolveRanges } from '../http/caching.ts';
import { badRequest, errorBody, notFound } from '../http/errors.ts';
import { validate } from '../http/validate.ts';
import type { ArtifactPath } from '../storage/data-plane.ts';
import { artifactKey } from '../storage/projection.ts';
import type { AppEnv } from '../types.ts';

const TARGET = new RegExp(`^(${PLATFORMS.join('|')})-(${ARCHES.join('|')})$`);

const paramsSchema = z.object({
  app: nameSchema,
  version: versionSchema,
  target: z.string().regex(TARGET, `must be <platform>-<arch>, e.g. linux-x64`),
  file: fileNameSchema,
});

// Every artifact path names immutable bytes: nothing in R2 is ever overwritten (docs/protocol.md §1).
const CACHE_CONTROL = 'public, max-age=31536000, immutable';

export const artifacts = new Hono<AppEnv>();

artifacts.get('/:app/artifacts/:version/:target/:file', validate('param', paramsSchema), async (c) => {
  const { app, version, target, file } = c.req.valid('param');
  const [platform = '', arch = ''] = target.split('-');
  const path: ArtifactPath = { app, version, platform, arch, file };
  const counted = countedAs(c.req.query('client_id'), c.req.query('via'));
  return serveObject(c, {
    key: artifactKey(app, version, platform, arch, file),
    file,
    // Whether no release ever named this path or its bytes were lost from R2, the bytes are not
    // there: the code says so rather than the generic "no such route".
    missing: () =>
      notFound(
        'artifact_missing',
        `artifact ${file} for ${target} of ${app} ${version} is not in storage; check the URL, or re-upload it if a release lists it`,
      ),
    served: () => count(c, counted, path),
  });
});

/** What `serveObject` serves: an immutable R2 object, and what to do when it is sent. */
export interface StoredObject {
  key: string;
  /** The file name a download is saved under. */
  file: string;
  missing: () => Error;
  /** Called once bytes are on their way (not for HEAD, 304 or 416). */
  served?: () => void;
}

/**
 * Serves an immutable R2 object with validators and byte ranges (one, or several as
 * multipart/byteranges): the artifact route's and the Expo asset route's answer.
 */
export async function serveObject(c: Context<AppEnv>, at: StoredObject): Promise<Response> {
  const { key, file, missing } = at;
  const served = at.served ?? (() => undefined);
  const ifNoneMatch = c.req.header('If-None-Match');
  let range = parseRange(c.req.header('Range'));
  const isHead = c.req.method === 'HEAD';

  // The common case, a plain download, costs one R2 call; conditional, ranged and HEAD requests
  // look at the metadata first.
  if (!isHead && !ifNoneMatch && range === undefined) {
    const object = await c.env.BUCKET.get(key);
    if (!object) throw missing();
    served();
    return new Response(object.body, { status: 200, headers: headersFor(object, file, object.size) });
  }

  const meta = await c.env.BUCKET.head(key);
  if (!meta) throw missing();
  if (etagMatches(ifNoneMatch, meta.httpEtag)) {
    return new Response(null, {
      status: 304,
      headers: { ETag: meta.httpEtag, 'Cache-Control': CACHE_CONTROL },
    });
  }
  // If-Range names the representation the client already has part of; any other one gets it whole.
  const ifRange = c.req.header('If-Range');
  if (ifRange !== undefined && ifRange !== meta.httpEtag) range = undefined;

  const several = range === 'multiple' ? resolveRanges(c.req.header('Range') ?? '', meta.size) : undefined;
  // One satisfiable range of several is answered as a single range.
  const single = several?.length === 1 ? several[0] : undefined;
  const selected = single ?? (range && range !== 'multiple' ? resolveRange(range, meta.size) : undefined);
  if (selected === null || several === null) {
    return Response.json(errorBody('range_not_satisfiable', `the file has ${meta.size} bytes`), {
      status: 416,
      headers: { 'Content-Range': `bytes */${meta.size}`, 'Cache-Control': 'no-store' },
    });
  }

  if (several && several.length > 1)
    return multipleRanges(c, { meta, at: { ...at, served }, ranges: several, isHead });

  const headers = headersFor(meta, file, selected ? selected.length : meta.size);
  const status = selected ? 206 : 200;
  if (selected) {
    headers.set(
      'Content-Range',
      `bytes ${selected.offset}-${selected.offset + selected.length - 1}/${meta.size}`,
    );
  }
  if (isHead) return new Response(null, { status, headers });

  const object = await c.env.BUCKET.get(key, selected ? { range: selected } : {});
  if (!object) throw missing();
  served();
  return new Response(object.body, { status, headers });
}

/**
 * Several ranges in one `multipart/byteranges` answer (electron-updater's differential download):
 * one R2 read from the first range's start to the last one's end, cut into the parts.
 */
async function multipleRanges(
  c: Context<AppEnv>,
  {
    meta,
    at,
    ranges,
    isHead,
  }: {
    meta: R2Object;
    at: StoredObject & { served: () => void };
    ranges: { offset: number; length: number }[];
    isHead: boolean;
  },
): Promise<Response> {
  const first = ranges[0];
  const last = ranges[ranges.length - 1];
  if (!first || !last) throw new Error('multipleRanges needs ranges');
  const boundary = `updraft-${randomHex(12)}`;
  const contentType = meta.httpMetadata?.contentType ?? 'application/octet-stream';
  const span = { offset: first.offset, length: last.offset + last.length - first.offset };
  const object = isHead ? undefined : await c.env.BUCKET.get(at.key, { range: span });
  if (object === null) throw at.missing();
  const body = object?.body ?? new ReadableStream<Uint8Array>({ start: (controller) => controller.close() });
  const multipart = multipartByteranges(body, first.offset, ranges, {
    boundary,
    contentType,
    size: meta.size,
  });
  const headers = headersFor(meta, at.file, multipart.length);
  headers.set('Content-Type', `multipart/byteranges; boundary=${boundary}`);
  if (isHead) return new Response(null, { status: 206, headers });
  at.served();
  // A stream of a known length: the answer carries an exact Content-Length.
  const fixed = new FixedLengthStream(multipart.length);
  c.executionCtx.waitUntil(multipart.stream.pipeTo(fixed.writable).catch(() => undefined));
  return new Response(fixed.readable, { status: 206, headers });
}

/**
 * Who to count a download for: the `client_id` (and the updater, `via`) that adapter URLs carry
 * (docs/protocol.md §9). A URL without them is not counted; a malformed one is a 400.
 */
function countedAs(
  clientId: string | undefined,
  via: string | undefined,
): { clientId: string; kind: ClientKind } | undefined {
  if (clientId === undefined) return undefined;
  if (!CLIENT_ID_PATTERN.test(clientId)) {
    throw badRequest('invalid_param', 'client_id must be 1-128 of A-Z a-z 0-9 . _ : -');
  }
  const kind = CLIENT_KINDS.find((k) => k === (via ?? 'sdk'));
  if (!kind) throw badRequest('invalid_param', `via must be one of ${CLIENT_KINDS.join(', ')}`);
  return { clientId, kind };
}

function count(
  c: Context<AppEnv>,
  counted: ReturnType<typeof countedAs>,
  { app, version, platform, arch }: ArtifactPath,
): void {
  if (!counted) return;
  // The route's regex admits only known platforms and arches.
  observeDownload(c, { ...counted, app, version, platform: platform as Platform, arch: arch as Arch });
}

function headersFor(object: R2Object, file: string, length: number): Headers {
  return new Headers({
    'Content-Type': object.httpMetadata?.contentType ?? 'application/octet-stream',
    'Content-Length': String(length),
    // Downloads, never pages: a browser must not render an artifact even if its type says HTML.
    'Content-Disposition': `attachment; filename="${file}"`,
    ETag: object.httpEtag,
    'Last-Modified': object.uploaded.toUTCString(),
    'Accept-Ranges': 'bytes',
    'Cache-Control': CACHE_CONTROL,
  });
}
