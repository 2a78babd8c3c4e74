/** The table format of the decide() unit tests: one case per row, the decision reduced to one line. */
import { expect, it } from 'vitest';
import {
  type Decision,
  type DecisionClient,
  type DecisionInput,
  decide,
} from '../../src/protocol/decision.ts';
import {
  channelPayload,
  INSIDE,
  PARTIAL_BP,
  type ReleaseSpec,
  releasePayload,
  yankPayload,
} from './fixtures.ts';

export interface Case {
  name: string;
  releases: ReleaseSpec[];
  yanks?: { version: string; rollback_to: string | null }[];
  /** Default: INSIDE on linux-x64 with 1.0.0 installed and no OS version. */
  client?: Partial<DecisionClient>;
  expected: Summary;
}

/** A decision with the artifact reduced to its target, so a table row reads in one line. */
export type Summary =
  | { status: 'update' | 'rollback'; version: string; mandatory: boolean; target: string }
  | { status: 'none'; yanked: boolean };

export const update = (version: string, mandatory = false, target = 'linux-x64'): Summary => ({
  status: 'update',
  version,
  mandatory,
  target,
});
export const rollback = (version: string): Summary => ({
  status: 'rollback',
  version,
  mandatory: true,
  target: 'linux-x64',
});
export const none: Summary = { status: 'none', yanked: false };
export const noneYanked: Summary = { status: 'none', yanked: true };

/** At PARTIAL_BP with SALT, INSIDE is in the rollout and OUTSIDE is not. */
export const partial = { percent: PARTIAL_BP };
export const yanked = (version: string, rollback_to: string | null) => [{ version, rollback_to }];

export function summarize(decision: Decision): Summary {
  if (decision.status === 'none') return decision;
  const { status, version, mandatory, artifact } = decision;
  return { status, version, mandatory, target: `${artifact.platform}-${artifact.arch}` };
}

export function input(c: Case, order: 'as listed' | 'reversed' = 'as listed'): DecisionInput {
  const listed = c.releases.filter((r) => r.listed !== false);
  return {
    snapshot: channelPayload(order === 'reversed' ? [...listed].reverse() : listed, c.yanks),
    releases: new Map(
      c.releases.filter((r) => r.manifest !== false).map((r) => [r.version, releasePayload(r)]),
    ),
    yanks: new Map((c.yanks ?? []).map((y) => [y.version, yankPayload(y.version, y.rollback_to)])),
    client: { clientId: INSIDE, platform: 'linux', arch: 'x64', installed: '1.0.0', ...c.client },
  };
}

/** One test per row; each runs with the snapshot in its listed and reversed order, which must not matter. */
export function runTable(cases: Case[]): void {
  for (const c of cases) {
    it(c.name, async () => {
      expect(summarize(await decide(input(c, 'as listed')))).toEqual(c.expected);
      expect(summarize(await decide(input(c, 'reversed')))).toEqual(c.expected);
    });
  }
}
