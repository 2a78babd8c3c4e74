/**
 * Rollouts (docs/api.md § Rollouts, docs/rollouts.md): promote a release into a channel at a
 * percentage, with a staged plan, or at once for a critical release; then pause, resume, halt or
 * complete it. Each change bumps the channel's revision under its guard and re-signs the channel's
 * snapshot.
 */
import { Hono } from 'hono';
import * as z from 'zod';
import { newSalt } from '../../../protocol/bucket.ts';
import { basisPointsSchema, type RolloutState, versionSchema } from '../../../protocol/documents.ts';
import { sha256Hex } from '../../../protocol/encoding.ts';
import { expoSignatureSchema } from '../../../protocol/expo.ts';
import { type Plan, planSchema } from '../../../protocol/plan.ts';
import { requireRole } from '../../auth/authenticate.ts';
import { badRequest, conflict, notFound } from '../../http/errors.ts';
import { validate } from '../../http/validate.ts';
import { getAppSettings } from '../../storage/app-settings.ts';
import { assertCanSign, projectChannels } from '../../storage/projection-writer.ts';
import { getRelease } from '../../storage/releases.ts';
import { bumpChannel, checkExpected, commit } from '../../storage/revisions.ts';
import { getRollout, insertRollout, updateRollout } from '../../storage/rollouts.ts';
import {
  deleteStandbyYank,
  getStandbyYank,
  putStandbyYank,
  standbyDiscarded,
} from '../../storage/standby-yanks.ts';
import { rollbackTargetProblem } from '../../storage/yank-publish.ts';
import type { AppEnv } from '../../types.ts';
import {
  audit,
  channelParams,
  expectedRevision,
  jsonLimit,
  jwsSchema,
  requireApp,
  requireChannel,
  verifyOr400,
} from './common.ts';
import { releaseKeys } from './releases.ts';
import { describeRollout, isUnchanged, planAfterAction, promoteTarget } from './rollout-changes.ts';
import { loadChannelView } from './views.ts';

const promoteBody = z
  .object({
    version: versionSchema,
    percent_bp: basisPointsSchema.optional(),
    plan: z
      .union([z.literal('default'), planSchema], { error: 'must be a plan object or "default"' })
      .optional(),
    critical: z.boolean().optional(),
    /** With a plan whose on_breach is rollback: the yank published on a clear breach (docs/protocol.md §6). */
    standby_yank: jwsSchema.optional(),
    /**
     * With standby_yank, for an Expo app that uses code signing: the `expo-signature` of
     * `rollBackToEmbeddedDirective(<the standby's yanked_at>)`, published with it (docs/protocol.md §10).
     */
    standby_expo_directive_signature: expoSignatureSchema.optional(),
    expected_revision: expectedRevision,
  })
  .superRefine((body, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if (body.plan !== undefined && body.percent_bp !== undefined) {
      issue('percent_bp', 'a plan sets the percentage itself: send plan or percent_bp, not both');
    }
    if (body.critical && body.plan !== undefined) {
      issue('plan', 'critical skips the plan: send critical or plan, not both');
    }
    if (body.critical && body.percent_bp !== undefined && body.percent_bp !== 10_000) {
      issue('percent_bp', 'critical goes to 10000 at once');
    }
    if (body.standby_expo_directive_signature !== undefined && body.standby_yank === undefined) {
      issue(
        'standby_expo_directive_signature',
        'signs the directive of a standby yank: send standby_yank too',
      );
    }
  });
const actionParams = channelParams.extend({
  version: versionSchema,
  action: z.enum(['pause', 'resume', 'halt', 'complete']),
});
const actionBody = z.object({ expected_revision: expectedRevision, reason: z.string().max(1000).optional() });
type Action = z.infer<typeof actionParams>['action'];

/** Which states each action leaves from, and where it goes. */
const TRANSITIONS: Record<Action, { from: readonly RolloutState[]; to: RolloutState }> = {
  pause: { from: ['active'], to: 'paused' },
  resume: { from: ['paused', 'halted'], to: 'active' },
  halt: { from: ['active', 'paused'], to: 'halted' },
  complete: { from: ['active', 'paused'], to: 'complete' },
};

/**
 * The standby yank a promote carries (docs/protocol.md §6), checked like a yank registration: signed by a
 * release key, for this app and version, its rollback_to a registered, not yanked lower release
 * (or null). Required exactly when the plan says on_breach: rollback; null otherwise.
 */
async function checkStandby(
  db: D1Database,
  app: string,
  version: string,
  plan: Plan | null,
  jws: string | undefined,
  expoDirectiveSignature: string | undefined,
): Promise<{
  jws: string;
  sha256: string;
  rollback_to: string | null;
  expo_directive_signature: string | null;
} | null> {
  const rollback = plan?.on_breach === 'rollback';
  if (rollback && jws === undefined) {
    throw badRequest(
      'standby_yank_required',
      'a plan with on_breach rollback needs standby_yank: a yank of this release signed with a release key',
    );
  }
  if (jws === undefined) return null;
  if (!rollback) {
    throw badRequest('unexpected_standby_yank', 'standby_yank is only for a plan with on_breach rollback');
  }
  const yank = await verifyOr400('yank', jws, await releaseKeys(db));
  if (yank.app !== app || yank.version !== version) {
    throw badRequest(
      'standby_yank_mismatch',
      `the standby yank is for ${yank.app} ${yank.version}, not ${app} ${version}`,
    );
  }
  const problem = await rollbackTargetProblem(db, yank);
  if (problem) throw badRequest(problem.code, problem.message);
  return {
    jws,
    sha256: await sha256Hex(jws),
    rollback_to: yank.rollback_to,
    expo_directive_signature: expoDirectiveSignature ?? null,
  };
}

async function resolvePlan(db: D1Database, app: string, plan: Plan | 'default' | undefined) {
  if (plan !== 'default') return plan ?? null;
  const found = (await getAppSettings(db, app))?.default_plan;
  if (!found) throw badRequest('no_default_plan', `${app} has no default plan; send a plan object`);
  return found;
}

export const rollouts = new Hono<AppEnv>();

rollouts.post(
  '/apps/:app/channels/:channel/rollouts',
  requireRole('publisher'),
  jsonLimit,
  validate('param', channelParams),
  validate('json', promoteBody),
  async (c) => {
    const { app, channel } = c.req.valid('param');
    const body = c.req.valid('json');
    const { version, expected_revision } = body;
    const { revision } = requireChannel(await requireApp(c.env.DB, app), channel);
    checkExpected(expected_revision, revision, 'channel');
    const release = await getRelease(c.env.DB, app, version);
    if (!release) throw notFound('unknown_release', `${app} has no release ${version}`);
    if (release.yanked)
      throw conflict('release_yanked', `${app} ${version} is yanked and cannot be promoted`);
    const critical = body.critical === true;
    if (critical && !release.critical) {
      throw conflict(
        'not_critical',
        `${app} ${version} is not critical (its signed manifest says critical: false); promote it with a plan or a percentage`,
      );
    }
    const existing = await getRollout(c.env.DB, app, channel, version);
    if (existing?.state === 'halted') {
      throw conflict(
        'rollout_halted',
        `${version} is halted in ${channel}; resume it before changing its percentage`,
      );
    }
    const plan = await resolvePlan(c.env.DB, app, body.plan);
    const standby = await checkStandby(
      c.env.DB,
      app,
      version,
      plan,
      body.standby_yank,
      body.standby_expo_directive_signature,
    );
    const now = new Date();
    // Raising the percentage keeps the salt, so it only adds clients.
    const target = promoteTarget(existing, { percent_bp: body.percent_bp, plan, critical }, now);
    if (existing && isUnchanged(existing, target) && !standby) {
      return c.json(await loadChannelView(c.env.DB, app, channel));
    }
    assertCanSign(c.env);
    const key = { app, channel, version };
    const previous = await getStandbyYank(c.env.DB, key);
    const salt = existing?.salt ?? newSalt();
    const after = {
      ...describeRollout({ ...target, ...target.plan, salt }),
      ...(critical ? { critical: true } : {}),
      ...(existing?.plan_json && !plan ? { plan_dropped: true } : {}),
      ...(standby
        ? {
            standby_yank: {
              yank_sha256: standby.sha256,
              rollback_to: standby.rollback_to,
              ...(standby.expo_directive_signature ? { expo_signed: true } : {}),
            },
          }
        : {}),
    };
    const replaced = previous && previous.yank_sha256 !== standby?.sha256;
    await commit(
      c.env.DB,
      [
        ...bumpChannel(c.env.DB, app, channel, revision, now),
        existing
          ? updateRollout(c.env.DB, key, target, now)
          : insertRollout(c.env.DB, { ...key, ...target, salt }, now),
        audit(c, now, {
          action: 'rollout.promote',
          app,
          target: `${channel}/${version}`,
          before: existing ? describeRollout(existing) : null,
          after,
        }),
        standby ? putStandbyYank(c.env.DB, key, standby, now) : deleteStandbyYank(c.env.DB, key),
        ...(replaced
          ? [audit(c, now, standbyDiscarded(previous, 'a new promote replaced or dropped it'))]
          : []),
      ],
      expected_revision !== undefined,
    );
    await projectChannels(c.env, app, [channel]);
    return c.json(await loadChannelView(c.env.DB, app, channel));
  },
);

rollouts.post(
  '/apps/:app/channels/:channel/rollouts/:version/:action',
  requireRole('publisher'),
  jsonLimit,
  validate('param', actionParams),
  validate('json', actionBody),
  async (c) => {
    const { app, channel, version, action } = c.req.valid('param');
    const { expected_revision, reason } = c.req.valid('json');
    const { revision } = requireChannel(await requireApp(c.env.DB, app), channel);
    checkExpected(expected_revision, revision, 'channel');
    const existing = await getRollout(c.env.DB, app, channel, version);
    if (!existing) throw notFound('unknown_rollout', `${version} has not been promoted to ${channel}`);
    const { from, to } = TRANSITIONS[action];
    if (!from.includes(existing.state)) {
      throw conflict('invalid_transition', `cannot ${action} a rollout that is ${existing.state}`);
    }
    if (to !== 'halted' && to !== 'paused' && (await getRelease(c.env.DB, app, version))?.yanked) {
      throw conflict('release_yanked', `${app} ${version} is yanked and cannot be offered again`);
    }
    assertCanSign(c.env);
    const now = new Date();
    const change = {
      percent_bp: to === 'complete' ? 10_000 : existing.percent_bp,
      state: to,
      plan: planAfterAction(existing, action, now),
    };
    const after = { ...existing, ...change, ...change.plan };
    // A rollout completed by hand can no longer breach: its standby yank goes (docs/protocol.md §6).
    const standby = to === 'complete' ? await getStandbyYank(c.env.DB, { app, channel, version }) : null;
    await commit(
      c.env.DB,
      [
        ...bumpChannel(c.env.DB, app, channel, revision, now),
        updateRollout(c.env.DB, { app, channel, version }, change, now),
        audit(c, now, {
          action: `rollout.${action}`,
          app,
          target: `${channel}/${version}`,
          before: describeRollout(existing),
          after: { ...describeRollout(after), ...(reason ? { reason } : {}) },
        }),
        ...(standby
          ? [
              deleteStandbyYank(c.env.DB, standby),
              audit(c, now, standbyDiscarded(standby, 'the rollout was completed by hand')),
            ]
          : []),
      ],
      expected_revision !== undefined,
    );
    await projectChannels(c.env, app, [channel]);
    return c.json(await loadChannelView(c.env.DB, app, channel));
  },
);
