/**
 * The baseline of a rollout (docs/protocol.md §6): the release the canary's clients come from, the control
 * group it is judged against. Pure: the scheduler's relative gates, the health API's comparison and
 * the CLI share it.
 */
import semverLt from 'semver/functions/lt.js';
import semverRcompare from 'semver/functions/rcompare.js';
import type { RolloutState } from './documents.ts';

/** What the baseline is chosen from: a channel's rollouts and whether each release is yanked. */
export interface ChannelRelease {
  version: string;
  state: RolloutState;
  yanked?: boolean;
}

/**
 * The highest `complete`, not yanked release of the channel below `canary`, or undefined when there is
 * none (a first release has no baseline: relative gates cannot judge it, absolute ones still do).
 */
export function baselineOf(releases: readonly ChannelRelease[], canary: string): string | undefined {
  return [...releases]
    .filter((r) => r.state === 'complete' && !r.yanked && semverLt(r.version, canary))
    .sort((a, b) => semverRcompare(a.version, b.version))[0]?.version;
}
