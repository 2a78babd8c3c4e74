import { base64url, CompactSign, importJWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DocumentKind, PublicJwk } from '../../src/protocol/documents.ts';
import {
  DocumentError,
  type DocumentErrorCode,
  decodeDocument,
  jwkThumbprint,
  type PrivateJwk,
  signDocument,
  verifyDocument,
} from '../../src/protocol/jws.ts';
import { generateKeyPair } from '../../src/protocol/keys.ts';
import { channelPayload, DAY, iso, keysPayload, NOW, releasePayload, yankPayload } from './fixtures.ts';

let key: { privateJwk: PrivateJwk; publicJwk: PublicJwk };
let other: { privateJwk: PrivateJwk; publicJwk: PublicJwk };
beforeAll(async () => {
  key = await generateKeyPair();
  other = await generateKeyPair();
});

const options = { now: NOW };
const release = () => releasePayload({ version: '1.2.0', artifacts: ['linux-x64', 'darwin-any'] });

/** Signs anything, bypassing signDocument's checks, to forge the documents an attacker could send. */
async function signRaw(header: Record<string, unknown>, payload: unknown, jwk: PrivateJwk = key.privateJwk) {
  const bytes =
    typeof payload === 'string'
      ? new TextEncoder().encode(payload)
      : new TextEncoder().encode(JSON.stringify(payload));
  const { kty, crv, x, d } = jwk;
  return new CompactSign(bytes)
    .setProtectedHeader({ alg: 'EdDSA', ...header })
    .sign(await importJWK({ kty, crv, x, d }, 'EdDSA'));
}

async function refusal(promise: Promise<unknown>): Promise<DocumentErrorCode> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DocumentError);
  return (error as DocumentError).code;
}

describe('signDocument and verifyDocument', () => {
  it('round-trips every kind', async () => {
    const payloads = {
      keys: keysPayload(1, [key.publicJwk]),
      release: release(),
      yank: yankPayload('1.2.0', '1.1.0'),
      channel: channelPayload([{ version: '1.2.0' }], [{ version: '1.1.0', rollback_to: '1.0.0' }]),
    };
    for (const kind of Object.keys(payloads) as DocumentKind[]) {
      const jws = await signDocument(kind, payloads[kind], key.privateJwk);
      expect(await verifyDocument(kind, jws, [other.publicJwk, key.publicJwk], options)).toEqual(
        payloads[kind],
      );
    }
  });

  it('writes the protected header {alg: EdDSA, kid: thumbprint, typ}', async () => {
    const jws = await signDocument('release', release(), key.privateJwk);
    const { header, payload } = decodeDocument(jws);
    expect(header).toEqual({ alg: 'EdDSA', kid: jwkThumbprint(key.publicJwk), typ: 'updraft-release+jwt' });
    expect(header.kid).toBe(key.publicJwk.kid);
    expect(payload).toEqual(release());
  });

  it('drops members the schema does not know', async () => {
    const jws = await signDocument(
      'yank',
      { ...yankPayload('1.2.0', null), extra: 1 } as never,
      key.privateJwk,
    );
    expect(decodeDocument(jws).payload).not.toHaveProperty('extra');
  });

  it('refuses to sign an invalid payload or with a key whose kid is wrong', async () => {
    expect(await refusal(signDocument('release', { ...release(), version: 'latest' }, key.privateJwk))).toBe(
      'malformed',
    );
    const tooLong = { ...channelPayload([]), expires: iso(8 * DAY) };
    expect(await refusal(signDocument('channel', tooLong, key.privateJwk))).toBe('malformed');
    await expect(
      signDocument('release', release(), { ...key.privateJwk, kid: other.publicJwk.kid }),
    ).rejects.toThrow(/thumbprint/);
  });
});

describe('verifyDocument refuses', () => {
  it('a tampered payload or signature (bad_signature)', async () => {
    const [h, , s] = (await signDocument('release', release(), key.privateJwk)).split('.');
    const forged = base64url.encode(JSON.stringify({ ...release(), mandatory: true }));
    expect(await refusal(verifyDocument('release', `${h}.${forged}.${s}`, [key.publicJwk]))).toBe(
      'bad_signature',
    );
    const [, p] = (await signDocument('release', release(), key.privateJwk)).split('.');
    const flipped = `${s?.startsWith('A') ? 'B' : 'A'}${s?.slice(1)}`;
    expect(await refusal(verifyDocument('release', `${h}.${p}.${flipped}`, [key.publicJwk]))).toBe(
      'bad_signature',
    );
  });

  it('another spelling of the same signature bytes (malformed): one document has one text', async () => {
    // Found by jws.property.test.ts. An Ed25519 signature is 86 base64url characters; the last one
    // carries 4 spare bits that decoders ignore, so '…A' and '…B' decode to the same signature and
    // both verified: one manifest had 16 texts, and 16 SHA-256s for a snapshot to list.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const jws = await signDocument('release', release(), key.privateJwk);
    const [h, p, s = ''] = jws.split('.');
    const respelled = `${s.slice(0, -1)}${alphabet[alphabet.indexOf(s.slice(-1)) | 1]}`;
    expect(base64url.decode(respelled)).toEqual(base64url.decode(s));
    expect(await refusal(verifyDocument('release', `${h}.${p}.${respelled}`, [key.publicJwk]))).toBe(
      'malformed',
    );
    expect(await verifyDocument('release', jws, [key.publicJwk])).toEqual(release());
  });

  it('a document of another kind (wrong_type), before looking at its key', async () => {
    const yank = await signDocument('yank', yankPayload('1.2.0', null), key.privateJwk);
    expect(await refusal(verifyDocument('release', yank, [key.publicJwk]))).toBe('wrong_type');
    expect(await refusal(verifyDocument('release', yank, []))).toBe('wrong_type');
    const plainJwt = await signRaw({ kid: key.publicJwk.kid, typ: 'JWT' }, release());
    expect(await refusal(verifyDocument('release', plainJwt, [key.publicJwk]))).toBe('wrong_type');
    const untyped = await signRaw({ kid: key.publicJwk.kid }, release());
    expect(await refusal(verifyDocument('release', untyped, [key.publicJwk]))).toBe('wrong_type');
  });

  it('a key that is not trusted (unknown_key)', async () => {
    const jws = await signDocument('release', release(), key.privateJwk);
    expect(await refusal(verifyDocument('release', jws, [other.publicJwk]))).toBe('unknown_key');
    const noKid = await signRaw({ typ: 'updraft-release+jwt' }, release());
    expect(await refusal(verifyDocument('release', noKid, [key.publicJwk]))).toBe('unknown_key');
    // A document signed by another key but naming a trusted kid fails on its signature.
    const lying = await signRaw(
      { typ: 'updraft-release+jwt', kid: key.publicJwk.kid },
      release(),
      other.privateJwk,
    );
    expect(await refusal(verifyDocument('release', lying, [key.publicJwk]))).toBe('bad_signature');
  });

  it('alg none and an HS256 header forged with the public key as secret (bad_algorithm)', async () => {
    const header = { typ: 'updraft-release+jwt', kid: key.publicJwk.kid };
    const none = `${base64url.encode(JSON.stringify({ alg: 'none', ...header }))}.${base64url.encode(JSON.stringify(release()))}.`;
    expect(await refusal(verifyDocument('release', none, [key.publicJwk]))).toBe('bad_algorithm');
    const hs256 = await new CompactSign(new TextEncoder().encode(JSON.stringify(release())))
      .setProtectedHeader({ alg: 'HS256', ...header })
      .sign(new TextEncoder().encode(key.publicJwk.x));
    expect(await refusal(verifyDocument('release', hs256, [key.publicJwk]))).toBe('bad_algorithm');
    const fullySpecified = await signRaw({ ...header, alg: 'Ed25519' }, release());
    expect(await refusal(verifyDocument('release', fullySpecified, [key.publicJwk]))).toBe('bad_algorithm');
  });

  it('an expired keys or channel document (expired), honouring now and checkExpiry', async () => {
    const keys = await signDocument(
      'keys',
      { ...keysPayload(1, [key.publicJwk]), expires: iso(DAY) },
      key.privateJwk,
    );
    const later = { now: new Date(NOW.getTime() + 2 * DAY) };
    expect(await verifyDocument('keys', keys, [key.publicJwk], options)).toHaveProperty('version', 1);
    expect(await refusal(verifyDocument('keys', keys, [key.publicJwk], later))).toBe('expired');
    expect(
      await verifyDocument('keys', keys, [key.publicJwk], { ...later, checkExpiry: false }),
    ).toHaveProperty('version', 1);
    const channel = await signDocument('channel', channelPayload([]), key.privateJwk);
    const atExpiry = { now: new Date(NOW.getTime() + 7 * DAY) };
    expect(await refusal(verifyDocument('channel', channel, [key.publicJwk], atExpiry))).toBe('expired');
    // Without `now`, the real clock decides.
    const fresh = await signDocument(
      'channel',
      {
        ...channelPayload([]),
        issued_at: new Date().toISOString(),
        expires: new Date(Date.now() + DAY).toISOString(),
      },
      key.privateJwk,
    );
    expect(await verifyDocument('channel', fresh, [key.publicJwk])).toHaveProperty('revision', 7);
  });

  it('anything that is not a compact JWS of JSON (malformed)', async () => {
    const header = { typ: 'updraft-release+jwt', kid: key.publicJwk.kid };
    const h = base64url.encode(JSON.stringify({ alg: 'EdDSA', ...header }));
    for (const junk of [
      '',
      'abc',
      'a.b',
      'a.b.c.d',
      `${h}..sig`,
      `!!.${h}.x`,
      `${base64url.encode('not json')}.e30.x`,
    ]) {
      expect(await refusal(verifyDocument('release', junk, [key.publicJwk])), junk).toBe('malformed');
    }
    expect(await refusal(verifyDocument('release', 'x'.repeat(5 * 1024 * 1024), [key.publicJwk]))).toBe(
      'malformed',
    );
    expect(await refusal(verifyDocument('release', await signRaw(header, 'not json'), [key.publicJwk]))).toBe(
      'malformed',
    );
    expect(await refusal(verifyDocument('release', await signRaw(header, [1, 2]), [key.publicJwk]))).toBe(
      'malformed',
    );
  });

  it('a signed payload that breaks the schema (malformed)', async () => {
    const header = { typ: 'updraft-release+jwt', kid: key.publicJwk.kid };
    const { requires: _, ...missing } = release();
    for (const payload of [
      missing,
      { ...release(), version: '1.2' },
      { ...release(), requires: 'not a range' },
    ]) {
      expect(await refusal(verifyDocument('release', await signRaw(header, payload), [key.publicJwk]))).toBe(
        'malformed',
      );
    }
    const duplicate = { ...release(), artifacts: [...release().artifacts, ...release().artifacts] };
    expect(await refusal(verifyDocument('release', await signRaw(header, duplicate), [key.publicJwk]))).toBe(
      'malformed',
    );
  });

  it('a channel snapshot that lives more than 7 days or ends before it starts (malformed)', async () => {
    const header = { typ: 'updraft-channel+jwt', kid: key.publicJwk.kid };
    for (const expires of [iso(7 * DAY + 1000), iso(0), iso(-DAY)]) {
      const jws = await signRaw(header, { ...channelPayload([]), expires });
      expect(await refusal(verifyDocument('channel', jws, [key.publicJwk], options)), expires).toBe(
        'malformed',
      );
    }
    const week = await signRaw(header, { ...channelPayload([]), expires: iso(7 * DAY) });
    expect(await verifyDocument('channel', week, [key.publicJwk], options)).toHaveProperty(
      'expires',
      iso(7 * DAY),
    );
  });
});

describe('decodeDocument', () => {
  it('reads header and payload without verifying', async () => {
    const jws = await signRaw({ typ: 'updraft-yank+jwt', kid: 'whatever' }, { anything: true });
    expect(decodeDocument(jws)).toEqual({
      header: { alg: 'EdDSA', typ: 'updraft-yank+jwt', kid: 'whatever' },
      payload: { anything: true },
    });
  });

  it('throws malformed on junk or a header without alg, kid and typ', async () => {
    expect(() => decodeDocument('abc')).toThrow(DocumentError);
    const untyped = await signRaw({ kid: 'k' }, {});
    expect(() => decodeDocument(untyped)).toThrow(/alg, kid and typ/);
  });
});
