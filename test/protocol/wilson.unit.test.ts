import { describe, expect, it } from 'vitest';
import { newcombe, wilson, Z_95 } from '../../src/protocol/wilson.ts';

// Hand computations use z = 1.96, z² = 3.8416, and
//   d = 1 + z²/n, centre = (p + z²/2n)/d, half = z·√(p(1−p)/n + z²/4n²)/d.
describe('wilson', () => {
  it('matches 2 failures in 100 installs (the canary case)', () => {
    // p = 0.02, d = 1.038416, centre = (0.02 + 0.019208)/d = 0.0377575,
    // half = 1.96·√(0.000196 + 0.00009604)/d = 1.96·0.0170892/d = 0.0322557 → [0.0055018, 0.0700132]
    const rate = wilson(2, 100);
    expect(rate.value).toBe(0.02);
    expect(rate.low).toBeCloseTo(0.0055, 4);
    expect(rate.high).toBeCloseTo(0.07, 4);
  });

  it('gives 0/10 a lower bound of exactly 0 and a high of (z²/n)/(1 + z²/n)', () => {
    // p = 0: centre = half = (z²/2n)/d, so low = 0 and high = 0.38416/1.38416 = 0.277540
    expect(wilson(0, 10)).toEqual({ value: 0, low: 0, high: expect.closeTo(0.27754, 5) });
  });

  it('mirrors 0/10 for 10/10', () => {
    // p = 1 is 0/10 seen from the other side: low = 1 − 0.277540 = 0.722460, high = 1 exactly
    expect(wilson(10, 10)).toEqual({ value: 1, low: expect.closeTo(0.72246, 5), high: 1 });
  });

  it('matches 3/7 and 3/8 (the integration fixture rates) and the symmetric 3/6', () => {
    // 3/7: p = 0.4285714, d = 1.5488, centre = 0.7029714/d = 0.4538813,
    //      half = 1.96·√(0.0349854 + 0.0196)/d = 1.96·0.2336352/d = 0.2956644 → [0.158217, 0.749546]
    const failures = wilson(3, 7);
    expect(failures.value).toBeCloseTo(3 / 7, 10);
    expect(failures.low).toBeCloseTo(0.158217, 6);
    expect(failures.high).toBeCloseTo(0.749546, 6);
    // 3/8: p = 0.375, d = 1.4802, centre = 0.6151/d = 0.4155520,
    //      half = 1.96·√(0.0292969 + 0.0150063)/d = 1.96·0.2104831/d = 0.2787102 → [0.136842, 0.694262]
    const exposed = wilson(3, 8);
    expect(exposed.value).toBe(0.375);
    expect(exposed.low).toBeCloseTo(0.136842, 6);
    expect(exposed.high).toBeCloseTo(0.694262, 6);
    // 3/6: p = 0.5, d = 1.6402667, centre = 0.5 (symmetric),
    //      half = 1.96·√(0.0416667 + 0.0266778)/d = 1.96·0.2614277/d = 0.3123872 → [0.187613, 0.812387]
    const symmetric = wilson(3, 6);
    expect(symmetric.value).toBe(0.5);
    expect(symmetric.low).toBeCloseTo(0.187613, 6);
    expect(symmetric.high).toBeCloseTo(0.812387, 6);
  });

  it('knows nothing without trials', () => {
    expect(wilson(0, 0)).toEqual({ value: 0, low: 0, high: 1 });
  });

  it('narrows as the sample grows and always contains the observed rate', () => {
    const small = wilson(5, 10);
    const large = wilson(500, 1000);
    expect(large.high - large.low).toBeLessThan(small.high - small.low);
    for (const [s, n] of [
      [1, 3],
      [7, 9],
      [1, 1000],
      [999, 1000],
    ] as const) {
      const rate = wilson(s, n);
      expect(rate.low).toBeLessThanOrEqual(rate.value);
      expect(rate.high).toBeGreaterThanOrEqual(rate.value);
      expect(rate.low).toBeGreaterThanOrEqual(0);
      expect(rate.high).toBeLessThanOrEqual(1);
    }
  });

  it('takes another z: 99 % is wider than 95 %', () => {
    const r95 = wilson(2, 100, Z_95);
    const r99 = wilson(2, 100, 2.576);
    expect(r99.low).toBeLessThan(r95.low);
    expect(r99.high).toBeGreaterThan(r95.high);
  });

  it('refuses impossible counts', () => {
    expect(() => wilson(3, 2)).toThrow(RangeError);
    expect(() => wilson(-1, 2)).toThrow(RangeError);
    expect(() => wilson(0.5, 2)).toThrow(RangeError);
    expect(() => wilson(1, 2, 0)).toThrow(RangeError);
  });
});

describe('newcombe: the interval of a difference of two rates', () => {
  // Newcombe (1998), "Interval estimation for the difference between independent proportions:
  // comparison of eleven methods", Statistics in Medicine 17:873-890, Table II, method 10.
  const published: [number, number, number, number, number, number][] = [
    [56, 70, 48, 80, 0.0524, 0.3339],
    [9, 10, 3, 10, 0.1705, 0.809],
    [5, 56, 0, 29, -0.0381, 0.1926],
    [0, 10, 0, 20, -0.1611, 0.2775],
    [0, 10, 0, 10, -0.2775, 0.2775],
    [10, 10, 0, 20, 0.6791, 1],
    [10, 10, 0, 10, 0.6075, 1],
  ];
  it.each(published)('%i/%i − %i/%i matches the published interval (%f, %f)', (a, n, b, m, low, high) => {
    const d = newcombe({ successes: a, trials: n }, { successes: b, trials: m });
    expect(d.value).toBeCloseTo(a / n - b / m, 10);
    expect(d.low).toBeCloseTo(low, 4);
    expect(d.high).toBeCloseTo(high, 4);
  });

  it('is symmetric: swapping the groups mirrors the interval', () => {
    const ab = newcombe({ successes: 12, trials: 400 }, { successes: 4, trials: 380 });
    const ba = newcombe({ successes: 4, trials: 380 }, { successes: 12, trials: 400 });
    expect(ba.low).toBeCloseTo(-ab.high, 12);
    expect(ba.high).toBeCloseTo(-ab.low, 12);
  });

  it('refuses counts that are not a rate', () => {
    expect(() => newcombe({ successes: 3, trials: 2 }, { successes: 0, trials: 1 })).toThrow(RangeError);
  });
});
