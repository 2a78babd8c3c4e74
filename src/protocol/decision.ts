/** The update decision (DESIGN §3): pure, no I/O; the Worker serves it and the SDK can re-check it. */
import type { Arch, Artifact, ChannelPayload, Platform, ReleasePayload, YankPayload } from './documents.ts';

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
  void input;
  throw new Error('not implemented');
}

/** The artifact of `release` for this client, or undefined (same matching rule as `decide`). */
export function pickArtifact(
  release: ReleasePayload,
  platform: Platform,
  arch: Arch,
  osVersion: string | undefined,
): Artifact | undefined {
  void release;
  void platform;
  void arch;
  void osVersion;
  throw new Error('not implemented');
}
