/**
 * Pruned channel snapshots (docs/protocol.md §2: "a snapshot lists the channel's live releases, not its
 * history"). Pure: the projection writer applies it to the full list before signing, and the
 * property test in test/protocol/prune.property.test.ts holds `decide` over the pruned snapshot equal
 * to `decide` over the full one for random histories and clients.
 *
 * Why a left-out release changes no decision. Call cand(R) the clients (installed version, platform,
 * arch, OS version, runtime, client id) for which R is a candidate of `decide` rule 1, or of rule 5
 * when the client does not say its version. R is left out only when cand(R) is empty (a rollout at
 * 0 % that is not complete) or when a higher offerable release S reaches everyone (complete, or at
 * 10000 bp) and covers R: every client R could serve, S serves too (S's `requires` admits every
 * installed version below R that R's admits, and for every artifact of R one artifact of S serves
 * at least its platform, arch, OS range and runtime). Then cand(R) ⊆ cand(S), an inclusion that
 * chains, so the highest candidate of every client is a listed release and the target is unchanged.
 * Rule 4 (mandatory across skipped releases) is kept by `mandatory_floor`; rule 3 (rollback) reads
 * only the yanks, which all stay, and the halted state of rollback targets, which stay listed.
 */
// From the package entry, as versions.ts explains: a deep import may load a second copy of the classes.
import { type SemVer, Range as SemverRange, subset as semverSubset } from 'semver';
import type { Artifact, ChannelPayload, ReleasePayload } from './documents.ts';
import { parseVersion } from './versions.ts';

type Entry = ChannelPayload['releases'][number];

// As versions.ts matches ranges: prereleases take part.
const OPTIONS = { includePrerelease: true } as const;
const EVERYONE_BP = 10_000;

interface Offerable {
  entry: Entry;
  version: SemVer;
  release: ReleasePayload;
}

/**
 * The snapshot `full` with every release left out whose absence changes no decision, for any client
 * (see the file comment), and `mandatory_floor` set on each listed offerable release that has a
 * mandatory release, or a floor, below it. What is kept, in `full`'s order:
 * - every yank (any installed version may be the yanked one);
 * - a halted release only while a yank names it as `rollback_to` (its halt blocks that rollback);
 * - an offerable release (active, paused or complete, not yanked, its manifest in `releases`) unless
 *   it reaches nobody or a higher release that reaches everyone covers it.
 * Yanked releases and listed releases without a manifest are never offered and are left out.
 * `releases` holds the manifests by version; pruning a pruned snapshot changes nothing more.
 */
export function pruneSnapshot(
  full: ChannelPayload,
  releases: ReadonlyMap<string, ReleasePayload>,
): ChannelPayload {
  const yanked = new Set(full.yanked.map((y) => y.version));
  const rollbackTargets = new Set(
    full.yanked.flatMap((y) => (y.rollback_to === null ? [] : [y.rollback_to])),
  );
  // `decide` treats a version as halted when any entry of it is halted.
  const halted = new Set(full.releases.filter((e) => e.rollout.state === 'halted').map((e) => e.version));

  const offerable: Offerable[] = [];
  const keep = new Set<Entry>();
  for (const entry of full.releases) {
    if (yanked.has(entry.version)) continue;
    if (halted.has(entry.version)) {
      if (rollbackTargets.has(entry.version)) keep.add(entry);
      continue;
    }
    const version = parseVersion(entry.version);
    const release = releases.get(entry.version);
    if (version && release) offerable.push({ entry, version, release });
  }
  offerable.sort((a, b) => b.version.compare(a.version));

  const floors = mandatoryFloors(offerable);
  // Highest first: each release is judged against the higher ones that reach everyone, one of each
  // coverage profile (a long history repeats a handful of `requires` and artifact sets).
  const dominators = new Map<string, Offerable>();
  for (const candidate of offerable) {
    const { entry } = candidate;
    const reachesEveryone = entry.rollout.state === 'complete' || entry.rollout.percent_bp >= EVERYONE_BP;
    const reachesNobody = entry.rollout.state !== 'complete' && entry.rollout.percent_bp <= 0;
    const covered = [...dominators.values()].some((higher) => covers(higher, candidate));
    if (!reachesNobody && !covered) keep.add(entry);
    if (reachesEveryone) {
      const profile = profileOf(candidate.release);
      if (!dominators.has(profile)) dominators.set(profile, candidate);
    }
  }

  return {
    ...full,
    releases: full.releases
      .filter((entry) => keep.has(entry))
      .map((entry) => {
        const floor = floors.get(entry);
        const { mandatory_floor: _previous, ...rest } = entry;
        return floor === undefined ? rest : { ...rest, mandatory_floor: floor.version };
      }),
  };
}

/**
 * For each offerable release, the highest version below it whose update forces (a mandatory release,
 * or a floor an earlier pruning set), as rule 4 of `decide` reads it; absent when there is none.
 */
function mandatoryFloors(offerable: readonly Offerable[]): Map<Entry, SemVer> {
  const floors = new Map<Entry, SemVer>();
  let below: SemVer | undefined;
  for (let i = offerable.length - 1; i >= 0; i--) {
    const current = offerable[i];
    if (!current) continue;
    const own =
      current.entry.mandatory_floor === undefined ? null : parseVersion(current.entry.mandatory_floor);
    // A floor is never above its release (decide reads it so): clamp one that claims more.
    const ownFloor = own && own.compare(current.version) >= 0 ? current.version : own;
    const floor = max(below, ownFloor ?? undefined);
    if (floor) floors.set(current.entry, floor);
    const level = current.release.mandatory ? current.version : floor;
    below = max(below, level);
  }
  return floors;
}

function max(a: SemVer | undefined, b: SemVer | undefined): SemVer | undefined {
  if (!a) return b;
  if (!b) return a;
  return a.compare(b) >= 0 ? a : b;
}

/** Whether `higher`, which reaches everyone, is a candidate for every client `lower` is one for. */
function covers(higher: Offerable, lower: Offerable): boolean {
  if (!requiresCovers(higher.release.requires, lower.release.requires, lower.entry.version)) return false;
  return lower.release.artifacts.every((a) => higher.release.artifacts.some((b) => artifactCovers(b, a)));
}

/** Whether every installed version below `version` that `lower` admits, `higher` admits too. */
function requiresCovers(higher: string, lower: string, version: string): boolean {
  if (higher === '*' || higher === lower) return true;
  return subset(`${lower}\u0000${version}`, higher, () => belowRange(lower, version));
}

/** `range` restricted to versions below `version`, as a range string. */
function belowRange(range: string, version: string): string {
  // Per comparator set of the parsed range, so that hyphen ranges and `||` keep their meaning.
  const sets = rangeSets(range);
  return sets.map((comparators) => [...comparators, `<${version}`].join(' ')).join(' || ');
}

/** Whether artifact `b` serves every client artifact `a` serves (`pickArtifact`'s matching rule). */
function artifactCovers(b: Artifact, a: Artifact): boolean {
  if (b.platform !== a.platform) return false;
  if (b.arch !== 'any' && b.arch !== a.arch) return false;
  if (b.runtime !== undefined && b.runtime !== a.runtime) return false;
  if (b.os === undefined || b.os === a.os) return true;
  // No range on `a`: it also serves clients that do not say their OS version, which `b` never does.
  return a.os !== undefined && subset(a.os, b.os, () => a.os ?? '');
}

/** A release's `requires` and artifact targets: two releases of one profile cover the same clients. */
function profileOf(release: ReleasePayload): string {
  const targets = release.artifacts.map((a) =>
    [a.platform, a.arch, a.os ?? '', a.runtime ?? ''].join('\u0000'),
  );
  return JSON.stringify([release.requires, targets.sort()]);
}

// Both caches are keyed by strings from signed documents a channel already holds, and are bounded.
const MAX_ENTRIES = 10_000;
const subsets = new Map<string, boolean>();
const parsedSets = new Map<string, string[][]>();

/** semver's `subset(sub, dom)`, prereleases included, cached by `key` and `dom`; false when either does not parse. */
function subset(key: string, dom: string, sub: () => string): boolean {
  const cacheKey = `${key}\u0001${dom}`;
  let known = subsets.get(cacheKey);
  if (known === undefined) {
    try {
      known = semverSubset(sub(), dom, OPTIONS);
    } catch {
      known = false;
    }
    if (subsets.size >= MAX_ENTRIES) subsets.clear();
    subsets.set(cacheKey, known);
  }
  return known;
}

/** The comparator sets of a range, each as its comparators' text (`*` has none). */
function rangeSets(range: string): string[][] {
  let sets = parsedSets.get(range);
  if (sets === undefined) {
    sets = rangeComparators(range);
    if (parsedSets.size >= MAX_ENTRIES) parsedSets.clear();
    parsedSets.set(range, sets);
  }
  return sets;
}

function rangeComparators(range: string): string[][] {
  const { set } = new SemverRange(range, OPTIONS);
  return set.map((comparators) => comparators.map((c) => c.value).filter((value) => value !== ''));
}
