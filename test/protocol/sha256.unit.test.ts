import { describe, expect, it } from 'vitest';
import { sha256, toHex } from '../../src/protocol/encoding.ts';
import { Sha256, sha256Sync } from '../../src/protocol/sha256.ts';

const bytes = (length: number) => Uint8Array.from({ length }, (_, i) => (i * 31 + 7) & 0xff);

describe('Sha256 (incremental)', () => {
  it('agrees with WebCrypto whatever the split of the input', async () => {
    const data = bytes(1000);
    const expected = toHex(await sha256(data));
    for (const piece of [1, 3, 63, 64, 65, 100, 127, 999, 1000]) {
      const hasher = new Sha256();
      for (let offset = 0; offset < data.length; offset += piece) {
        hasher.update(data.subarray(offset, offset + piece));
      }
      expect(toHex(hasher.digest()), `pieces of ${piece}`).toBe(expected);
    }
  });

  it('hashes nothing and empty updates as the empty message', async () => {
    expect(toHex(new Sha256().update(new Uint8Array()).digest())).toBe(toHex(await sha256(new Uint8Array())));
  });

  it('reads only the viewed bytes of an offset view', async () => {
    const whole = bytes(300);
    const view = whole.subarray(5, 205);
    expect(toHex(new Sha256().update(view).digest())).toBe(toHex(await sha256(view)));
  });

  it('hashes a large input fed in uneven chunks', async () => {
    const data = bytes(1 << 20);
    const hasher = new Sha256();
    let offset = 0;
    for (let size = 1; offset < data.length; size = (size * 7 + 13) % 70_000) {
      hasher.update(data.subarray(offset, offset + size));
      offset += size;
    }
    expect(toHex(hasher.digest())).toBe(toHex(await sha256(data)));
  });

  it('refuses to be used after digest()', () => {
    const hasher = new Sha256();
    hasher.digest();
    expect(() => hasher.update(new Uint8Array(1))).toThrow(/after digest/);
    expect(() => hasher.digest()).toThrow(/twice/);
  });

  it('keeps sha256Sync a one-shot of the same hash', () => {
    const data = bytes(129);
    expect(toHex(sha256Sync(data))).toBe(toHex(new Sha256().update(data).digest()));
  });
});
