import { describe, expect, it } from 'vitest';
import {
  formatBp,
  formatCrashFree,
  formatCrashFreeInterval,
  formatDuration,
  formatFraction,
  formatInterval,
  formatRate,
  formatSeconds,
  isUnknownRate,
  NO_DATA,
} from '../../src/protocol/format.ts';
import { wilson } from '../../src/protocol/wilson.ts';

describe('formatBp', () => {
  it.each([
    [10_000, '100%'],
    [2500, '25%'],
    [1250, '12.5%'],
    [705, '7.05%'],
    [50, '0.5%'],
    [1, '0.01%'],
    [0, '0%'],
  ])('%i → %s', (bp, text) => {
    expect(formatBp(bp)).toBe(text);
  });
});

describe('formatFraction', () => {
  it.each([
    [0, '0%'],
    [1, '100%'],
    [0.25, '25%'],
    [0.2214, '22%'],
    [0.0742, '7.4%'],
    [0.0213, '2.1%'],
    [0.05, '5%'],
    [0.0042, '0.42%'],
    [0.0001, '0.01%'],
    [0.00004, '<0.01%'],
    [0.99996, '>99.99%'],
    [Number.NaN, '–'],
  ])('%d → %s', (fraction, text) => {
    expect(formatFraction(fraction)).toBe(text);
  });
});

describe('isUnknownRate', () => {
  it('is true only for a rate with no denominator', () => {
    expect(isUnknownRate({ value: 0, low: 0, high: 1 })).toBe(true);
    expect(isUnknownRate(wilson(0, 0))).toBe(true);
    expect(isUnknownRate({ value: 0, low: 0, high: 0.06 })).toBe(false);
    expect(isUnknownRate(wilson(0, 20))).toBe(false);
  });
});

describe('formatInterval', () => {
  it('writes the unit once', () => {
    expect(formatInterval({ value: 0.0742, low: 0.0292, high: 0.1766 })).toBe('2.9–18%');
    expect(formatInterval({ value: 0.05, low: 0.0171, high: 0.1369 })).toBe('1.7–14%');
  });
});

describe('formatRate', () => {
  it('shows the value and its 95 % interval in parentheses', () => {
    expect(formatRate({ value: 0.05, low: 0.0171, high: 0.1369 })).toBe('5% (1.7–14%)');
    expect(formatRate({ value: 0, low: 0, high: 0.0664 })).toBe('0% (0–6.6%)');
    expect(formatRate({ value: 1, low: 0.5, high: 1 })).toBe('100% (50–100%)');
  });

  it('reads the same for a Wilson interval as the scheduler computes it', () => {
    expect(formatRate(wilson(3, 412))).toBe('0.73% (0.25–2.1%)');
    expect(formatRate(wilson(50, 250))).toBe('20% (16–25%)');
    expect(formatRate(wilson(0, 20))).toBe('0% (0–16%)');
  });

  it('shows a dash when nothing is known (no denominator)', () => {
    expect(formatRate({ value: 0, low: 0, high: 1 })).toBe(NO_DATA);
    expect(formatRate(wilson(0, 0))).toBe('–');
  });
});

describe('formatSeconds', () => {
  it('rounds up to the minute above a minute', () => {
    expect([45, 59.2, 600, 4320, 7200, 90_000, 172_800].map(formatSeconds)).toEqual([
      '45s',
      '1m',
      '10m',
      '1h12m',
      '2h',
      '1d1h',
      '2d',
    ]);
  });
});

describe('formatDuration', () => {
  it.each([
    [null, '–'],
    [undefined, '–'],
    [0, '0 ms'],
    [850.4, '850 ms'],
    [3458, '3.5 s'],
    [4210, '4.2 s'],
    [38_400, '38 s'],
    [125_000, '2m 05s'],
  ])('%s → %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe('formatCrashFree', () => {
  it.each([
    [0.992, '99.20%'],
    [0.96, '96.00%'],
    [0.5, '50.00%'],
    [0.99996, '>99.99%'],
    [1, '100%'],
    [0, '0.00%'],
    [Number.NaN, '–'],
  ])('%f → %s', (fraction, text) => {
    expect(formatCrashFree(fraction)).toBe(text);
  });

  it('gives the interval in the same two decimals', () => {
    expect(formatCrashFreeInterval({ value: 0.96, low: 0.9505, high: 0.9677 })).toBe('95.05–96.77%');
    expect(formatCrashFreeInterval({ value: 1, low: 0.9963, high: 1 })).toBe('99.63–100%');
  });
});
