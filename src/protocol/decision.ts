/** The update decision (DESIGN §3): pure, no I/O; the Worker serves it and the SDK can re-check it. */
import type { SemVer } from 'semver';
import { isInside } from './bucket.ts';
import type { Arch, Artifact, ChannelPayload, Platform, ReleasePayload, YankPayload } from './documents.ts';
import { coerceVersion, parseVersion, satisfies } from './versions.ts';

export interface DecisionClient {
  clientId: string;
  platform: Platform;
  arch: Arch;
  /** Installed version, strict semver. */
  installed: string;
  /** OS version, loose (coerced with semver.coerce: "14.2" → 14.2.0); absent means "unknown": artifacts with an `os` range are then skipped. */
  osVersion?: string;
}

export interface DecisionInput {
  snapshot: ChannelPayload;
  /** Release payloads by version: at least every release the snapshot lists and every yank's rollback target that exists. */
  releases: ReadonlyMap<string, ReleasePayload>;
  /** Yank payloads by version, for every entry of `snapshot.yanked`. */
  yanks: ReadonlyMap<string, YankPayload>;
  client: DecisionClient;
}

export type Decision =
  | { status: 'update'; version: string; mandatory: boolean; artifact: Artifact }
  | { status: 'rollback'; version: string; mandatory: true; artifact: Artifact }
  | { status: 'none'; yanked: boolean };

/**
 * Decides what one client should run. Rules, in order (DESIGN §3):
 * 1. candidates: listed releases whose rollout state is active, paused or complete; not yanked; version
 *    higher than installed; `requires` satisfied by installed (prereleases included); an artifact for
 *    platform and arch (an `any`-arch artifact matches every arch; exact arch preferred) whose `os`
 *    range, if any, the OS version satisfies; and the client inside the rollout.
 * 2. a candidate: `update` to the highest.
 * 3. none, installed yanked: `rollback` to the yank's `rollback_to` when that release is known and has
 *    an artifact for this client; else `none` with `yanked: true`. Otherwise `none`, `yanked: false`.
 * 4. `mandatory`: the target, or any listed, non-yanked, non-halted release strictly between installed
 *    and target, is mandatory. A rollback is always mandatory.
 */
export async function decide(input: DecisionInput): Promise<Decision> {
  const { snapshot, releases, yanks, client } = input;
  const installed = parseVersion(client.installed);
  if (!installed) throw new TypeError(`installed version ${client.installed} is not a semantic version`);
  const yanked = new Set(snapshot.yanked.map((y) => y.version));

  // One pass of cheap filters. The per-client checks (a range test, an artifact search, a hash per
  // salt) run afterwards in version order and stop at the first release that passes them all.
  const candidates: Candidate[] = [];
  const mandatory: SemVer[] = [];
  for (const entry of snapshot.releases) {
    if (entry.rollout.state === 'halted' || yanked.has(entry.version)) continue;
    const version = parseVersion(entry.version);
    if (!version || version.compare(installed) <= 0) continue;
    const release = releases.get(entry.version);
    if (!release) continue;
    // Recorded before the client-specific checks: a forced fix the client skips still forces the jump.
    if (release.mandatory) mandatory.push(version);
    candidates.push({ version, entry, release });
  }

  // Close to linear when the snapshot lists releases in version order, in either direction.
  candidates.sort((a, b) => b.version.compare(a.version));
  for (const { version, entry, release } of candidates) {
    if (!satisfies(installed, release.requires)) continue;
    const artifact = pickArtifact(release, client.platform, client.arch, client.osVersion);
    if (!artifact) continue;
    const { state, percent_bp, salt } = entry.rollout;
    // `complete` means everyone, whatever percentage the snapshot still carries.
    if (state === 'complete' || (await isInside(percent_bp, salt, client.clientId))) {
      const forced = mandatory.some((v) => v.compare(version) <= 0);
      return { status: 'update', version: entry.version, mandatory: forced, artifact };
    }
  }

  if (!yanked.has(installed.version)) return { status: 'none', yanked: false };
  // The signed yank, not the snapshot's copy, is what lets a client move down (DESIGN §2).
  const target = yanks.get(installed.version)?.rollback_to;
  const release = target ? releases.get(target) : undefined;
  const artifact = release && pickArtifact(release, client.platform, client.arch, client.osVersion);
  if (target && artifact && installed.compare(target) > 0) {
    return { status: 'rollback', version: target, mandatory: true, artifact };
  }
  return { status: 'none', yanked: true };
}

interface Candidate {
  version: SemVer;
  entry: ChannelPayload['releases'][number];
  release: ReleasePayload;
}

/** The artifact of `release` for this client, or undefined (same matching rule as `decide`). */
export function pickArtifact(
  release: ReleasePayload,
  platform: Platform,
  arch: Arch,
  osVersion: string | undefined,
): Artifact | undefined {
  let anyArch: Artifact | undefined;
  for (const artifact of release.artifacts) {
    if (artifact.platform !== platform || (artifact.arch !== arch && artifact.arch !== 'any')) continue;
    if (!osAllows(artifact.os, osVersion)) continue;
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
