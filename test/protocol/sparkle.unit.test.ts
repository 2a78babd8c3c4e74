/**
 * The semver → `sparkle:version` mapping against a line-by-line port of Sparkle's
 * SUStandardVersionComparator.m (Sparkle 2): for every pair of versions, Sparkle's order of the
 * mapped strings is semver's order, so an app whose CFBundleVersion is the mapped version sees
 * exactly the updates the server meant as updates.
 */
import semverCompare from 'semver/functions/compare.js';
import { describe, expect, it } from 'vitest';
import { minimumSystemVersionOf, sparkleVersionOf } from '../../src/protocol/sparkle.ts';

type CharType = 'number' | 'string' | 'period' | 'punctuation' | 'whitespace' | 'dash';

function typeOf(character: string): CharType {
  if (character === '.') return 'period';
  if (character === '-') return 'dash';
  if (/^[0-9]/.test(character)) return 'number';
  if (/^\s/.test(character)) return 'whitespace';
  // NSCharacterSet.punctuationCharacterSet: the Unicode P* categories (`+` is Sm, so a string).
  if (/^\p{P}/u.test(character)) return 'punctuation';
  return 'string';
}

const isSeparator = (t: CharType) => t === 'period' || t === 'punctuation' || t === 'whitespace';
const sameClass = (a: CharType, b: CharType) => (isSeparator(a) ? isSeparator(b) : a === b);

function split(version: string): string[] {
  const parts: string[] = [];
  if (version.length === 0) return parts;
  let s = version.charAt(0);
  let oldType = typeOf(s);
  for (let i = 1; i < version.length; i++) {
    const character = version.charAt(i);
    const newType = typeOf(character);
    if (newType === 'dash') break;
    if (oldType !== newType || isSeparator(oldType)) {
      parts.push(s);
      s = character;
    } else {
      s += character;
    }
    oldType = newType;
  }
  parts.push(s);
  return parts;
}

function leadingNumberAndPeriodCount(parts: string[]): number {
  let count = 0;
  for (const part of parts) {
    const t = typeOf(part);
    if (t !== 'number' && t !== 'period') break;
    count++;
  }
  return count;
}

function balance(a: string[], b: string[]): void {
  const ca = leadingNumberAndPeriodCount(a);
  const cb = leadingNumberAndPeriodCount(b);
  const pad = (to: string[], toCount: number, from: string[], fromCount: number) => {
    for (let i = toCount; i < fromCount; i++) to.splice(i, 0, typeOf(from[i] ?? '') === 'period' ? '.' : '0');
  };
  if (ca > cb) pad(b, cb, a, ca);
  else if (cb > ca) pad(a, ca, b, cb);
}

/** -1, 0, 1 as SUStandardVersionComparator's compareVersion:toVersion: answers. */
function sparkleCompare(versionA: string, versionB: string): number {
  const a = split(versionA);
  const b = split(versionB);
  balance(a, b);
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const partA = a[i] ?? '';
    const partB = b[i] ?? '';
    const ta = typeOf(partA);
    const tb = typeOf(partB);
    if (sameClass(ta, tb)) {
      if (ta === 'number') {
        const va = Number(partA);
        const vb = Number(partB);
        if (va !== vb) return va > vb ? 1 : -1;
      } else if (ta === 'string' && partA !== partB) {
        return partA > partB ? 1 : -1;
      }
    } else if (ta !== 'string' && tb === 'string') {
      return 1;
    } else if (ta === 'string' && tb !== 'string') {
      return -1;
    } else {
      return ta === 'number' ? 1 : -1;
    }
  }
  if (a.length !== b.length) {
    const longerIsA = a.length > b.length;
    const missing = (longerIsA ? a : b)[n] ?? '';
    if (typeOf(missing) === 'string') return longerIsA ? -1 : 1;
    return longerIsA ? 1 : -1;
  }
  return 0;
}

describe('the port of SUStandardVersionComparator', () => {
  /** Every case of Sparkle's Tests/SUVersionComparisonTest.m: [a, b, compareVersion:a toVersion:b]. */
  const SPARKLE_CASES: [string, string, number][] = [
    ['1.0', '1.1', -1],
    ['1.0', '1.0', 0],
    ['2.0', '1.1', 1],
    ['0.1', '0.0.1', 1],
    ['0.1', '0.1.2', -1],
    ['1.0', '1.0.0', 0],
    ['1.0.0', '1.0', 0],
    ['1.5.5-335d3e2', '1.5.6-b252311', -1],
    ['1.5.5-335d3e2', '1.5.5-a655360', 0],
    ['1.5.6-b252311', '1.5.5-335d3e2', 1],
    ['1.5-335d3e2', '1.5.0-335d3e2', 0],
    ['1.5.0-335d3e2', '1.5-335d3e2', 0],
    ['1.5.5', '1.5.6a1', -1],
    ['1.1.0b1', '1.1.0b2', -1],
    ['1.1.1b2', '1.1.2b1', -1],
    ['1.1.1b2', '1.1.2a1', -1],
    ['1.0a1', '1.0b1', -1],
    ['1.0b1', '1.0', -1],
    ['0.9', '1.0a1', -1],
    ['1.0b', '1.0b2', -1],
    ['1.0b10', '1.0b11', -1],
    ['1.0b9', '1.0b10', -1],
    ['1.0rc', '1.0', -1],
    ['1.0b', '1.0', -1],
    ['1.0pre1', '1.0', -1],
    ['1.0pre1', '1.0.0pre1', 0],
    ['1.0.0pre1', '1.0pre1', 0],
    ['1.0 (1234)', '1.0 (1235)', -1],
    ['1.0b1 (1234)', '1.0 (1234)', -1],
    ['1.0b5 (1234)', '1.0b5 (1235)', -1],
    ['1.0b5 (1234)', '1.0.1b5 (1234)', -1],
    ['1.0.1b5 (1234)', '1.0.1b6 (1234)', -1],
    ['2.0.0.2429', '2.0.0.2430', -1],
    ['1.1.1.1818', '2.0.0.2430', -1],
    ['3.3 (5847)', '3.3.1b1 (5902)', -1],
    ['3.3 (5847)', '3.3.0 (5847)', 0],
    ['3.3.0 (5847)', '3.3 (5847)', 0],
    ['1.1.1.1818', '1.1.1.1818.0', 0],
    ['1.1.1.1818.0', '1.1.1.1818', 0],
    ['3.3b1 (5902)', '3.3.0b1 (5902)', 0],
    ['3.3.0b1 (5902)', '3.3b1 (5902)', 0],
    ['201210251627', '201211051041', -1],
    ['201210251627.0', '201210251627', 0],
    ['201210251627', '201210251627.0', 0],
  ];

  it('answers every case of Sparkle’s own tests as Sparkle does', () => {
    for (const [a, b, expected] of SPARKLE_CASES) expect(sparkleCompare(a, b), `${a} vs ${b}`).toBe(expected);
  });

  it('reads a semver prerelease as its release: everything after a dash is ignored', () => {
    expect(sparkleCompare('1.2.0-beta.1', '1.2.0')).toBe(0);
    expect(sparkleCompare('1.2.0-beta.1', '1.2.0-beta.2')).toBe(0);
  });
});

describe('sparkleVersionOf', () => {
  const ordered = [
    '0.9.0',
    '1.0.0',
    '1.0.1',
    '1.1.0-0',
    '1.1.0-1',
    '1.1.0-2.x',
    '1.1.0-10',
    '1.1.0-alpha',
    '1.1.0-alpha.1',
    '1.1.0-alpha.2',
    '1.1.0-beta',
    '1.1.0-beta.2',
    '1.1.0-beta.11',
    '1.1.0-rc.1',
    '1.1.0',
    '1.1.1-beta.1',
    '1.1.1',
    '1.10.0',
    '2.0.0-rc.1',
    '2.0.0',
    '10.0.0',
  ];

  it('keeps a release as it is and drops the dash of a prerelease', () => {
    expect(sparkleVersionOf('1.2.3')).toBe('1.2.3');
    expect(sparkleVersionOf('1.2.0-beta.1')).toBe('1.2.0beta.1');
    expect(sparkleVersionOf('1.2.0-1')).toBe('1.2.0+1');
    expect(sparkleVersionOf('1.2.0-pre-release.1')).toBe('1.2.0pre.release.1');
  });

  it('orders every pair as semver does, under Sparkle comparison', () => {
    for (const a of ordered) {
      for (const b of ordered) {
        expect(sparkleCompare(sparkleVersionOf(a), sparkleVersionOf(b)), `${a} vs ${b}`).toBe(
          semverCompare(a, b),
        );
      }
    }
  });
});

describe('minimumSystemVersionOf', () => {
  it('is the lower bound of the os range, when it has one', () => {
    expect(minimumSystemVersionOf('>=13.0.0')).toBe('13.0.0');
    expect(minimumSystemVersionOf('^14.2')).toBe('14.2.0');
    expect(minimumSystemVersionOf('>=12 <15')).toBe('12.0.0');
    expect(minimumSystemVersionOf('*')).toBeUndefined();
    expect(minimumSystemVersionOf('<15')).toBeUndefined();
    expect(minimumSystemVersionOf(undefined)).toBeUndefined();
  });
});
