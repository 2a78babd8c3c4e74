/**
 * Helpers for the tests of unregistered uploads (docs/storage.md § Unregistered uploads): a squatter's
 * bytes, the removal route, registration, the real cron handler, and an R2 binding that lets a test
 * act between two of the Worker's calls to R2.
 */
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { expect } from 'vitest';
import { signDocument } from '../../../src/protocol/jws.ts';
import { app as workerApp } from '../../../src/worker/app.ts';
import worker from '../../../src/worker/index.ts';
import { artifactKey } from '../../../src/worker/storage/projection.ts';
import { uploadTtlHours } from '../../../src/worker/storage/uploads.ts';
import {
  admin,
  bootstrapKeys,
  type ErrorBody,
  ORIGIN,
  releasePayload,
  type TestArtifact,
} from './fixtures.ts';

export const HOUR = 3600 * 1000;
export const TTL_MS = uploadTtlHours(env.UNREGISTERED_UPLOAD_TTL_HOURS) * HOUR;

export interface Removed {
  key: string;
  size: number;
  sha256: string;
  uploaded: string;
  removed_at: string;
}

export const pathOf = (a: TestArtifact) => `${a.platform}-${a.arch}/${a.file}`;
export const keyOf = (app: string, version: string, a: TestArtifact) =>
  artifactKey(app, version, a.platform, a.arch, a.file);

/** Another upload's bytes for the same path: what a squatter (or a broken build) sends. */
export const squatter = (real: TestArtifact): TestArtifact => ({
  ...real,
  bytes: new TextEncoder().encode(`not the release ${Math.random()}`),
});

export async function token(role: 'publisher' | 'analyst'): Promise<string> {
  const created = await admin<{ token: string }>('/tokens', { method: 'POST', body: { name: role, role } });
  expect(created.status).toBe(201);
  return created.body.token;
}

export function removeUpload(app: string, version: string, path: string, options: { token?: string } = {}) {
  return admin<Removed & ErrorBody>(`/apps/${app}/uploads/${version}/${path}`, {
    method: 'DELETE',
    token: options.token,
  });
}

export async function register(app: string, version: string, artifacts: TestArtifact[]) {
  const keys = await bootstrapKeys();
  const manifest = await signDocument('release', await releasePayload(app, version, artifacts), keys.release);
  return admin<ErrorBody & { version: string }>(`/apps/${app}/releases`, {
    method: 'POST',
    body: { manifest },
  });
}

export async function bytesAt(key: string): Promise<Uint8Array | null> {
  const object = await env.BUCKET.get(key);
  return object ? new Uint8Array(await object.arrayBuffer()) : null;
}

export async function lastAudit(app: string) {
  return env.DB.prepare(
    'SELECT actor, action, target, before_json, after_json FROM audit WHERE app = ?1 ORDER BY id DESC LIMIT 1',
  )
    .bind(app)
    .first<{
      actor: string;
      action: string;
      target: string;
      before_json: string;
      after_json: string | null;
    }>();
}

/** A time at which the object at `key` is older than the TTL (from R2's own upload time). */
export async function agedPast(key: string): Promise<Date> {
  const uploaded = (await env.BUCKET.head(key))?.uploaded ?? new Date();
  return new Date(Math.max(Date.now(), uploaded.getTime()) + TTL_MS + 60_000);
}

/** Runs the Worker's real cron handler at `at`. */
export async function cronAt(at: Date): Promise<void> {
  const ctx = createExecutionContext();
  worker.scheduled(createScheduledController({ scheduledTime: at, cron: '* * * * *' }), env, ctx);
  await waitOnExecutionContext(ctx);
}

/** The Worker with `bucket` in place of the real R2 binding (to act between two of its calls). */
export async function callWith(bucket: R2Bucket, path: string, init: RequestInit): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set('Authorization', `Bearer ${env.UPDRAFT_ADMIN_TOKEN}`);
  if (init.body) headers.set('Content-Type', 'application/json');
  return workerApp.fetch(new Request(`${ORIGIN}/v1/admin${path}`, { ...init, headers }), {
    ...env,
    BUCKET: bucket,
  });
}

/** `env.BUCKET`, except that `after(key, n)` runs after its n-th `head()` (from 1) has answered. */
export function onHead(after: (key: string, n: number) => Promise<unknown>): R2Bucket {
  let heads = 0;
  return new Proxy(env.BUCKET, {
    get(bucket, name) {
      const value: unknown = Reflect.get(bucket, name, bucket);
      if (name !== 'head') return typeof value === 'function' ? value.bind(bucket) : value;
      return async (key: string) => {
        const object = await bucket.head(key);
        heads += 1;
        await after(key, heads);
        return object;
      };
    },
  });
}

/** `env.BUCKET`, except that `then()` runs once, right after the first `head(key)` has answered. */
export function afterFirstHead(key: string, then: () => Promise<unknown>): R2Bucket {
  let done = false;
  return onHead(async (k) => {
    if (k !== key || done) return;
    done = true;
    await then();
  });
}

/** A promise and the function that resolves it. */
export function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => {};
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}
