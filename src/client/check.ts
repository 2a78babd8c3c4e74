/**
 * `check()`: ask the server, then verify everything docs/protocol.md §2 lists, in order: keys, snapshot,
 * release, the downgrade and rollout rules, the yank of a rollback, the artifact. Nothing in the
 * answer is used until the document that vouches for it has been verified.
 */
import * as z from 'zod';
import { type KeysPayload, nameSchema } from '../protocol/documents.ts';
import { sha256Hex } from '../protocol/encoding.ts';
import { UpdraftError } from './errors.ts';
import { getJson } from './http.ts';
import { type KeysContext, kidOf, trustedKeys } from './keys.ts';
import { type Offer, type OfferContext, verifyOffer } from './offer.ts';
import { verifySnapshot } from './snapshot.ts';
import { storageKeys } from './store.ts';
import type { CheckResult, UpdraftErrorCode } from './types.ts';

const checkResponseSchema = z.object({
  status: z.enum(['update', 'rollback', 'none']),
  channel: nameSchema,
  version: z.string().optional(),
  mandatory: z.boolean().optional(),
  yanked: z.boolean().optional(),
  artifact: z.object({ url: z.string(), sha256: z.string(), size: z.number() }).optional(),
  signed: z.object({
    snapshot: z.string().optional(),
    /** In place of `snapshot` when the server found the one this install holds current (docs/protocol.md §4). */
    snapshot_sha256: z.string().optional(),
    release: z.string().optional(),
    yank: z.string().optional(),
  }),
});

/** The snapshot this install holds (the last one that verified) and its SHA-256 (hex). */
interface HeldSnapshot {
  jws: string;
  sha256: string;
}

/** The default deadline of `check()`, every request of it included. */
export const CHECK_TIMEOUT_MS = 30_000;

export type CheckContext = KeysContext & OfferContext & { channel: string | undefined };

/** One verified check; throws `UpdraftError` on any refusal. */
export async function runCheck(ctx: CheckContext): Promise<CheckResult> {
  const query = new URLSearchParams({
    client_id: ctx.clientId,
    version: ctx.currentVersion,
    platform: ctx.platform,
    arch: ctx.arch,
  });
  if (ctx.channel !== undefined) query.set('channel', ctx.channel);
  if (ctx.osVersion !== undefined) query.set('os_version', ctx.osVersion);
  if (ctx.runtime !== undefined) query.set('runtime', ctx.runtime);
  // The server leaves out a snapshot this install already holds (docs/protocol.md §4): most answers then fit
  // in a few hundred bytes, however long the channel's history.
  const held = await heldSnapshot(ctx);
  if (held) query.set('snapshot', held.sha256);
  const url = `${ctx.base}/v1/apps/${ctx.app}/check?${query}`;
  const parsed = checkResponseSchema.safeParse(await getJson(ctx.http, 'check', url, { signal: ctx.signal }));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UpdraftError(
      'server_error',
      `check: the answer is not a check response (${issue?.path.join('.') || '(root)'}: ${issue?.message})`,
    );
  }
  const answer = parsed.data;
  const { release, yank } = answer.signed;
  const snapshotJws = snapshotOf(ctx, answer, held);

  const needed = { online: kidOf(snapshotJws), release: [...kidOf(release), ...kidOf(yank)] };
  const keys = await trustedKeys(ctx, needed);
  try {
    return await verifyAnswer(ctx, answer, snapshotJws, keys.payload);
  } catch (error) {
    // Keys from storage may be a day old: a refusal they explain (a revision floor whose key has
    // since been dropped, a key the server no longer lists) is judged again with the newest keys.
    if (keys.fetched || !(error instanceof UpdraftError) || !KEY_DEPENDENT.has(error.code)) throw error;
    const newest = await trustedKeys(ctx, needed, { refresh: true });
    return verifyAnswer(ctx, answer, snapshotJws, newest.payload);
  }
}

/** Refusals whose verdict depends on which keys are trusted. */
const KEY_DEPENDENT = new Set<UpdraftErrorCode>([
  'snapshot_invalid',
  'snapshot_replayed',
  'release_invalid',
  'yank_invalid',
]);

/**
 * The snapshot that vouches for `answer`: the one it carries, or, when the server left it out, the copy
 * this install holds, which must be the one the server names. Anything else is refused: an answer
 * without a snapshot to verify it against is never acted on.
 */
function snapshotOf(ctx: CheckContext, answer: CheckAnswer, held: HeldSnapshot | undefined): string {
  const { snapshot, snapshot_sha256: named } = answer.signed;
  if (snapshot !== undefined) return snapshot;
  if (named === undefined) {
    // The Worker's answer while it cannot verify its own copy of the channel (docs/hardening.md):
    // nothing signed, so nothing to act on, whatever the status says.
    throw new UpdraftError(
      'unverifiable',
      `check: the server has nothing verifiable to serve for ${ctx.app}/${answer.channel} (its channel state does not verify); nothing changed`,
    );
  }
  if (held?.sha256 !== named) {
    throw new UpdraftError(
      'unverifiable',
      `check: the server left out the snapshot of ${ctx.app}/${answer.channel} as one this install holds (sha256 ${named}), and it holds ${held ? `another (${held.sha256})` : 'none'}; nothing changed`,
    );
  }
  return held.jws;
}

/** The stored snapshot and its hash, or undefined when there is none. */
async function heldSnapshot(ctx: CheckContext): Promise<HeldSnapshot | undefined> {
  const jws = await ctx.storage.get(storageKeys(ctx.app).snapshot);
  return jws === null || jws === '' ? undefined : { jws, sha256: await sha256Hex(jws) };
}

type CheckAnswer = z.infer<typeof checkResponseSchema>;

async function verifyAnswer(
  ctx: CheckContext,
  answer: CheckAnswer,
  snapshotJws: string,
  keys: KeysPayload,
): Promise<CheckResult> {
  // Expiry, revision floor, app and channel: a held copy is judged exactly as a fresh one.
  const snapshot = await verifySnapshot(ctx, snapshotJws, answer.channel, keys);
  await ctx.storage.set(storageKeys(ctx.app).channel, answer.channel);
  if (answer.signed.snapshot !== undefined) await ctx.storage.set(storageKeys(ctx.app).snapshot, snapshotJws);

  if (answer.status === 'none') {
    // From the verified snapshot, not the answer's unsigned flag.
    const yanked = snapshot.yanked.some((y) => y.version === ctx.currentVersion);
    return { status: 'none', channel: answer.channel, yanked };
  }
  return verifyOffer(ctx, toOffer(answer), keys, snapshot);
}

function toOffer(answer: z.infer<typeof checkResponseSchema>): Offer {
  const { status, version, artifact, signed } = answer;
  if (status === 'none' || version === undefined || artifact === undefined || signed.release === undefined) {
    throw new UpdraftError(
      'server_error',
      `check: an ${status} answer lacks its version, artifact or release`,
    );
  }
  return {
    status,
    channel: answer.channel,
    version,
    mandatory: answer.mandatory === true,
    artifact,
    release: signed.release,
    yank: signed.yank,
  };
}
