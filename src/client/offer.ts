/**
 * Steps (c) to (f) of a check (docs/protocol.md §2): the release, the downgrade rule, the rollout, the yank
 * that authorises a rollback, and where the artifact comes from. Only what the release key signed
 * decides which bytes are acceptable; the snapshot (online key) only says which of them are offered.
 */
import { isInside } from '../protocol/bucket.ts';
import { pickArtifact } from '../protocol/decision.ts';
import type {
  Arch,
  ChannelPayload,
  KeysPayload,
  Platform,
  ReleasePayload,
  YankPayload,
} from '../protocol/documents.ts';
import { sha256Hex } from '../protocol/encoding.ts';
import { DocumentError, verifyDocument } from '../protocol/jws.ts';
import { parseVersion, satisfies } from '../protocol/versions.ts';
import { UpdraftError } from './errors.ts';
import type { CheckResult } from './types.ts';

export interface OfferContext {
  app: string;
  platform: Platform;
  arch: Arch;
  osVersion: string | undefined;
  runtime: string | undefined;
  currentVersion: string;
  clientId: string;
  verifyBucket: boolean;
  /** Origin of the configured server: artifacts are fetched from nowhere else. */
  origin: string;
  now: Date;
}

/** What the server offered: an `update` or `rollback` answer's unsigned fields and signed documents. */
export interface Offer {
  status: 'update' | 'rollback';
  channel: string;
  version: string;
  mandatory: boolean;
  artifact: { url: string; sha256: string; size: number };
  release: string;
  yank: string | undefined;
}

type Accepted = Extract<CheckResult, { status: 'update' | 'rollback' }>;

/** Verifies an offer against the trusted keys and the verified snapshot; returns the `CheckResult`. */
export async function verifyOffer(
  ctx: OfferContext,
  offer: Offer,
  keys: KeysPayload,
  snapshot: ChannelPayload,
): Promise<Accepted> {
  const release = await verifyRelease(ctx, offer, keys);
  const artifact = matchArtifact(ctx, offer, release);

  // The release must be the exact document the snapshot lists (no mixing of a signed manifest into another snapshot).
  const listed = snapshot.releases.find((r) => r.version === offer.version);
  const hash = await sha256Hex(offer.release);
  if (listed && listed.release_sha256 !== hash) {
    throw new UpdraftError(
      'release_not_listed',
      `release manifest of ${offer.version} is not the one the snapshot lists (sha256 ${hash} ≠ ${listed.release_sha256})`,
    );
  }

  if (offer.status === 'update') {
    if (!listed) {
      throw new UpdraftError(
        'release_not_listed',
        `release ${offer.version} is not listed in the channel snapshot`,
      );
    }
    await checkUpdate(ctx, offer.version, release, listed, snapshot);
    // The snapshot's floor stands in for mandatory releases a pruned snapshot left out (docs/protocol.md §2):
    // a forced fix between the installed version and the target forces the update, whatever the
    // answer's unsigned flag says.
    const floor = listed.mandatory_floor === undefined ? null : parseVersion(listed.mandatory_floor);
    const forced = floor !== null && floor.compare(parseOrThrow(ctx.currentVersion)) > 0;
    const mandatory = release.mandatory || offer.mandatory || forced;
    return { status: 'update', channel: offer.channel, version: offer.version, mandatory, release, artifact };
  }
  // A rollback target need not have a rollout in this channel: the signed yank is what authorises it.
  await checkYank(ctx, offer, keys, snapshot);
  return {
    status: 'rollback',
    channel: offer.channel,
    version: offer.version,
    mandatory: true,
    release,
    artifact,
  };
}

async function verifyRelease(ctx: OfferContext, offer: Offer, keys: KeysPayload): Promise<ReleasePayload> {
  let release: ReleasePayload;
  try {
    // Release keys only: a manifest signed by the online key is exactly what a stolen one would make.
    release = await verifyDocument('release', offer.release, keys.release, { now: ctx.now });
  } catch (error) {
    if (!(error instanceof DocumentError)) throw error;
    throw new UpdraftError(
      'release_invalid',
      `release manifest of ${offer.version} refused: ${error.message}`,
    );
  }
  if (release.app !== ctx.app || release.version !== offer.version) {
    throw new UpdraftError(
      'release_mismatch',
      `the answer offers ${ctx.app} ${offer.version} with the manifest of ${release.app} ${release.version}`,
    );
  }
  return release;
}

/** The signed artifact for this client, which the answer's artifact must be exactly (its url aside). */
function matchArtifact(ctx: OfferContext, offer: Offer, release: ReleasePayload): Accepted['artifact'] {
  const target = `${ctx.platform}-${ctx.arch}`;
  const signed = pickArtifact(release, ctx.platform, ctx.arch, ctx.osVersion, ctx.runtime);
  if (!signed) {
    throw new UpdraftError('release_mismatch', `release ${release.version} has no artifact for ${target}`);
  }
  if (signed.sha256 !== offer.artifact.sha256 || signed.size !== offer.artifact.size) {
    throw new UpdraftError(
      'release_mismatch',
      `the answer's artifact (sha256 ${offer.artifact.sha256}, ${offer.artifact.size} bytes) is not the signed ${target} artifact of ${release.version}`,
    );
  }
  // The url is the one unsigned part. Same origin keeps a stolen online key from pointing
  // clients elsewhere (tracking them, or feeding them bytes that only the hash check would stop).
  let url: URL;
  try {
    url = new URL(offer.artifact.url);
  } catch {
    throw new UpdraftError('release_mismatch', `artifact url ${offer.artifact.url} is not a URL`);
  }
  const web = url.protocol === 'https:' || url.protocol === 'http:';
  if (!web || url.origin !== ctx.origin || url.username !== '' || url.password !== '') {
    throw new UpdraftError(
      'release_mismatch',
      `artifact url ${url.origin} is not on the configured server ${ctx.origin}`,
    );
  }
  return { ...signed, url: url.href };
}

async function checkUpdate(
  ctx: OfferContext,
  version: string,
  release: ReleasePayload,
  listed: ChannelPayload['releases'][number],
  snapshot: ChannelPayload,
): Promise<void> {
  const installed = parseOrThrow(ctx.currentVersion);
  if (parseOrThrow(version).compare(installed) <= 0) {
    throw new UpdraftError(
      'downgrade',
      `update to ${version} is not higher than the installed ${ctx.currentVersion}; only a signed yank allows moving down`,
    );
  }
  const { state, percent_bp, salt } = listed.rollout;
  if (state === 'halted') {
    throw new UpdraftError('release_not_listed', `release ${version} is halted in the channel snapshot`);
  }
  if (snapshot.yanked.some((y) => y.version === version)) {
    throw new UpdraftError('release_not_listed', `release ${version} is yanked in the channel snapshot`);
  }
  if (!satisfies(installed, release.requires)) {
    throw new UpdraftError(
      'release_mismatch',
      `release ${version} requires an installed version in ${release.requires}, this is ${ctx.currentVersion}`,
    );
  }
  if (ctx.verifyBucket && state !== 'complete' && !(await isInside(percent_bp, salt, ctx.clientId))) {
    throw new UpdraftError(
      'bucket_mismatch',
      `client ${ctx.clientId} is outside the ${percent_bp / 100} % rollout of ${version}`,
    );
  }
}

async function checkYank(
  ctx: OfferContext,
  offer: Offer,
  keys: KeysPayload,
  snapshot: ChannelPayload,
): Promise<void> {
  const current = ctx.currentVersion;
  if (offer.yank === undefined) {
    throw new UpdraftError(
      'yank_invalid',
      `rollback to ${offer.version} comes without a signed yank of ${current}`,
    );
  }
  let yank: YankPayload;
  try {
    yank = await verifyDocument('yank', offer.yank, keys.release, { now: ctx.now });
  } catch (error) {
    if (!(error instanceof DocumentError)) throw error;
    throw new UpdraftError('yank_invalid', `yank statement of ${current} refused: ${error.message}`);
  }
  if (yank.app !== ctx.app || yank.version !== current || yank.rollback_to !== offer.version) {
    throw new UpdraftError(
      'yank_invalid',
      `the signed yank moves ${yank.app} ${yank.version} to ${yank.rollback_to ?? 'nothing'}, not ${ctx.app} ${current} to ${offer.version}`,
    );
  }
  if (parseOrThrow(offer.version).compare(parseOrThrow(current)) >= 0) {
    throw new UpdraftError('yank_invalid', `rollback target ${offer.version} is not lower than ${current}`);
  }
  const entry = snapshot.yanked.find((y) => y.version === current);
  const hash = await sha256Hex(offer.yank);
  if (!entry || entry.yank_sha256 !== hash || entry.rollback_to !== offer.version) {
    throw new UpdraftError(
      'yank_invalid',
      `the yank of ${current} is not the one the channel snapshot lists`,
    );
  }
}

/** Both versions compared were validated (the options and the signed manifest); null would be a bug. */
function parseOrThrow(version: string) {
  const parsed = parseVersion(version);
  if (!parsed) throw new TypeError(`${version} is not a semantic version`);
  return parsed;
}
