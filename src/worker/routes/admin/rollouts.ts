/**
 * Rollouts (docs/api.md § Rollouts): promote a release into a channel at a percentage, then pause,
 * resume, halt or complete it. Each change bumps the channel's revision under its guard and re-signs
 * the channel's snapshot.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { newSalt } from '../../../protocol/bucket.ts';
import { basisPointsSchema, type RolloutState, versionSchema } from '../../../protocol/documents.ts';
import { requireRole } from '../../auth.ts';
import { conflict, notFound } from '../../errors.ts';
import { assertCanSign, projectChannels } from '../../storage/projection-writer.ts';
import { getRelease } from '../../storage/releases.ts';
import { bumpChannel, checkExpected, commit } from '../../storage/revisions.ts';
import { getRollout, insertRollout, type RolloutRecord, updateRollout } from '../../storage/rollouts.ts';
import type { AppEnv } from '../../types.ts';
import { validate } from '../../validate.ts';
import { audit, channelParams, expectedRevision, jsonLimit, requireApp, requireChannel } from './common.ts';
import { loadChannelView } from './views.ts';

const promoteBody = z.object({
  version: versionSchema,
  percent_bp: basisPointsSchema.default(10_000),
  expected_revision: expectedRevision,
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

const stateOf = (r: RolloutRecord) => ({ percent_bp: r.percent_bp, state: r.state, salt: r.salt });

export const rollouts = new Hono<AppEnv>();

rollouts.post(
  '/apps/:app/channels/:channel/rollouts',
  requireRole('publisher'),
  jsonLimit,
  validate('param', channelParams),
  validate('json', promoteBody),
  async (c) => {
    const { app, channel } = c.req.valid('param');
    const { version, percent_bp, expected_revision } = c.req.valid('json');
    const { revision } = requireChannel(await requireApp(c.env.DB, app), channel);
    checkExpected(expected_revision, revision, 'channel');
    const release = await getRelease(c.env.DB, app, version);
    if (!release) throw notFound('unknown_release', `${app} has no release ${version}`);
    if (release.yanked)
      throw conflict('release_yanked', `${app} ${version} is yanked and cannot be promoted`);
    const existing = await getRollout(c.env.DB, app, channel, version);
    if (existing?.state === 'halted') {
      throw conflict(
        'rollout_halted',
        `${version} is halted in ${channel}; resume it before changing its percentage`,
      );
    }
    // Raising the percentage keeps the salt, so it only adds clients; a complete rollout cut back is active again.
    const state: RolloutState =
      existing && !(existing.state === 'complete' && percent_bp < 10_000) ? existing.state : 'active';
    if (existing && existing.percent_bp === percent_bp && existing.state === state) {
      return c.json(await loadChannelView(c.env.DB, app, channel));
    }
    assertCanSign(c.env);
    const now = new Date();
    const key = { app, channel, version };
    const after = { percent_bp, state, salt: existing?.salt ?? newSalt() };
    await commit(
      c.env.DB,
      [
        ...bumpChannel(c.env.DB, app, channel, revision, now),
        existing
          ? updateRollout(c.env.DB, key, after, now)
          : insertRollout(c.env.DB, { ...key, ...after }, now),
        audit(c, now, {
          action: 'rollout.promote',
          app,
          target: `${channel}/${version}`,
          before: existing ? stateOf(existing) : null,
          after,
        }),
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
    const change = { percent_bp: to === 'complete' ? 10_000 : existing.percent_bp, state: to };
    await commit(
      c.env.DB,
      [
        ...bumpChannel(c.env.DB, app, channel, revision, now),
        updateRollout(c.env.DB, { app, channel, version }, change, now),
        audit(c, now, {
          action: `rollout.${action}`,
          app,
          target: `${channel}/${version}`,
          before: stateOf(existing),
          after: { ...stateOf(existing), ...change, ...(reason ? { reason } : {}) },
        }),
      ],
      expected_revision !== undefined,
    );
    await projectChannels(c.env, app, [channel]);
    return c.json(await loadChannelView(c.env.DB, app, channel));
  },
);
