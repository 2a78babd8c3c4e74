/** decide(): candidates, rollout states, yanks and rollbacks, and mandatory (docs/protocol.md §3 rules 1-4). */
import { describe } from 'vitest';
import { none, noneYanked, partial, rollback, runTable, update, yanked } from './decision-table.ts';
import { OUTSIDE } from './fixtures.ts';

describe('decide: candidates and the highest one, rollout states, yanks', () => {
  runTable([
    // 1-2. candidates and the highest one
    { name: 'nothing listed', releases: [], expected: none },
    { name: 'a higher release', releases: [{ version: '1.1.0' }], expected: update('1.1.0') },
    { name: 'only the installed release', releases: [{ version: '1.0.0' }], expected: none },
    { name: 'only a lower release: never a downgrade', releases: [{ version: '0.9.0' }], expected: none },
    {
      name: 'the highest of several',
      releases: [{ version: '1.1.0' }, { version: '1.3.0' }, { version: '1.2.0' }, { version: '0.9.0' }],
      expected: update('1.3.0'),
    },
    {
      name: 'a listed release whose manifest is missing is skipped',
      releases: [{ version: '1.1.0' }, { version: '1.2.0', manifest: false }],
      expected: update('1.1.0'),
    },

    // rollout states and buckets
    {
      name: 'active, client inside',
      releases: [{ version: '1.1.0', ...partial }],
      expected: update('1.1.0'),
    },
    {
      name: 'active, client outside',
      releases: [{ version: '1.1.0', ...partial }],
      client: { clientId: OUTSIDE },
      expected: none,
    },
    {
      name: 'outside the newest rollout: the release below it',
      releases: [{ version: '1.1.0' }, { version: '1.2.0', ...partial }],
      client: { clientId: OUTSIDE },
      expected: update('1.1.0'),
    },
    { name: 'active at 0 bp', releases: [{ version: '1.1.0', percent: 0 }], expected: none },
    {
      name: 'paused still serves clients inside',
      releases: [{ version: '1.1.0', state: 'paused', ...partial }],
      expected: update('1.1.0'),
    },
    {
      name: 'paused, client outside',
      releases: [{ version: '1.1.0', state: 'paused', ...partial }],
      client: { clientId: OUTSIDE },
      expected: none,
    },
    {
      name: 'halted is offered to nobody new',
      releases: [{ version: '1.1.0', state: 'halted' }],
      expected: none,
    },
    {
      name: 'halted newest: the release below it',
      releases: [{ version: '1.1.0' }, { version: '1.2.0', state: 'halted' }],
      expected: update('1.1.0'),
    },
    { name: 'complete', releases: [{ version: '1.1.0', state: 'complete' }], expected: update('1.1.0') },
    {
      name: 'complete means everyone, whatever the percentage',
      releases: [{ version: '1.1.0', state: 'complete', ...partial }],
      client: { clientId: OUTSIDE },
      expected: update('1.1.0'),
    },

    // 3. yanks and rollbacks
    {
      name: 'a yanked release is not offered',
      releases: [{ version: '1.1.0' }],
      yanks: yanked('1.1.0', '1.0.0'),
      expected: none,
    },
    {
      name: 'yanked newest: the release below it',
      releases: [{ version: '1.1.0' }, { version: '1.2.0' }],
      yanks: yanked('1.2.0', '1.1.0'),
      expected: update('1.1.0'),
    },
    {
      name: 'installed yanked: rollback to rollback_to, mandatory',
      releases: [{ version: '1.0.0' }, { version: '1.1.0' }],
      yanks: yanked('1.1.0', '1.0.0'),
      client: { installed: '1.1.0' },
      expected: rollback('1.0.0'),
    },
    {
      name: 'installed yanked: rollback to a known release no longer listed',
      releases: [{ version: '1.0.0', listed: false }, { version: '1.1.0' }],
      yanks: yanked('1.1.0', '1.0.0'),
      client: { installed: '1.1.0' },
      expected: rollback('1.0.0'),
    },
    {
      name: 'installed yanked without rollback_to: none, yanked',
      releases: [{ version: '1.0.0' }, { version: '1.1.0' }],
      yanks: yanked('1.1.0', null),
      client: { installed: '1.1.0' },
      expected: noneYanked,
    },
    {
      name: 'installed yanked, rollback target lacks this platform: none, yanked',
      releases: [{ version: '1.0.0', artifacts: ['darwin-arm64'] }, { version: '1.1.0' }],
      yanks: yanked('1.1.0', '1.0.0'),
      client: { installed: '1.1.0' },
      expected: noneYanked,
    },
    {
      name: 'installed yanked, rollback target unknown: none, yanked',
      releases: [{ version: '1.1.0' }],
      yanks: yanked('1.1.0', '1.0.0'),
      client: { installed: '1.1.0' },
      expected: noneYanked,
    },
    {
      name: 'a yank naming a higher version is no rollback',
      releases: [{ version: '1.1.0' }, { version: '1.2.0', listed: false }],
      yanks: yanked('1.1.0', '1.2.0'),
      client: { installed: '1.1.0' },
      expected: noneYanked,
    },
    // Found by decision.property.test.ts: a rollback target pulled after the yank was signed.
    {
      name: 'installed yanked, rollback target yanked since: none, yanked (never a yanked release)',
      releases: [{ version: '1.0.0' }, { version: '1.1.0' }],
      yanks: [
        { version: '1.1.0', rollback_to: '1.0.0' },
        { version: '1.0.0', rollback_to: null },
      ],
      client: { installed: '1.1.0' },
      expected: noneYanked,
    },
    {
      name: 'installed yanked, rollback target halted in the channel: none, yanked (nobody new)',
      releases: [{ version: '1.0.0', state: 'halted' }, { version: '1.1.0' }],
      yanks: yanked('1.1.0', '1.0.0'),
      client: { installed: '1.1.0' },
      expected: noneYanked,
    },
    {
      name: 'installed yanked: a forward fix beats the rollback',
      releases: [{ version: '1.0.0' }, { version: '1.1.0' }, { version: '1.2.0' }],
      yanks: yanked('1.1.0', '1.0.0'),
      client: { installed: '1.1.0' },
      expected: update('1.2.0'),
    },
    {
      name: 'installed yanked, client outside the forward fix: rollback',
      releases: [{ version: '1.0.0' }, { version: '1.1.0' }, { version: '1.2.0', ...partial }],
      yanks: yanked('1.1.0', '1.0.0'),
      client: { installed: '1.1.0', clientId: OUTSIDE },
      expected: rollback('1.0.0'),
    },
    {
      name: 'installed yanked, forward fix halted: rollback',
      releases: [{ version: '1.0.0' }, { version: '1.1.0' }, { version: '1.2.0', state: 'halted' }],
      yanks: yanked('1.1.0', '1.0.0'),
      client: { installed: '1.1.0' },
      expected: rollback('1.0.0'),
    },
  ]);
});

describe('decide: mandatory', () => {
  runTable([
    // 4. mandatory
    {
      name: 'a mandatory target',
      releases: [{ version: '1.1.0', mandatory: true }],
      expected: update('1.1.0', true),
    },
    {
      name: 'mandatory carried over a skipped release',
      releases: [{ version: '1.1.0', mandatory: true }, { version: '1.2.0' }],
      expected: update('1.2.0', true),
    },
    {
      name: 'mandatory carried over a skipped release the client is outside of',
      releases: [{ version: '1.1.0', mandatory: true, ...partial }, { version: '1.2.0' }],
      client: { clientId: OUTSIDE },
      expected: update('1.2.0', true),
    },
    {
      name: 'mandatory carried over a skipped release the client could not install directly',
      releases: [{ version: '1.1.0', mandatory: true, requires: '>=1.0.5' }, { version: '1.2.0' }],
      expected: update('1.2.0', true),
    },
    {
      name: 'mandatory not carried by a halted release',
      releases: [{ version: '1.1.0', mandatory: true, state: 'halted' }, { version: '1.2.0' }],
      expected: update('1.2.0'),
    },
    {
      name: 'mandatory not carried by a yanked release',
      releases: [{ version: '1.1.0', mandatory: true }, { version: '1.2.0' }],
      yanks: yanked('1.1.0', '1.0.0'),
      expected: update('1.2.0'),
    },
    {
      name: 'mandatory not carried from at or below the installed version',
      releases: [
        { version: '0.9.0', mandatory: true },
        { version: '1.0.0', mandatory: true },
        { version: '1.1.0' },
      ],
      expected: update('1.1.0'),
    },
    {
      name: 'mandatory not carried from above the target',
      releases: [{ version: '1.1.0' }, { version: '1.2.0', mandatory: true, ...partial }],
      client: { clientId: OUTSIDE },
      expected: update('1.1.0'),
    },
  ]);
});
