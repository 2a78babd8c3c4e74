/**
 * Fixtures shared by the tests of the two JSON feeds (Tauri, Squirrel.Mac): releases whose artifacts
 * carry what those clients verify, and a channel projection made unverifiable the way an attacker
 * with KV access would (a snapshot whose payload no longer matches its signature).
 */
import { env } from 'cloudflare:workers';
import { expect } from 'vitest';
import type { Artifact, ReleasePayload } from '../../../src/protocol/documents.ts';
import { type ChannelProjection, channelKey } from '../../../src/worker/storage/projection.ts';
import { clearStateCache } from '../../../src/worker/storage/state-cache.ts';
import { tamperPayload } from '../../security/attacker.ts';
import { errorOf, release } from './seed-projection.ts';

/** A stand-in for a Tauri .sig file's content (base64), distinct per artifact. */
export const fakeSig = (label: string) => btoa(`untrusted comment: ${label}\nRUS${label}\n`);

/** A release with one artifact per `targets` entry; `extra` adds fields to every artifact. */
export function releaseFor(
  app: string,
  version: string,
  targets: Pick<Artifact, 'platform' | 'arch' | 'file'>[],
  extra: (t: Pick<Artifact, 'platform' | 'arch' | 'file'>) => Partial<Artifact> = () => ({}),
  options: Partial<ReleasePayload> = {},
): ReleasePayload {
  return release(app, version, {
    artifacts: targets.map((t) => ({ ...t, sha256: 'b'.repeat(64), size: 4321, ...extra(t) })),
    ...options,
  });
}

/** Rewrites the stored snapshot so that it no longer verifies (it claims a higher revision). */
export async function makeUnverifiable(app: string, channel = 'stable'): Promise<void> {
  const key = channelKey(app, channel);
  const projection = await env.STATE.get<ChannelProjection>(key, 'json');
  if (!projection) throw new Error(`no projection for ${app}/${channel}`);
  const snapshot = tamperPayload('channel', projection.snapshot, (payload) => ({
    ...payload,
    revision: payload.revision + 1000,
  }));
  await env.STATE.put(key, JSON.stringify({ ...projection, snapshot }));
  clearStateCache();
}

/** A 4xx in the protocol's error shape (docs/protocol.md §4), never a 5xx; returns the error code. */
export async function expectClientError(response: Response, status: number, code?: string): Promise<string> {
  expect(response.status).toBe(status);
  const error = await errorOf(response);
  expect(error.code).toMatch(/^[a-z_]+$/);
  expect(error.message.length).toBeGreaterThan(0);
  if (code !== undefined) expect(error.code).toBe(code);
  return error.code;
}

/** RFC 3339 `date-time` (section 5.6) in UTC, whole seconds: what both feeds send as `pub_date`. */
export const RFC3339_UTC_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
