/**
 * Automatic rollback (docs/protocol.md §6, docs/rollouts.md § Automatic rollback): when a gate breach is clear
 * on a rollout whose plan says `on_breach: rollback`, the scheduler publishes the standby yank the
 * release engineer signed at promote time, in the same batch that halts the rollout, with the code
 * a yank registration uses (storage/yank-publish.ts). The Worker signs nothing with a release key:
 * it can only publish the one rollback signed in advance, and only after checking it again.
 */
import { keysPayloadSchema, type YankPayload } from '../../protocol/documents.ts';
import { DocumentError, decodeDocument, verifyDocument } from '../../protocol/jws.ts';
import { getApp } from '../storage/apps.ts';
import { currentKeyset } from '../storage/keysets.ts';
import type { PlannedRollout } from '../storage/rollout-plans.ts';
import { getStandbyYank, type StandbyYankRecord } from '../storage/standby-yanks.ts';
import { yankProblem, yankStatements } from '../storage/yank-publish.ts';

/** A standby yank ready to publish: the statements of the batch, and what to say about it. */
export interface Rollback {
  yank: YankPayload;
  jws: string;
  yank_sha256: string;
  statements: D1PreparedStatement[];
}

/** Why a rollback plan only halted: no usable standby yank. Said in the reason and audit row. */
export type RollbackRefusal = { refused: string };

/** The yank's payload when it still verifies against the current release keys, else why not. */
async function verifiedStandby(db: D1Database, standby: StandbyYankRecord): Promise<YankPayload | string> {
  const keyset = await currentKeyset(db);
  if (!keyset) return 'no keys document is registered';
  const release = keysPayloadSchema.parse(decodeDocument(keyset.jws).payload).release;
  try {
    return await verifyDocument('yank', standby.yank_jws, release);
  } catch (error) {
    if (error instanceof DocumentError) return `it no longer verifies (${error.message})`;
    throw error;
  }
}

/**
 * The statements that publish the rollout's standby yank: every channel of the app bumped (the
 * rollout's own from the revision read with it, so a raced change fails the whole batch), the yank
 * row, the release's standby yanks deleted. A refusal when there is none or it no longer holds
 * (its key was removed, its rollback target yanked since): the rollout then only halts.
 */
export async function prepareRollback(
  db: D1Database,
  rollout: PlannedRollout,
  now: Date,
): Promise<Rollback | RollbackRefusal> {
  const standby = await getStandbyYank(db, rollout);
  if (!standby) return { refused: 'no standby yank is stored for it' };
  const yank = await verifiedStandby(db, standby);
  if (typeof yank === 'string') return { refused: `its standby yank was not published: ${yank}` };
  const problem = await yankProblem(db, yank);
  if (problem) return { refused: `its standby yank was not published: ${problem.message}` };
  const app = await getApp(db, rollout.app);
  if (!app) return { refused: `app ${rollout.app} is gone` };
  const channels = app.channels.map((ch) =>
    ch.name === rollout.channel ? { name: ch.name, revision: rollout.revision } : ch,
  );
  const write = {
    yank,
    jws: standby.yank_jws,
    yank_sha256: standby.yank_sha256,
    channels,
    actor: 'scheduler',
    expoDirectiveSignature: standby.expo_directive_signature,
    now,
  };
  return { ...write, statements: await yankStatements(db, write) };
}

/** "; rolled back: clients on 1.1.0 go back to 1.0.0 (standby yank published)" and its variants. */
export function rollbackText(version: string, rollback: Rollback | RollbackRefusal): string {
  if ('refused' in rollback) return `; not rolled back: ${rollback.refused}`;
  const to = rollback.yank.rollback_to;
  return to === null
    ? `; rolled back: ${version} yanked (standby yank published; no baseline, so clients on it stay)`
    : `; rolled back: clients on ${version} go back to ${to} (standby yank published)`;
}
