/**
 * `check()`: ask the server, then verify everything DESIGN §2 lists, in order: keys, snapshot,
 * release, the downgrade and rollout rules, the yank of a rollback, the artifact. Nothing in the
 * answer is used until the document that vouches for it has been verified.
 */
import * as z from 'zod';
import type { CheckResponse } from '../protocol/api.ts';
import { nameSchema } from '../protocol/documents.ts';
import { UpdraftError } from './errors.ts';
import { getJson } from './http.ts';
import type { CheckResult } from './index.ts';
import { type KeysContext, trustedKeys } from './keys.ts';
import { type Offer, type OfferContext, verifyOffer } from './offer.ts';
import { verifySnapshot } from './snapshot.ts';
import { storageKeys } from './store.ts';

const checkResponseSchema = z.object({
  status: z.enum(['update', 'rollback', 'none']),
  channel: nameSchema,
  version: z.string().optional(),
  mandatory: z.boolean().optional(),
  yanked: z.boolean().optional(),
  artifact: z.object({ url: z.string(), sha256: z.string(), size: z.number() }).optional(),
  signed: z.object({ snapshot: z.string(), release: z.string().optional(), yank: z.string().optional() }),
}) satisfies z.ZodType<CheckResponse>;

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
  const url = `${ctx.base}/v1/apps/${ctx.app}/check?${query}`;
  const parsed = checkResponseSchema.safeParse(await getJson(ctx.fetch, 'check', url));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UpdraftError(
      'server_error',
      `check: the answer is not a check response (${issue?.path.join('.') || '(root)'}: ${issue?.message})`,
    );
  }
  const answer = parsed.data;

  const keys = await trustedKeys(ctx);
  const snapshot = await verifySnapshot(ctx, answer.signed.snapshot, answer.channel, keys);
  await ctx.storage.set(storageKeys(ctx.app).channel, answer.channel);

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
