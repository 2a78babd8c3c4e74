/**
 * The Updraft client SDK. WebCrypto and fetch only: runs in Node 20+, browsers, Electron and React
 * Native (with a WebCrypto polyfill). Import as `@updraft/client`; docs/client.md is the guide.
 */
import * as z from 'zod';
import {
  type Arch,
  archSchema,
  clientIdSchema,
  nameSchema,
  type Platform,
  type PublicJwk,
  platformSchema,
  publicJwkSchema,
  runtimeSchema,
  versionSchema,
} from '../protocol/documents.ts';
import { osVersionSchema } from '../protocol/telemetry.ts';
import { CHECK_TIMEOUT_MS, runCheck } from './check.ts';
import { downloadArtifact } from './download.ts';
import { flushQueue } from './flush.ts';
import { deadline, type Http } from './http.ts';
import { createSessions, queueFinishedHours, type Sessions } from './sessions.ts';
import { serial, storageKeys } from './store.ts';
import { appendToQueue, buildEvent } from './telemetry.ts';

import type {
  CheckOptions,
  CheckResult,
  DownloadOptions,
  RejectedEvent,
  ReportInput,
  StorageAdapter,
} from './types.ts';

export { UpdraftError } from './errors.ts';
export { MemoryStorage } from './memory-storage.ts';
export type { Sessions } from './sessions.ts';
export type * from './types.ts';

export interface UpdaterOptions {
  /** Base URL of the Updraft Worker, e.g. https://updates.example.com */
  server: string;
  app: string;
  /** Channel to ask for; the server's rules may route the client elsewhere. */
  channel?: string;
  /** Pinned root public keys (from `updraft keys init`): the only keys trusted without a chain. */
  rootKeys: PublicJwk[];
  storage: StorageAdapter;
  platform: Platform;
  arch: Arch;
  currentVersion: string;
  osVersion?: string;
  /** The native build's runtime (docs/protocol.md §3, as Expo's runtime version): only artifacts of it, or of none, are offered. */
  runtime?: string;
  /** Defaults to a random ID created once and kept in storage. */
  clientId?: string;
  /** Also check that this client's own bucket is inside the rollout it is offered (docs/protocol.md §2). */
  verifyBucket?: boolean;
  /** Injectable for tests and runtimes without a global fetch. */
  fetch?: typeof fetch;
  /** Injectable clock. */
  now?: () => Date;
  /** Injectable wait between telemetry retries (tests); defaults to setTimeout. */
  sleep?: (ms: number) => Promise<void>;
  /** Events the server refused for good (invalid): they are dropped from the queue. Defaults to console.warn. */
  onRejected?: (rejected: RejectedEvent[]) => void;
}

export interface Updater {
  /** This install's client ID (created and stored on first use unless given). */
  clientId(): Promise<string>;
  /** Asks the server and verifies everything docs/protocol.md §2 lists; throws `UpdraftError` on any refusal. */
  check(options?: CheckOptions): Promise<CheckResult>;
  /**
   * Streams the artifact with its signed size as a hard cap and returns the bytes only after their
   * SHA-256 matches the signed one; throws `UpdraftError` (`artifact_too_large`, `artifact_size`,
   * `artifact_hash`, `timeout`, `network`). An interrupted transfer resumes where it broke off.
   */
  download(
    result: Extract<CheckResult, { status: 'update' | 'rollback' }>,
    options?: DownloadOptions,
  ): Promise<Uint8Array>;
  /** Queues a telemetry event (persisted in storage, so it survives restarts). */
  report(event: ReportInput): Promise<void>;
  /** Sends queued events, retrying with backoff; resolves when the queue is empty or retries are exhausted for now. */
  flush(): Promise<void>;
  /** After installing: the version now running (used by later checks and reports). */
  setCurrentVersion(version: string): void;
  /**
   * The app's sessions (docs/protocol.md §5: crash-free sessions and users): `start()` at app start, `end()` at
   * a normal exit, `markErrored()` / `markCrashed()` from the app's error and crash handlers. Counted
   * per version and hour in storage; `flush()` reports each finished hour as one `session` event.
   */
  sessions: Sessions;
}

const optionsSchema = z.object({
  app: nameSchema,
  channel: nameSchema.optional(),
  rootKeys: z.array(publicJwkSchema).min(1),
  platform: platformSchema,
  arch: archSchema,
  currentVersion: versionSchema,
  osVersion: osVersionSchema.optional(),
  runtime: runtimeSchema.optional(),
  clientId: clientIdSchema.optional(),
});

/**
 * An updater for one app. Validates `options` (a TypeError names what is wrong); nothing is
 * fetched until `check()`. Use one updater per app and storage.
 */
export function createUpdater(options: UpdaterOptions): Updater {
  const valid = optionsSchema.safeParse(options);
  if (!valid.success) {
    const issue = valid.error.issues[0];
    throw new TypeError(`createUpdater: ${issue?.path.join('.')}: ${issue?.message}`);
  }
  const { base, origin } = serverUrl(options.server);
  const { app, platform, arch, osVersion, runtime, rootKeys } = valid.data;
  const { storage } = options;
  const keys = storageKeys(app);
  const fetchFn = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const http: Http = { fetch: fetchFn, origin };
  const now = options.now ?? (() => new Date());
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const onRejected =
    options.onRejected ??
    ((rejected: RejectedEvent[]) => {
      for (const r of rejected) console.warn(`updraft: event ${r.event.id} refused: ${r.code}: ${r.message}`);
    });
  const lock = serial();
  let currentVersion = options.currentVersion;
  let flushing: Promise<void> | undefined;

  let clientIdPromise: Promise<string> | undefined;
  const clientId = () => {
    if (!clientIdPromise) {
      const loading = loadClientId(storage, keys.clientId, valid.data.clientId);
      // A failed storage read is not remembered: the next call tries again.
      loading.catch(() => {
        clientIdPromise = undefined;
      });
      clientIdPromise = loading;
    }
    return clientIdPromise;
  };

  const knownChannel = async () => (await storage.get(keys.channel)) ?? valid.data.channel;
  /** Finished hours of session counts become queued events (they wait while no channel is known). */
  const queueSessions = async () => {
    const channel = await knownChannel();
    if (channel === undefined) return;
    const who = { clientId: await clientId(), channel, platform, arch, osVersion };
    await lock(() => queueFinishedHours({ storage, app, now }, who));
  };
  const sessions = createSessions({ storage, app, now, lock, version: () => currentVersion });

  return {
    clientId,
    sessions,
    async check(checkOptions = {}) {
      const at = now();
      const limit = deadline('check', checkOptions.timeoutMs ?? CHECK_TIMEOUT_MS, checkOptions.signal);
      try {
        return await runCheck({
          http,
          signal: limit.signal,
          base,
          origin,
          app,
          channel: valid.data.channel,
          storage,
          rootKeys,
          platform,
          arch,
          osVersion,
          runtime,
          currentVersion,
          clientId: await clientId(),
          verifyBucket: options.verifyBucket === true,
          now: at,
        });
      } finally {
        limit.done();
      }
    },
    download: (result, downloadOptions) => downloadArtifact(http, result, downloadOptions),
    async report(input) {
      const channel = await knownChannel();
      if (channel === undefined) {
        throw new TypeError('report: no channel known yet: call check() first or set options.channel');
      }
      const who = { clientId: await clientId(), channel, platform, arch, osVersion, currentVersion };
      const event = buildEvent(input, who, now);
      await lock(() => appendToQueue(storage, app, event));
    },
    flush() {
      flushing ??= queueSessions()
        .then(() => flushQueue({ http, base, app, storage, now, sleep, onRejected, lock }))
        .finally(() => {
          flushing = undefined;
        });
      return flushing;
    },
    setCurrentVersion(version) {
      const parsed = versionSchema.safeParse(version);
      if (!parsed.success) throw new TypeError(`setCurrentVersion: ${version} is not a semantic version`);
      currentVersion = parsed.data;
    },
  };
}

/** The server's base URL without a trailing slash. HTTPS, or plain HTTP to this machine for development. */
function serverUrl(server: string): { base: string; origin: string } {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new TypeError(`createUpdater: server ${server} is not a URL`);
  }
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new TypeError(`createUpdater: server must be https:// (or http:// on localhost), got ${server}`);
  }
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw new TypeError(`createUpdater: server ${server} must not carry credentials, a query or a fragment`);
  }
  return { base: url.href.replace(/\/+$/, ''), origin: url.origin };
}

async function loadClientId(
  storage: StorageAdapter,
  key: string,
  given: string | undefined,
): Promise<string> {
  if (given !== undefined) return given;
  const stored = await storage.get(key);
  if (stored !== null && clientIdSchema.safeParse(stored).success) return stored;
  const created = crypto.randomUUID();
  await storage.set(key, created);
  return created;
}
