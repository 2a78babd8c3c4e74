/** Sample payloads and builders shared by the protocol unit tests. */
import type {
  Arch,
  Artifact,
  ChannelPayload,
  KeysPayload,
  Platform,
  PublicJwk,
  ReleasePayload,
  RolloutState,
  YankPayload,
} from '../../src/protocol/documents.ts';

/** The docs/protocol.md §3 test-vector salt: bucket(SALT, 'client-1') = 1118, bucket(SALT, 'client-2') = 4977. */
export const SALT = '00112233445566778899aabbccddeeff';
/** At 2000 bp with SALT, INSIDE is in the rollout and OUTSIDE is not. */
export const INSIDE = 'client-1';
export const OUTSIDE = 'client-2';
export const PARTIAL_BP = 2000;

export const HASH = 'ab'.repeat(32);
export const NOW = new Date('2026-11-21T18:00:00Z');
export const iso = (offsetMs: number) => new Date(NOW.getTime() + offsetMs).toISOString();
export const DAY = 24 * 3600 * 1000;

export function keysPayload(version: number, root: PublicJwk[], others: PublicJwk[] = root): KeysPayload {
  return { version, expires: iso(365 * DAY), root, release: others, online: others };
}

/** `linux-x64`, or an artifact with an OS range. */
export type ArtifactSpec = `${Platform}-${Arch}` | { target: `${Platform}-${Arch}`; os: string };

export function artifact(spec: ArtifactSpec, version: string): Artifact {
  const target = typeof spec === 'string' ? spec : spec.target;
  const [platform, arch] = target.split('-') as [Platform, Arch];
  const base = { platform, arch, file: `app-${version}-${target}.tar.gz`, sha256: HASH, size: 1024 };
  return typeof spec === 'string' ? base : { ...base, os: spec.os };
}

export interface ReleaseSpec {
  version: string;
  state?: RolloutState;
  /** Basis points; default 10000. */
  percent?: number;
  /** Default SALT. */
  salt?: string;
  mandatory?: boolean;
  requires?: string;
  /** Default `['linux-x64']`. */
  artifacts?: ArtifactSpec[];
  /** False: known (a rollback target) but not listed in the snapshot. */
  listed?: boolean;
  /** False: listed in the snapshot but its manifest is missing from the releases map. */
  manifest?: boolean;
}

export function releasePayload(spec: ReleaseSpec, app = 'demo'): ReleasePayload {
  const artifacts = (spec.artifacts ?? ['linux-x64']).map((a) => artifact(a, spec.version));
  return {
    app,
    version: spec.version,
    published_at: iso(-DAY),
    notes: `Release ${spec.version}`,
    mandatory: spec.mandatory ?? false,
    critical: false,
    requires: spec.requires ?? '*',
    artifacts,
  };
}

export function yankPayload(version: string, rollbackTo: string | null): YankPayload {
  return {
    app: 'demo',
    version,
    reason: 'crashes on start',
    rollback_to: rollbackTo,
    yanked_at: iso(-3600_000),
  };
}

export function channelPayload(
  releases: ReleaseSpec[],
  yanks: { version: string; rollback_to: string | null }[] = [],
): ChannelPayload {
  return {
    app: 'demo',
    channel: 'stable',
    revision: 7,
    issued_at: iso(0),
    expires: iso(7 * DAY),
    releases: releases.map((r) => ({
      version: r.version,
      release_sha256: HASH,
      rollout: { percent_bp: r.percent ?? 10_000, salt: r.salt ?? SALT, state: r.state ?? 'active' },
    })),
    yanked: yanks.map((y) => ({ version: y.version, yank_sha256: HASH, rollback_to: y.rollback_to })),
  };
}
