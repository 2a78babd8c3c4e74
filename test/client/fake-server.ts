/**
 * An Updraft server in memory for the SDK's unit tests: real keys and real signed documents, served
 * through a `fetch` function the updater is given. Tests shape what it answers (and tamper with it)
 * without a Worker; test/worker/client-sdk.integration.test.ts runs the SDK against the real one.
 */
import {
  createUpdater,
  type StorageAdapter,
  type Updater,
  type UpdaterOptions,
  UpdraftError,
} from '../../src/client/index.ts';
import { MemoryStorage } from '../../src/client/memory-storage.ts';
import type { CheckResponse, ElidedCheckResponse, UnverifiedCheckResponse } from '../../src/protocol/api.ts';
import type {
  ChannelPayload,
  KeysPayload,
  PublicJwk,
  ReleasePayload,
  Rollout,
  YankPayload,
} from '../../src/protocol/documents.ts';
import { sha256Hex } from '../../src/protocol/encoding.ts';
import { type PrivateJwk, signDocument } from '../../src/protocol/jws.ts';
import { generateKeyPair, publicJwk } from '../../src/protocol/keys.ts';

export const ORIGIN = 'https://updates.test';
export const APP = 'demo';
export const CHANNEL = 'stable';
export const NOW = new Date('2026-11-21T18:00:00Z');
export const DAY = 24 * 3600 * 1000;
export const iso = (offsetMs: number) => new Date(NOW.getTime() + offsetMs).toISOString();

export interface Published {
  version: string;
  jws: string;
  payload: ReleasePayload;
  bytes: Uint8Array<ArrayBuffer>;
  url: string;
}

export interface ListedRelease {
  release: Published;
  rollout?: Partial<Rollout>;
  /** A pruned snapshot's stand-in for a mandatory release it left out (docs/protocol.md §2). */
  mandatory_floor?: string;
}

export interface ListedYank {
  version: string;
  jws: string;
  rollback_to: string | null;
}

type Handler = (request: Request, url: URL) => Response | undefined | Promise<Response | undefined>;

export class FakeServer {
  readonly root: PrivateJwk;
  readonly release: PrivateJwk;
  readonly online: PrivateJwk;
  /** Keys documents by version - 1. */
  readonly keysDocs: string[] = [];
  readonly artifacts = new Map<string, Uint8Array<ArrayBuffer>>();
  /** Every request, as method and path with query. */
  readonly requests: string[] = [];
  /** Every events batch received. */
  readonly batches: unknown[][] = [];
  /** What `GET /check` answers. */
  answer: CheckResponse | ElidedCheckResponse | UnverifiedCheckResponse | undefined;
  /** Where artifact URLs point: the in-memory origin, or a real server's (test/client/hostile-server.ts). */
  origin = ORIGIN;
  /** Runs before the default routes; return a Response to answer with it. */
  intercept: Handler | undefined;
  #revision = 0;

  private constructor(root: PrivateJwk, release: PrivateJwk, online: PrivateJwk) {
    this.root = root;
    this.release = release;
    this.online = online;
  }

  static async create(): Promise<FakeServer> {
    const [root, release, online] = await Promise.all([
      generateKeyPair(),
      generateKeyPair(),
      generateKeyPair(),
    ]);
    const server = new FakeServer(root.privateJwk, release.privateJwk, online.privateJwk);
    await server.addKeys({ signer: server.root });
    return server;
  }

  get rootKeys(): PublicJwk[] {
    return [publicJwk(this.root)];
  }

  /** Appends the next keys document (default: the same roles, signed by the current root). */
  async addKeys(options: {
    signer: PrivateJwk;
    root?: PrivateJwk;
    online?: PrivateJwk;
    expires?: string;
  }): Promise<string> {
    const payload: KeysPayload = {
      version: this.keysDocs.length + 1,
      expires: options.expires ?? iso(365 * DAY),
      root: [publicJwk(options.root ?? this.root)],
      release: [publicJwk(this.release)],
      online: [publicJwk(options.online ?? this.online)],
    };
    const jws = await signDocument('keys', payload, options.signer);
    this.keysDocs.push(jws);
    return jws;
  }

  /** A signed release of `version` with one linux-x64 artifact, whose bytes the server then serves. */
  async publish(
    version: string,
    options: Partial<ReleasePayload> = {},
    signer = this.release,
  ): Promise<Published> {
    const bytes = new TextEncoder().encode(`${APP} ${version} `.repeat(50));
    const file = `${APP}-${version}.tar.gz`;
    const payload: ReleasePayload = {
      app: APP,
      version,
      published_at: iso(-DAY),
      notes: `release ${version}`,
      mandatory: false,
      critical: false,
      requires: '*',
      artifacts: [
        { platform: 'linux', arch: 'x64', file, sha256: await sha256Hex(bytes), size: bytes.length },
      ],
      ...options,
    };
    const path = `/v1/apps/${APP}/artifacts/${version}/linux-x64/${file}`;
    this.artifacts.set(path, bytes);
    const jws = await signDocument('release', payload, signer);
    return { version, jws, payload, bytes, url: `${this.origin}${path}` };
  }

  async yank(version: string, rollbackTo: string | null, signer = this.release): Promise<ListedYank> {
    const payload: YankPayload = {
      app: APP,
      version,
      reason: 'crash on start',
      rollback_to: rollbackTo,
      yanked_at: iso(-3600_000),
    };
    return { version, jws: await signDocument('yank', payload, signer), rollback_to: rollbackTo };
  }

  /** A signed snapshot listing `releases` and `yanked`; the revision grows by one per call unless given. */
  async snapshot(
    releases: ListedRelease[],
    yanked: ListedYank[] = [],
    options: Partial<ChannelPayload> & { signer?: PrivateJwk } = {},
  ): Promise<string> {
    this.#revision += 1;
    const { signer = this.online, ...overrides } = options;
    const payload: ChannelPayload = {
      app: APP,
      channel: CHANNEL,
      revision: this.#revision,
      issued_at: iso(-3600_000),
      expires: iso(6 * DAY),
      releases: await Promise.all(
        releases.map(async ({ release, rollout, mandatory_floor }) => ({
          version: release.version,
          release_sha256: await sha256Hex(release.jws),
          rollout: {
            percent_bp: 10_000,
            salt: '00112233445566778899aabbccddeeff',
            state: 'active' as const,
            ...rollout,
          },
          ...(mandatory_floor === undefined ? {} : { mandatory_floor }),
        })),
      ),
      yanked: await Promise.all(
        yanked.map(async (y) => ({
          version: y.version,
          yank_sha256: await sha256Hex(y.jws),
          rollback_to: y.rollback_to,
        })),
      ),
      ...overrides,
    };
    return signDocument('channel', payload, signer);
  }

  /** Sets the check answer to an update (or, with `yank`, a rollback) to `release`. */
  offer(
    status: 'update' | 'rollback',
    release: Published,
    snapshot: string,
    yank?: ListedYank,
  ): CheckResponse {
    const artifact = release.payload.artifacts[0];
    if (!artifact) throw new Error('release without artifact');
    this.answer = {
      status,
      channel: CHANNEL,
      version: release.version,
      mandatory: status === 'rollback' || release.payload.mandatory,
      artifact: { url: release.url, sha256: artifact.sha256, size: artifact.size },
      signed: yank ? { snapshot, release: release.jws, yank: yank.jws } : { snapshot, release: release.jws },
    };
    return this.answer;
  }

  /** The `fetch` an updater is given. */
  readonly fetch: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    this.requests.push(`${request.method} ${url.pathname}${url.search}`);
    const intercepted = await this.intercept?.(request, url);
    if (intercepted) return intercepted;
    return this.#route(request, url);
  };

  async #route(request: Request, url: URL): Promise<Response> {
    const path = url.pathname;
    if (path === '/v1/keys') return json({ keys: this.keysDocs.at(-1) });
    const keysVersion = /^\/v1\/keys\/(\d+)$/.exec(path)?.[1];
    if (keysVersion) {
      const jws = this.keysDocs[Number(keysVersion) - 1];
      return jws
        ? json({ keys: jws })
        : json({ error: { code: 'unknown_keys_version', message: 'no' } }, 404);
    }
    if (path === `/v1/apps/${APP}/check`) {
      return this.answer ? json(this.answer) : json({ error: { code: 'unknown_app', message: 'no' } }, 404);
    }
    if (path === `/v1/apps/${APP}/events` && request.method === 'POST') {
      const body = (await request.json()) as { events: unknown[] };
      this.batches.push(body.events);
      return json({ accepted: body.events.length, duplicates: 0, rejected: [] }, 202);
    }
    const bytes = this.artifacts.get(path);
    if (bytes) return new Response(bytes, { headers: { 'Content-Length': String(bytes.length) } });
    return json({ error: { code: 'not_found', message: `no route ${path}` } }, 404);
  }
}

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json', ...headers },
  });
}

/** An updater for `server` on linux-x64 at `currentVersion`, at NOW, with `storage` (default: fresh). */
export function updaterFor(
  server: FakeServer,
  options: Partial<UpdaterOptions> & { storage?: StorageAdapter } = {},
): Updater {
  return createUpdater({
    server: server.origin,
    app: APP,
    rootKeys: server.rootKeys,
    storage: new MemoryStorage(),
    platform: 'linux',
    arch: 'x64',
    currentVersion: '1.0.0',
    clientId: 'client-1',
    fetch: server.fetch,
    now: () => NOW,
    ...options,
  });
}

/** The `UpdraftError` code a promise rejects with (fails the test if it resolves or throws something else). */
export async function refusal(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof UpdraftError) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected an UpdraftError, but it resolved');
}
