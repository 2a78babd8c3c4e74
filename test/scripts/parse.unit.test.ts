import { describe, expect, it } from 'vitest';
import { UserError } from '../../scripts/lib/errors.ts';
import { parseArtifactSpec, parseExpires, parsePercent, parseVersion } from '../../scripts/lib/parse.ts';
import { formatBp } from '../../src/protocol/format.ts';

describe('parsePercent', () => {
  it.each([
    ['100', 10_000],
    ['25', 2_500],
    ['25%', 2_500],
    ['0', 0],
    ['0.01', 1],
    ['12.5', 1_250],
    ['99.99', 9_999],
    ['7.05', 705],
  ])('%s → %i bp', (text, bp) => {
    expect(parsePercent(text)).toBe(bp);
  });

  it.each(['', '101', '100.01', '-1', '0.001', '2.555', 'abc', '1e2', '.5', '50 %%'])(
    'refuses %j',
    (text) => {
      expect(() => parsePercent(text)).toThrow(UserError);
    },
  );

  it('round-trips through formatBp', () => {
    for (const bp of [0, 1, 10, 1250, 2500, 9999, 10_000]) {
      expect(parsePercent(formatBp(bp))).toBe(bp);
    }
  });
});

describe('parseExpires', () => {
  const now = new Date('2026-11-21T18:00:00Z');

  it('reads relative durations, dates and never', () => {
    expect(parseExpires('30d', now)).toBe('2026-12-21T18:00:00Z');
    expect(parseExpires('12h', now)).toBe('2026-11-22T06:00:00Z');
    expect(parseExpires('2w', now)).toBe('2026-12-05T18:00:00Z');
    expect(parseExpires('2027-01-31', now)).toBe('2027-01-31T00:00:00Z');
    expect(parseExpires('never', now)).toBeNull();
  });

  it.each(['0d', 'soon', '30', '2020-01-01', '30y'])('refuses %j', (text) => {
    expect(() => parseExpires(text, now)).toThrow(UserError);
  });
});

describe('parseArtifactSpec and parseVersion', () => {
  it('splits platform, arch and path at the first =', () => {
    expect(parseArtifactSpec('linux-x64=dist/a=b.tar.gz')).toEqual({
      platform: 'linux',
      arch: 'x64',
      path: 'dist/a=b.tar.gz',
    });
    expect(parseArtifactSpec('web-any=bundle.js')).toEqual({
      platform: 'web',
      arch: 'any',
      path: 'bundle.js',
    });
    expect(() => parseArtifactSpec('linux-sparc=a')).toThrow(/unknown arch "sparc"/);
    expect(() => parseArtifactSpec('=a')).toThrow(/must look like/);
  });

  it('accepts strict semver only', () => {
    expect(parseVersion('1.2.0-beta.1')).toBe('1.2.0-beta.1');
    expect(() => parseVersion('v1.2.0')).toThrow(UserError);
    expect(() => parseVersion('1.2')).toThrow(UserError);
  });
});
