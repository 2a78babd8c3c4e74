/** Step (b) of a check (docs/protocol.md §2): the channel snapshot is the online key's word on what is offered. */
import * as z from 'zod';
import type { ChannelPayload, KeysPayload } from '../protocol/documents.ts';
import { DocumentError, decodeDocument, verifyDocument } from '../protocol/jws.ts';
import { UpdraftError } from './errors.ts';
import { readJson, storageKeys, writeJson } from './store.ts';
import type { StorageAdapter } from './types.ts';

/**
 * How far in the future a snapshot's `issued_at` may lie: clocks drift, but a snapshot dated later
 * than this was made to outlive its 7-day validity (a stolen online key freezing clients).
 */
export const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;

/** The highest snapshot revision seen for a channel, and the online key that signed it. */
const revisionFloorSchema = z.object({ revision: z.number().int().min(0), kid: z.string() });

export interface SnapshotContext {
  app: string;
  storage: StorageAdapter;
  now: Date;
}

/**
 * Verifies the snapshot against the online keys (signature, `typ`, schema, unexpired), that it is
 * about this app and the channel the server says it routed to, and that its revision is not below
 * the highest this install has seen for that channel; then records the new highest.
 */
export async function verifySnapshot(
  ctx: SnapshotContext,
  jws: string,
  channel: string,
  keys: KeysPayload,
): Promise<ChannelPayload> {
  let snapshot: ChannelPayload;
  try {
    snapshot = await verifyDocument('channel', jws, keys.online, { now: ctx.now });
  } catch (error) {
    if (!(error instanceof DocumentError)) throw error;
    const code = error.code === 'expired' ? 'snapshot_expired' : 'snapshot_invalid';
    throw new UpdraftError(code, `channel snapshot refused: ${error.message}`);
  }
  const ahead = Date.parse(snapshot.issued_at) - ctx.now.getTime();
  if (ahead > MAX_CLOCK_SKEW_MS) {
    throw new UpdraftError(
      'snapshot_future',
      `channel snapshot is issued at ${snapshot.issued_at}, ${Math.round(ahead / 60_000)} minutes after this device's clock (${ctx.now.toISOString()}); at most ${MAX_CLOCK_SKEW_MS / 60_000} are allowed`,
    );
  }
  if (snapshot.app !== ctx.app || snapshot.channel !== channel) {
    throw new UpdraftError(
      'snapshot_invalid',
      `channel snapshot is for ${snapshot.app}/${snapshot.channel}, the answer is for ${ctx.app}/${channel}`,
    );
  }

  // A replayed older snapshot could hide a newer release or a yank (a freeze attack). The floor is
  // kept with the kid of the key that signed it: once that key is dropped from the keys document,
  // its floor goes with it, so a stolen online key that signed a huge revision cannot lock clients
  // out of updates after the key is rotated out.
  const key = storageKeys(ctx.app).revision(channel);
  const stored = await readJson(ctx.storage, key, revisionFloorSchema);
  const floor = stored && keys.online.some((k) => k.kid === stored.kid) ? stored.revision : undefined;
  if (floor !== undefined && snapshot.revision < floor) {
    throw new UpdraftError(
      'snapshot_replayed',
      `channel snapshot revision ${snapshot.revision} of ${ctx.app}/${channel} is older than revision ${floor} already seen`,
    );
  }
  if (floor === undefined || snapshot.revision > floor) {
    await writeJson(ctx.storage, key, { revision: snapshot.revision, kid: decodeDocument(jws).header.kid });
  }
  return snapshot;
}
