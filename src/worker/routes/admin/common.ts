/** Pieces every admin sub-app shares: path parameter schemas, the JSON body limit, lookups that 404. */
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import * as z from 'zod';
import {
  archSchema,
  type DocumentKind,
  fileNameSchema,
  nameSchema,
  type PayloadOf,
  type PublicJwk,
  platformSchema,
  versionSchema,
} from '../../../protocol/documents.ts';
import { DocumentError, verifyDocument } from '../../../protocol/jws.ts';
import { ApiError, badRequest, notFound } from '../../http/errors.ts';
import { type AppRecord, getApp } from '../../storage/apps.ts';
import { type AuditInput, auditStatement } from '../../storage/audit.ts';
import { isoSeconds } from '../../storage/revisions.ts';
import type { AppEnv } from '../../types.ts';

export const appParams = z.object({ app: nameSchema });
export const channelParams = z.object({ app: nameSchema, channel: nameSchema });
export const versionParams = z.object({ app: nameSchema, version: versionSchema });

/** The optimistic-concurrency token callers may send with any change (docs/api.md). */
export const expectedRevision = z.number().int().min(1).optional();

/** Admin JSON bodies are small: the largest is a release manifest (≤ 64 artifacts, 10 kB of notes). */
export const JSON_BODY_LIMIT = 256 * 1024;

/** A JSON body of at most `maxSize` bytes, else 413. */
const limitTo = (maxSize: number) =>
  bodyLimit({
    maxSize,
    onError: () => {
      throw new ApiError(413, 'too_large', `request body is over ${maxSize / 1024} KiB`);
    },
  });

export const jsonLimit = limitTo(JSON_BODY_LIMIT);

/**
 * A release manifest may carry an Expo manifest per platform (docs/protocol.md §10, each up to
 * MAX_EXPO_MANIFEST_BYTES, a few hundred assets): release registration takes larger bodies.
 */
export const RELEASE_BODY_LIMIT = 2 * 1024 * 1024;
export const releaseLimit = limitTo(RELEASE_BODY_LIMIT);

export async function requireApp(db: D1Database, app: string): Promise<AppRecord> {
  const record = await getApp(db, app);
  if (!record) throw notFound('unknown_app', `no app named ${app}`);
  return record;
}

export function requireChannel(record: AppRecord, channel: string) {
  const found = record.channels.find((ch) => ch.name === channel);
  if (!found) throw notFound('unknown_channel', `app ${record.name} has no channel named ${channel}`);
  return found;
}

/** The audit row of a change by the calling actor, to run in the change's own batch. */
export function audit(c: Context<AppEnv>, now: Date, entry: Omit<AuditInput, 'actor'>): D1PreparedStatement {
  return auditStatement(c.env.DB, { ...entry, actor: c.get('actor').name }, isoSeconds(now));
}

/** Verifies a signed document, turning a refusal into 400 with the document error's code. */
export async function verifyOr400<K extends DocumentKind>(
  kind: K,
  jws: string,
  trusted: readonly PublicJwk[],
): Promise<PayloadOf<K>> {
  try {
    return await verifyDocument(kind, jws, trusted);
  } catch (error) {
    if (error instanceof DocumentError) throw badRequest(error.code, `${kind} document: ${error.message}`);
    throw error;
  }
}

/** A signed document in a JSON body: compact JWS, bounded. */
export const jwsSchema = z
  .string()
  .max(RELEASE_BODY_LIMIT)
  .regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, 'must be a compact JWS');

/** `/{version}/{platform}-{arch}/{file}` of an artifact path; platforms and arches contain no `-`. */
export const artifactParams = z
  .object({ app: nameSchema, version: versionSchema, target: z.string().max(32), file: fileNameSchema })
  .transform((p, ctx) => {
    const [platform, arch] = p.target.split('-', 2);
    const target = z.object({ platform: platformSchema, arch: archSchema }).safeParse({ platform, arch });
    if (!target.success) {
      ctx.addIssue({
        code: 'custom',
        path: ['target'],
        message: 'must be <platform>-<arch>, e.g. linux-x64',
      });
      return z.NEVER;
    }
    return { app: p.app, version: p.version, file: p.file, ...target.data };
  });
export type ArtifactParams = z.infer<typeof artifactParams>;

/** The largest single PUT R2 takes comfortably in one request; larger files go multipart. */
export const MAX_SINGLE_PUT = 95 * 1024 * 1024;

/** A required `Content-Length`: 411 when absent, 413 above `max`. */
export function contentLength(header: string | undefined, max: number): number {
  if (header === undefined) throw new ApiError(411, 'length_required', 'Content-Length is required');
  if (!/^\d{1,16}$/.test(header)) throw badRequest('invalid_header', 'Content-Length must be a byte count');
  const size = Number(header);
  if (size > max) {
    throw new ApiError(413, 'too_large', `the body is over ${max} bytes; upload it in parts (multipart)`);
  }
  return size;
}

/** The media type to store with an artifact: the request's, when it is a plain `type/subtype`. */
export function artifactContentType(header: string | undefined): string {
  const type = header?.split(';')[0]?.trim().toLowerCase();
  return type && /^[a-z0-9][\w.+-]{0,63}\/[a-z0-9][\w.+-]{0,63}$/.test(type)
    ? type
    : 'application/octet-stream';
}
