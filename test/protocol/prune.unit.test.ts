/**
 * pruneSnapshot's edge cases, each with the decision that would change if the release it keeps were
 * left out (the property test compares whole decisions; these name the reasons).
 */
import { describe, expect, it } from 'vitest';
import { type DecisionClient, decide } from '../../src/protocol/decision.ts';
import type { ChannelPayload } from '../../src/protocol/documents.ts';
import { pruneSnapshot } from '../../src/protocol/prune.ts';
import { type Summary, summarize, update } from './decision-table.ts';
import {
  channelPayload,
  INSIDE,
  OUTSIDE,
  PARTIAL_BP,
  type ReleaseSpec,
  releasePayload,
  yankPayload,
} from './fixtures.ts';

type Yanks = { version: string; rollback_to: string | null }[];

function prune(releases: ReleaseSpec[], yanks: Yanks = []): ChannelPayload {
  const full = channelPayload(releases, yanks);
  return pruneSnapshot(full, new Map(releases.map((r) => [r.version, releasePayload(r)])));
}

const listed = (snapshot: ChannelPayload) => snapshot.releases.map((r) => r.version);

/** The decision over the pruned snapshot and over the full one, for one client. */
async function both(
  releases: ReleaseSpec[],
  client: Partial<DecisionClient>,
  yanks: Yanks = [],
): Promise<[Summary, Summary]> {
  const manifests = new Map(releases.map((r) => [r.version, releasePayload(r)]));
  const yankMap = new Map(yanks.map((y) => [y.version, yankPayload(y.version, y.rollback_to)]));
  const full = channelPayload(releases, yanks);
  const at = (snapshot: ChannelPayload) =>
    decide({
      snapshot,
      releases: manifests,
      yanks: yankMap,
      client: { clientId: INSIDE, platform: 'linux', arch: 'x64', installed: '1.0.0', ...client },
    }).then(summarize);
  return [await at(pruneSnapshot(full, manifests)), await at(full)];
}

const history = (count: number, spec: Partial<ReleaseSpec> = {}): ReleaseSpec[] =>
  Array.from({ length: count }, (_, i) => ({ version: `1.${i}.0`, state: 'complete' as const, ...spec }));

describe('pruneSnapshot', () => {
  it('keeps only the newest of a thousand complete releases for everyone', () => {
    const pruned = prune(history(1000));
    expect(listed(pruned)).toEqual(['1.999.0']);
    expect(pruned.releases[0]?.mandatory_floor).toBeUndefined();
  });

  it('keeps the release below a partial, paused or halted one: the clients outside fall back to it', async () => {
    for (const state of ['active', 'paused', 'halted'] as const) {
      const releases = [...history(3), { version: '2.0.0', state, percent: PARTIAL_BP }];
      const kept = listed(prune(releases));
      expect(kept).toContain('1.2.0');
      expect(kept).not.toContain('1.1.0');
      expect(await both(releases, { clientId: OUTSIDE })).toEqual([update('1.2.0'), update('1.2.0')]);
    }
  });

  it('leaves out a rollout at 0 % (it reaches nobody) and a halted release no yank falls back to', () => {
    const releases: ReleaseSpec[] = [
      { version: '1.0.0', state: 'complete' },
      { version: '1.1.0', state: 'halted', percent: 500 },
      { version: '1.2.0', state: 'active', percent: 0 },
    ];
    expect(listed(prune(releases))).toEqual(['1.0.0']);
  });

  it('keeps a halted release while a yank names it: the rollback to it stays refused', async () => {
    const releases: ReleaseSpec[] = [
      { version: '1.0.0', state: 'complete' },
      { version: '1.1.0', state: 'halted' },
      { version: '1.2.0', state: 'complete' },
    ];
    const yanks = [{ version: '1.2.0', rollback_to: '1.1.0' }];
    expect(listed(prune(releases, yanks))).toEqual(['1.0.0', '1.1.0']);
    const noneYanked: Summary = { status: 'none', yanked: true };
    expect(await both(releases, { installed: '1.2.0' }, yanks)).toEqual([noneYanked, noneYanked]);
  });

  it('leaves out yanked releases and keeps every yank', () => {
    const yanks = [{ version: '1.2.0', rollback_to: '1.1.0' }];
    const pruned = prune(history(3), yanks);
    expect(listed(pruned)).toEqual(['1.1.0']);
    expect(pruned.yanked.map((y) => y.version)).toEqual(['1.2.0']);
  });

  it('a skipped mandatory release left out still forces, through the floor of the release kept', async () => {
    const releases = history(5).map((r) => (r.version === '1.2.0' ? { ...r, mandatory: true } : r));
    const pruned = prune(releases);
    expect(pruned.releases).toEqual([
      expect.objectContaining({ version: '1.4.0', mandatory_floor: '1.2.0' }),
    ]);
    expect(await both(releases, { installed: '1.1.0' })).toEqual([
      update('1.4.0', true),
      update('1.4.0', true),
    ]);
    expect(await both(releases, { installed: '1.2.0' })).toEqual([update('1.4.0'), update('1.4.0')]);
  });

  it('a halted or yanked mandatory release gives no floor: it was pulled', () => {
    const releases: ReleaseSpec[] = [
      { version: '1.0.0', state: 'halted', mandatory: true },
      { version: '1.1.0', state: 'complete', mandatory: true },
      { version: '1.2.0', state: 'complete' },
    ];
    expect(prune(releases, [{ version: '1.1.0', rollback_to: null }]).releases).toEqual([
      expect.not.objectContaining({ mandatory_floor: expect.anything() }),
    ]);
  });

  it('keeps the stepping stone a newer release requires', async () => {
    const releases: ReleaseSpec[] = [
      ...history(3),
      { version: '2.0.0', state: 'complete', requires: '>=1.2.0' },
    ];
    expect(listed(prune(releases))).toEqual(['1.2.0', '2.0.0']);
    expect(await both(releases, { installed: '1.0.0' })).toEqual([update('1.2.0'), update('1.2.0')]);
  });

  it('keeps older builds for the OS versions, runtimes and arches the newest no longer serves', async () => {
    const releases: ReleaseSpec[] = [
      { version: '1.0.0', state: 'complete', artifacts: ['linux-arm64', 'linux-x64'] },
      { version: '1.1.0', state: 'complete', artifacts: ['linux-x64'] },
      { version: '1.2.0', state: 'complete', artifacts: [{ target: 'linux-x64', os: '>=14' }] },
    ];
    expect(listed(prune(releases))).toEqual(['1.0.0', '1.1.0', '1.2.0']);
    expect(await both(releases, { installed: '0.9.0', arch: 'arm64' })).toEqual([
      update('1.0.0', false, 'linux-arm64'),
      update('1.0.0', false, 'linux-arm64'),
    ]);
    expect(await both(releases, { installed: '0.9.0', osVersion: '13' })).toEqual([
      update('1.1.0'),
      update('1.1.0'),
    ]);
    // An arch-independent build covers every arch of the ones before it.
    const any: ReleaseSpec = { version: '1.3.0', state: 'complete', artifacts: ['linux-any'] };
    expect(listed(prune([...releases, any]))).toEqual(['1.3.0']);
  });

  it('keeps the builds of a runtime the newest release does not serve', () => {
    const releases: ReleaseSpec[] = [
      { version: '1.0.0', state: 'complete' },
      { version: '1.1.0', state: 'complete' },
    ];
    const full = channelPayload(releases);
    const manifests = new Map(
      releases.map((r, i) => {
        const payload = releasePayload(r);
        const artifacts = payload.artifacts.map((a) => ({ ...a, runtime: `${i + 1}` }));
        return [r.version, { ...payload, artifacts }] as const;
      }),
    );
    expect(listed(pruneSnapshot(full, manifests))).toEqual(['1.0.0', '1.1.0']);
  });

  it('decide reads a floor as a mandatory release at that version, never above the release itself', async () => {
    const releases: ReleaseSpec[] = [{ version: '1.4.0', state: 'complete' }];
    const manifests = new Map(releases.map((r) => [r.version, releasePayload(r)]));
    const at = async (floor: string, installed: string) => {
      const snapshot = channelPayload(releases);
      snapshot.releases = snapshot.releases.map((r) => ({ ...r, mandatory_floor: floor }));
      const client: DecisionClient = { clientId: INSIDE, platform: 'linux', arch: 'x64', installed };
      return summarize(await decide({ snapshot, releases: manifests, yanks: new Map(), client }));
    };
    expect(await at('1.2.0', '1.1.0')).toEqual(update('1.4.0', true));
    expect(await at('1.2.0', '1.2.0')).toEqual(update('1.4.0', false));
    // A floor claiming more than its release forces as the release would if it were mandatory.
    expect(await at('9.0.0', '1.3.0')).toEqual(update('1.4.0', true));
    expect(await at('9.0.0', '1.4.0')).toEqual({ status: 'none', yanked: false });
  });

  it('pruning adds nothing when every release is live', () => {
    const releases: ReleaseSpec[] = [
      { version: '1.0.0', state: 'complete' },
      { version: '1.1.0', state: 'active', percent: PARTIAL_BP },
    ];
    const full = channelPayload(releases);
    expect(prune(releases)).toEqual(full);
  });
});
