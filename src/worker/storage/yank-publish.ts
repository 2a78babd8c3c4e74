/**
 * Publishing a yank (docs/protocol.md §2, §6): the one code path for a yank registered by hand
 * (routes/admin/yanks.ts) and a standby yank the scheduler publishes on a clear gate breach
 * (scheduler/rollouts.ts). Both check the statement against the releases the same way, write it in
 * one batch that bumps every channel of the app (so every snapshot is re-signed with it listed) and
 * discards the release's standby yanks, then store the document in R2 and project every channel.
 */
import semverLt from 'semver/functions/lt.js';
import type { YankPayload } from '../../protocol/documents.ts';
import { auditStatement } from './audit.ts';
import { putDocument } from './objects.ts';
import { yankDocKey } from './projection.ts';
import { projectChannels } from './projection-writer.ts';
import { getRelease } from './releases.ts';
import { bumpChannel, isoSeconds } from './revisions.ts';
import { deleteStandbyYanks, listStandbyYanks, standbyDiscarded } from './standby-yanks.ts';
import { insertYank } from './yanks.ts';

/** Why a yank statement cannot be published now; the route turns it into its HTTP error. */
export interface YankProblem {
  code: 'unknown_release' | 'already_yanked' | 'invalid_rollback_target';
  message: string;
}

/**
 * Checks a verified yank of `app` against D1: its release exists and is not yanked, and its
 * `rollback_to` (when not null) is a registered, not yanked release lower than it. Null when fine.
 */
export async function yankProblem(db: D1Database, yank: YankPayload): Promise<YankProblem | null> {
  const { app, version } = yank;
  const release = await getRelease(db, app, version);
  if (!release) return { code: 'unknown_release', message: `${app} has no release ${version}` };
  if (release.yanked) return { code: 'already_yanked', message: `${app} ${version} is already yanked` };
  return rollbackTargetProblem(db, yank);
}

/** The `rollback_to` half of yankProblem, also used for a standby yank at promote time. */
export async function rollbackTargetProblem(db: D1Database, yank: YankPayload): Promise<YankProblem | null> {
  const { app, version, rollback_to } = yank;
  if (rollback_to === null) return null;
  const target = await getRelease(db, app, rollback_to);
  if (target && !target.yanked && semverLt(rollback_to, version)) return null;
  return {
    code: 'invalid_rollback_target',
    message: `rollback_to ${rollback_to} must be a registered, not yanked release lower than ${version}`,
  };
}

export interface YankWrite {
  yank: YankPayload;
  jws: string;
  yank_sha256: string;
  /** Every channel of the app with the revision each moves from (a guard: a race fails the batch). */
  channels: readonly { name: string; revision: number }[];
  /** Who publishes it, for the audit rows of the standby yanks it discards. */
  actor: string;
  expoDirectiveSignature?: string | null;
  now: Date;
}

/**
 * The statements that publish a yank: every channel bumped, the yank row, the release's standby
 * yanks deleted with an audit row each (`rollout.standby_discard`). The caller adds its own audit
 * row and commits them in one batch, then calls `yankPublished`.
 */
export async function yankStatements(db: D1Database, write: YankWrite): Promise<D1PreparedStatement[]> {
  const { yank, now } = write;
  const standbys = await listStandbyYanks(db, yank.app, yank.version);
  const at = isoSeconds(now);
  return [
    ...write.channels.flatMap((ch) => bumpChannel(db, yank.app, ch.name, ch.revision, now)),
    insertYank(db, yank, write.jws, write.yank_sha256, now, write.expoDirectiveSignature ?? null),
    deleteStandbyYanks(db, yank.app, yank.version),
    ...standbys
      .filter((s) => s.yank_sha256 !== write.yank_sha256)
      .map((s) =>
        auditStatement(db, { ...standbyDiscarded(s, `${yank.version} was yanked`), actor: write.actor }, at),
      ),
  ];
}

/** After the batch: the yank document in R2, and every channel of the app re-signed with it. */
export async function yankPublished(env: Env, app: string, version: string, jws: string): Promise<void> {
  if (!(await putDocument(env.BUCKET, yankDocKey(app, version), jws))) {
    console.warn(`${yankDocKey(app, version)} already holds another yank; D1 keeps this one`);
  }
  await projectChannels(env, app);
}
