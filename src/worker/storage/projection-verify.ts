/**
 * The data plane's own check of the KV projection before serving it (docs/hardening.md): a channel's
 * snapshot must verify against an online key of the current keys document (`keys:current`), be the
 * snapshot of that very app and channel, be unexpired, and every document served with it must hash
 * to what the snapshot lists. KV is not the source of truth and anyone who can write it (a leaked
 * API token, a bug, an operator's slip) could otherwise make the Worker hand out documents it never
 * signed. Clients verify all of this too; the Worker refusing first keeps a tampered projection from
 * reaching any of them, and makes it visible in `/healthz`.
 *
 * This runs once per cache fill (state-cache.ts), never per request. Release and yank signatures are
 * left to clients: the snapshot vouches for their exact bytes by hash, and the release key is theirs
 * to check.
 */
import type { ChannelPayload, KeysPayload } from '../../protocol/documents.ts';
import { sha256Hex } from '../../protocol/encoding.ts';
import { DocumentError, verifyDocument } from '../../protocol/jws.ts';
import type { ChannelProjection } from './projection.ts';

/** Why a projection is not served; the message is for logs and operators, never for clients. */
export class UnverifiedProjectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnverifiedProjectionError';
  }
}

/**
 * Verifies one channel projection and returns its snapshot payload, or throws
 * `UnverifiedProjectionError` naming the first problem.
 */
export async function verifyChannelProjection(
  projection: ChannelProjection,
  keys: KeysPayload,
  at: { app: string; channel: string; now: Date },
): Promise<ChannelPayload> {
  let snapshot: ChannelPayload;
  try {
    snapshot = await verifyDocument('channel', projection.snapshot, keys.online, { now: at.now });
  } catch (error) {
    if (!(error instanceof DocumentError)) throw error;
    throw new UnverifiedProjectionError(
      `snapshot refused against keys document v${keys.version} (${error.code}): ${error.message}`,
    );
  }
  if (snapshot.app !== at.app || snapshot.channel !== at.channel) {
    throw new UnverifiedProjectionError(
      `snapshot is for ${snapshot.app}/${snapshot.channel}, stored under ${at.app}/${at.channel}`,
    );
  }

  for (const listed of snapshot.releases) {
    await expectHash('release', listed.version, projection.releases[listed.version], listed.release_sha256);
  }
  for (const listed of snapshot.yanked) {
    await expectHash('yank', listed.version, projection.yanks[listed.version], listed.yank_sha256);
  }

  // Nothing else may ride along: the only release documents a snapshot does not hash are the
  // rollback targets of its yanks (clients check those against the release key), and every yank
  // document must be one the snapshot lists.
  const listedReleases = new Set(snapshot.releases.map((r) => r.version));
  const rollbackTargets = new Set(snapshot.yanked.flatMap((y) => (y.rollback_to ? [y.rollback_to] : [])));
  for (const version of Object.keys(projection.releases)) {
    if (!listedReleases.has(version) && !rollbackTargets.has(version)) {
      throw new UnverifiedProjectionError(
        `release document ${version} is neither listed in the snapshot nor a rollback target`,
      );
    }
  }
  const listedYanks = new Set(snapshot.yanked.map((y) => y.version));
  for (const version of Object.keys(projection.yanks)) {
    if (!listedYanks.has(version)) {
      throw new UnverifiedProjectionError(`yank document ${version} is not listed in the snapshot`);
    }
  }
  return snapshot;
}

async function expectHash(
  kind: 'release' | 'yank',
  version: string,
  jws: string | undefined,
  expected: string,
): Promise<void> {
  if (jws === undefined) {
    throw new UnverifiedProjectionError(`the snapshot lists ${kind} ${version} but its document is missing`);
  }
  const actual = await sha256Hex(jws);
  if (actual !== expected) {
    throw new UnverifiedProjectionError(
      `${kind} document ${version} hashes to ${actual}; the snapshot lists ${expected}`,
    );
  }
}
