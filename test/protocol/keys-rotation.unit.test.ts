import { describe, expect, it } from 'vitest';
import type { KeysPayload } from '../../src/protocol/documents.ts';
import { decodeDocument, type PrivateJwk, signDocument, verifyDocument } from '../../src/protocol/jws.ts';
import { generateKeyPair, verifyKeysChain } from '../../src/protocol/keys.ts';
import { signKeysRotation } from '../../src/protocol/keys-rotation.ts';

const EXPIRES = '2099-01-01T00:00:00Z';

async function firstDocument(): Promise<{ jws: string; payload: KeysPayload; root: PrivateJwk }> {
  const [root, release, online] = await Promise.all([
    generateKeyPair(),
    generateKeyPair(),
    generateKeyPair(),
  ]);
  const payload: KeysPayload = {
    version: 1,
    expires: EXPIRES,
    root: [root.publicJwk],
    release: [release.publicJwk],
    online: [online.publicJwk],
  };
  return { jws: await signDocument('keys', payload, root.privateJwk), payload, root: root.privateJwk };
}

describe('signKeysRotation', () => {
  it('a rotation that keeps the root: one document, the next version, signed by the root', async () => {
    const first = await firstDocument();
    const release = await generateKeyPair();
    const documents = await signKeysRotation({
      current: first.payload,
      next: { ...first.payload, release: [release.publicJwk] },
      signer: first.root,
    });
    expect(documents).toHaveLength(1);
    const last = await verifyKeysChain(first.payload.root, [first.jws, ...documents]);
    expect(last).toMatchObject({ version: 2, release: [release.publicJwk] });
  });

  it('a root rotation: N+1 signed by the old root, N+2 (same keys and expiry) by the new one; either pin verifies the newest', async () => {
    const first = await firstDocument();
    const newRoot = await generateKeyPair();
    const documents = await signKeysRotation({
      current: first.payload,
      next: { ...first.payload, root: [newRoot.publicJwk] },
      signer: first.root,
      newRoot: newRoot.privateJwk,
    });
    expect(documents.map((d) => decodeDocument(d).header.kid)).toEqual([
      first.root.kid,
      newRoot.publicJwk.kid,
    ]);
    const [second = '', third = ''] = documents;
    const { version: v2, ...lists2 } = decodeDocument(second).payload as KeysPayload;
    const { version: v3, ...lists3 } = decodeDocument(third).payload as KeysPayload;
    expect([v2, v3]).toEqual([2, 3]);
    expect(lists3).toEqual(lists2);

    expect((await verifyKeysChain(first.payload.root, [first.jws, ...documents])).version).toBe(3);
    expect((await verifyDocument('keys', third, [newRoot.publicJwk])).version).toBe(3);
  });

  it('refuses a signer that is not a root of the current document, and a new root without its private key', async () => {
    const first = await firstDocument();
    const stranger = (await generateKeyPair()).privateJwk;
    const newRoot = await generateKeyPair();
    const next = { ...first.payload, root: [newRoot.publicJwk] };
    await expect(signKeysRotation({ current: first.payload, next, signer: stranger })).rejects.toThrow(
      /not a root of keys document 1/,
    );
    await expect(signKeysRotation({ current: first.payload, next, signer: first.root })).rejects.toThrow(
      /must sign version 3/,
    );
    await expect(
      signKeysRotation({ current: first.payload, next, signer: first.root, newRoot: stranger }),
    ).rejects.toThrow(/must sign version 3/);
  });
});
