import semverCompare from 'semver/functions/compare.js';
import { describe, expect, it } from 'vitest';
import { versionKey } from '../../src/worker/storage/version-key.ts';

describe('versionKey', () => {
  it('sorts like semver precedence under plain string comparison', () => {
    const versions = [
      '1.0.0',
      '1.0.0-alpha',
      '1.0.0-alpha.1',
      '1.0.0-alpha.beta',
      '1.0.0-beta',
      '1.0.0-beta.2',
      '1.0.0-beta.11',
      '1.0.0-rc.1',
      '1.0.0-rc-1',
      '1.0.0-0',
      '1.0.0-0.a',
      '0.9.99',
      '1.10.0',
      '1.2.0',
      '2.0.0',
      '10.0.0-x',
      '1.0.1',
    ];
    const bySemver = [...versions].sort(semverCompare);
    const byKey = [...versions].sort((a, b) =>
      versionKey(a) < versionKey(b) ? -1 : versionKey(a) > versionKey(b) ? 1 : 0,
    );
    expect(byKey).toEqual(bySemver);
  });
});
