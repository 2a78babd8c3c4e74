/** The update decision (docs/protocol.md §3): pure, no I/O; the Worker serves it and the SDK can re-check it. */
import type { SemVer } from 'semver';
import { insideWithoutBucket, isInside, isInsideSync, type SyncBucket } from './bucket.ts';
import type {
  Arch,
  Artifact,
  ChannelPayload,
  Platform,
  ReleasePayload,
  Rollout,
  YankPayload,
} from './documents.ts';
import { coerceVersion, parseVersion, satisfies } from './versions.ts';

export interface DecisionClient {
  clientId: string;
  platform: Platform;
  arch: Arch;
  /**
   * Installed version, strict semver; undefined when the client does not say it (an updater of
   * docs/protocol.md §9 that sends no version): rule 5 below.
   */
  installed: string | undefined;
  /** OS version, loose (coerced with semver.coerce: "14.2" → 14.2.0); absent means "unknown": artifacts with an `os` range are then skipped. */
  osVersion?: string;
  /** The client's runtime (docs/protocol.md §3); absent: only artifacts that name none. */
  runtime?: string;
}

export interface DecisionInput {
  snapshot: ChannelPayload;
  /** Release payloads by version: at least every release the snapshot lists and every yank's rollback target that exists. */
  releases: ReadonlyMap<string, ReleasePayload>;
  /** Yank payloads by version, for every entry of `snapshot.yanked`. */
  yanks: ReadonlyMap<string, YankPayload>;
  client: DecisionClient;
  /**
   * `indexChannel(snapshot, releases)`, when the caller keeps one per snapshot (the Worker does, in its
   * isolate cache): then a decision walks only the releases above the installed version, in order.
   */
  index?: ChannelIndex;
}

/** What the decision derives from a channel's documents alone, the same for every client. */
export interface ChannelIndex {
  /** Listed releases that are neither halted nor yanked and whose manifest is known, highest first. */
  offerable: readonly Offerable[];
  /**
   * For each position of `offerable`, the highest version that forces an update to it or to anything
   * below it: a mandatory release at or after that position, or a `mandatory_floor` there (rule 4).
   */
  forcing: readonly (SemVer | undefined)[];
  yanked: ReadonlySet<string>;
  halted: ReadonlySet<string>;
}

interface Offerable {
  version: SemVer;
  entry: ChannelPayload['releases'][number];
  release: ReleasePayload;
}

/**
 * Indexes a channel for `decide`: one pass over the snapshot and a sort, which `decide` would
 * otherwise repeat for every client. Valid for as long as `snapshot` and `releases` are unchanged.
 */
export function indexChannel(
  snapshot: ChannelPayload,
  releases: ReadonlyMap<string, ReleasePayload>,
): ChannelIndex {
  const yanked = new Set(snapshot.yanked.map((y) => y.version));
  const halted = new Set<string>();
  const offerable: Offerable[] = [];
  for (const entry of snapshot.releases) {
    if (entry.rollout.state === 'halted') halted.add(entry.version);
    if (halted.has(entry.version) || yanked.has(entry.version)) continue;
    const version = parseVersion(entry.version);
    const release = releases.get(entry.version);
    if (version && release) offerable.push({ version, entry, release });
  }
  // Close to linear when the snapshot lists releases in version order, in either direction.
  offerable.sort((a, b) => b.version.compare(a.version));
  const forcing = new Array<SemVer | undefined>(offerable.length);
  let highest: SemVer | undefined;
  for (let i = offerable.length - 1; i >= 0; i--) {
    const current = offerable[i];
    const level = current && forcingLevel(current);
    if (level && (!highest || level.compare(highest) > 0)) highest = level;
    forcing[i] = highest;
  }
  return { offerable, forcing, yanked, halted };
}

/**
 * The highest version an update to this release is forced from: itself when it is mandatory, else its
 * `mandatory_floor` (a mandatory release below it, perhaps left out of a pruned snapshot). Never above
 * the release itself, so a floor only ever forces clients below the release.
 */
function forcingLevel({ version, entry, release }: Offerable): SemVer | undefined {
  if (release.mandatory) return version;
  const floor = entry.mandatory_floor === undefined ? null : parseVersion(entry.mandatory_floor);
  if (!floor) return undefined;
  return floor.compare(version) < 0 ? floor : version;
}

export type Decision =
  | { status: 'update'; version: string; mandatory: boolean; artifact: Artifact }
  | { status: 'rollback'; version: string; mandatory: true; artifact: Artifact }
  | { status: 'none'; yanked: boolean };

/**
 * Decides what one client should run. Rules, in order (docs/protocol.md §3):
 * 1. candidates: listed releases whose rollout state is active, paused or complete; not yanked; version
 *    higher than installed; `requires` satisfied by installed (prereleases included); an artifact for
 *    platform and arch (an `any`-arch artifact matches every arch; exact arch preferred) whose `os`
 *    range, if any, the OS version satisfies and whose `runtime`, if any, is the client's; and the
 *    client inside the rollout.
 * 2. a candidate: `update` to the highest.
 * 3. none, installed yanked: `rollback` to the yank's `rollback_to` when that release is known, has
 *    an artifact for this client, and has not been pulled since (not yanked itself, not halted in this
 *    channel); else `none` with `yanked: true`. Otherwise `none`, `yanked: false`.
 * 4. `mandatory`: the target, or any listed, non-yanked, non-halted release strictly between installed
 *    and target, is mandatory, or one of them carries a `mandatory_floor` above installed (a pruned
 *    snapshot's stand-in for a mandatory release it left out). A rollback is always mandatory.
 * 5. installed version unknown: `update` to the highest candidate the client is inside the rollout
 *    of, `requires` ignored, `mandatory` as that release says; else `none`. The client compares
 *    versions itself; without its version nothing can be known of skipped releases or yanks.
 */
export async function decide(input: DecisionInput): Promise<Decision> {
  const { clientId } = input.client;
  const steps = decisionSteps(input);
  let step = steps.next();
  while (!step.done) step = steps.next(await isInside(step.value.percent_bp, step.value.salt, clientId));
  return step.value;
}

/**
 * `decide` with a synchronous `bucket` (the Worker's `bucketSync`): the same answer for every
 * input, without a promise or a WebCrypto digest per check.
 */
export function decideSync(input: DecisionInput, syncBucket: SyncBucket): Decision {
  const { clientId } = input.client;
  const steps = decisionSteps(input);
  let step = steps.next();
  while (!step.done) {
    step = steps.next(isInsideSync(step.value.percent_bp, step.value.salt, clientId, syncBucket));
  }
  return step.value;
}

/**
 * The rules of `decide`, written once for both ways of hashing: the steps yield each rollout whose
 * answer depends on the client's bucket and are resumed with whether the client is inside it, so that
 * `decide` can await WebCrypto and `decideSync` need not. Rollouts of 0 and 10000 bp are not yielded.
 */
function* decisionSteps(input: DecisionInput): Generator<Rollout, Decision, boolean> {
  const { snapshot, releases, yanks, client } = input;
  if (client.installed === undefined)
    return yield* decideUnknown(input.index ?? indexChannel(snapshot, releases), client);
  const installed = parseVersion(client.installed);
  if (!installed) throw new TypeError(`installed version ${client.installed} is not a semantic version`);
  const { offerable, forcing, yanked, halted } = input.index ?? indexChannel(snapshot, releases);

  // Highest first, and only down to the installed version. The per-client checks (a range test, an
  // artifact search, a hash per salt) stop at the first release that passes them all.
  for (let i = 0; i < offerable.length; i++) {
    const candidate = offerable[i];
    if (!candidate || candidate.version.compare(installed) <= 0) break;
    const { entry, release } = candidate;
    if (!satisfies(installed, release.requires)) continue;
    const artifact = pickArtifact(release, client.platform, client.arch, client.osVersion, client.runtime);
    if (!artifact) continue;
    const { rollout } = entry;
    // `complete` means everyone, whatever percentage the snapshot still carries.
    if (rollout.state === 'complete' || (insideWithoutBucket(rollout.percent_bp) ?? (yield rollout))) {
      // A mandatory release at or below the target but above installed forces the jump, even one
      // this client could not install itself, or one a pruned snapshot left out (its floor stands in
      // for it): a forced fix it skips must not be lost.
      const forced = forcing[i]?.compare(installed) === 1;
      return { status: 'update', version: entry.version, mandatory: forced, artifact };
    }
  }

  if (!yanked.has(installed.version)) return { status: 'none', yanked: false };
  // The signed yank, not the snapshot's copy, is what lets a client move down (docs/protocol.md §2).
  const named = yanks.get(installed.version)?.rollback_to;
  // A target pulled after the yank was signed is no refuge: a yanked release is broken, and a halted
  // one is offered to nobody new (docs/protocol.md §3). The client stays put and is told it runs a yanked version.
  const target = named && !yanked.has(named) && !halted.has(named) ? named : undefined;
  const release = target ? releases.get(target) : undefined;
  const artifact =
    release && pickArtifact(release, client.platform, client.arch, client.osVersion, client.runtime);
  if (target && artifact && installed.compare(target) > 0) {
    return { status: 'rollback', version: target, mandatory: true, artifact };
  }
  return { status: 'none', yanked: true };
}

/** Rule 5: the highest offerable release with an artifact for this client and the client inside its rollout. */
function* decideUnknown(index: ChannelIndex, client: DecisionClient): Generator<Rollout, Decision, boolean> {
  for (const { entry, release } of index.offerable) {
    const artifact = pickArtifact(release, client.platform, client.arch, client.osVersion, client.runtime);
    if (!artifact) continue;
    const { rollout } = entry;
    if (rollout.state === 'complete' || (insideWithoutBucket(rollout.percent_bp) ?? (yield rollout))) {
      return { status: 'update', version: entry.version, mandatory: release.mandatory, artifact };
    }
  }
  return { status: 'none', yanked: false };
}

/** The artifact of `release` for this client, or undefined (same matching rule as `decide`; `runtime` the client's). */
export function pickArtifact(
  release: ReleasePayload,
  platform: Platform,
  arch: Arch,
  osVersion: string | undefined,
  runtime?: string,
): Artifact | undefined {
  let anyArch: Artifact | undefined;
  for (const artifact of release.artifacts) {
    if (artifact.platform !== platform || (artifact.arch !== arch && artifact.arch !== 'any')) continue;
    if (!osAllows(artifact.os, osVersion)) continue;
    // docs/protocol.md §3: an artifact of a runtime only for clients of that runtime; one of none for anyone.
    if (artifact.runtime !== undefined && artifact.runtime !== runtime) continue;
    if (artifact.arch === arch) return artifact;
    anyArch = artifact;
  }
  return anyArch;
}

/** An artifact without an OS range fits every OS; one with a range needs a known, matching OS version. */
function osAllows(range: string | undefined, osVersion: string | undefined): boolean {
  if (range === undefined) return true;
  const version = osVersion === undefined ? null : coerceVersion(osVersion);
  return version !== null && satisfies(version, range);
}
