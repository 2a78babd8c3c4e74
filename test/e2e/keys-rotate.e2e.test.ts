/**
 * `updraft keys rotate --role root` against the real Worker under `wrangler dev` (docs/protocol.md §2: a root
 * rotation produces a keys document that a client pinning only the new root also accepts). After
 * each step, what both kinds of client fetch is verified: a client of the first root walks the
 * chain from version 1 (`GET /v1/keys/{version}`), a new build pinning only the newest root verifies
 * `/v1/keys` alone, and the channel snapshot verifies under the newest document's online keys.
 *
 * The second registration of a rotation is refused by a proxy in front of the Worker (the network or
 * the Worker failing between the two requests); `updraft keys register` then finishes the rotation.
 */

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appCreate } from '../../scripts/commands/app-create.ts';
import { keysInit } from '../../scripts/commands/keys-init.ts';
import { keysRegister } from '../../scripts/commands/keys-register.ts';
import { keysRotate } from '../../scripts/commands/keys-rotate.ts';
import { ApiClient } from '../../scripts/lib/api.ts';
import { readPrivateKey } from '../../scripts/lib/keys-folder.ts';
import type { CheckResponse } from '../../src/protocol/api.ts';
import type { KeysPayload, PublicJwk } from '../../src/protocol/documents.ts';
import { decodeDocument, verifyDocument } from '../../src/protocol/jws.ts';
import { publicJwk, verifyKeysChain } from '../../src/protocol/keys.ts';
import { runBin } from '../scripts/helpers.ts';
import { type DevServer, startDevServer } from './dev-server.ts';

let dev: DevServer | undefined;
let work = '';
let keysDir = '';
let firstRoot: PublicJwk;

const url = () => {
  if (!dev) throw new Error('the dev server did not start');
  return dev.url;
};
const env = (): NodeJS.ProcessEnv => ({
  UPDRAFT_SERVER: url(),
  UPDRAFT_TOKEN: dev?.adminToken,
  UPDRAFT_KEYS: keysDir,
});
const currentRoot = async () => publicJwk(await readPrivateKey(keysDir, 'root'));

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'updraft-keys-e2e-'));
  keysDir = join(work, 'keys');
  await keysInit({ keysDir, offline: true });
  firstRoot = await currentRoot();
  const onlineKey = JSON.stringify(JSON.parse(await readFile(join(keysDir, 'online.json'), 'utf8')));
  dev = await startDevServer({ onlineKey });
  const client = new ApiClient({ server: dev.url, token: dev.adminToken });
  await keysRegister({ client, keysDir });
  await appCreate({ client, app: 'demo' });
});

afterAll(async () => {
  await dev?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

async function keysAt(path: string): Promise<string> {
  const response = await fetch(`${url()}${path}`);
  expect(response.status, path).toBe(200);
  return ((await response.json()) as { keys: string }).keys;
}

/** `/v1/keys` as a client of the first root sees it: verified through every version from 1. */
async function servedKeys(): Promise<{ current: string; payload: KeysPayload }> {
  const current = await keysAt('/v1/keys');
  const { version } = decodeDocument(current).payload as KeysPayload;
  const chain: string[] = [];
  for (let v = 1; v <= version; v++) chain.push(await keysAt(`/v1/keys/${v}`));
  expect(chain.at(-1)).toBe(current);
  const payload = await verifyKeysChain([firstRoot], chain);
  // KV propagation is immediate under wrangler dev, but the isolate caches state for a few seconds.
  await expect
    .poll(
      async () => {
        const response = await fetch(
          `${url()}/v1/apps/demo/check?client_id=c-1&version=1.0.0&platform=linux&arch=x64`,
        );
        const { snapshot } = ((await response.json()) as CheckResponse).signed;
        if (snapshot === undefined) return 'no snapshot';
        return verifyDocument('channel', snapshot, payload.online).then(
          () => 'verified',
          (error: unknown) => String(error),
        );
      },
      { timeout: 15_000, interval: 500 },
    )
    .toBe('verified');
  return { current, payload };
}

/** A proxy to the Worker that answers the `refuse`-th keys registration itself, with a 503. */
async function refusingProxy(refuse: number): Promise<{ client: ApiClient; close(): Promise<void> }> {
  let posts = 0;
  const proxy: Server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      if (req.method === 'POST' && req.url === '/v1/admin/keys' && ++posts === refuse) {
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'unavailable', message: 'the Worker is unavailable' } }));
        return;
      }
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers)) {
        if (typeof value === 'string' && name !== 'host') headers.set(name, value);
      }
      const upstream = await fetch(`${url()}${req.url ?? '/'}`, {
        method: req.method,
        headers,
        body: req.method === 'GET' ? undefined : Buffer.concat(chunks),
      });
      res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? '' });
      res.end(Buffer.from(await upstream.arrayBuffer()));
    });
  });
  await new Promise<void>((done) => proxy.listen(0, '127.0.0.1', done));
  const { port } = proxy.address() as AddressInfo;
  return {
    client: new ApiClient({ server: `http://127.0.0.1:${port}`, token: dev?.adminToken }),
    close: () => new Promise<void>((done) => proxy.close(() => done())),
  };
}

describe('updraft keys rotate --role root against the Worker', () => {
  it('registers N+1 (signed by the old root) and N+2 (by the new): /v1/keys verifies against the new root alone', async () => {
    const result = await runBin(['keys', 'rotate', '--role', 'root'], env(), work);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const newRoot = await currentRoot();
    expect(result.stdout).toContain(
      'Keys documents 2 (the new keys, signed by the old root) and 3 (the same, signed by the new root) (registered).',
    );
    expect(result.stdout).toContain(JSON.stringify(newRoot));

    const { current, payload } = await servedKeys();
    expect(payload.version).toBe(3);
    expect((await verifyDocument('keys', current, [newRoot])).version).toBe(3);
  });

  it('the second registration refused: old-root clients follow N+1, and `updraft keys register` completes the rotation', async () => {
    const previousRoot = await currentRoot();
    const proxy = await refusingProxy(2);
    try {
      await expect(keysRotate({ keysDir, role: 'root', client: proxy.client })).rejects.toThrow(
        /^keys document 4 is registered, 5 is not \(the Worker is unavailable \(503 unavailable\)\);.*run `updraft keys register`/,
      );
    } finally {
      await proxy.close();
    }
    const halfway = await servedKeys();
    expect(halfway.payload.version).toBe(4);
    // The builds of the previous rotation, pinning its root alone, still verify the newest document.
    expect((await verifyDocument('keys', halfway.current, [previousRoot])).version).toBe(4);

    const result = await runBin(['keys', 'register'], env(), work);
    expect([result.code, result.stdout.trim()]).toEqual([0, 'Registered keys document 5.']);
    const { current, payload } = await servedKeys();
    expect(payload.version).toBe(5);
    expect((await verifyDocument('keys', current, [await currentRoot()])).version).toBe(5);

    const again = await runBin(['keys', 'register'], env(), work);
    expect(again.stdout.trim()).toBe('The server already has keys document 5; nothing to register.');
  });
});
