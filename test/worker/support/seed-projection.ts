/**
 * Seeds the KV projection and R2 directly, with documents really signed by protocol functions, so the
 * data plane can be tested before (and independently of) the admin API.
 *
 * Storage is shared by every test: each test uses its own app name (`uniqueApp`).
 */
import { env, exports } from 'cloudflare:workers';
import type { ChannelInfo, ChannelRule } from '../../../src/protocol/channels.ts';
import type { KeysPayload, ReleasePayload, Rollout, YankPayload } from '../../../src/protocol/documents.ts';
import { randomHex, sha256Hex } from '../../../src/protocol/encoding.ts';
import { signDocument } from '../../../src/protocol/jws.ts';
import { generateKeyPair, parsePrivateJwk, publicJwk } from '../../../src/protocol/keys.ts';
import {
  type AppProjection,
  appKey,
  artifactKey,
  type ChannelProjection,
  channelKey,
  KEYS_KEY,
  type KeysProjection,
  keysDocKey,
} from '../../../src/worker/storage/projection.ts';
import { clearStateCache } from '../../../src/worker/storage/state-cache.ts';

export const ORIGIN = 'https://updraft.test';

let counter = 0;
/** A fresh app name, unique across tests and runs. */
export function uniqueApp(prefix = 'app'): string {
  counter += 1;
  return `${prefix}-${counter}-${randomHex(4)}`;
}

/** One request through the Worker's real entry point. */
export function fetchWorker(path: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(new Request(`${ORIGIN}${path}`, init));
}

export async function errorOf(response: Response): Promise<{ code: string; message: string }> {
  const body: { error: { code: string; message: string } } = await response.json();
  return body.error;
}

const releaseKeys = generateKeyPair();
const onlineKey = () => parsePrivateJwk(env.UPDRAFT_ONLINE_KEY);

/** A release manifest with one artifact per target (default linux-x64). */
export function release(app: string, version: string, options: Partial<ReleasePayload> = {}): ReleasePayload {
  return {
    app,
    version,
    published_at: '2026-11-20T12:00:00Z',
    notes: `release ${version}`,
    mandatory: false,
    critical: false,
    requires: '*',
    artifacts: [
      {
        platform: 'linux',
        arch: 'x64',
        file: `${app}-${version}.tar.gz`,
        sha256: 'a'.repeat(64),
        size: 1234,
      },
    ],
    ...options,
  };
}

export function yank(
  app: string,
  version: string,
  rollbackTo: string | null,
  reason = 'crash on start',
): YankPayload {
  return { app, version, reason, rollback_to: rollbackTo, yanked_at: '2026-11-21T12:00:00Z' };
}

export async function seedApp(
  app: string,
  options: { default_channel?: string; channels?: ChannelInfo[]; rules?: ChannelRule[] } = {},
): Promise<AppProjection> {
  const defaultChannel = options.default_channel ?? 'stable';
  const projection: AppProjection = {
    app,
    default_channel: defaultChannel,
    channels: options.channels ?? [{ name: defaultChannel, public: true }],
    rules: options.rules ?? [],
  };
  await env.STATE.put(appKey(app), JSON.stringify(projection));
  clearStateCache();
  return projection;
}

export interface ChannelSeed {
  app: string;
  channel?: string;
  revision?: number;
  /** Listed releases and their rollouts (salt defaults to a random one, state to active, 100 %). */
  releases: { release: ReleasePayload; rollout?: Partial<Rollout> }[];
  yanks?: YankPayload[];
  /** Releases in the projection but not listed in the snapshot (rollback targets). */
  unlisted?: ReleasePayload[];
}

/**
 * Signs every document, writes `channel:<app>:<channel>` and forgets the isolate cache. The Worker
 * serves a snapshot only when it verifies against `keys:current`, so one listing the online key is
 * put there first if there is none.
 */
export async function seedChannel(seed: ChannelSeed): Promise<ChannelProjection> {
  if ((await env.STATE.get(KEYS_KEY)) === null) await seedKeys(1, true);
  const { privateJwk } = await releaseKeys;
  const releases: Record<string, string> = {};
  const yanks: Record<string, string> = {};
  for (const payload of [...seed.releases.map((r) => r.release), ...(seed.unlisted ?? [])]) {
    releases[payload.version] = await signDocument('release', payload, privateJwk);
  }
  for (const payload of seed.yanks ?? [])
    yanks[payload.version] = await signDocument('yank', payload, privateJwk);

  const issued = new Date();
  const snapshot = await signDocument(
    'channel',
    {
      app: seed.app,
      channel: seed.channel ?? 'stable',
      revision: seed.revision ?? 1,
      issued_at: iso(issued),
      expires: iso(new Date(issued.getTime() + 24 * 3600 * 1000)),
      releases: await Promise.all(
        seed.releases.map(async ({ release: payload, rollout }) => ({
          version: payload.version,
          release_sha256: await sha256Hex(releases[payload.version] ?? ''),
          rollout: { percent_bp: 10_000, salt: randomHex(16), state: 'active' as const, ...rollout },
        })),
      ),
      yanked: await Promise.all(
        (seed.yanks ?? []).map(async (y) => ({
          version: y.version,
          yank_sha256: await sha256Hex(yanks[y.version] ?? ''),
          rollback_to: y.rollback_to,
        })),
      ),
    },
    onlineKey(),
  );
  const projection: ChannelProjection = { snapshot, releases, yanks };
  await env.STATE.put(channelKey(seed.app, seed.channel ?? 'stable'), JSON.stringify(projection));
  clearStateCache();
  return projection;
}

/** Puts artifact bytes where the artifact route reads them. */
export async function seedArtifact(
  path: { app: string; version: string; platform: string; arch: string; file: string },
  bytes: Uint8Array,
  contentType = 'application/gzip',
): Promise<R2Object> {
  const key = artifactKey(path.app, path.version, path.platform, path.arch, path.file);
  return env.BUCKET.put(key, bytes, { httpMetadata: { contentType } });
}

/** Signs a keys document of `version` with a fresh root; stores it in R2 and, if `current`, in KV. */
export async function seedKeys(version: number, current: boolean): Promise<string> {
  const root = await generateKeyPair();
  const payload: KeysPayload = {
    version,
    expires: iso(new Date(Date.now() + 365 * 24 * 3600 * 1000)),
    root: [root.publicJwk],
    release: [(await releaseKeys).publicJwk],
    online: [publicJwk(onlineKey())],
  };
  const jws = await signDocument('keys', payload, root.privateJwk);
  await env.BUCKET.put(keysDocKey(version), jws);
  if (current) {
    const projection: KeysProjection = { version, jws };
    await env.STATE.put(KEYS_KEY, JSON.stringify(projection));
  }
  return jws;
}

const iso = (date: Date) => `${date.toISOString().slice(0, 19)}Z`;
