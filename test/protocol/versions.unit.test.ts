/**
 * The cached semver parsing of src/protocol/versions.ts. What it parses must be the very SemVer class
 * semver's own functions check with `instanceof`, or they refuse it ("Invalid version. Must be a
 * string"): imported from `semver/classes/*.js`, the classes load as a second copy in the Workers
 * test pool and these tests fail; versions.ts imports them from the package entry.
 */
import { SemVer } from 'semver';
import semverCompare from 'semver/functions/compare.js';
import semverLt from 'semver/functions/lt.js';
import semverRcompare from 'semver/functions/rcompare.js';
import { describe, expect, it } from 'vitest';
import { coerceVersion, parseVersion, satisfies } from '../../src/protocol/versions.ts';

const parsed = (version: string) => {
  const value = parseVersion(version);
  if (!value) throw new Error(`${version} did not parse`);
  return value;
};

describe('parseVersion', () => {
  it('gives the SemVer of the package entry, which semver functions take as it is', () => {
    const version = parsed('1.10.0');
    expect(version).toBeInstanceOf(SemVer);
    expect(semverLt(parsed('1.2.3'), version)).toBe(true);
    expect(semverCompare(version, parsed('1.10.0-rc.1'))).toBe(1);
    expect(['1.2.0', '1.10.0', '1.9.9'].map(parsed).sort(semverRcompare).map(String)).toEqual([
      '1.10.0',
      '1.9.9',
      '1.2.0',
    ]);
  });

  it('accepts strict versions only, and caches each answer', () => {
    for (const loose of ['v1.2.3', ' 1.2.3', '1.2.3+build.7', '1.2', 'latest', '']) {
      expect(parseVersion(loose)).toBeNull();
    }
    expect(parseVersion('2.0.0-beta.1')?.prerelease).toEqual(['beta', 1]);
    expect(parseVersion('2.0.0')).toBe(parseVersion('2.0.0'));
  });
});

describe('satisfies', () => {
  it('admits prereleases, treats * as everything, and an invalid range as nothing', () => {
    expect(satisfies(parsed('1.2.0-beta.1'), '>=1.0.0')).toBe(true);
    expect(satisfies(parsed('0.9.0'), '>=1.0.0')).toBe(false);
    expect(satisfies(parsed('0.0.1'), '*')).toBe(true);
    expect(satisfies(parsed('1.0.0'), 'not a range ~~')).toBe(false);
  });
});

describe('coerceVersion', () => {
  it('reads loose OS versions as major.minor.patch', () => {
    expect(coerceVersion('14')?.version).toBe('14.0.0');
    expect(coerceVersion('10.0.19045')?.version).toBe('10.0.19045');
    expect(coerceVersion('17.2-beta')?.version).toBe('17.2.0');
    expect(coerceVersion('unknown')).toBeNull();
  });
});
