import { describe, expect, it } from 'vitest';
import { baselineOf } from '../../src/protocol/baseline.ts';

describe('baselineOf: the release a canary is judged against (docs/protocol.md §6)', () => {
  it('is the highest complete, not yanked release below the canary', () => {
    const releases = [
      { version: '1.0.0', state: 'complete' as const },
      { version: '1.2.0', state: 'complete' as const, yanked: true },
      { version: '1.1.0', state: 'complete' as const },
      { version: '1.3.0', state: 'halted' as const },
      { version: '1.4.0', state: 'active' as const },
      { version: '2.0.0', state: 'complete' as const },
    ];
    expect(baselineOf(releases, '1.4.0')).toBe('1.1.0');
    expect(baselineOf(releases, '1.1.0')).toBe('1.0.0');
    expect(baselineOf(releases, '1.0.0')).toBeUndefined();
  });

  it('compares versions as semver, not as text', () => {
    const releases = [
      { version: '1.9.0', state: 'complete' as const },
      { version: '1.10.0', state: 'complete' as const },
    ];
    expect(baselineOf(releases, '1.11.0')).toBe('1.10.0');
  });
});
