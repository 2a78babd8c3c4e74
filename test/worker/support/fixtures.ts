/**
 * Fixtures for tests that go through the admin API: keys, apps, uploads, signed releases and yanks.
 *
 * Storage is shared by the tests of one file (not isolated per test): use `uniqueApp()` for every
 * app. The keys document is global, so `bootstrapKeys()` registers it once per file and every test
 * signs with the same root and release keys.
 */
import { env, exports } from 'cloudflare:workers';
import type {
  ChannelPayload,
  KeysPayload,
  ReleasePayload,
  YankPayload,
} from '../../../src/protocol/documents.ts';
import { randomHex, sha256Hex } from '../../../src/protocol/encoding.ts';
import { decodeDocument, type PrivateJwk, signDocument } from '../../../src/protocol/jws.ts';
import { generateKeyPair, parsePrivateJwk, publicJwk } from '../../../src/protocol/keys.ts';
import { type ChannelProjection, channelKey } from '../../../src/worker/storage/projection.ts';

export const ORIGIN = 'https://updraft.test';
export const BOOTSTRAP = { token: env.UPDRAFT_ADMIN_TOKEN };

let counter = 0;
/** A fresh app name, unique across the tests of a file and across runs. */
export function uniqueApp(prefix = 'app'): string {
  counter += 1;
  return `${prefix}-${counter}-${randomHex(4)}`;
}

export interface CallOptions {
  method?: string;
  /** JSON-encoded unless it is a string, bytes or a stream. */
  body?: unknown;
  /** Bearer token; defaults to the bootstrap admin token. `null` sends no Authorization header. */
  token?: string | null;
  headers?: Record<string, string>;
}

/**
 * The client address of this file's requests (`CF-Connecting-IP`, which Cloudflare sets in production):
 * one per test file, so the failed-authentication limit of one file never blocks another's requests.
 */
const CLIENT_IP = `2001:db8::${randomHex(2)}:${randomHex(2)}`;

/** One request through the Worker's real entry point. */
export function call(path: string, options: CallOptions = {}): Promise<Response> {
  const headers = new Headers(options.headers);
  if (!headers.has('CF-Connecting-IP')) headers.set('CF-Connecting-IP', CLIENT_IP);
  const token = options.token === undefined ? env.UPDRAFT_ADMIN_TOKEN : options.token;
  if (token !== null) headers.set('Authorization', `Bearer ${token}`);
  let body: BodyInit | undefined;
  if (typeof options.body === 'string' || options.body instanceof Uint8Array) {
    body = options.body;
  } else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    if (!headers.has('Content-Type')) headers.set('Content-Type', 'application/json');
  }
  return exports.default.fetch(
    new Request(`${ORIGIN}${path}`, { method: options.method ?? 'GET', headers, body }),
  );
}

/** Calls the admin API and returns status and parsed JSON. */
export async function admin<T = Record<string, unknown>>(
  path: string,
  options: CallOptions = {},
): Promise<{ status: number; body: T; headers: Headers }> {
  const response = await call(`/v1/admin${path}`, options);
  return { status: response.status, body: (await response.json()) as T, headers: response.headers };
}

export interface ErrorBody {
  error: { code: string; message: string };
}

/** The online key's public half, as the Worker signs snapshots with it. */
export const onlinePublic = () => publicJwk(parsePrivateJwk(env.UPDRAFT_ONLINE_KEY));

export interface TestKeys {
  version: number;
  root: PrivateJwk;
  release: PrivateJwk;
  jws: string;
}

/** A keys document listing `root`, `release` and the Worker's online key, signed by `signer`. */
export async function keysDocument(
  version: number,
  keys: { root: PrivateJwk; release: PrivateJwk; signer?: PrivateJwk; online?: KeysPayload['online'] },
): Promise<string> {
  const payload: KeysPayload = {
    version,
    expires: new Date(Date.now() + 365 * 24 * 3600 * 1000).toISOString(),
    root: [publicJwk(keys.root)],
    release: [publicJwk(keys.release)],
    online: keys.online ?? [onlinePublic()],
  };
  return signDocument('keys', payload, keys.signer ?? keys.root);
}

let bootstrapped: Promise<TestKeys> | undefined;

/** Registers a first keys document (once per test file) and returns its private keys. */
export function bootstrapKeys(): Promise<TestKeys> {
  bootstrapped ??= (async () => {
    const root = (await generateKeyPair()).privateJwk;
    const release = (await generateKeyPair()).privateJwk;
    const jws = await keysDocument(1, { root, release });
    const { status, body } = await admin('/keys', { method: 'POST', body: { keys: jws } });
    if (status !== 201) throw new Error(`keys bootstrap failed: ${status} ${JSON.stringify(body)}`);
    return { version: 1, root, release, jws };
  })();
  return bootstrapped;
}

/** Creates an app (default channel `stable`, plus `channels`) and returns its name. */
export async function createApp(
  name = uniqueApp(),
  channels: { name: string; public: boolean }[] = [{ name: 'stable', public: true }],
): Promise<string> {
  await bootstrapKeys();
  const { status, body } = await admin('/apps', {
    method: 'POST',
    body: { name, default_channel: channels[0]?.name ?? 'stable', channels },
  });
  if (status !== 201) throw new Error(`create app failed: ${status} ${JSON.stringify(body)}`);
  return name;
}

export interface TestArtifact {
  platform: 'linux' | 'darwin' | 'windows';
  arch: 'x64' | 'arm64' | 'any';
  file: string;
  bytes: Uint8Array;
}

/** A small artifact with content unique to (app, version, target). */
export function testArtifact(
  app: string,
  version: string,
  platform: TestArtifact['platform'] = 'linux',
  arch: TestArtifact['arch'] = 'x64',
): TestArtifact {
  return {
    platform,
    arch,
    file: `${app}-${version}.tar.gz`,
    bytes: new TextEncoder().encode(`${app} ${version} ${platform}-${arch} ${randomHex(8)}`),
  };
}

/** PUTs one artifact through the upload route. */
export async function uploadArtifact(
  app: string,
  version: string,
  artifact: TestArtifact,
  options: { sha256?: string; token?: string } = {},
) {
  return admin<{ key: string; size: number; sha256: string }>(
    `/apps/${app}/uploads/${version}/${artifact.platform}-${artifact.arch}/${artifact.file}`,
    {
      method: 'PUT',
      body: artifact.bytes,
      token: options.token,
      headers: {
        'Content-Type': 'application/gzip',
        'X-Updraft-Sha256': options.sha256 ?? (await sha256Hex(artifact.bytes)),
      },
    },
  );
}

/** The signed manifest payload for `artifacts`. */
export async function releasePayload(
  app: string,
  version: string,
  artifacts: TestArtifact[],
  options: Partial<ReleasePayload> = {},
): Promise<ReleasePayload> {
  return {
    app,
    version,
    published_at: '2026-11-20T12:00:00Z',
    notes: `release ${version}`,
    mandatory: false,
    critical: false,
    requires: '*',
    artifacts: await Promise.all(
      artifacts.map(async (a) => ({
        platform: a.platform,
        arch: a.arch,
        file: a.file,
        sha256: await sha256Hex(a.bytes),
        size: a.bytes.length,
      })),
    ),
    ...options,
  };
}

/** Uploads one artifact, signs a manifest with the release key and registers it. Returns the manifest. */
export async function publish(
  app: string,
  version: string,
  options: Partial<ReleasePayload> = {},
): Promise<string> {
  const keys = await bootstrapKeys();
  const artifact = testArtifact(app, version);
  const upload = await uploadArtifact(app, version, artifact);
  if (upload.status !== 201)
    throw new Error(`upload failed: ${upload.status} ${JSON.stringify(upload.body)}`);
  const manifest = await signDocument(
    'release',
    await releasePayload(app, version, [artifact], options),
    keys.release,
  );
  const { status, body } = await admin(`/apps/${app}/releases`, { method: 'POST', body: { manifest } });
  if (status !== 201) throw new Error(`register failed: ${status} ${JSON.stringify(body)}`);
  return manifest;
}

/** A yank statement signed by the release key. */
export async function signYank(
  app: string,
  version: string,
  rollbackTo: string | null,
  reason = 'crash on start',
) {
  const keys = await bootstrapKeys();
  const payload: YankPayload = {
    app,
    version,
    reason,
    rollback_to: rollbackTo,
    yanked_at: '2026-11-21T12:00:00Z',
  };
  return signDocument('yank', payload, keys.release);
}

/** Promotes `version` to `channel` (default everyone) and returns the response. */
export function promote(
  app: string,
  channel: string,
  version: string,
  percent_bp = 10_000,
  extra: object = {},
) {
  return admin<ChannelViewBody>(`/apps/${app}/channels/${channel}/rollouts`, {
    method: 'POST',
    body: { version, percent_bp, ...extra },
  });
}

export interface ChannelViewBody {
  name: string;
  public: boolean;
  revision: number;
  issued_at: string;
  expires: string;
  rollouts: {
    version: string;
    percent_bp: number;
    state: string;
    salt: string;
    created_at: string;
    updated_at: string;
  }[];
  yanked: { version: string; rollback_to: string | null; reason: string }[];
}

/** The KV projection of a channel and its decoded (unverified) snapshot payload. */
export async function projected(app: string, channel: string) {
  const value = await env.STATE.get<ChannelProjection>(channelKey(app, channel), 'json');
  if (!value) return null;
  return { ...value, payload: decodeDocument(value.snapshot).payload as ChannelPayload };
}

/** The number of audit rows of an app (or of all apps). */
export async function auditCount(app?: string): Promise<number> {
  const row = await env.DB.prepare('SELECT count(*) AS n FROM audit WHERE ?1 IS NULL OR app = ?1')
    .bind(app ?? null)
    .first<{ n: number }>();
  return row?.n ?? 0;
}
