/**
 * Yanks (docs/api.md § Yanks): a statement signed by a release key that withdraws a release and
 * names where its clients go back to. Every channel of the app is re-signed, each under its guard.
 */
import { Hono } from 'hono';
import semverLt from 'semver/functions/lt.js';
import * as z from 'zod';
import { sha256Hex } from '../../../protocol/encoding.ts';
import { expoSignatureSchema } from '../../../protocol/expo.ts';
import { requireRole } from '../../auth.ts';
import { badRequest, conflict, notFound } from '../../errors.ts';
import { putDocument } from '../../storage/objects.ts';
import { yankDocKey } from '../../storage/projection.ts';
import { assertCanSign, projectChannels } from '../../storage/projection-writer.ts';
import { getRelease } from '../../storage/releases.ts';
import { bumpChannel, commit, isUniqueViolation } from '../../storage/revisions.ts';
import { insertYank } from '../../storage/yanks.ts';
import type { AppEnv } from '../../types.ts';
import { validate } from '../../validate.ts';
import { appParams, audit, jsonLimit, jwsSchema, requireApp, verifyOr400 } from './common.ts';
import { releaseKeys } from './releases.ts';

const postYank = z.object({
  yank: jwsSchema,
  /**
   * For Expo apps that use code signing (DESIGN §10): the `expo-signature` of the directive
   * `rollBackToEmbeddedDirective(yanked_at)`, made with the app's Expo key. Served as given.
   */
  expo_directive_signature: expoSignatureSchema.optional(),
});

export const yanks = new Hono<AppEnv>();

yanks.post(
  '/apps/:app/yanks',
  requireRole('publisher'),
  jsonLimit,
  validate('param', appParams),
  validate('json', postYank),
  async (c) => {
    const { app } = c.req.valid('param');
    const { yank: jws, expo_directive_signature: expoSignature } = c.req.valid('json');
    const record = await requireApp(c.env.DB, app);
    const yank = await verifyOr400('yank', jws, await releaseKeys(c.env.DB));
    if (yank.app !== app) throw badRequest('app_mismatch', `the yank is for app ${yank.app}, not ${app}`);
    const release = await getRelease(c.env.DB, app, yank.version);
    if (!release) throw notFound('unknown_release', `${app} has no release ${yank.version}`);
    const already = () => conflict('already_yanked', `${app} ${yank.version} is already yanked`);
    if (release.yanked) throw already();
    if (yank.rollback_to !== null) {
      const target = await getRelease(c.env.DB, app, yank.rollback_to);
      if (!target || target.yanked || !semverLt(yank.rollback_to, yank.version)) {
        throw badRequest(
          'invalid_rollback_target',
          `rollback_to ${yank.rollback_to} must be a registered, not yanked release lower than ${yank.version}`,
        );
      }
    }
    assertCanSign(c.env);
    const now = new Date();
    const yank_sha256 = await sha256Hex(jws);
    const result = { version: yank.version, rollback_to: yank.rollback_to, yank_sha256 };
    try {
      await commit(
        c.env.DB,
        [
          ...record.channels.flatMap((ch) => bumpChannel(c.env.DB, app, ch.name, ch.revision, now)),
          insertYank(c.env.DB, yank, jws, yank_sha256, now, expoSignature ?? null),
          audit(c, now, {
            action: 'yank.register',
            app,
            target: yank.version,
            before: null,
            after: { ...result, reason: yank.reason, ...(expoSignature ? { expo_signed: true } : {}) },
          }),
        ],
        false,
      );
    } catch (error) {
      throw isUniqueViolation(error) ? already() : error;
    }
    if (!(await putDocument(c.env.BUCKET, yankDocKey(app, yank.version), jws))) {
      console.warn(`${yankDocKey(app, yank.version)} already holds another yank; D1 keeps this one`);
    }
    await projectChannels(c.env, app);
    return c.json(result, 201);
  },
);
