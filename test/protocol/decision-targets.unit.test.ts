/** decide(): requires, platform, arch, OS ranges and prereleases. */
import { describe, expect, it } from 'vitest';
import { decide, pickArtifact } from '../../src/protocol/decision.ts';
import { type Case, input, none, runTable, update } from './decision-table.ts';
import { releasePayload } from './fixtures.ts';

describe('decide: requires (stepping stones)', () => {
  runTable([
    // `requires`: stepping stones
    ...[
      ['1.0.0', '1.1.0'],
      ['1.1.0', '1.2.0'],
      ['1.2.0', '1.3.0'],
    ].map(
      ([installed = '', target = '']): Case => ({
        name: `stepping stones: ${installed} goes to ${target}`,
        releases: [
          { version: '1.0.0' },
          { version: '1.1.0', requires: '*' },
          { version: '1.2.0', requires: '>=1.1.0' },
          { version: '1.3.0', requires: '>=1.2.0' },
        ],
        client: { installed },
        expected: update(target),
      }),
    ),
    {
      name: 'requires admits an installed prerelease',
      releases: [{ version: '1.2.0', requires: '>=1.0.0' }],
      client: { installed: '1.1.0-beta.1' },
      expected: update('1.2.0'),
    },
    {
      name: 'requires not met by anything',
      releases: [{ version: '2.0.0', requires: '>=1.5.0' }],
      expected: none,
    },
  ]);
});

describe('decide: platform, arch and OS', () => {
  runTable([
    // platform, arch, OS
    {
      name: 'no artifact for this platform',
      releases: [{ version: '1.1.0', artifacts: ['darwin-x64'] }],
      expected: none,
    },
    {
      name: 'no artifact for this platform: the release below that has one',
      releases: [{ version: '1.1.0' }, { version: '1.2.0', artifacts: ['windows-x64'] }],
      expected: update('1.1.0'),
    },
    {
      name: 'no artifact for this arch',
      releases: [{ version: '1.1.0', artifacts: ['linux-arm64'] }],
      expected: none,
    },
    ...[['linux-any', 'linux-x64'] as const, ['linux-x64', 'linux-any'] as const].map(
      (artifacts): Case => ({
        name: `exact arch preferred over any (${artifacts.join(', ')})`,
        releases: [{ version: '1.1.0', artifacts: [...artifacts] }],
        expected: update('1.1.0', false, 'linux-x64'),
      }),
    ),
    {
      name: 'any serves every arch',
      releases: [{ version: '1.1.0', artifacts: ['linux-x64', 'linux-any'] }],
      client: { arch: 'arm64' },
      expected: update('1.1.0', false, 'linux-any'),
    },
    {
      name: 'universal is an arch of its own, not any',
      releases: [{ version: '1.1.0', artifacts: ['darwin-universal'] }],
      client: { platform: 'darwin', arch: 'arm64' },
      expected: none,
    },
    {
      name: 'OS range met',
      releases: [{ version: '1.1.0', artifacts: [{ target: 'linux-x64', os: '>=14' }] }],
      client: { osVersion: '14.2' },
      expected: update('1.1.0'),
    },
    {
      name: 'OS range not met',
      releases: [{ version: '1.1.0', artifacts: [{ target: 'linux-x64', os: '>=14' }] }],
      client: { osVersion: '13.6.1' },
      expected: none,
    },
    {
      name: 'OS range, OS version unknown',
      releases: [{ version: '1.1.0', artifacts: [{ target: 'linux-x64', os: '>=14' }] }],
      expected: none,
    },
    {
      name: 'OS range, loose Windows build number',
      releases: [{ version: '1.1.0', artifacts: [{ target: 'windows-x64', os: '>=10.0.17763' }] }],
      client: { platform: 'windows', osVersion: '10.0.19045' },
      expected: update('1.1.0', false, 'windows-x64'),
    },
    {
      name: 'exact arch out of OS range: the any artifact',
      releases: [{ version: '1.1.0', artifacts: [{ target: 'linux-x64', os: '>=14' }, 'linux-any'] }],
      client: { osVersion: '12' },
      expected: update('1.1.0', false, 'linux-any'),
    },
    {
      name: 'OS range not met: the release below with no range',
      releases: [
        { version: '1.1.0' },
        { version: '1.2.0', artifacts: [{ target: 'linux-x64', os: '>=14' }] },
      ],
      client: { osVersion: '13' },
      expected: update('1.1.0'),
    },
  ]);
});

describe('decide: prereleases', () => {
  runTable([
    // prereleases
    { name: 'a prerelease', releases: [{ version: '1.1.0-beta.1' }], expected: update('1.1.0-beta.1') },
    {
      name: 'a release beats its prerelease',
      releases: [{ version: '1.1.0-beta.1' }, { version: '1.1.0' }, { version: '1.1.0-rc.1' }],
      expected: update('1.1.0'),
    },
    {
      name: 'from one prerelease to the next',
      releases: [{ version: '1.1.0-beta.1' }, { version: '1.1.0-beta.2' }, { version: '1.1.0-beta.10' }],
      client: { installed: '1.1.0-beta.2' },
      expected: update('1.1.0-beta.10'),
    },
    {
      name: 'never from a release back to its prerelease',
      releases: [{ version: '1.1.0-rc.1' }],
      client: { installed: '1.1.0' },
      expected: none,
    },
  ]);
});

describe('pickArtifact', () => {
  const release = releasePayload({
    version: '1.1.0',
    artifacts: ['linux-any', 'linux-arm64', { target: 'darwin-arm64', os: '>=13' }, 'darwin-any'],
  });

  it('prefers the exact arch, falls back to any, and honours OS ranges', () => {
    expect(pickArtifact(release, 'linux', 'arm64', undefined)?.arch).toBe('arm64');
    expect(pickArtifact(release, 'linux', 'x64', undefined)?.arch).toBe('any');
    expect(pickArtifact(release, 'darwin', 'arm64', '14.1')?.arch).toBe('arm64');
    expect(pickArtifact(release, 'darwin', 'arm64', '12')?.arch).toBe('any');
    expect(pickArtifact(release, 'darwin', 'arm64', 'not a version')?.arch).toBe('any');
    expect(pickArtifact(release, 'windows', 'x64', '11')).toBeUndefined();
  });
});

describe('decide: bad input', () => {
  it('throws on an installed version that is not semver (the caller validates it first)', async () => {
    const c: Case = {
      name: '',
      releases: [{ version: '1.1.0' }],
      client: { installed: 'latest' },
      expected: none,
    };
    await expect(decide(input(c))).rejects.toThrow(TypeError);
    const loose: Case = { ...c, client: { installed: 'v1.0.0' } };
    await expect(decide(input(loose))).rejects.toThrow(TypeError);
  });
});
