/** signDocument/verifyDocument on random valid payloads, and single-character mutations of their JWS. */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DocumentKind, PayloadOf, PublicJwk } from '../../src/protocol/documents.ts';
import { DocumentError, type PrivateJwk, signDocument, verifyDocument } from '../../src/protocol/jws.ts';
import { generateKeyPair } from '../../src/protocol/keys.ts';
import { channelPayloadArb, keysPayloadArb, releasePayloadArb, yankPayloadArb } from './arbitraries.ts';

let key: { privateJwk: PrivateJwk; publicJwk: PublicJwk };
beforeAll(async () => {
  key = await generateKeyPair();
});

interface Signable<K extends DocumentKind> {
  kind: K;
  payload: PayloadOf<K>;
  now: Date;
}

const RELEASE_NOW = new Date('2026-11-21T18:00:00Z');

/** A valid payload of a random kind and a time at which it is valid. */
const documentArb: fc.Arbitrary<Signable<DocumentKind>> = fc.oneof(
  releasePayloadArb.map((payload): Signable<'release'> => ({ kind: 'release', payload, now: RELEASE_NOW })),
  yankPayloadArb.map((payload): Signable<'yank'> => ({ kind: 'yank', payload, now: RELEASE_NOW })),
  channelPayloadArb.map(({ payload, now }): Signable<'channel'> => ({ kind: 'channel', payload, now })),
  keysPayloadArb.map(({ payload, now }): Signable<'keys'> => ({ kind: 'keys', payload, now })),
);

/** Any character a hostile byte could become: base64url, the separator, padding, space, controls, non-ASCII. */
const replacementArb = fc.oneof(
  fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.split('')),
  fc.constantFrom('.', '=', '+', '/', ' ', '\n', '\0', '\u00e9'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
);

describe('signed documents', () => {
  it('verify to the payload they were signed from', async () => {
    await fc.assert(
      fc.asyncProperty(documentArb, async ({ kind, payload, now }) => {
        const jws = await signDocument(kind, payload, key.privateJwk);
        expect(await verifyDocument(kind, jws, [key.publicJwk], { now })).toEqual(payload);
      }),
      { seed: 7101, numRuns: 150 },
    );
  });

  it('are refused with a DocumentError after any single-character change', async () => {
    await fc.assert(
      fc.asyncProperty(documentArb, fc.nat(), replacementArb, async ({ kind, payload, now }, at, char) => {
        const jws = await signDocument(kind, payload, key.privateJwk);
        const index = at % jws.length;
        fc.pre(jws[index] !== char);
        const mutated = `${jws.slice(0, index)}${char}${jws.slice(index + 1)}`;
        const outcome = await verifyDocument(kind, mutated, [key.publicJwk], { now }).then(
          (verified) => ({ verified }),
          (error: unknown) => ({ error }),
        );
        expect(outcome).not.toHaveProperty('verified');
        expect('error' in outcome && outcome.error).toBeInstanceOf(DocumentError);
      }),
      { seed: 7102, numRuns: 400 },
    );
  });

  it('are refused with a DocumentError after a change to the last character of the signature', async () => {
    // The one place random mutations rarely hit and where base64url has spare bits (see jws.unit.test.ts).
    await fc.assert(
      fc.asyncProperty(documentArb, replacementArb, async ({ kind, payload, now }, char) => {
        const jws = await signDocument(kind, payload, key.privateJwk);
        fc.pre(!jws.endsWith(char));
        const mutated = `${jws.slice(0, -1)}${char}`;
        await expect(verifyDocument(kind, mutated, [key.publicJwk], { now })).rejects.toBeInstanceOf(
          DocumentError,
        );
      }),
      { seed: 7103, numRuns: 100 },
    );
  });
});
