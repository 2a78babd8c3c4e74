import { describe, expect, it } from 'vitest';
import { BUCKETS, bucket, inRollout, isInside, newSalt } from '../../src/protocol/bucket.ts';

describe('bucket', () => {
  it('matches the docs/protocol.md §3 test vectors', async () => {
    expect(await bucket('s', 'c')).toBe(8468);
    expect(await bucket('00112233445566778899aabbccddeeff', 'client-1')).toBe(1118);
    expect(await bucket('00112233445566778899aabbccddeeff', 'client-2')).toBe(4977);
  });

  it('depends on the salt, so each rollout samples a new canary set', async () => {
    const a = await Promise.all(Array.from({ length: 50 }, (_, i) => bucket('a'.repeat(32), `c${i}`)));
    const b = await Promise.all(Array.from({ length: 50 }, (_, i) => bucket('b'.repeat(32), `c${i}`)));
    expect(a).not.toEqual(b);
  });

  it('puts 10 % ± 1 % of 10,000 clients inside at 1000 bp, all of them still inside at 5000 bp', async () => {
    // Fixed inputs keep the test deterministic: the IDs look random to SHA-256 all the same.
    const salt = '5f0c1d2e3a4b5c6d7e8f90a1b2c3d4e5';
    const buckets = await Promise.all(Array.from({ length: 10_000 }, (_, i) => bucket(salt, `install-${i}`)));
    const inside10 = buckets.filter((b) => inRollout(1000, b));
    expect(inside10.length).toBeGreaterThanOrEqual(900);
    expect(inside10.length).toBeLessThanOrEqual(1100);
    // Raising the percentage only adds clients.
    expect(inside10.every((b) => inRollout(5000, b))).toBe(true);
    const inside50 = buckets.filter((b) => inRollout(5000, b)).length;
    expect(inside50).toBeGreaterThanOrEqual(4800);
    expect(inside50).toBeLessThanOrEqual(5200);
  });
});

describe('inRollout', () => {
  it('is bucket < percent_bp, and everyone at 10000', () => {
    expect(inRollout(1000, 999)).toBe(true);
    expect(inRollout(1000, 1000)).toBe(false);
    expect(inRollout(0, 0)).toBe(false);
    expect(inRollout(BUCKETS, BUCKETS - 1)).toBe(true);
    expect(inRollout(BUCKETS, 0)).toBe(true);
  });
});

describe('isInside', () => {
  it('agrees with bucket and inRollout', async () => {
    const salt = '00112233445566778899aabbccddeeff';
    expect(await isInside(1119, salt, 'client-1')).toBe(true);
    expect(await isInside(1118, salt, 'client-1')).toBe(false);
    expect(await isInside(10_000, salt, 'anyone')).toBe(true);
    expect(await isInside(0, salt, 'anyone')).toBe(false);
  });
});

describe('newSalt', () => {
  it('is 128 random bits in lowercase hex', () => {
    const salts = new Set(Array.from({ length: 100 }, newSalt));
    expect(salts.size).toBe(100);
    for (const salt of salts) expect(salt).toMatch(/^[0-9a-f]{32}$/);
  });
});
