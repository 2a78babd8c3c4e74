/**
 * decide() on random release sets (docs/protocol.md §3): its safety invariants, and equality with a brute-force
 * reference written here from the design's words, independently of src/protocol/decision.ts.
 */
import fc from 'fast-check';
import semverCoerce from 'semver/functions/coerce.js';
import semverCompare from 'semver/functions/compare.js';
import semverSatisfies from 'semver/functions/satisfies.js';
import { describe, expect, it } from 'vitest';
import { isInside } from '../../src/protocol/bucket.ts';
import { type Decision, type DecisionInput, decide } from '../../src/protocol/decision.ts';
import type { Artifact, ReleasePayload } from '../../src/protocol/documents.ts';
import { decisionInput, hex, percentArb, type World, worldArb } from './arbitraries.ts';

const RUNS = 1000;
const withPrereleases = { includePrerelease: true } as const;
// Precedence always orders prereleases; only range matching needs includePrerelease.
const cmp = (a: string, b: string) => semverCompare(a, b);

/** docs/protocol.md §3's bucket, computed from its definition: first 4 bytes of SHA-256 big-endian, mod 10000. */
async function referenceBucket(salt: string, clientId: string): Promise<number> {
  const digest = new Uint8Array(
    await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`${salt}:${clientId}`)),
  );
  const [a = 0, b = 0, c = 0, d = 0] = digest;
  return (a * 2 ** 24 + b * 2 ** 16 + c * 2 ** 8 + d) % 10_000;
}

function referenceArtifact(release: ReleasePayload, client: DecisionInput['client']): Artifact | undefined {
  const os = client.osVersion === undefined ? null : semverCoerce(client.osVersion);
  const fits = (a: Artifact) =>
    a.platform === client.platform &&
    (a.os === undefined || (os !== null && semverSatisfies(os, a.os, withPrereleases))) &&
    (a.runtime === undefined || a.runtime === client.runtime);
  const usable = release.artifacts.filter(fits);
  return usable.find((a) => a.arch === client.arch) ?? usable.find((a) => a.arch === 'any');
}

/** Every eligible candidate, checked one by one; the highest wins; else the yank's rollback. */
async function reference(input: DecisionInput): Promise<Decision> {
  const { snapshot, releases, yanks } = input;
  const yanked = new Set(snapshot.yanked.map((y) => y.version));
  const halted = new Set(snapshot.releases.filter((r) => r.rollout.state === 'halted').map((r) => r.version));
  if (input.client.installed === undefined) return referenceUnknown(input, yanked, halted);
  const client = { ...input.client, installed: input.client.installed };
  const eligible: { version: string; artifact: Artifact }[] = [];
  for (const entry of snapshot.releases) {
    const release = releases.get(entry.version);
    if (!release || halted.has(entry.version) || yanked.has(entry.version)) continue;
    if (cmp(entry.version, client.installed) <= 0) continue;
    if (!semverSatisfies(client.installed, release.requires, withPrereleases)) continue;
    const artifact = referenceArtifact(release, client);
    if (!artifact) continue;
    const { state, percent_bp, salt } = entry.rollout;
    const inside =
      state === 'complete' ||
      percent_bp >= 10_000 ||
      (await referenceBucket(salt, client.clientId)) < percent_bp;
    if (inside) eligible.push({ version: entry.version, artifact });
  }
  const best = eligible.sort((a, b) => cmp(b.version, a.version))[0];
  if (best) {
    const mandatory = snapshot.releases.some(
      (e) =>
        releases.get(e.version)?.mandatory === true &&
        !halted.has(e.version) &&
        !yanked.has(e.version) &&
        cmp(e.version, client.installed) > 0 &&
        cmp(e.version, best.version) <= 0,
    );
    return { status: 'update', version: best.version, mandatory, artifact: best.artifact };
  }
  if (!yanked.has(client.installed)) return { status: 'none', yanked: false };
  const target = yanks.get(client.installed)?.rollback_to ?? null;
  const release = target === null ? undefined : releases.get(target);
  const artifact = release && referenceArtifact(release, client);
  // Never a yanked release, never a halted one to someone new, never up through a "rollback".
  if (target !== null && artifact && !yanked.has(target) && !halted.has(target)) {
    if (cmp(target, client.installed) < 0)
      return { status: 'rollback', version: target, mandatory: true, artifact };
  }
  return { status: 'none', yanked: true };
}

/** Rule 5, installed version unknown: the highest release the client may have, `requires` ignored. */
async function referenceUnknown(
  { snapshot, releases, client }: DecisionInput,
  yanked: ReadonlySet<string>,
  halted: ReadonlySet<string>,
): Promise<Decision> {
  const eligible: { version: string; artifact: Artifact; mandatory: boolean }[] = [];
  for (const entry of snapshot.releases) {
    const release = releases.get(entry.version);
    if (!release || halted.has(entry.version) || yanked.has(entry.version)) continue;
    const artifact = referenceArtifact(release, client);
    if (!artifact) continue;
    const { state, percent_bp, salt } = entry.rollout;
    const inside =
      state === 'complete' ||
      percent_bp >= 10_000 ||
      (await referenceBucket(salt, client.clientId)) < percent_bp;
    if (inside) eligible.push({ version: entry.version, artifact, mandatory: release.mandatory });
  }
  const best = eligible.sort((a, b) => cmp(b.version, a.version))[0];
  return best ? { status: 'update', ...best } : { status: 'none', yanked: false };
}

const property = (name: string, seed: number, check: (world: World, decision: Decision) => void) =>
  it(name, async () => {
    await fc.assert(
      fc.asyncProperty(worldArb, async (world) => {
        check(world, await decide(decisionInput(world)));
      }),
      { seed, numRuns: RUNS },
    );
  });

describe('decide on random release sets', () => {
  it('equals the brute-force reference, whatever the snapshot order', async () => {
    await fc.assert(
      fc.asyncProperty(worldArb, async (world) => {
        const expected = await reference(decisionInput(world));
        expect(await decide(decisionInput(world))).toEqual(expected);
        expect(await decide(decisionInput(world, 'reversed'))).toEqual(expected);
      }),
      { seed: 7001, numRuns: RUNS },
    );
  });

  it('with the installed version unknown (docs/protocol.md §3 rule 5), equals the brute-force reference', async () => {
    await fc.assert(
      fc.asyncProperty(worldArb, async (world) => {
        const unknown = { ...decisionInput(world), client: { ...world.client, installed: undefined } };
        const expected = await reference(unknown);
        expect(await decide(unknown)).toEqual(expected);
        expect(await decide({ ...decisionInput(world, 'reversed'), client: unknown.client })).toEqual(
          expected,
        );
      }),
      { seed: 7009, numRuns: RUNS },
    );
  });

  property(
    'never moves down, except to the rollback_to of a yank of the installed version',
    7002,
    (world, d) => {
      if (d.status === 'none') return;
      const installed = world.client.installed;
      if (d.status === 'update') {
        expect(cmp(d.version, installed)).toBe(1);
        return;
      }
      const yank = world.yanks.find((y) => y.version === installed);
      expect(yank?.rollback_to).toBe(d.version);
      expect(cmp(d.version, installed)).toBe(-1);
    },
  );

  property('never offers a yanked version', 7003, (world, d) => {
    if (d.status === 'none') return;
    expect(world.yanks.map((y) => y.version)).not.toContain(d.version);
  });

  property('never offers a halted release to a client not already on it', 7004, (world, d) => {
    if (d.status === 'none') return;
    const halted = world.releases.filter((r) => r.listed && r.state === 'halted').map((r) => r.version);
    expect(d.version).not.toBe(world.client.installed);
    expect(halted).not.toContain(d.version);
  });

  property('offers only artifacts the target signed for this platform and arch', 7005, (world, d) => {
    if (d.status === 'none') return;
    const release = decisionInput(world).releases.get(d.version);
    expect(release?.artifacts).toContainEqual(d.artifact);
    expect(d.artifact.platform).toBe(world.client.platform);
    expect([world.client.arch, 'any']).toContain(d.artifact.arch);
  });

  property(
    'mandatory iff the target or a skipped listed, non-yanked, non-halted release is mandatory',
    7006,
    (world, d) => {
      if (d.status === 'none') return;
      if (d.status === 'rollback') {
        expect(d.mandatory).toBe(true);
        return;
      }
      const yanked = new Set(world.yanks.map((y) => y.version));
      const forcing = world.releases.filter(
        (r) =>
          r.listed &&
          r.manifest &&
          r.mandatory &&
          r.state !== 'halted' &&
          !yanked.has(r.version) &&
          cmp(r.version, world.client.installed) > 0 &&
          cmp(r.version, d.version) <= 0,
      );
      expect(d.mandatory).toBe(forcing.length > 0);
    },
  );

  it('raising a percentage (same salt) never moves a client to a lower offer', async () => {
    // Rank: none and rollback below every update; updates by version.
    const rank = (d: Decision) => (d.status === 'update' ? d.version : null);
    await fc.assert(
      fc.asyncProperty(
        worldArb,
        fc.nat(),
        fc.integer({ min: 0, max: 10_000 }),
        async (world, pick, raise) => {
          const index = pick % world.releases.length;
          const raised: World = {
            ...world,
            releases: world.releases.map((r, i) =>
              i === index ? { ...r, percent_bp: Math.min(10_000, r.percent_bp + raise) } : r,
            ),
          };
          const before = rank(await decide(decisionInput(world)));
          const after = rank(await decide(decisionInput(raised)));
          if (before !== null) {
            expect(after).not.toBeNull();
            expect(cmp(after ?? '0.0.0', before)).toBeGreaterThanOrEqual(0);
          }
        },
      ),
      { seed: 7007, numRuns: RUNS },
    );
  });

  it('raising a percentage (same salt) only adds clients to the rollout', async () => {
    const clientId = fc.string({ minLength: 1, maxLength: 64 });
    await fc.assert(
      fc.asyncProperty(hex(32), clientId, percentArb, percentArb, async (salt, client, p, q) => {
        const [low, high] = p <= q ? [p, q] : [q, p];
        if (await isInside(low, salt, client)) expect(await isInside(high, salt, client)).toBe(true);
      }),
      { seed: 7008, numRuns: 1000 },
    );
  });
});
