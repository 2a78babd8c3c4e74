import { beforeAll, describe, expect, it } from 'vitest';
import { publicJwkSchema } from '../../src/protocol/documents.ts';
import { DocumentError, jwkThumbprint, signDocument, verifyDocument } from '../../src/protocol/jws.ts';
import { generateKeyPair, parsePrivateJwk, publicJwk, verifyKeysChain } from '../../src/protocol/keys.ts';
import { DAY, iso, keysPayload, NOW, releasePayload } from './fixtures.ts';

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;
let root1: KeyPair;
let root2: KeyPair;
let release: KeyPair;
beforeAll(async () => {
  [root1, root2, release] = await Promise.all([generateKeyPair(), generateKeyPair(), generateKeyPair()]);
});

const options = { now: NOW };

async function code(promise: Promise<unknown>): Promise<string | undefined> {
  return promise.then(
    () => undefined,
    (e: unknown) => (e instanceof DocumentError ? e.code : String(e)),
  );
}

describe('generateKeyPair, publicJwk, parsePrivateJwk', () => {
  it('makes Ed25519 pairs whose kid is the thumbprint and that sign and verify', async () => {
    expect(publicJwkSchema.parse(root1.publicJwk)).toEqual(root1.publicJwk);
    expect(root1.privateJwk.kid).toBe(jwkThumbprint(root1.publicJwk));
    expect(root1.publicJwk).toEqual(publicJwk(root1.privateJwk));
    expect(root1.publicJwk).not.toHaveProperty('d');
    expect(root1.publicJwk.kid).not.toBe(root2.publicJwk.kid);
    const jws = await signDocument('release', releasePayload({ version: '1.0.0' }), root1.privateJwk);
    expect(await verifyDocument('release', jws, [root1.publicJwk])).toHaveProperty('version', '1.0.0');
  });

  it('parses a secret, filling in a missing kid and dropping other members', () => {
    const { kid: _, ...bare } = root1.privateJwk;
    expect(parsePrivateJwk(JSON.stringify(bare))).toEqual(root1.privateJwk);
    expect(parsePrivateJwk(JSON.stringify({ ...root1.privateJwk, alg: 'EdDSA', use: 'sig' }))).toEqual(
      root1.privateJwk,
    );
  });

  it('refuses what is not a private Ed25519 JWK, without echoing the secret', () => {
    const { d } = root1.privateJwk;
    const cases = [
      'not json',
      JSON.stringify(root1.publicJwk),
      JSON.stringify({ ...root1.privateJwk, crv: 'X25519' }),
      JSON.stringify({ ...root1.privateJwk, kid: root2.publicJwk.kid }),
      JSON.stringify({ ...root1.privateJwk, d: `${d}AAAA` }),
    ];
    for (const text of cases) {
      expect(() => parsePrivateJwk(text), text).toThrow(Error);
      try {
        parsePrivateJwk(text);
      } catch (error) {
        expect(String(error)).not.toContain(d);
      }
    }
    expect(() => publicJwk({ ...root1.privateJwk, kty: 'EC' } as never)).toThrow(/kty/);
  });
});

describe('verifyKeysChain', () => {
  const sign = (version: number, roots: KeyPair[], signer: KeyPair, expires = iso(365 * DAY)) =>
    signDocument(
      'keys',
      {
        ...keysPayload(
          version,
          roots.map((r) => r.publicJwk),
          [release.publicJwk],
        ),
        expires,
      },
      signer.privateJwk,
    );

  it('follows a root rotation: N+1 signed by the old root, N+2 by the new one', async () => {
    const chain = [
      await sign(1, [root1], root1),
      await sign(2, [root2], root1),
      await sign(3, [root2], root2),
    ];
    const last = await verifyKeysChain([root1.publicJwk], chain, options);
    expect(last.version).toBe(3);
    expect(last.root).toEqual([root2.publicJwk]);
    expect(last.release).toEqual([release.publicJwk]);
  });

  it('accepts a single document signed by a pinned root, and a chain starting past version 1', async () => {
    expect(await verifyKeysChain([root1.publicJwk], [await sign(1, [root1], root1)], options)).toHaveProperty(
      'version',
      1,
    );
    const chain = [await sign(4, [root1, root2], root1), await sign(5, [root2], root2)];
    expect(await verifyKeysChain([root2.publicJwk, root1.publicJwk], chain, options)).toHaveProperty(
      'version',
      5,
    );
  });

  it('refuses a link signed only by the root it introduces', async () => {
    const chain = [await sign(1, [root1], root1), await sign(2, [root2], root2)];
    expect(await code(verifyKeysChain([root1.publicJwk], chain, options))).toBe('unknown_key');
  });

  it('refuses a version gap or a repeated version', async () => {
    const gap = [await sign(1, [root1], root1), await sign(3, [root1], root1)];
    expect(await code(verifyKeysChain([root1.publicJwk], gap, options))).toBe('malformed');
    const repeat = [await sign(1, [root1], root1), await sign(1, [root1], root1)];
    expect(await code(verifyKeysChain([root1.publicJwk], repeat, options))).toBe('malformed');
  });

  it('refuses a first document not signed by a pinned root', async () => {
    const chain = [await sign(1, [root2], root2), await sign(2, [root2], root2)];
    expect(await code(verifyKeysChain([root1.publicJwk], chain, options))).toBe('unknown_key');
    // A release key can never sign a keys document that a client accepts.
    expect(await code(verifyKeysChain([root1.publicJwk], [await sign(1, [root1], release)], options))).toBe(
      'unknown_key',
    );
  });

  it('lets older links have expired but not the last one', async () => {
    const chain = [await sign(1, [root1], root1, iso(-30 * DAY)), await sign(2, [root1], root1, iso(DAY))];
    expect(await verifyKeysChain([root1.publicJwk], chain, options)).toHaveProperty('version', 2);
    const later = { now: new Date(NOW.getTime() + 2 * DAY) };
    expect(await code(verifyKeysChain([root1.publicJwk], chain, later))).toBe('expired');
  });

  it('refuses an empty chain and a document of another kind', async () => {
    expect(await code(verifyKeysChain([root1.publicJwk], [], options))).toBe('malformed');
    const notKeys = await signDocument('release', releasePayload({ version: '1.0.0' }), root1.privateJwk);
    expect(await code(verifyKeysChain([root1.publicJwk], [notKeys], options))).toBe('wrong_type');
  });
});
