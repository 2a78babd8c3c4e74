import { describe, expect, it } from 'vitest';
import { STATE_TTL_MS, stateTtlMs } from '../../src/worker/storage/state-ttl.ts';

describe('stateTtlMs', () => {
  it('reads STATE_CACHE_TTL_MS: whole milliseconds up to 60 s, 0 turning the cache off', () => {
    expect(stateTtlMs({ STATE_CACHE_TTL_MS: '0' })).toBe(0);
    expect(stateTtlMs({ STATE_CACHE_TTL_MS: '250' })).toBe(250);
    expect(stateTtlMs({ STATE_CACHE_TTL_MS: '60000' })).toBe(60_000);
  });

  it('falls back to 5 s when the var is unset or not a valid TTL', () => {
    expect(STATE_TTL_MS).toBe(5000);
    for (const value of [undefined, '', '-1', '1.5', 'off', '60001', '1e3']) {
      expect(stateTtlMs({ STATE_CACHE_TTL_MS: value })).toBe(STATE_TTL_MS);
    }
  });

  it('follows the var when it changes (a setting read once per value, not kept for good)', () => {
    for (const value of ['250', '250', '0', '0', undefined, '60000', '250']) {
      const expected = value === undefined ? STATE_TTL_MS : Number(value);
      expect(stateTtlMs({ STATE_CACHE_TTL_MS: value })).toBe(expected);
    }
  });
});
