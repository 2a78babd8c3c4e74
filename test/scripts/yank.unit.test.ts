import { describe, expect, it } from 'vitest';
import { chooseRollbackTarget } from '../../scripts/commands/yank.ts';

const r = (version: string, yanked = false) => ({ version, yanked });

describe('chooseRollbackTarget', () => {
  const releases = [r('2.0.0'), r('1.2.0-beta.1'), r('1.1.0'), r('1.0.1', true), r('1.0.0'), r('0.9.0')];

  it('picks the highest lower release that is not yanked', () => {
    expect(chooseRollbackTarget(releases, '1.1.0')).toBe('1.0.0');
    expect(chooseRollbackTarget(releases, '2.0.0')).toBe('1.1.0');
    expect(chooseRollbackTarget(releases, '1.0.0')).toBe('0.9.0');
  });

  it('passes over prereleases when yanking a stable release', () => {
    const withBeta = [r('1.1.0'), r('1.1.0-rc.1'), r('1.0.0')];
    expect(chooseRollbackTarget(withBeta, '1.1.0')).toBe('1.0.0');
  });

  it('may pick a prerelease when yanking a prerelease', () => {
    const betas = [r('1.2.0-beta.2'), r('1.2.0-beta.1'), r('1.1.0')];
    expect(chooseRollbackTarget(betas, '1.2.0-beta.2')).toBe('1.2.0-beta.1');
  });

  it('compares versions as semver, not as text', () => {
    expect(chooseRollbackTarget([r('1.10.0'), r('1.9.0'), r('1.2.0')], '1.10.0')).toBe('1.9.0');
  });

  it('answers null when nothing is lower', () => {
    expect(chooseRollbackTarget([r('1.0.0')], '1.0.0')).toBeNull();
    expect(chooseRollbackTarget([r('1.0.0', true), r('1.1.0')], '1.1.0')).toBeNull();
  });
});
