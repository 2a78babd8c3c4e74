/**
 * fast-check arbitraries for the protocol's property tests: versions and ranges, random release sets
 * for decide(), and valid payloads of every signed document kind.
 */
import fc from 'fast-check';
import semverLt from 'semver/functions/lt.js';
import type { DecisionInput } from '../../src/protocol/decision.ts';
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
import { ROLLOUT_STATES } from '../../src/protocol/documents.ts';

const HEX = '0123456789abcdef'.split('');
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.split('');
const CLIENT_ID_CHARS = `${BASE64URL.join('').replace('-_', '')}._:-`.split('');

export const hex = (length: number) =>
  fc.string({ unit: fc.constantFrom(...HEX), minLength: length, maxLength: length });

/** A small version space (so releases collide with installed versions and ranges), prereleases included. */
export const versionArb: fc.Arbitrary<string> = fc
  .record({
    major: fc.integer({ min: 0, max: 3 }),
    minor: fc.integer({ min: 0, max: 3 }),
    patch: fc.integer({ min: 0, max: 2 }),
    pre: fc.constantFrom(undefined, undefined, undefined, 'alpha', 'alpha.1', 'beta.2', 'rc.1', '0'),
  })
  .map(({ major, minor, patch, pre }) => `${major}.${minor}.${patch}${pre === undefined ? '' : `-${pre}`}`);

/** Valid semver ranges: fixed shapes and comparators against random versions. */
export const rangeArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constant('*') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '>=1.0.0',
      '<2.0.0',
      '^1.0.0',
      '~0.2.0',
      '1.x',
      '>=0.5.0 <1.5.0',
      '>=1.1.0-beta.0',
      '<0.1.0 || >=3.0.0',
    ),
  },
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.constantFrom('>=', '>', '<', '<=', '^', '~', '='), versionArb)
      .map(([op, v]) => `${op}${v}`),
  },
);

export const DECISION_PLATFORMS = ['linux', 'darwin', 'windows'] as const satisfies readonly Platform[];
export const DECISION_ARCHES = ['x64', 'arm64', 'any'] as const satisfies readonly Arch[];
const CLIENT_ARCHES = ['x64', 'arm64', 'ia32', 'any'] as const satisfies readonly Arch[];

/** Runtimes (docs/protocol.md §3): two that artifacts and clients share, so that both match and miss happen. */
const runtimeArb = fc.constantFrom('1.0.0', 'exposdk:52.0.0');

const osRangeArb = fc.constantFrom('>=10', '>=14.0.0', '<12', '>=10.0.0 <11', '^13', '>=11.2');
export const osVersionArb = fc.constantFrom('9', '10', '10.0.19045', '11.2', '12', '13.1-beta', '14.2', '15');

const artifactsArb = fc.uniqueArray(
  fc.record({
    platform: fc.constantFrom(...DECISION_PLATFORMS),
    arch: fc.constantFrom(...DECISION_ARCHES),
    os: fc.option(osRangeArb, { nil: undefined, freq: 3 }),
    // Mostly none: the runtime-less artifacts of desktop apps are the common case.
    runtime: fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: runtimeArb }),
  }),
  { minLength: 1, maxLength: 5, selector: (a) => `${a.platform}-${a.arch}` },
);

const SALTS = ['00112233445566778899aabbccddeeff', 'ffeeddccbbaa99887766554433221100'];
export const saltArb = fc.oneof(fc.constantFrom(...SALTS), hex(32));
export const percentArb = fc.oneof(fc.constant(0), fc.constant(10_000), fc.integer({ min: 0, max: 10_000 }));

/** One release of a generated world: its manifest, its rollout, and whether the snapshot lists it. */
export interface WorldRelease {
  version: string;
  mandatory: boolean;
  requires: string;
  artifacts: { platform: Platform; arch: Arch; os: string | undefined; runtime: string | undefined }[];
  state: RolloutState;
  percent_bp: number;
  salt: string;
  /** False: known (a rollback target) but without a rollout in this channel. */
  listed: boolean;
  /** False: listed, but the manifest is missing from the releases map (an inconsistent projection). */
  manifest: boolean;
}

export interface World {
  releases: WorldRelease[];
  yanks: { version: string; rollback_to: string | null }[];
  /** A client that says its version; a test of rule 5 (version unknown) drops it. */
  client: DecisionInput['client'] & { installed: string };
}

const releaseArb = (version: string): fc.Arbitrary<WorldRelease> =>
  fc.record({
    version: fc.constant(version),
    mandatory: fc.boolean(),
    requires: rangeArb,
    artifacts: artifactsArb,
    state: fc.constantFrom(...ROLLOUT_STATES),
    percent_bp: percentArb,
    salt: saltArb,
    listed: fc.oneof({ weight: 9, arbitrary: fc.constant(true) }, fc.constant(false)),
    manifest: fc.oneof({ weight: 19, arbitrary: fc.constant(true) }, fc.constant(false)),
  });

/** Yanks of random releases; rollback_to mostly a lower release, sometimes null or any version at all. */
function yanksArb(versions: string[]): fc.Arbitrary<World['yanks']> {
  const pick = fc.record({
    index: fc.nat({ max: versions.length - 1 }),
    target: fc.oneof(
      { weight: 6, arbitrary: fc.nat().map((n) => ({ lower: n })) },
      { weight: 2, arbitrary: fc.constant(null) },
      { weight: 1, arbitrary: versionArb.map((v) => ({ any: v })) },
    ),
  });
  return fc.array(pick, { maxLength: Math.min(8, versions.length) }).map((picks) => {
    const byVersion = new Map<string, string | null>();
    for (const { index, target } of picks) {
      const version = versions[index];
      if (version === undefined || byVersion.has(version)) continue;
      let rollbackTo: string | null = null;
      if (target && 'lower' in target) {
        const lower = versions.filter((v) => semverLt(v, version));
        rollbackTo = lower.length > 0 ? (lower[target.lower % lower.length] ?? null) : null;
      } else if (target) {
        rollbackTo = target.any;
      }
      byVersion.set(version, rollbackTo);
    }
    return [...byVersion].map(([version, rollback_to]) => ({ version, rollback_to }));
  });
}

const clientIdArb = fc.string({ unit: fc.constantFrom(...CLIENT_ID_CHARS), minLength: 1, maxLength: 40 });

/** 1–30 releases with random rollouts, yanks and artifacts, and a random client of them. */
export const worldArb: fc.Arbitrary<World> = fc
  .uniqueArray(versionArb, { minLength: 1, maxLength: 30 })
  .chain((versions) =>
    fc.record({
      releases: fc.tuple(...versions.map(releaseArb)),
      yanks: yanksArb(versions),
      client: fc.record({
        clientId: clientIdArb,
        platform: fc.constantFrom(...DECISION_PLATFORMS),
        arch: fc.constantFrom(...CLIENT_ARCHES),
        // Often a listed (and so possibly yanked) version, sometimes any version at all.
        installed: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...versions) }, versionArb),
        osVersion: fc.option(osVersionArb, { nil: undefined, freq: 4 }),
        runtime: fc.option(runtimeArb, { nil: undefined, freq: 2 }),
      }),
    }),
  )
  // A yanked installed version is where rollbacks happen: make it common.
  .chain((world) =>
    world.yanks.length === 0
      ? fc.constant(world)
      : fc.oneof(
          fc.constant(world),
          fc
            .constantFrom(...world.yanks)
            .map((y) => ({ ...world, client: { ...world.client, installed: y.version } })),
        ),
  );

const HASH = 'ab'.repeat(32);

export function worldArtifact(version: string, a: WorldRelease['artifacts'][number]): Artifact {
  const base = {
    platform: a.platform,
    arch: a.arch,
    file: `app-${version}-${a.platform}-${a.arch}.bin`,
    sha256: HASH,
    size: 1024,
  };
  return {
    ...base,
    ...(a.os === undefined ? {} : { os: a.os }),
    ...(a.runtime === undefined ? {} : { runtime: a.runtime }),
  };
}

/** The decide() input of a world; `order` lists the snapshot's releases as generated or reversed. */
export function decisionInput(
  world: World,
  order: 'as generated' | 'reversed' = 'as generated',
): DecisionInput {
  const listed = world.releases.filter((r) => r.listed);
  const snapshot: ChannelPayload = {
    app: 'demo',
    channel: 'stable',
    revision: 1,
    issued_at: '2026-11-21T18:00:00Z',
    expires: '2026-11-28T18:00:00Z',
    releases: (order === 'reversed' ? [...listed].reverse() : listed).map((r) => ({
      version: r.version,
      release_sha256: HASH,
      rollout: { percent_bp: r.percent_bp, salt: r.salt, state: r.state },
    })),
    yanked: world.yanks.map((y) => ({ version: y.version, yank_sha256: HASH, rollback_to: y.rollback_to })),
  };
  const releases = new Map<string, ReleasePayload>(
    world.releases
      .filter((r) => r.manifest)
      .map((r) => [
        r.version,
        {
          app: 'demo',
          version: r.version,
          published_at: '2026-11-20T12:00:00Z',
          notes: '',
          mandatory: r.mandatory,
          critical: false,
          requires: r.requires,
          artifacts: r.artifacts.map((a) => worldArtifact(r.version, a)),
        },
      ]),
  );
  const yanks = new Map<string, YankPayload>(
    world.yanks.map((y) => [
      y.version,
      {
        app: 'demo',
        version: y.version,
        reason: 'broken',
        rollback_to: y.rollback_to,
        yanked_at: '2026-11-21T12:00:00Z',
      },
    ]),
  );
  return { snapshot, releases, yanks, client: world.client };
}

// --- valid payloads of the four document kinds -------------------------------------------------

const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const FILE = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;

const timeArb = fc
  .integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2099, 11, 31) })
  .map((ms) => new Date(ms).toISOString());

const payloadArtifactArb: fc.Arbitrary<Artifact> = fc.record(
  {
    platform: fc.constantFrom('linux', 'darwin', 'windows', 'android', 'ios', 'web'),
    arch: fc.constantFrom('x64', 'arm64', 'ia32', 'arm', 'universal', 'any'),
    file: fc.stringMatching(FILE),
    sha256: hex(64),
    size: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
    content_type: fc.string({ maxLength: 128 }),
    os: rangeArb,
  },
  { requiredKeys: ['platform', 'arch', 'file', 'sha256', 'size'] },
);

export const releasePayloadArb: fc.Arbitrary<ReleasePayload> = fc.record({
  app: fc.stringMatching(NAME),
  version: versionArb,
  published_at: timeArb,
  // Any UTF-16, lone surrogates included: JSON escapes them and they must come back the same.
  notes: fc.string({ unit: 'binary', maxLength: 300 }),
  mandatory: fc.boolean(),
  critical: fc.boolean(),
  requires: rangeArb,
  artifacts: fc.uniqueArray(payloadArtifactArb, {
    minLength: 1,
    maxLength: 6,
    selector: (a) => `${a.platform}-${a.arch}`,
  }),
});

export const yankPayloadArb: fc.Arbitrary<YankPayload> = fc.record({
  app: fc.stringMatching(NAME),
  version: versionArb,
  reason: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 200 }),
  rollback_to: fc.option(versionArb, { nil: null }),
  yanked_at: timeArb,
});

const DAY_MS = 24 * 3600 * 1000;

/** A channel payload and a `now` at which it is valid. */
export const channelPayloadArb: fc.Arbitrary<{ payload: ChannelPayload; now: Date }> = fc
  .record({
    app: fc.stringMatching(NAME),
    channel: fc.stringMatching(NAME),
    revision: fc.integer({ min: 1, max: 2 ** 40 }),
    issued: fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2090, 0, 1) }),
    life: fc.integer({ min: 1, max: 7 * DAY_MS }),
    releases: fc.array(
      fc.record({
        version: versionArb,
        release_sha256: hex(64),
        rollout: fc.record({
          percent_bp: percentArb,
          salt: hex(32),
          state: fc.constantFrom(...ROLLOUT_STATES),
        }),
      }),
      { maxLength: 8 },
    ),
    yanked: fc.array(
      fc.record({
        version: versionArb,
        yank_sha256: hex(64),
        rollback_to: fc.option(versionArb, { nil: null }),
      }),
      { maxLength: 4 },
    ),
  })
  .map(({ issued, life, ...rest }) => ({
    payload: {
      ...rest,
      issued_at: new Date(issued).toISOString(),
      expires: new Date(issued + life).toISOString(),
    },
    now: new Date(issued),
  }));

const publicJwkArb: fc.Arbitrary<PublicJwk> = fc.record({
  kty: fc.constant('OKP' as const),
  crv: fc.constant('Ed25519' as const),
  x: fc.string({ unit: fc.constantFrom(...BASE64URL), minLength: 43, maxLength: 43 }),
  kid: fc.string({ minLength: 1, maxLength: 128 }),
});

/** A keys payload and a `now` before its expiry. */
export const keysPayloadArb: fc.Arbitrary<{ payload: KeysPayload; now: Date }> = fc
  .record({
    version: fc.integer({ min: 1, max: 2 ** 31 }),
    expires: fc.integer({ min: Date.UTC(2001, 0, 1), max: Date.UTC(2099, 0, 1) }),
    root: fc.array(publicJwkArb, { minLength: 1, maxLength: 3 }),
    release: fc.array(publicJwkArb, { minLength: 1, maxLength: 3 }),
    online: fc.array(publicJwkArb, { minLength: 1, maxLength: 3 }),
  })
  .map(({ expires, ...rest }) => ({
    payload: { ...rest, expires: new Date(expires).toISOString() },
    now: new Date(expires - DAY_MS),
  }));
