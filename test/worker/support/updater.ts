/**
 * The SDK as a client of the Worker under test: `createUpdater` pinned to the fixtures' root key, on
 * linux-x64, with fresh in-memory storage, its requests sent to `exports.default.fetch` and its
 * retries not waiting.
 */
import { exports } from 'cloudflare:workers';
import { createUpdater, type Updater, type UpdaterOptions } from '../../../src/client/index.ts';
import { MemoryStorage } from '../../../src/client/memory-storage.ts';
import { publicJwk } from '../../../src/protocol/keys.ts';
import { ORIGIN, type TestKeys } from './fixtures.ts';

const workerFetch: typeof fetch = (input, init) => exports.default.fetch(new Request(input, init));

/** An updater of `app` running `currentVersion`; `options` replace any of the defaults. */
export function workerUpdater(
  keys: TestKeys,
  app: string,
  currentVersion: string,
  options: Partial<UpdaterOptions> = {},
): Updater {
  return createUpdater({
    server: ORIGIN,
    app,
    rootKeys: [publicJwk(keys.root)],
    storage: new MemoryStorage(),
    platform: 'linux',
    arch: 'x64',
    currentVersion,
    fetch: workerFetch,
    sleep: async () => undefined,
    ...options,
  });
}
