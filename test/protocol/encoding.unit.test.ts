import { calculateJwkThumbprint } from 'jose';
import { describe, expect, it } from 'vitest';
import { randomHex, sha256, sha256Hex, toHex } from '../../src/protocol/encoding.ts';
import { jwkThumbprint } from '../../src/protocol/jws.ts';
import { generateKeyPair } from '../../src/protocol/keys.ts';
import { sha256Sync } from '../../src/protocol/sha256.ts';

describe('sha256Hex', () => {
  it('hashes UTF-8 strings and bytes (FIPS 180-2 vectors)', async () => {
    expect(await sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(await sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(await sha256Hex(new TextEncoder().encode('abc'))).toBe(await sha256Hex('abc'));
    expect(await sha256Hex('é')).toBe(await sha256Hex(new Uint8Array([0xc3, 0xa9])));
  });

  it('hashes only the viewed bytes of an offset view', async () => {
    const whole = new TextEncoder().encode('xxabcxx');
    expect(await sha256Hex(whole.subarray(2, 5))).toBe(await sha256Hex('abc'));
  });
});

describe('toHex and randomHex', () => {
  it('writes two lowercase digits per byte', () => {
    expect(toHex(new Uint8Array([0, 1, 15, 16, 171, 255]))).toBe('00010f10abff');
    expect(toHex(new Uint8Array())).toBe('');
  });

  it('returns the asked number of random bytes', () => {
    expect(randomHex(16)).toMatch(/^[0-9a-f]{32}$/);
    expect(randomHex(0)).toBe('');
    expect(randomHex(16)).not.toBe(randomHex(16));
    expect(() => randomHex(-1)).toThrow(RangeError);
    expect(() => randomHex(1.5)).toThrow(RangeError);
  });
});

describe('sha256Sync', () => {
  it('agrees with WebCrypto across block boundaries', async () => {
    for (const length of [0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 1000]) {
      const data = Uint8Array.from({ length }, (_, i) => (i * 31 + 7) & 0xff);
      expect(toHex(sha256Sync(data)), `length ${length}`).toBe(toHex(await sha256(data)));
    }
  });
});

describe('jwkThumbprint', () => {
  it('is the RFC 7638 thumbprint jose computes', async () => {
    const { publicJwk } = await generateKeyPair();
    expect(jwkThumbprint(publicJwk)).toBe(
      await calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: publicJwk.x }),
    );
  });

  it('matches the RFC 8037 appendix A.3 example', () => {
    expect(jwkThumbprint({ crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' })).toBe(
      'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k',
    );
  });
});
