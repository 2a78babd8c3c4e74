/**
 * The seeded world the route property tests hit: an app with two channels, four releases in every
 * rollout state, a plan, a yank, tokens of each role, a multipart upload in progress, and valid
 * request bodies (signed documents included) for every route, from which near-valid ones are made.
 */
import type fc from 'fast-check';
import { sha256Hex } from '../../../src/protocol/encoding.ts';
import { signDocument } from '../../../src/protocol/jws.ts';
import type { Plan } from '../../../src/protocol/plan.ts';
import type { TelemetryEventInput } from '../../../src/protocol/telemetry.ts';
import {
  admin,
  BOOTSTRAP,
  bootstrapKeys,
  createApp,
  keysDocument,
  promote,
  publish,
  releasePayload,
  signYank,
  testArtifact,
  uniqueApp,
  uploadArtifact,
} from './fixtures.ts';

export interface FuzzWorld {
  app: string;
  /** Values that name real things, by path parameter name. */
  params: Record<string, string[]>;
  /** Authorization headers other than the bootstrap token's: each role, a revoked token. */
  tokens: { analyst: string; publisher: string; revoked: string };
  bootstrap: string;
  uploadId: string;
  /** An artifact uploaded for 2.0.0 whose manifest is signed but not registered. */
  artifact: { bytes: Uint8Array; sha256: string };
  manifest: string;
  yank: string;
  keys: string;
}

/** What a valid request to a route looks like, besides its path parameters. */
export interface RouteSpec {
  /** Path parameters that name real things for this route (else the world's pools). */
  params?: Record<string, string[]>;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  /** A JSON body, or raw bytes (uploads). */
  body?: fc.JsonValue;
  bytes?: Uint8Array;
}

export const PLAN: Plan = {
  steps_bp: [100, 1000, 10_000],
  bake_seconds: 3600,
  gates: { max_failure_rate: 0.05, max_rollback_rate: 0.05, min_installs: 10 },
};

async function ok<T>(what: string, call: Promise<{ status: number; body: T }>): Promise<T> {
  const { status, body } = await call;
  if (status >= 300) throw new Error(`seeding: ${what} answered ${status} ${JSON.stringify(body)}`);
  return body;
}

async function token(role: string): Promise<{ id: string; token: string }> {
  return ok(
    `token ${role}`,
    admin<{ id: string; token: string }>('/tokens', { method: 'POST', body: { name: `fuzz ${role}`, role } }),
  );
}

export async function seedWorld(): Promise<FuzzWorld> {
  const keys = await bootstrapKeys();
  const app = await createApp(uniqueApp('fuzz'), [
    { name: 'stable', public: true },
    { name: 'beta', public: false },
  ]);
  await publish(app, '1.0.0');
  await publish(app, '1.1.0', { mandatory: true });
  await publish(app, '1.2.0', { critical: true });
  await publish(app, '1.3.0', { requires: '>=1.1.0' });
  await ok('promote 1.0.0', promote(app, 'stable', '1.0.0'));
  await ok('promote 1.1.0', promote(app, 'stable', '1.1.0', 5000));
  await ok('promote 1.3.0', promote(app, 'stable', '1.3.0', 100));
  const rollouts = `/apps/${app}/channels`;
  await ok('halt 1.3.0', admin(`${rollouts}/stable/rollouts/1.3.0/halt`, { method: 'POST', body: {} }));
  await ok('settings', admin(`/apps/${app}/settings`, { method: 'PUT', body: { default_plan: PLAN } }));
  await ok(
    'plan 1.2.0',
    admin(`${rollouts}/beta/rollouts`, { method: 'POST', body: { version: '1.2.0', plan: 'default' } }),
  );
  await ok(
    'yank 1.3.0',
    admin(`/apps/${app}/yanks`, { method: 'POST', body: { yank: await signYank(app, '1.3.0', '1.1.0') } }),
  );

  const [analyst, publisher, revoked] = [
    await token('analyst'),
    await token('publisher'),
    await token('admin'),
  ];
  await ok('revoke', admin(`/tokens/${revoked.id}`, { method: 'DELETE' }));

  const upload = await ok(
    'multipart',
    admin<{ upload_id: string }>(`/apps/${app}/multipart/2.0.0/linux-arm64/big.bin`, {
      method: 'POST',
      body: { sha256: 'c'.repeat(64), size: 200 * 1024 * 1024 },
    }),
  );

  const artifact = testArtifact(app, '2.0.0');
  await ok('upload 2.0.0', uploadArtifact(app, '2.0.0', artifact));
  const manifest = await signDocument(
    'release',
    await releasePayload(app, '2.0.0', [artifact]),
    keys.release,
  );

  return {
    app,
    params: {
      app: [app, 'no-such-app'],
      channel: ['stable', 'beta', 'nope'],
      // Releases for admin routes, keys versions for /v1/keys/:version.
      version: ['1.0.0', '1.1.0', '1.2.0', '1.3.0', '2.0.0', '9.9.9', '1', '2'],
      target: ['linux-x64', 'linux-arm64', 'darwin-arm64', 'web-any'],
      file: [`${app}-1.0.0.tar.gz`, `${app}-2.0.0.tar.gz`, 'big.bin', 'x.bin'],
      action: ['pause', 'resume', 'halt', 'complete'],
      id: [analyst.id, revoked.id, '0123456789abcdef'],
    },
    tokens: {
      analyst: `Bearer ${analyst.token}`,
      publisher: `Bearer ${publisher.token}`,
      revoked: `Bearer ${revoked.token}`,
    },
    bootstrap: `Bearer ${BOOTSTRAP.token}`,
    uploadId: upload.upload_id,
    artifact: { bytes: artifact.bytes, sha256: await sha256Hex(artifact.bytes) },
    manifest,
    yank: await signYank(app, '1.1.0', '1.0.0'),
    keys: await keysDocument(2, { root: keys.root, release: keys.release }),
  };
}

const EVENT: TelemetryEventInput = {
  id: '0f8fad5b-d9cb-469f-a165-70867728950e',
  type: 'install_succeeded',
  client_id: 'client-1',
  channel: 'stable',
  from_version: '1.0.0',
  to_version: '1.1.0',
  platform: 'linux',
  arch: 'x64',
  duration_ms: 1200,
  occurred_at: new Date().toISOString(),
};

const ANALYTICS = /^\/v1\/admin\/apps\/:app\/(health|adoption|errors|durations|clients)$/;

/** The valid request for `METHOD path` (the route pattern), or none known: random input only. */
export function routeSpec(w: FuzzWorld, method: string, path: string): RouteSpec {
  const multipart = { upload_id: w.uploadId };
  // The path of the multipart upload in progress, so its upload_id is this path's.
  const upload = { version: ['2.0.0'], target: ['linux-arm64'], file: ['big.bin'] };
  const specs: Record<string, RouteSpec> = {
    'GET /v1/apps/:app/check': {
      query: {
        client_id: 'client-1',
        version: '1.0.0',
        platform: 'linux',
        arch: 'x64',
        channel: 'stable',
        os_version: '14.2',
      },
    },
    'GET /v1/apps/:app/artifacts/:version/:target/:file': {
      params: { app: [w.app], version: ['1.0.0'], target: ['linux-x64'], file: [`${w.app}-1.0.0.tar.gz`] },
      headers: { Range: 'bytes=0-3' },
    },
    'GET /v1/keys/:version': { params: { version: ['1', '2', '3'] } },
    // The updaters of docs/protocol.md §9, each with the client id and version where that updater sends them.
    'GET /v1/apps/:app/electron/:channel/:file': {
      params: {
        app: [w.app],
        channel: ['stable', 'beta'],
        file: ['latest.yml', 'latest-mac.yml', 'latest-linux.yml', 'latest-linux-arm64.yml', 'beta-mac.yml'],
      },
      headers: { 'x-user-staging-id': 'client-1', 'x-updraft-version': '1.0.0' },
    },
    'GET /v1/apps/:app/tauri/:channel/:target/:arch/:current_version': {
      params: {
        app: [w.app],
        channel: ['stable'],
        target: ['linux', 'darwin', 'windows'],
        arch: ['x86_64', 'aarch64', 'i686', 'armv7'],
        current_version: ['1.0.0', '0.9.0'],
      },
      headers: { 'x-updraft-client-id': 'client-1' },
    },
    'GET /v1/apps/:app/sparkle/:channel/appcast.xml': {
      params: { app: [w.app], channel: ['stable'] },
      query: { client_id: 'client-1', version: '1.0.0', arch: 'arm64', os_version: '14.2' },
    },
    'GET /v1/apps/:app/squirrel/:channel/:target/:version': {
      params: {
        app: [w.app],
        channel: ['stable'],
        target: ['darwin-x64', 'darwin-arm64'],
        version: ['1.0.0'],
      },
      query: { client_id: 'client-1' },
    },
    'POST /v1/apps/:app/events': { body: { events: [{ ...EVENT }] } },
    'POST /v1/admin/tokens': {
      body: { name: 'fuzz token', role: 'analyst', expires_at: '2099-01-01T00:00:00Z' },
    },
    'POST /v1/admin/keys': { body: { keys: w.keys } },
    'POST /v1/admin/apps': {
      body: { name: `${w.app}-new`, default_channel: 'stable', channels: [{ name: 'stable', public: true }] },
    },
    'PUT /v1/admin/apps/:app/channels/:channel': { body: { public: false } },
    'PUT /v1/admin/apps/:app/rules': {
      body: {
        rules: [
          {
            channel: 'beta',
            match: {
              client_ids: ['client-1'],
              percent_bp: 5000,
              platforms: ['linux'],
              countries: ['NL'],
              versions: '>=1.0.0',
            },
          },
        ],
      },
    },
    'PUT /v1/admin/apps/:app/uploads/:version/:target/:file': {
      params: { app: [w.app], version: ['3.0.0'], target: ['linux-x64'], file: ['new.bin'] },
      bytes: w.artifact.bytes,
      headers: { 'X-Updraft-Sha256': w.artifact.sha256, 'Content-Type': 'application/gzip' },
    },
    // The registered artifact (409 artifact_registered) and the upload the PUT spec makes (removable).
    'DELETE /v1/admin/apps/:app/uploads/:version/:target/:file': {
      params: {
        app: [w.app],
        version: ['1.0.0', '3.0.0'],
        target: ['linux-x64'],
        file: [`${w.app}-1.0.0.tar.gz`, 'new.bin'],
      },
    },
    'POST /v1/admin/apps/:app/multipart/:version/:target/:file': {
      params: { app: [w.app], version: ['3.0.0'], target: ['linux-x64'], file: ['huge.bin'] },
      body: { sha256: 'd'.repeat(64), size: 200 * 1024 * 1024, content_type: 'application/zip' },
    },
    'PUT /v1/admin/apps/:app/multipart/:version/:target/:file': {
      params: upload,
      query: { ...multipart, part: '1' },
      bytes: new TextEncoder().encode('part of a large artifact'),
    },
    'POST /v1/admin/apps/:app/multipart/:version/:target/:file/complete': {
      params: upload,
      query: multipart,
      body: { parts: [{ part: 1, etag: 'not-an-etag' }] },
    },
    'DELETE /v1/admin/apps/:app/multipart/:version/:target/:file': { params: upload, query: multipart },
    'POST /v1/admin/apps/:app/releases': { body: { manifest: w.manifest } },
    'POST /v1/admin/apps/:app/channels/:channel/rollouts': { body: { version: '1.1.0', percent_bp: 7500 } },
    'POST /v1/admin/apps/:app/channels/:channel/rollouts/:version/:action': { body: { reason: 'fuzz' } },
    'POST /v1/admin/apps/:app/yanks': { body: { yank: w.yank } },
    'GET /v1/admin/audit': { query: { app: w.app, limit: '5', before: '1000' } },
    'PUT /v1/admin/apps/:app/settings': {
      body: {
        webhook_url: 'https://hooks.example/updraft',
        default_plan: { ...PLAN },
        rotate_webhook_secret: true,
      },
    },
    'GET /v1/admin/apps/:app/webhooks': { query: { limit: '5' } },
  };
  if (ANALYTICS.test(path)) {
    const to = new Date();
    const from = new Date(to.getTime() - 3 * 86_400_000);
    return {
      query: {
        channel: 'stable',
        version: '1.1.0',
        from: from.toISOString(),
        to: to.toISOString(),
        interval: 'hour',
        limit: '5',
      },
    };
  }
  return specs[`${method} ${path}`] ?? {};
}
