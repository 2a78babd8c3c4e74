/**
 * A root rotation as `updraft keys rotate --role root` registers it (docs/protocol.md §2: "a client pinning
 * only the new root also accepts" the result): version N+1 with the new root, signed by the old one,
 * then N+2 with the same keys, signed by the new one. Both kinds of client are checked against what
 * the Worker serves at every step, including when the second registration fails and when a
 * registration dies between its D1 commit and its projection:
 *
 * - a client of the OLD root walks the chain from version 1 (`GET /v1/keys/{version}`) to `/v1/keys`;
 * - a build pinning only the NEW root verifies `/v1/keys` directly, once the rotation is complete.
 *
 * The keys document is global and these tests rotate it, so they run in order on one chain.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CheckResponse } from '../../src/protocol/api.ts';
import type { KeysPayload, PublicJwk } from '../../src/protocol/documents.ts';
import { decodeDocument, type PrivateJwk, verifyDocument } from '../../src/protocol/jws.ts';
import { generateKeyPair, publicJwk, verifyKeysChain } from '../../src/protocol/keys.ts';
import { signKeysRotation } from '../../src/protocol/keys-rotation.ts';
import { insertKeyset } from '../../src/worker/storage/keysets.ts';
import { clearStateCache } from '../../src/worker/storage/state-cache.ts';
import {
  admin,
  auditCount,
  bootstrapKeys,
  call,
  createApp,
  type ErrorBody,
  promote,
  publish,
  uniqueApp,
} from '../worker/support/fixtures.ts';

const TRIGGER = 'fault_injected';

/** The newest registered document and the private key of its root: what the next rotation starts from. */
let head: { payload: KeysPayload; root: PrivateJwk };
/** The root a client installed before any rotation pins. */
let firstRoot: PublicJwk;
let app = '';

beforeAll(async () => {
  const keys = await bootstrapKeys();
  head = { payload: keysPayload(keys.jws), root: keys.root };
  firstRoot = publicJwk(keys.root);
  app = await createApp(uniqueApp('root-rot'));
  for (const version of ['1.0.0', '1.1.0']) {
    await publish(app, version);
    expect((await promote(app, 'stable', version)).status).toBe(200);
  }
});

const keysPayload = (jws: string) => decodeDocument(jws).payload as KeysPayload;

/** What the CLI signs for `keys rotate --role root` (or, `root: false`, another role) from `head`. */
async function rotation(root = true): Promise<{ documents: string[]; newRoot: PrivateJwk }> {
  const { payload } = head;
  const newRoot = root ? (await generateKeyPair()).privateJwk : head.root;
  const documents = await signKeysRotation({
    current: payload,
    next: {
      expires: new Date(Date.now() + 365 * 86_400_000).toISOString(),
      root: [publicJwk(newRoot)],
      release: payload.release,
      online: payload.online,
    },
    signer: head.root,
    newRoot: root ? newRoot : undefined,
  });
  return { documents, newRoot };
}

function register(jws: string) {
  return admin<{ version: number } & Partial<ErrorBody>>('/keys', { method: 'POST', body: { keys: jws } });
}

async function served(path: string): Promise<string | null> {
  const response = await call(path, { token: null });
  if (response.status === 404) return null;
  expect(response.status).toBe(200);
  return (await response.json<{ keys: string }>()).keys;
}

/**
 * What a client of the first root sees: `/v1/keys` and every older version, verified link by link
 * from version 1. Also checks that the check answer's snapshot verifies under the newest document.
 */
async function oldRootClient(): Promise<{ current: string; payload: KeysPayload }> {
  const current = await served('/v1/keys');
  if (current === null) throw new Error('no /v1/keys');
  const { version } = keysPayload(current);
  const chain: string[] = [];
  for (let v = 1; v <= version; v++) {
    const jws = await served(`/v1/keys/${v}`);
    if (jws === null)
      throw new Error(`/v1/keys/${v} is missing: a client of the old root cannot walk the chain`);
    chain.push(jws);
  }
  expect(chain.at(-1)).toBe(current);
  const payload = await verifyKeysChain([firstRoot], chain);

  clearStateCache();
  const response = await call(`/v1/apps/${app}/check?client_id=c-1&version=1.0.0&platform=linux&arch=x64`, {
    token: null,
  });
  const answer = await response.json<CheckResponse>();
  expect(answer).toMatchObject({ status: 'update', version: '1.1.0' });
  await verifyDocument('channel', answer.signed.snapshot, payload.online);
  return { current, payload };
}

describe('a root rotation registered as `keys rotate --role root` does it', () => {
  it('N+1 signed by the old root, N+2 by the new: /v1/keys verifies against the new root alone, and the chain from version 1 against the old', async () => {
    const { documents, newRoot } = await rotation();
    expect(documents).toHaveLength(2);
    expect((await register(documents[0] ?? '')).status).toBe(201);
    expect((await register(documents[1] ?? '')).status).toBe(201);

    const { current, payload } = await oldRootClient();
    expect(payload.version).toBe(3);
    expect(payload.root).toEqual([publicJwk(newRoot)]);
    // A new build pinning only the new root: the newest document is signed by it.
    expect(decodeDocument(current).header.kid).toBe(newRoot.kid);
    expect((await verifyDocument('keys', current, [publicJwk(newRoot)])).version).toBe(3);
    // ...and only by it: the old root alone does not verify the newest document without the chain.
    await expect(verifyDocument('keys', current, [firstRoot])).rejects.toThrow();
    head = { payload, root: newRoot };
  });

  it('the second registration fails: old-root clients follow N+1 meanwhile, N+1 sent again answers 200 and changes nothing, then N+2 completes it', async () => {
    const before = head;
    const { documents, newRoot } = await rotation();
    const [first = '', second = ''] = documents;
    expect((await register(first)).status).toBe(201);
    await env.DB.exec(
      `CREATE TRIGGER ${TRIGGER} BEFORE INSERT ON keysets WHEN NEW.version = ${before.payload.version + 2} BEGIN SELECT RAISE(ABORT, 'injected fault: D1 is failing'); END`,
    );
    try {
      expect((await register(second)).status).toBe(500);
    } finally {
      await env.DB.exec(`DROP TRIGGER IF EXISTS ${TRIGGER}`);
    }

    // Half-way: N+1 is served. Clients of every earlier root follow it; the builds of the previous
    // rotation, pinning `before.root` alone, verify it directly (it is signed by that root).
    const halfway = await oldRootClient();
    expect(halfway.current).toBe(first);
    expect((await verifyDocument('keys', first, [publicJwk(before.root)])).version).toBe(4);

    // The CLI's resume (`keys register`) sends what the server lacks; a document it already holds
    // answers 200 and changes nothing (no audit row, no re-signing).
    const audits = await auditCount();
    expect(await register(first)).toMatchObject({ status: 200, body: { version: 4 } });
    expect(await auditCount()).toBe(audits);
    // A different document of a registered version is still refused.
    const rival = await signKeysRotation({
      current: before.payload,
      next: { ...keysPayload(first), expires: new Date(Date.now() + 86_400_000).toISOString() },
      signer: before.root,
      newRoot,
    });
    expect((await register(rival[0] ?? '')).body.error?.code).toBe('unknown_key');

    expect((await register(second)).status).toBe(201);
    const { current, payload } = await oldRootClient();
    expect(current).toBe(second);
    expect((await verifyDocument('keys', current, [publicJwk(newRoot)])).version).toBe(5);
    head = { payload, root: newRoot };
  });

  it('a registration that died between its D1 commit and its projection: the same document sent again projects it', async () => {
    // A release-key-style rotation (the root stays): one document, 6.
    const { documents } = await rotation(false);
    expect(documents).toHaveLength(1);
    const [sixth = ''] = documents;
    // The Worker committed it and stopped: D1 has it, R2 and KV do not.
    await insertKeyset(env.DB, 6, sixth, new Date()).run();
    expect(keysPayload((await served('/v1/keys')) ?? '').version).toBe(5);
    expect(await served('/v1/keys/6')).toBeNull();

    expect(await register(sixth)).toMatchObject({ status: 200, body: { version: 6 } });
    const { current, payload } = await oldRootClient();
    expect(current).toBe(sixth);
    head = { payload, root: head.root };
  });

  it('a root rotation whose N+1 died after its commit: registering N+2 archives N+1 too, so the chain has no gap', async () => {
    const { documents, newRoot } = await rotation();
    const [seventh = '', eighth = ''] = documents;
    await insertKeyset(env.DB, 7, seventh, new Date()).run();
    expect(await served('/v1/keys/7')).toBeNull();

    expect((await register(eighth)).status).toBe(201);
    expect(await served('/v1/keys/7')).toBe(seventh);
    const { current, payload } = await oldRootClient();
    expect(payload.version).toBe(8);
    expect((await verifyDocument('keys', current, [publicJwk(newRoot)])).version).toBe(8);
  });
});
