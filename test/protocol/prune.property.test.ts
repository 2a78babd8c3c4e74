/**
 * Pruned snapshots (docs/protocol.md §2): over random channel histories, `decide` over the pruned snapshot
 * equals `decide` over the full one for random clients (installed version or none, platform, arch,
 * OS version, runtime, client id), `mandatory` included, with only the release documents the Worker
 * would still serve (listed ones and the yanks' rollback targets).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type DecisionClient, type DecisionInput, decide } from '../../src/protocol/decision.ts';
import type { Arch, ChannelPayload, Platform, ReleasePayload } from '../../src/protocol/documents.ts';
import { pruneSnapshot } from '../../src/protocol/prune.ts';
import {
  DECISION_PLATFORMS,
  decisionInput,
  osVersionArb,
  versionArb,
  type World,
  worldArb,
} from './arbitraries.ts';

const RUNS = 3000;
const CLIENT_ARCHES = ['x64', 'arm64', 'ia32', 'universal', 'any'] as const satisfies readonly Arch[];
const CLIENT_PLATFORMS = [...DECISION_PLATFORMS, 'android'] as const satisfies readonly Platform[];

/**
 * A world that looks like a long-lived channel: most releases complete (or at 100 %) with the
 * `requires` and artifacts of one of a few templates, so that later releases cover earlier ones and
 * pruning has something to do; the rest stay as random as worldArb makes them.
 */
const historyArb: fc.Arbitrary<World> = worldArb.chain((world) =>
  fc
    .record({
      templates: fc.integer({ min: 1, max: 3 }),
      picks: fc.array(
        fc.record({
          template: fc.nat({ max: 2 }),
          everyone: fc.constantFrom('complete', 'active-100', 'paused-100', 'partial', 'keep'),
          partial: fc.integer({ min: 1, max: 9_999 }),
          sameRequires: fc.boolean(),
        }),
        { minLength: world.releases.length, maxLength: world.releases.length },
      ),
    })
    .map(({ templates, picks }) => ({
      ...world,
      releases: world.releases.map((release, i) => {
        const pick = picks[i];
        const template = world.releases[(pick?.template ?? 0) % templates];
        if (!pick || !template || pick.everyone === 'keep') return release;
        // A partial rollout at the same coverage: the clients outside it must still find the lower ones.
        const rollout =
          pick.everyone === 'complete'
            ? { state: 'complete' as const }
            : pick.everyone === 'partial'
              ? { state: 'active' as const, percent_bp: pick.partial }
              : {
                  state: pick.everyone === 'active-100' ? ('active' as const) : ('paused' as const),
                  percent_bp: 10_000,
                };
        return {
          ...release,
          ...rollout,
          artifacts: template.artifacts,
          requires: pick.sameRequires ? template.requires : release.requires,
        };
      }),
    })),
);

const clientArb = (world: World): fc.Arbitrary<DecisionClient> =>
  fc.record({
    clientId: fc.oneof(
      fc.constantFrom('client-1', 'client-2', world.client.clientId),
      fc.string({ minLength: 1 }),
    ),
    platform: fc.constantFrom(...CLIENT_PLATFORMS),
    arch: fc.constantFrom(...CLIENT_ARCHES),
    // Listed versions, yanked ones, any version at all, or none said (rule 5).
    installed: fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...world.releases.map((r) => r.version)) },
      { weight: 2, arbitrary: versionArb },
      {
        weight: 2,
        arbitrary:
          world.yanks.length > 0 ? fc.constantFrom(...world.yanks.map((y) => y.version)) : versionArb,
      },
      { weight: 1, arbitrary: fc.constant(undefined) },
    ),
    osVersion: fc.option(osVersionArb, { nil: undefined, freq: 4 }),
    runtime: fc.option(fc.constantFrom('1.0.0', 'exposdk:52.0.0', 'other'), { nil: undefined, freq: 2 }),
  });

/** The documents the Worker serves with a pruned snapshot: the listed releases and the rollback targets. */
function servedReleases(pruned: ChannelPayload, all: ReadonlyMap<string, ReleasePayload>) {
  const versions = new Set([
    ...pruned.releases.map((r) => r.version),
    ...pruned.yanked.flatMap((y) => (y.rollback_to === null ? [] : [y.rollback_to])),
  ]);
  return new Map([...all].filter(([version]) => versions.has(version)));
}

function prunedInput(full: DecisionInput): DecisionInput {
  const snapshot = pruneSnapshot(full.snapshot, full.releases);
  return { ...full, snapshot, releases: servedReleases(snapshot, full.releases) };
}

describe('pruneSnapshot', () => {
  for (const [name, arb, seed] of [
    ['random worlds', worldArb, 8101],
    ['long-lived channels', historyArb, 8102],
  ] as const) {
    it(`changes no decision for any client (${name})`, async () => {
      let listed = 0;
      let kept = 0;
      await fc.assert(
        fc.asyncProperty(
          arb.chain((world) =>
            fc.tuple(fc.constant(world), fc.array(clientArb(world), { minLength: 8, maxLength: 8 })),
          ),
          async ([world, clients]) => {
            const full = decisionInput(world);
            const pruned = prunedInput(full);
            listed += full.snapshot.releases.length;
            kept += pruned.snapshot.releases.length;
            expect(pruned.snapshot.yanked).toEqual(full.snapshot.yanked);
            for (const client of [world.client, ...clients]) {
              const expected = await decide({ ...full, client });
              expect(await decide({ ...pruned, client }), JSON.stringify(client)).toEqual(expected);
            }
          },
        ),
        { seed, numRuns: RUNS },
      );
      // Not vacuous: the histories do lose releases.
      expect(kept).toBeLessThan(listed * (name === 'random worlds' ? 0.9 : 0.6));
    });
  }

  it('pruning a pruned snapshot changes nothing more', async () => {
    await fc.assert(
      fc.asyncProperty(historyArb, async (world) => {
        const once = prunedInput(decisionInput(world));
        expect(pruneSnapshot(once.snapshot, once.releases)).toEqual(once.snapshot);
      }),
      { seed: 8103, numRuns: 1000 },
    );
  });
});
